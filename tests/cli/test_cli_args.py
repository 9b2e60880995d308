"""The jido command without a gateway: arguments, MODULE:OBJECT loading, routes, and errors on one line."""

from __future__ import annotations

import re

import pytest
from click.testing import CliRunner, Result

import jido
from jido.cli import cli
from jido.cli.errors import EXIT_USAGE
from jido.cli.render import ordered_routes
from tests.cli.apps import Counter

COMMANDS = [
    "init",
    "cluster",
    "run",
    "serve",
    "send",
    "tail",
    "call",
    "inspect",
    "restart",
    "routes",
    "demo",
    "dead-letters",
    "tree",
]


def invoke(*args: str) -> Result:
    return CliRunner().invoke(cli, list(args), prog_name="jido")


def error_line(result: Result) -> str:
    """The command's stderr, which must be exactly one line."""
    lines = result.stderr.splitlines()
    assert len(lines) == 1, result.stderr
    return lines[0]


class TestCommandLine:
    @pytest.mark.parametrize("command", COMMANDS)
    def test_help(self, command: str) -> None:
        """Every command has --help, which exits 0 and shows its usage."""
        result = invoke(command, "--help")
        assert result.exit_code == 0, result.output
        assert result.stdout.startswith(f"Usage: jido {command} ")

    def test_group_help_lists_commands(self) -> None:
        """`jido --help` lists every command."""
        result = invoke("--help")
        assert result.exit_code == 0
        listed = re.findall(r"^  ([\w-]+)", result.stdout.split("Commands:")[1], re.MULTILINE)
        assert sorted(listed) == sorted(COMMANDS)

    def test_version(self) -> None:
        """`jido --version` prints the package version."""
        result = invoke("--version")
        assert result.exit_code == 0
        assert result.stdout == f"jido, version {jido.__version__}\n"

    def test_unknown_command(self) -> None:
        """An unknown command is one line with a suggestion, exit 2."""
        result = invoke("rout")
        assert result.exit_code == EXIT_USAGE
        assert (
            error_line(result) == "Error: No such command 'rout'. Did you mean 'routes'? (see 'jido --help')"
        )

    def test_missing_argument(self) -> None:
        """A missing argument is one line naming it, exit 2."""
        result = invoke("send")
        assert result.exit_code == EXIT_USAGE
        assert error_line(result) == "Error: Missing argument 'TYPE'. (see 'jido send --help')"

    def test_bad_option_value(self) -> None:
        """An option value of the wrong type is one line, exit 2."""
        result = invoke("run", "tests.cli.apps:Counter", "--port", "70000")
        assert result.exit_code == EXIT_USAGE
        assert error_line(result).startswith("Error: Invalid value for '--port': 70000 is not in the range")


class TestTargets:
    @pytest.mark.parametrize(
        ("target", "message"),
        [
            (
                "tests.cli.apps",
                "expected MODULE:OBJECT (such as 'myapp.agents:Counter'), got 'tests.cli.apps'",
            ),
            (":Counter", "expected MODULE:OBJECT (such as 'myapp.agents:Counter'), got ':Counter'"),
            ("tests.cli.nope:X", "cannot import module 'tests.cli.nope': no module named 'tests.cli.nope'"),
            ("nope.deeper:X", "cannot import module 'nope.deeper': no module named 'nope'"),
            (
                "tests.cli.apps:Countr",
                "module 'tests.cli.apps' has no attribute 'Countr' (did you mean 'Counter'?)",
            ),
            ("tests.cli.apps:Holder.nope", "'tests.cli.apps:Holder' has no attribute 'nope'"),
            ("tests.cli.apps:NOT_AN_AGENT", "'tests.cli.apps:NOT_AN_AGENT' is not an agent (got int)"),
            ("tests.cli.apps:helper", "'tests.cli.apps:helper' is not an agent (got function)"),
            ("tests.cli.apps:Team", "'tests.cli.apps:Team' is not an agent (got a supervisor)"),
            ("tests.cli.apps:Clock", "'tests.cli.apps:Clock' is not an agent (got a sensor)"),
        ],
    )
    def test_routes_bad_target(self, target: str, message: str) -> None:
        """A MODULE:AGENT that does not name an agent is one clear line, exit 2."""
        result = invoke("routes", target)
        assert result.exit_code == EXIT_USAGE
        assert error_line(result) == f"Error: {message}"

    def test_module_failing_at_import(self) -> None:
        """A module that raises while imported is one line with the error and where it was raised."""
        result = invoke("routes", "tests.cli.broken_app:X")
        assert result.exit_code == EXIT_USAGE
        assert error_line(result) == (
            "Error: cannot import module 'tests.cli.broken_app': RuntimeError: this module is broken on purpose"
            " (broken_app.py:3)"
        )

    @pytest.mark.parametrize(
        ("target", "message"),
        [
            (
                "tests.cli.apps",
                "expected MODULE:OBJECT (such as 'myapp.agents:Counter'), got 'tests.cli.apps'",
            ),
            (
                "tests.cli.apps:NOT_AN_AGENT",
                "'tests.cli.apps:NOT_AN_AGENT' is not an agent, supervisor or sensor (got int)",
            ),
            (
                "tests.cli.apps:Add",
                "'tests.cli.apps:Add' is not an agent, supervisor or sensor (got class Add)",
            ),
        ],
    )
    def test_run_bad_target(self, target: str, message: str) -> None:
        """`jido run` refuses what is not an agent, supervisor or sensor before starting anything, exit 2."""
        result = invoke("run", target, "--port", "0")
        assert result.exit_code == EXIT_USAGE
        assert error_line(result) == f"Error: {message}"
        assert result.stdout == ""

    def test_run_id_on_supervisor(self) -> None:
        """--id applies to agents only."""
        result = invoke("run", "tests.cli.apps:Team", "--id", "x")
        assert result.exit_code == EXIT_USAGE
        assert (
            error_line(result) == "Error: --id applies to an agent, and 'tests.cli.apps:Team' is a supervisor"
        )

    def test_run_public_host_needs_token(self) -> None:
        """Serving off loopback without a token is refused."""
        result = invoke("run", "tests.cli.apps:Counter", "--host", "0.0.0.0", "--port", "0")
        assert result.exit_code == EXIT_USAGE
        assert error_line(result) == (
            "Error: --token is required when --host is not a loopback address (got '0.0.0.0')"
        )


class TestRoutes:
    def test_match_order(self) -> None:
        """Routes are listed by priority, then specificity, then registration, with their markers."""
        result = invoke("routes", "tests.cli.apps:Counter")
        assert result.exit_code == 0, result.output
        rows = [
            [cell.strip() for cell in line.split("│")[1:-1]]
            for line in result.stdout.splitlines()
            if line.startswith("│")
        ]
        assert rows == [
            ["1", "counter.add", "10", "add", "when=is_large", "agent"],
            ["2", "counter.add", "0", "add", "", "agent"],
            ["3", "counter.fail", "0", "fail", "", "agent"],
            ["4", "counter.*", "0", "add", 'params={"by":2}', "agent"],
            ["5", "counter.**", "-5", "add", "", "agent"],
        ]
        assert result.stdout.startswith("routes of agent 'counter' (match order)\n")

    def test_order_is_the_routers(self) -> None:
        """The listed order is the order the agent's router returns for a type every route matches."""
        spec = Counter.__jido_spec__  # type: ignore[attr-defined]
        signal = jido.Signal(type="counter.add", source="/t", data={"by": 50})
        routed = [route.target for route in spec.router.route(signal)]
        listed = [route for route in ordered_routes(spec) if route.pattern != "counter.fail"]
        assert routed == listed

    def test_dotted_object_and_no_routes(self) -> None:
        """A dotted OBJECT path reaches an attribute; an agent without routes says so."""
        result = invoke("routes", "tests.cli.apps:Holder.spec")
        assert result.exit_code == 0
        assert result.stdout == "agent 'held' has no routes\n"


class TestSendArguments:
    def test_bad_json(self) -> None:
        """--data that is not JSON is named, exit 2, before any connection is tried."""
        result = invoke("send", "a.b", "--data", "{x", "--url", "ws://127.0.0.1:1/")
        assert result.exit_code == EXIT_USAGE
        assert error_line(result) == (
            "Error: --data: invalid JSON: Expecting property name enclosed in double quotes: line 1 column 2 (char 1)"
        )

    def test_bad_signal_type(self) -> None:
        """An invalid signal type is the SignalError's line, exit 2."""
        result = invoke("send", "a..b", "--url", "ws://127.0.0.1:1/")
        assert result.exit_code == EXIT_USAGE
        assert error_line(result) == "Error: invalid signal: $.type: empty segment at position 2 in 'a..b'"

    def test_call_bad_json(self) -> None:
        """`jido call` checks --data the same way."""
        result = invoke("call", "counter", "counter.add", "--data", "[1,", "--url", "ws://127.0.0.1:1/")
        assert result.exit_code == EXIT_USAGE
        assert error_line(result).startswith("Error: --data: invalid JSON: ")

    @pytest.mark.parametrize(
        ("url", "message"),
        [
            ("http://127.0.0.1:8765/", "expected ws://HOST:PORT/ or wss://..., got 'http://127.0.0.1:8765/'"),
            ("ws://127.0.0.1:99999/", "'ws://127.0.0.1:99999/': Port out of range 0-65535"),
            ("ws:///", "expected ws://HOST:PORT/ or wss://..., got 'ws:///'"),
        ],
    )
    def test_bad_url(self, url: str, message: str) -> None:
        """A --url that is not a websocket URL is a usage error."""
        result = invoke("inspect", "--url", url)
        assert result.exit_code == EXIT_USAGE
        assert (
            error_line(result) == f"Error: Invalid value for '--url': {message} (see 'jido inspect --help')"
        )

    def test_call_timeout_range(self) -> None:
        """--timeout must be positive and at most the gateway's limit."""
        result = invoke("call", "counter", "counter.add", "--timeout", "0")
        assert result.exit_code == EXIT_USAGE
        assert error_line(result) == (
            "Error: Invalid value for '--timeout': 0.0 is not in the range 0<x<=300.0. (see 'jido call --help')"
        )

    def test_call_empty_agent(self) -> None:
        """An empty agent id is a usage error."""
        result = invoke("call", "", "counter.add")
        assert result.exit_code == EXIT_USAGE
        assert error_line(result) == (
            "Error: Invalid value for 'AGENT': an agent id must not be empty (see 'jido call --help')"
        )

    def test_bad_tail_pattern(self) -> None:
        """An invalid tail pattern is a usage error naming the problem."""
        result = invoke("tail", "a.b*", "--url", "ws://127.0.0.1:1/")
        assert result.exit_code == EXIT_USAGE
        assert error_line(result) == (
            "Error: Invalid value for '[PATTERN]': 'b*' at position 2 in 'a.b*' mixes a wildcard with other"
            " characters; wildcards must be whole segments (see 'jido tail --help')"
        )

    def test_cannot_connect(self) -> None:
        """No gateway at the URL: one line, exit 3."""
        result = invoke("send", "a.b", "--url", "ws://127.0.0.1:1/")
        assert result.exit_code == 3
        assert error_line(result).startswith("Error: cannot connect to ws://127.0.0.1:1/: ")
