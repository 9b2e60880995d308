"""What a new user meets in the first hour with the ``jido`` command: an agent run from the command line hears
the signals `jido send` publishes (unless told not to), a token-less `inspect` is told to use --token, a table
piped to a file keeps its width, and a config with several bad start entries names them all."""

from __future__ import annotations

import pathlib
from functools import partial
from typing import Any

import attrs
import trio
import trio.testing
from click.testing import CliRunner

import jido
from dsl import action, agent, route
from jido.cli import cli
from jido.cli.app import _start
from jido.cli.errors import EXIT_REJECTED, EXIT_USAGE
from jido.cli.loading import load_target
from jido.cli.remote import gateway_error
from jido.gateway import GatewayError, TokenPolicy, serve_gateway
from tests.cli.test_cli_remote import error_line, run_cli


@action
class Add:
    by: int = 1

    def run(self, ctx: jido.ActionContext) -> dict[str, Any]:
        return {"count": ctx.state.count + self.by}


@agent
@route("tally.add", Add)
@route("tally.more.*", Add, params={"by": 10})
class Tally:
    count: int = 0


@agent(subscribe=["tally.add"])
@route("tally.add", Add)
@route("tally.other", Add)
class Picky:
    count: int = 0


@agent
@route("tally.a-rather-long-segment-name.and-another-rather-long-segment-name.and-one-more.add", Add)
class Wide:
    count: int = 0


@attrs.frozen
class _Target:
    """What load_target gives, for an object of this module."""

    kind: str
    obj: Any
    name: str
    ref: str


def target(obj: Any, name: str) -> Any:
    return _Target("agent", obj, name, f"{__name__}:{name}")


def signal(kind: str, **data: Any) -> jido.Signal:
    return jido.Signal(type=kind, source="/cli", data=data or None)


class TestRunListens:
    async def test_published_signals_reach_the_agent(self, autojump_clock: trio.testing.MockClock) -> None:
        """Routed types reach it (two routes, no double delivery); types it has no route for never reach it
        (no rejection, no dead letter)."""
        async with jido.open_runtime() as rt:
            await _start(rt, target(Tally, "Tally"), None)
            ref = rt.get("Tally")
            for sent in (
                signal("tally.add", by=2),
                signal("tally.more.x"),
                signal("noise.x"),
                signal("tally"),
            ):
                await rt.publish(sent)
            await ref.wait_state(lambda state: state.count == 12, timeout=10)
            await trio.sleep(1)
            assert (ref.state.count, ref.rejected, rt.dead_letters()) == (12, 0, [])

    async def test_no_subscribe(self, autojump_clock: trio.testing.MockClock) -> None:
        async with jido.open_runtime() as rt:
            await _start(rt, target(Tally, "Tally"), None, listen=False)
            await rt.publish(signal("tally.add"))
            await trio.sleep(1)
            assert rt.get("Tally").state.count == 0

    async def test_declared_subscriptions_are_kept(self, autojump_clock: trio.testing.MockClock) -> None:
        """An agent that declares subscribe=[...] hears only that (and once)."""
        async with jido.open_runtime() as rt:
            await _start(rt, target(Picky, "Picky"), None)
            await rt.publish(signal("tally.add"))
            await rt.publish(signal("tally.other"))
            await trio.sleep(1)
            assert rt.get("Picky").state.count == 1

    def test_run_has_the_option(self) -> None:
        result = CliRunner().invoke(cli, ["run", "--help"], prog_name="jido")
        assert "--subscribe / --no-subscribe" in result.output


class TestTokenHint:
    def test_without_a_token(self) -> None:
        error = gateway_error(GatewayError("unauthorized", 'authenticate first: send {"op":"auth",...}'))
        assert error.exit_code == EXIT_REJECTED
        assert "give --token TOKEN (or set JIDO_TOKEN)" in error.message and '"op"' not in error.message

    def test_with_a_refused_token(self) -> None:
        """A token was given: the gateway's own message (it names the URL and the HTTP status)."""
        error = gateway_error(GatewayError("unauthorized", "the gateway refused the token"), token="t0ken")
        assert error.message == "unauthorized: the gateway refused the token"


class TestPipedTables:
    def test_routes_table_is_not_cut(self, tmp_path: pathlib.Path) -> None:
        result = CliRunner().invoke(cli, ["routes", f"{__name__}:Wide"], prog_name="jido")
        assert result.exit_code == 0, result.output
        assert "tally.a-rather-long-segment-name.and-another-rather-long-segment-name.and-one-more.add" in (
            result.output
        )
        assert max(len(line) for line in result.output.splitlines()) > 80


class TestServeStartErrors:
    def test_every_bad_start_is_named(self, tmp_path: pathlib.Path) -> None:
        path = tmp_path / "jido.toml"
        path.write_text('start = ["nowhere.mod:X", "tests.cli.apps:Counter", "tests.cli.apps:missing"]\n')
        result = CliRunner().invoke(cli, ["serve", "--config", str(path)], prog_name="jido")
        assert result.exit_code == EXIT_USAGE
        (line,) = result.stderr.splitlines()
        assert "$.start[0]" in line and "$.start[2]" in line and "$.start[1]" not in line

    def test_subscribe_routes_is_checked(self, tmp_path: pathlib.Path) -> None:
        path = tmp_path / "jido.toml"
        path.write_text('subscribe_routes = "yes"\n')
        result = CliRunner().invoke(cli, ["serve", "--config", str(path)], prog_name="jido")
        assert result.exit_code == EXIT_USAGE and "$.subscribe_routes" in result.stderr


def test_load_target_is_what_run_starts() -> None:
    assert load_target("tests.cli.apps:Counter").kind == "agent"


async def test_inspect_without_a_token_says_use_token() -> None:
    """End to end: `jido inspect` against a gateway with tokens, given none."""
    async with jido.open_runtime() as rt, trio.open_nursery() as nursery:
        gateway = await nursery.start(
            partial(serve_gateway, rt, "127.0.0.1", 0, tokens={"admin-token": TokenPolicy()})
        )
        result = await run_cli("inspect", "--url", gateway.url)
        nursery.cancel_scope.cancel()
    assert result.exit_code == EXIT_REJECTED
    assert "give --token TOKEN" in error_line(result) and '"op"' not in error_line(result)


def plugged_spec() -> Any:
    from jido.agent.spec import agent_spec_of
    from jido.plugins import Audit, Memory

    spec = agent_spec_of(Tally)
    assert spec is not None
    return spec.with_plugins(Audit.configure(limit=5), Memory.configure(max_keys=10))


PLUGGED = plugged_spec()


def test_routes_say_which_plugin_they_come_from() -> None:
    """`jido routes` on an agent with a mounted plugin marks where each route comes from."""
    result = CliRunner().invoke(cli, ["routes", f"{__name__}:PLUGGED"], prog_name="jido")
    assert result.exit_code == 0, result.output
    rows = [line for line in result.output.splitlines() if "tally.add" in line]
    assert rows and all(row.rstrip(" │").endswith("agent") for row in rows), result.output
    (put,) = [line for line in result.output.splitlines() if " memory.put " in line]
    assert "plugin 'memory'" in put
