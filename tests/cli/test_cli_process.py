"""The jido command as a process (`python -m jido`): run, serve and tail until Ctrl-C, and the demo end to end.

These run on the real clock (a child process does not follow trio's mock clock); every wait is bounded by a
generous deadline that only a broken build reaches.
"""

from __future__ import annotations

import os
import pathlib
import re
import signal
import subprocess
import sys
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from functools import partial

import pytest
import trio

import jido
from jido.gateway import Gateway, connect, serve_gateway

ROOT = pathlib.Path(__file__).parent.parent.parent
DEADLINE = 60.0
URL = re.compile(r"gateway listening on (ws://\S+)")


class Child:
    """A running `python -m jido ...` whose output is read line by line."""

    def __init__(self, process: trio.Process) -> None:
        self.process = process
        self._pending: dict[str, bytes] = {"stdout": b"", "stderr": b""}
        self.seen: dict[str, list[str]] = {"stdout": [], "stderr": []}

    async def line(self, stream: str = "stdout") -> str:
        """The next line of ``stream`` (without its newline); fails at end of stream."""
        pipe = self.process.stdout if stream == "stdout" else self.process.stderr
        assert pipe is not None
        while b"\n" not in self._pending[stream]:
            chunk = await pipe.receive_some()
            if not chunk:
                raise AssertionError(f"{stream} ended; seen so far: {self.seen}")
            self._pending[stream] += chunk
        line, _, rest = self._pending[stream].partition(b"\n")
        self._pending[stream] = rest
        text = line.decode()
        self.seen[stream].append(text)
        return text

    async def line_matching(self, pattern: re.Pattern[str], stream: str = "stdout") -> re.Match[str]:
        while True:
            match = pattern.search(await self.line(stream))
            if match is not None:
                return match

    async def interrupt(self) -> tuple[int, str, str]:
        """Send Ctrl-C (SIGINT); return the exit code and the rest of stdout and stderr."""
        self.process.send_signal(signal.SIGINT)
        rest = {"stdout": b"", "stderr": b""}

        async def drain(name: str) -> None:
            pipe = self.process.stdout if name == "stdout" else self.process.stderr
            assert pipe is not None
            while chunk := await pipe.receive_some():
                rest[name] += chunk

        async with trio.open_nursery() as nursery:
            nursery.start_soon(drain, "stdout")
            nursery.start_soon(drain, "stderr")
        code = await self.process.wait()
        return (
            code,
            (self._pending["stdout"] + rest["stdout"]).decode(),
            (self._pending["stderr"] + rest["stderr"]).decode(),
        )


@asynccontextmanager
async def jido_process(*args: str, env: dict[str, str] | None = None) -> AsyncIterator[Child]:
    command = [sys.executable, "-W", "error", "-m", "jido", *args]
    process = await trio.lowlevel.open_process(
        command,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        cwd=ROOT,
        env={**os.environ, **(env or {})},
    )
    try:
        yield Child(process)
    finally:
        if process.returncode is None:
            process.kill()
        with trio.CancelScope(shield=True):
            await process.wait()
            for pipe in (process.stdout, process.stderr):
                if pipe is not None:
                    await pipe.aclose()


@pytest.fixture
async def gateway() -> AsyncIterator[Gateway]:
    async with jido.open_runtime() as rt, trio.open_nursery() as nursery:
        gw: Gateway = await nursery.start(partial(serve_gateway, rt, "127.0.0.1", 0))
        yield gw
        nursery.cancel_scope.cancel()


class TestRun:
    async def test_serves_until_interrupted(self) -> None:
        """`jido run` starts the agent with the gateway, says where it listens, and Ctrl-C stops it cleanly."""
        with trio.fail_after(DEADLINE):
            async with jido_process("run", "tests.cli.apps:Counter", "--port", "0", "--id", "c1") as child:
                assert (
                    await child.line() == "jido: started agent 'counter' as 'c1' from tests.cli.apps:Counter"
                )
                url = (await child.line_matching(URL))[1]
                async with connect(url, reconnect=False) as client:
                    answer = await client.call(
                        "c1", jido.Signal(type="counter.add", source="/t", data={"by": 1})
                    )
                assert answer["state"] == {"count": 4}
                code, out, err = await child.interrupt()
        assert code == 0, err
        assert out.splitlines()[-1] == "jido: stopped"
        assert err == ""

    async def test_supervisor(self) -> None:
        """A supervisor is started with its children."""
        with trio.fail_after(DEADLINE):
            async with jido_process("run", "tests.cli.apps:Team", "--port", "0") as child:
                assert await child.line() == "jido: started supervisor 'team' from tests.cli.apps:Team"
                url = (await child.line_matching(URL))[1]
                async with connect(url, reconnect=False) as client:
                    agents = (await client.inspect())["agents"]
                assert [a["id"] for a in agents] == ["team.counter"]
                code, _, err = await child.interrupt()
        assert code == 0, err

    async def test_sensor(self) -> None:
        """A sensor is started and stopped like an agent."""
        with trio.fail_after(DEADLINE):
            async with jido_process("run", "tests.cli.apps:Clock", "--port", "0") as child:
                assert await child.line() == "jido: started sensor 'clock' from tests.cli.apps:Clock"
                await child.line_matching(URL)
                code, out, err = await child.interrupt()
        assert code == 0, err
        assert out.splitlines()[-1] == "jido: stopped"

    async def test_port_in_use(self, gateway: Gateway) -> None:
        """A port already taken is one line, exit 1."""
        with trio.fail_after(DEADLINE):
            result = await trio.run_process(
                [sys.executable, "-m", "jido", "run", "tests.cli.apps:Counter", "--port", str(gateway.port)],
                cwd=ROOT,
                capture_stdout=True,
                capture_stderr=True,
                check=False,
            )
        assert result.returncode == 1
        assert result.stderr.decode().splitlines() == [
            f"Error: cannot listen on 127.0.0.1:{gateway.port}: Address already in use"
        ]


class TestServe:
    async def serve_once(self, config: pathlib.Path) -> int:
        """Serve the config, publish one signal with the token, stop; the signal's offset."""
        async with jido_process("serve", "--config", str(config), env={"TEST_JIDO_TOKEN": "t0ken"}) as child:
            url = (await child.line_matching(URL))[1]
            async with connect(url, token="t0ken", reconnect=False) as client:
                offset = await client.publish(jido.Signal(type="other.event", source="/t"))
                answer = await client.call("team.counter", jido.Signal(type="counter.add", source="/t"))
            code, _, err = await child.interrupt()
        assert code == 0, err
        assert answer["agent"] == "team.counter"
        assert "jido: journal: " in "\n".join(child.seen["stdout"])
        return offset

    async def test_config_with_journal_and_tokens(self, tmp_path: pathlib.Path) -> None:
        """`jido serve` starts what the config lists, requires its tokens, and keeps the SQLite journal."""
        config = tmp_path / "jido.toml"
        config.write_text(
            'port = 0\nstart = ["tests.cli.apps:Team"]\n'
            '[journal]\nsqlite = "bus.db"\nsynchronous = "NORMAL"\n'
            '[[tokens]]\ntoken_env = "TEST_JIDO_TOKEN"\n'
        )
        with trio.fail_after(DEADLINE):
            first = await self.serve_once(config)
            second = await self.serve_once(config)
        assert (tmp_path / "bus.db").exists()
        # Offsets go on across restarts: the journal is the file, not memory.
        assert second > first


class TestTailProcess:
    async def test_live_until_interrupted(self, gateway: Gateway) -> None:
        """`jido tail` shows signals published after it subscribed, and Ctrl-C ends it with exit 0."""
        with trio.fail_after(DEADLINE):
            async with jido_process("tail", "other.*", "--url", gateway.url) as child:
                # The header comes once the subscription is in place: what is published next is shown.
                assert await child.line("stderr") == f"tailing 'other.*' on {gateway.url} (Ctrl-C to stop)"
                await gateway.runtime.publish(jido.Signal(type="ignored.event", source="/t"))
                await gateway.runtime.publish(jido.Signal(type="other.event", source="/t", data={"n": 1}))
                line = await child.line()
                code, out, err = await child.interrupt()
        assert re.fullmatch(r"     2  \d\d:\d\d:\d\d\.\d{3}Z  other\.event +  /t  \{\"n\":1\}", line)
        assert code == 0, err
        assert out == ""
        assert err == ""


class TestDemo:
    async def test_end_to_end(self) -> None:
        """`jido demo` runs a weekly and an hourly run through the gateway and exits 0 by itself."""
        with trio.fail_after(DEADLINE):
            result = await trio.run_process(
                [sys.executable, "-W", "error", "-m", "jido", "demo"],
                cwd=ROOT,
                capture_stdout=True,
                capture_stderr=True,
                check=False,
            )
        out, err = result.stdout.decode(), result.stderr.decode()
        assert result.returncode == 0, err
        assert err == ""
        assert "Run completed / Mode: weekly / Changes: 1 / Delivered: 1" in out
        assert "Run completed / Mode: hourly / Changes: 0 / Delivered: 0" in out
        signal_types = re.findall(r"^  #\d+\s+(\S+)", out, re.MULTILINE)
        assert signal_types == [
            "contentops.run.requested",
            "contentops.delivery.recorded",
            "contentops.run.completed",
            "contentops.run.requested",
            "contentops.run.completed",
        ]
        assert "\x1b" not in out  # no terminal escapes when the output is not a terminal
        assert all(line.isprintable() for line in out.splitlines())


class TestDurableServe:
    async def test_state_survives_sigkill(self, tmp_path: pathlib.Path) -> None:
        """`jido serve` with a SQLite journal keeps agent state in it: calls, SIGKILL, restart, and the next
        call continues from the stored count."""
        config = tmp_path / "jido.toml"
        config.write_text('port = 0\nstart = ["tests.cli.apps:Team"]\n[journal]\nsqlite = "jido.db"\n')
        add = jido.Signal(type="counter.add", source="/t", data={"by": 1})
        with trio.fail_after(DEADLINE):
            async with jido_process("serve", "--config", str(config)) as child:
                url = (await child.line_matching(URL))[1]
                async with connect(url, reconnect=False) as client:
                    counts = [(await client.call("team.counter", add))["state"]["count"] for _ in range(4)]
                child.process.kill()  # SIGKILL: no shutdown, no flush
                await child.process.wait()
            assert "jido: agent state: " in "\n".join(child.seen["stdout"])
            async with jido_process("serve", "--config", str(config)) as child:
                url = (await child.line_matching(URL))[1]
                async with connect(url, reconnect=False) as client:
                    after = (await client.call("team.counter", add))["state"]["count"]
                code, _, err = await child.interrupt()
            assert code == 0, err
        step = counts[1] - counts[0]
        assert step > 0 and counts == [counts[0] + i * step for i in range(4)]
        assert after == counts[-1] + step
