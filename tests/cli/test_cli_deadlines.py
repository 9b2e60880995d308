"""--timeout bounds a remote command from connect to close, against servers that stop answering.

The servers (``tests/cli/servers.py``) run in the test's trio loop on 127.0.0.1; the commands run in click's
test runner on a worker thread, except where a command could spin without end: there it runs as a process
the test can kill.
"""

from __future__ import annotations

import json
import math
import sys
from functools import partial

import pytest
import trio
from click.testing import CliRunner, Result

import jido
from dsl import action, agent, route
from jido.cli import cli
from jido.cli.errors import EXIT_CONNECT, EXIT_FAILURE, EXIT_OK
from jido.gateway import Gateway, serve_gateway
from tests.cli.servers import (
    accept_then_close,
    answer_then_hang,
    hang_after_handshake,
    hang_before_handshake,
    raw_server,
)

# Far above the --timeout the tests give and far below the client's own limits (a 10 s connect timeout and a
# 5 s polite close): a command that outlives it was not bounded by its --timeout.
BOUND = 4.0


async def run_cli(*args: str) -> Result:
    runner = CliRunner()
    # Abandoned on cancel, so that a fail_after(BOUND) around a command that overstays fails the test then.
    return await trio.to_thread.run_sync(
        partial(runner.invoke, cli, list(args), prog_name="jido"), abandon_on_cancel=True
    )


def error_line(result: Result) -> str:
    lines = result.stderr.splitlines()
    assert len(lines) == 1, result.stderr
    return lines[0]


class TestTimeout:
    @pytest.mark.parametrize(
        "command", [("send", "a.b"), ("call", "counter", "a.b"), ("inspect",)], ids=lambda c: c[0]
    )
    async def test_bounds_the_handshake(self, command: tuple[str, ...]) -> None:
        """A server that accepts TCP but never finishes the websocket handshake costs --timeout, exit 3."""
        async with raw_server(hang_before_handshake) as url:
            with trio.fail_after(BOUND):
                result = await run_cli(*command, "--url", url, "--timeout", "0.5")
        assert result.exit_code == EXIT_CONNECT, result.output
        assert error_line(result) == f"Error: cannot connect to {url} within 0.5s"

    async def test_bounds_the_answer(self) -> None:
        """A server that never answers the call: 'no answer within --timeout', exit 1."""
        async with raw_server(hang_after_handshake) as url:
            with trio.fail_after(BOUND):
                result = await run_cli("call", "counter", "a.b", "--url", url, "--timeout", "0.5")
        assert result.exit_code == EXIT_FAILURE, result.output
        assert error_line(result) == f"Error: no answer from {url} within 0.5s"

    async def test_bounds_the_close(self) -> None:
        """A server that answers, then ignores the close: the answer is printed by the --timeout."""
        async with raw_server(answer_then_hang) as url:
            with trio.fail_after(BOUND):
                result = await run_cli("call", "counter", "a.b", "--url", url, "--timeout", "1")
        assert result.exit_code == EXIT_OK, result.output
        assert json.loads(result.stdout) == {"count": 1}

    def test_option_on_every_request_command(self) -> None:
        """send, call and inspect take --timeout (tail runs until Ctrl-C and takes none)."""
        for command in ("send", "call", "inspect"):
            result = CliRunner().invoke(cli, [command, "--help"], prog_name="jido")
            assert "--timeout FLOAT RANGE" in result.stdout, command


class TestServerClosing:
    async def test_close_before_the_first_request(self) -> None:
        """A server that closes as the call goes out: connection lost, exit 3 (the client used to spin)."""
        async with raw_server(accept_then_close) as url:
            command = [sys.executable, "-m", "jido", "call", "counter", "a.b", "--url", url, "--timeout", "1"]
            # A spinning client never reaches a checkpoint, so nothing inside it can stop it: kill it.
            with trio.move_on_after(BOUND * 2) as scope:
                process = await trio.run_process(
                    command, capture_stdout=True, capture_stderr=True, check=False
                )
        assert not scope.cancelled_caught, "jido call did not end (busy loop)"
        stderr = process.stderr.decode()
        assert process.returncode == EXIT_CONNECT, stderr
        assert stderr.startswith(f"Error: the connection to {url} ended (1001"), stderr


@action(timeout=math.inf)
class Stall:
    async def run(self, ctx: jido.ActionContext) -> None:
        await trio.sleep_forever()


@agent
@route("stall.run", Stall)
class Staller:
    count: int = 0


class TestSlowAgent:
    async def test_gateway_reports_the_agent_timeout(self) -> None:
        """The agent gets --timeout less a fifth, so the gateway's 'timeout' answer comes before the deadline."""
        async with jido.open_runtime() as rt, trio.open_nursery() as nursery:
            await rt.start_agent(Staller, id="staller")
            gateway: Gateway = await nursery.start(partial(serve_gateway, rt, "127.0.0.1", 0))
            result = await run_cli("call", "staller", "stall.run", "--url", gateway.url, "--timeout", "2")
            nursery.cancel_scope.cancel()
        assert result.exit_code == EXIT_FAILURE, result.output
        assert error_line(result).startswith("Error: timeout: "), result.stderr
