"""send, call, tail and inspect against a real runtime and gateway on 127.0.0.1 (a random port).

The gateway runs in the test's trio loop; each command runs in click's test runner on a worker thread (the
command calls ``trio.run`` itself, which cannot nest in the test's loop).
"""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from functools import partial

import pytest
import trio
from click.testing import CliRunner, Result
from rich.console import Console

import jido
from jido.cli import cli
from jido.cli.errors import EXIT_FAILURE, EXIT_NOT_FOUND, EXIT_REJECTED
from jido.cli.render import inspect_tables
from jido.gateway import Gateway, TokenPolicy, serve_gateway
from tests.cli.apps import Counter

TOKENS = {"admin-token": TokenPolicy(), "reader-token": TokenPolicy(publish=(), call=False)}


async def run_cli(*args: str) -> Result:
    runner = CliRunner()
    return await trio.to_thread.run_sync(partial(runner.invoke, cli, list(args), prog_name="jido"))


def error_line(result: Result) -> str:
    lines = result.stderr.splitlines()
    assert len(lines) == 1, result.stderr
    return lines[0]


@pytest.fixture
async def gateway() -> AsyncIterator[Gateway]:
    async with jido.open_runtime() as rt, trio.open_nursery() as nursery:
        await rt.start_agent(Counter, id="counter")
        gw: Gateway = await nursery.start(partial(serve_gateway, rt, "127.0.0.1", 0))
        yield gw
        nursery.cancel_scope.cancel()


@pytest.fixture
async def secured() -> AsyncIterator[Gateway]:
    async with jido.open_runtime() as rt, trio.open_nursery() as nursery:
        await rt.start_agent(Counter, id="counter")
        gw: Gateway = await nursery.start(partial(serve_gateway, rt, "127.0.0.1", 0, tokens=TOKENS))
        yield gw
        nursery.cancel_scope.cancel()


async def publish(gw: Gateway, *signals: jido.Signal) -> list[int]:
    return [await gw.runtime.publish(s) for s in signals]


class TestSend:
    async def test_prints_offset(self, gateway: Gateway) -> None:
        """`jido send` publishes the signal and prints its offset alone on stdout."""
        await publish(gateway, jido.Signal(type="other.thing", source="/t"))
        result = await run_cli(
            "send", "other.event", "--data", '{"n": 1}', "--source", "/me", "--url", gateway.url
        )
        assert result.exit_code == 0, result.output
        assert result.stdout == "2\n"
        [record] = await gateway.runtime.bus.replay(start=2)
        assert (record.signal.type, record.signal.source, record.signal.data) == (
            "other.event",
            "/me",
            {"n": 1},
        )

    async def test_without_token(self, secured: Gateway) -> None:
        """A gateway with tokens rejects a client without one: exit 4."""
        result = await run_cli("send", "other.event", "--url", secured.url)
        assert result.exit_code == EXIT_REJECTED
        assert error_line(result).startswith("Error: unauthorized: ")

    async def test_wrong_token(self, secured: Gateway) -> None:
        """A wrong token is rejected at the handshake: exit 4."""
        result = await run_cli("send", "other.event", "--url", secured.url, "--token", "nope")
        assert result.exit_code == EXIT_REJECTED
        assert error_line(result) == (
            f"Error: unauthorized: the gateway at {secured.url} refused the token (HTTP 401)"
        )

    async def test_forbidden(self, secured: Gateway) -> None:
        """A token that may not publish that type is refused: exit 4."""
        result = await run_cli("send", "other.event", "--url", secured.url, "--token", "reader-token")
        assert result.exit_code == EXIT_REJECTED
        assert error_line(result).startswith("Error: forbidden: ")

    async def test_token_from_environment(self, secured: Gateway) -> None:
        """JIDO_TOKEN and JIDO_URL stand in for --token and --url."""
        runner = CliRunner(env={"JIDO_TOKEN": "admin-token", "JIDO_URL": secured.url})
        result = await trio.to_thread.run_sync(partial(runner.invoke, cli, ["send", "other.event"]))
        assert result.exit_code == 0, result.output
        assert result.stdout == "1\n"


class TestCall:
    async def test_prints_state(self, gateway: Gateway) -> None:
        """`jido call` prints the agent's committed state as JSON."""
        result = await run_cli("call", "counter", "counter.add", "--data", '{"by": 3}', "--url", gateway.url)
        assert result.exit_code == 0, result.output
        # counter.add runs three routes: add 3, counter.* adds 2, counter.** adds 3.
        assert json.loads(result.stdout) == {"count": 8}

    async def test_unknown_agent(self, gateway: Gateway) -> None:
        """An agent id nobody has is exit 5."""
        result = await run_cli("call", "nobody", "counter.add", "--url", gateway.url)
        assert result.exit_code == EXIT_NOT_FOUND
        assert error_line(result) == "Error: not_found: no agent with id 'nobody'"

    async def test_no_route(self, gateway: Gateway) -> None:
        """A signal the agent has no route for is exit 1 with the message."""
        result = await run_cli("call", "counter", "other.thing", "--url", gateway.url)
        assert result.exit_code == EXIT_FAILURE
        assert (
            error_line(result) == "Error: no_route: no route for signal type 'other.thing' in agent 'counter'"
        )

    async def test_action_failed(self, gateway: Gateway) -> None:
        """A failing action is exit 1 with the action's error."""
        result = await run_cli("call", "counter", "counter.fail", "--url", gateway.url)
        assert result.exit_code == EXIT_FAILURE
        assert error_line(result) == "Error: action_failed: action 'fail' failed: RuntimeError('it broke')"

    async def test_call_forbidden(self, secured: Gateway) -> None:
        """A token without the call right is refused: exit 4."""
        result = await run_cli(
            "call", "counter", "counter.add", "--url", secured.url, "--token", "reader-token"
        )
        assert result.exit_code == EXIT_REJECTED
        assert error_line(result).startswith("Error: forbidden: ")


class TestTail:
    async def test_json_lines(self, gateway: Gateway) -> None:
        """--json prints each signal as one CloudEvents JSON line and nothing else."""
        sent = [jido.Signal(type="other.a", source="/t", data={"i": i}) for i in range(3)]
        await publish(gateway, *sent)
        result = await run_cli("tail", "**", "--from", "2", "--count", "2", "--json", "--url", gateway.url)
        assert result.exit_code == 0, result.output
        assert [jido.Signal.from_json(line) for line in result.stdout.splitlines()] == sent[1:]
        assert result.stderr == ""

    async def test_pattern(self, gateway: Gateway) -> None:
        """Only signals matching the pattern are shown."""
        await publish(
            gateway,
            jido.Signal(type="other.a", source="/t"),
            jido.Signal(type="audit.x", source="/t"),
            jido.Signal(type="other.b", source="/t"),
        )
        result = await run_cli(
            "tail", "other.*", "--from", "1", "--count", "2", "--json", "--url", gateway.url
        )
        assert [json.loads(line)["type"] for line in result.stdout.splitlines()] == ["other.a", "other.b"]

    async def test_readable_lines(self, gateway: Gateway) -> None:
        """Without --json each signal is one line: offset, time, type, source, shortened data."""
        signal = jido.Signal(type="other.a", source="/shop", data={"text": "x" * 100})
        await publish(gateway, signal)
        result = await run_cli("tail", "--from", "1", "--count", "1", "--url", gateway.url)
        assert result.exit_code == 0, result.output
        [line] = result.stdout.splitlines()
        time = signal.time.strftime("%H:%M:%S.%f")[:-3]
        assert line == f"     1  {time}Z  {'other.a':<30}  /shop  " + '{"text":"' + "x" * 48 + "..."
        assert error_line(result) == f"tailing '**' on {gateway.url} (Ctrl-C to stop)"


class TestInspect:
    async def test_json(self, gateway: Gateway) -> None:
        """--json prints the gateway's inspect answer."""
        await publish(gateway, jido.Signal(type="other.a", source="/t"))
        result = await run_cli("inspect", "--json", "--url", gateway.url)
        assert result.exit_code == 0, result.output
        answer = json.loads(result.stdout)
        assert answer["agents"] == [
            {
                "id": "counter",
                "name": "counter",
                "status": "running",
                "mailbox_depth": 0,
                "mailbox_size": 1024,
                "handled": 0,
                "errors": 0,
                "restarts": 0,
            }
        ]
        assert answer["bus"]["last_offset"] == 1
        assert answer["dead_letters"] == 0

    async def test_table(self, gateway: Gateway) -> None:
        """The readable view is a table of agents and a line for the bus and dead letters."""
        result = await run_cli("inspect", "--url", gateway.url)
        assert result.exit_code == 0, result.output
        rows = [
            [cell.strip() for cell in line.split("│")[1:-1]]
            for line in result.stdout.splitlines()
            if line.startswith("│")
        ]
        assert rows == [["counter", "counter", "running", "0/1024", "0", "0", "0"]]
        assert result.stdout.splitlines()[-1] == "bus empty · 1 subscription, 0 behind · dead letters 0"


class TestInspectRendering:
    def test_lagging_subscriptions_and_older_gateways(self) -> None:
        """The footer names the subscription furthest behind; an answer without the newer fields (an older
        gateway) still renders."""
        console = Console(width=120, record=True)
        answer = {
            "agents": [{"id": "a", "name": "n", "status": "failed", "mailbox_depth": 3, "restarts": 2}],
            "bus": {"first_offset": 1, "last_offset": 9, "subscription_lag": {"x": 0, "slow": 7, "y": 2}},
            "dead_letters": 4,
        }
        for renderable in inspect_tables(answer):
            console.print(renderable)
        text = console.export_text()
        assert "│ a  │ n    │ failed │       3 │         │        │        2 │" in text
        assert text.splitlines()[-1] == (
            "bus offsets 1..9 · 3 subscriptions, 2 behind (most: slow by 7) · dead letters 4"
        )


class TestRestart:
    async def test_restarts_a_failed_agent(self) -> None:
        """`jido restart ID` starts a failed agent again and prints its last committed state."""
        async with (
            jido.open_runtime(max_restarts=0, within=60.0, restart_backoff=0) as rt,
            trio.open_nursery() as nursery,
        ):
            ref = await rt.start_agent(Counter, id="counter")
            committed = await ref.call(jido.Signal(type="counter.add", source="/t", data={"by": 3}))
            ref.cast_nowait(jido.Signal(type="counter.fail", source="/t"))
            await ref.wait_stopped()
            gw: Gateway = await nursery.start(partial(serve_gateway, rt, "127.0.0.1", 0))
            result = await run_cli("restart", "counter", "--url", gw.url)
            assert result.exit_code == 0, result.output
            assert json.loads(result.stdout) == {"count": committed.state.count}
            assert rt.get("counter").status == "running"
            again = await run_cli("restart", "counter", "--url", gw.url)
            assert again.exit_code == EXIT_FAILURE, again.output
            assert error_line(again).startswith("Error: conflict: agent 'counter' is running")
            nursery.cancel_scope.cancel()

    async def test_unknown_agent(self, gateway: Gateway) -> None:
        """`jido restart` of an id that never failed: not found (exit 5)."""
        result = await run_cli("restart", "ghost", "--url", gateway.url)
        assert result.exit_code == EXIT_NOT_FOUND, result.output
        assert error_line(result) == "Error: not_found: no failed agent with id 'ghost'"
