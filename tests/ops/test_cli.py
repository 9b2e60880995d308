"""The CLI and the operations surface: the dashboard in `jido run`/`jido serve`, its config, logs on stderr,
`jido dead-letters` and `jido tree` over a real gateway and dashboard, `jido tail`'s reconnect notices."""

from __future__ import annotations

import json
import logging
import pathlib
import re
from functools import partial
from typing import Any

import httpx
import pytest
import trio
from click.testing import CliRunner, Result

import jido
from jido.cli import cli
from jido.cli.config import DashboardConfig, parse_config
from jido.cli.logs import ContextFormatter
from jido.cli.remote import _say_reconnects
from jido.errors import ValidationError
from jido.gateway import GatewayError, TokenPolicy, connect, serve_gateway
from jido.ops import OpsToken, serve_ops
from tests.cli.test_cli_process import DEADLINE, URL, jido_process

from .helpers import ADMIN, VIEWER, Counter, add

DASHBOARD = re.compile(r"dashboard on (http://\S+)")


class TestConfig:
    def test_defaults(self) -> None:
        """No [dashboard] table: on, loopback, the gateway's port + 1 (0 stays 0)."""
        config = parse_config({}, base=pathlib.Path("."))
        assert config.dashboard == DashboardConfig()
        assert config.dashboard.port_for(8765) == 8766
        assert config.dashboard.port_for(0) == 0
        assert config.dashboard.port_for(65535) == 0

    def test_admin_tokens(self) -> None:
        """`admin = true` marks a token that may change things from the dashboard."""
        config = parse_config(
            {"tokens": [{"token": "a", "admin": True}, {"token": "b"}]}, base=pathlib.Path(".")
        )
        assert [(t.token, t.admin) for t in config.tokens] == [("a", True), ("b", False)]

    @pytest.mark.parametrize(
        ("data", "error"),
        [
            ({"dashboard": {"port": 70000}}, "$.dashboard.port: must be between 0 and 65535, got 70000"),
            ({"dashboard": {"port": -1}}, "$.dashboard.port: must be between 0 and 65535, got -1"),
            ({"dashboard": {"port": True}}, "$.dashboard.port: expected int or null, got true"),
            ({"dashboard": {"port": "8766"}}, '$.dashboard.port: expected int or null, got "8766"'),
            ({"dashboard": {"enabled": "yes"}}, '$.dashboard.enabled: expected bool, got "yes"'),
            ({"dashboard": {"host": ""}}, "$.dashboard.host: must not be empty"),
            ({"dashboard": {"bogus": 1}}, "$.dashboard: unknown field(s): bogus"),
            ({"dashboard": []}, "$.dashboard: expected object, got array"),
            (
                {"dashboard": {"host": "0.0.0.0"}},
                "$.tokens: required when the dashboard's host is not a loopback address (it is '0.0.0.0')",
            ),
            ({"tokens": [{"token": "a", "admin": 1}]}, "$.tokens[0].admin: expected bool, got 1"),
            ({"tokens": [{"token": "a", "admin": "true"}]}, '$.tokens[0].admin: expected bool, got "true"'),
        ],
    )
    def test_bad_values(self, data: dict[str, Any], error: str) -> None:
        """Each bad value is one `$.path: message` line."""
        with pytest.raises(ValidationError) as caught:
            parse_config(data, base=pathlib.Path("."))
        assert [f"{e.path}: {e.message}" for e in caught.value.errors] == [error]

    def test_disabled_dashboard_needs_no_token(self) -> None:
        """A dashboard turned off does not need tokens, wherever its host would be."""
        config = parse_config({"dashboard": {"enabled": False, "host": "0.0.0.0"}}, base=pathlib.Path("."))
        assert config.dashboard.enabled is False


class TestLogs:
    def test_context_on_the_line(self) -> None:
        """The agent, signal type and id of a record are shown after its message; the traceback follows."""
        record = logging.LogRecord("jido.runtime", logging.ERROR, __file__, 1, "crashed", None, None)
        record.agent_id = "c"
        record.signal_type = "counter.picky"
        record.signal_id = "s1"
        line = ContextFormatter().format(record)
        assert line.endswith("ERROR jido.runtime: crashed [agent=c signal=counter.picky id=s1]")


class TestRunProcess:
    async def test_one_dashboard_address_and_crash_logs(self) -> None:
        """`jido run` prints one dashboard address; a crash shows on stderr once, with its traceback, agent
        and signal type."""
        with trio.fail_after(DEADLINE):
            async with jido_process("run", "tests.ops.helpers:Counter", "--port", "0", "--id", "c") as child:
                url = (await child.line_matching(URL))[1]
                board = (await child.line_matching(DASHBOARD))[1]
                async with httpx.AsyncClient() as http:
                    assert (await http.get(board + "healthz")).json() == {"status": "ok"}
                async with connect(url, reconnect=False) as client:
                    await client.call("c", add(1))
                    with pytest.raises(GatewayError):
                        await client.call("c", jido.Signal(type="counter.picky", source="/t"))
                code, out, err = await child.interrupt()
        assert code == 0, err
        assert len(DASHBOARD.findall("\n".join(child.seen["stdout"]) + out)) == 1
        # One report of the crash: its traceback (the action's error chained to its cause) printed once.
        assert err.count("crashed:") == 1
        assert err.index("Traceback") > err.index("crashed:")
        assert err.count("RuntimeError: odd count") == 1
        assert re.search(
            r"WARNING jido\.runtime: dead letter \(crash\) .*\[agent=c signal=counter\.picky id=", err
        )
        assert re.search(r"ERROR jido\.runtime: supervisor 'root': child 'c' crashed: .*\[agent=c", err)

    async def test_no_dashboard(self) -> None:
        """`--no-dashboard`: no dashboard line, nothing listening for it."""
        with trio.fail_after(DEADLINE):
            async with jido_process(
                "run", "tests.ops.helpers:Counter", "--port", "0", "--no-dashboard"
            ) as child:
                await child.line_matching(URL)
                code, out, err = await child.interrupt()
        assert code == 0, err
        assert "dashboard" not in "\n".join(child.seen["stdout"]) + out

    def test_dashboard_host_off_loopback_needs_token(self) -> None:
        """A dashboard host that is not loopback needs --token (usage error, exit 2)."""
        result = CliRunner().invoke(cli, ["run", "tests.ops.helpers:Counter", "--dashboard-host", "0.0.0.0"])
        assert result.exit_code == 2
        assert result.stderr.splitlines() == [
            "Error: --token is required when --dashboard-host is not a loopback address (got '0.0.0.0')"
        ]


async def _invoke(*args: str) -> Result:
    # The commands use blocking HTTP: run them in a thread so the runtime's loop answers them.
    runner = CliRunner()
    return await trio.to_thread.run_sync(partial(runner.invoke, cli, list(args)))


class TestDeadLetterCommands:
    async def test_list_show_redrive_discard_tree(self) -> None:
        """Over a real gateway and dashboard: list, show, redrive (admin), discard; a viewer is refused."""
        tokens = {ADMIN: OpsToken(admin=True, name="alice"), VIEWER: OpsToken(name="bob")}
        async with jido.open_runtime() as rt, trio.open_nursery() as nursery:
            ref = await rt.start_agent(Counter, id="c")
            gateway = await nursery.start(
                partial(serve_gateway, rt, tokens={t: TokenPolicy() for t in tokens})
            )
            server = await nursery.start(partial(serve_ops, rt, tokens=tokens, gateway=gateway))
            board = ["--dashboard", server.url]
            async with connect(f"ws://127.0.0.1:{gateway.port}/", token=ADMIN, reconnect=False) as client:
                await client.call("c", add(1))
                for _ in range(2):
                    with pytest.raises(GatewayError):
                        await client.call("c", jido.Signal(type="counter.picky", source="/t"))
            first, second = [d.id for d in await rt.stored_dead_letters()]

            listed = await _invoke("dead-letters", "list", *board, "--token", VIEWER)
            assert listed.exit_code == 0, listed.output
            lines = listed.stdout.splitlines()
            assert [line.split("\t")[0] for line in lines] == [str(second), str(first)]
            assert lines[0].split("\t")[2:5] == ["crash", "agent:c", "counter.picky"]
            assert listed.stderr == "2 of 2 dead letters\n"

            shown = await _invoke("dead-letters", "show", str(first), *board, "--token", VIEWER)
            assert json.loads(shown.stdout)["signal"]["type"] == "counter.picky"

            refused = await _invoke("dead-letters", "redrive", str(first), *board, "--token", VIEWER)
            assert refused.exit_code == 4
            assert refused.stderr == "Error: 403: this needs an admin token\n"

            await ref.call(add(1))  # even: the redrive succeeds
            redriven = await _invoke("dead-letters", "redrive", str(first), *board, "--token", ADMIN)
            assert redriven.exit_code == 0, redriven.output
            assert json.loads(redriven.stdout)["detail"] == "handled by c"
            assert ref.state.count == 3

            discarded = await _invoke("dead-letters", "discard", str(second), *board, "--token", ADMIN)
            assert discarded.stdout == f"discarded {second}\n"
            assert await rt.stored_dead_letters() == []
            missing = await _invoke("dead-letters", "show", str(second), *board, "--token", ADMIN)
            assert missing.exit_code == 5

            shown_tree = await _invoke("tree", *board, "--token", VIEWER)
            assert shown_tree.stdout == "root [supervisor, one_for_one]\n  c (counter, running)\n"
            nursery.cancel_scope.cancel()

    async def test_cannot_connect(self) -> None:
        """No dashboard at the address: exit 3, one line."""
        async with trio.open_nursery():
            listener = (await trio.open_tcp_listeners(0, host="127.0.0.1"))[0]
            port = listener.socket.getsockname()[1]
            await listener.aclose()  # a port nobody listens on now
        result = await _invoke("dead-letters", "list", "--dashboard", f"http://127.0.0.1:{port}/")
        assert result.exit_code == 3
        assert result.stderr.startswith(f"Error: cannot reach the dashboard at http://127.0.0.1:{port}/: ")

    def test_bad_dashboard_url(self) -> None:
        """A dashboard address that is not http(s) is a usage error."""
        result = CliRunner().invoke(cli, ["tree", "--dashboard", "ws://127.0.0.1:1/"])
        assert result.exit_code == 2


class FakeClient:
    def __init__(self) -> None:
        self.last_close: tuple[int | None, str | None] | None = None
        self.reconnects = 0


class TestTailReconnects:
    async def test_says_lost_and_back(
        self, autojump_clock: trio.testing.MockClock, capsys: pytest.CaptureFixture[str]
    ) -> None:
        """`jido tail` says when its connection dropped and when it is back."""
        client = FakeClient()
        async with trio.open_nursery() as nursery:
            nursery.start_soon(_say_reconnects, client, "ws://x/")
            await trio.sleep(1)
            client.last_close = (1006, None)
            await trio.sleep(1)
            client.reconnects = 1
            await trio.sleep(1)
            nursery.cancel_scope.cancel()
        assert capsys.readouterr().err.splitlines() == [
            "connection to ws://x/ lost (1006: no reason); reconnecting",
            "reconnected to ws://x/; resuming after the last offset seen",
        ]


class TestServeProcess:
    async def test_dashboard_with_admin_tokens(self, tmp_path: pathlib.Path) -> None:
        """`jido serve` with [dashboard] and tokens: the dashboard needs a token, and only an admin one may
        change things."""
        config = tmp_path / "jido.toml"
        config.write_text(
            'port = 0\nstart = ["tests.ops.helpers:Counter"]\n'
            "[dashboard]\nport = 0\n"
            '[[tokens]]\ntoken = "adm1n"\nadmin = true\nname = "ops"\n'
            '[[tokens]]\ntoken = "v1ewer"\n'
        )
        with trio.fail_after(DEADLINE):
            async with jido_process("serve", "--config", str(config)) as child:
                board = (await child.line_matching(DASHBOARD))[1]
                async with httpx.AsyncClient(base_url=board) as http:
                    assert (await http.get("/api/agents")).status_code == 401
                    viewer = {"authorization": "Bearer v1ewer"}
                    agents = (await http.get("/api/agents", headers=viewer)).json()
                    assert [a["id"] for a in agents["rows"]] == ["counter"]
                    assert (await http.post("/api/dead-letters/1/discard", headers=viewer)).status_code == 403
                    admin = {"authorization": "Bearer adm1n"}
                    missing = await http.post("/api/dead-letters/1/discard", headers=admin)
                    assert missing.status_code == 404  # allowed; there is no such letter
                code, _, err = await child.interrupt()
        assert code == 0, err
        assert "ops: discard 1 by ops: refused (no such dead letter)" in err
