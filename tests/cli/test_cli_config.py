"""The `jido serve` config file: checked strictly, every problem named by its $.path, on one line."""

from __future__ import annotations

import pathlib
import re

import pytest
from click.testing import CliRunner

from jido.cli import cli
from jido.cli.config import (
    JournalConfig,
    ServeConfig,
    StoreConfig,
    TokenConfig,
    is_loopback,
    load_config,
    parse_config,
)
from jido.cli.errors import EXIT_USAGE
from jido.errors import ValidationError

BASE = pathlib.Path("/srv/app")


def problems(data: object, env: dict[str, str] | None = None) -> list[str]:
    with pytest.raises(ValidationError) as info:
        parse_config(data, base=BASE, env=env or {})
    assert info.value.subject == "config"
    return [str(e) for e in info.value.errors]


class TestParseConfig:
    def test_defaults(self) -> None:
        """An empty document is loopback port 8765, nothing started, no tokens, memory journal."""
        assert parse_config({}, base=BASE, env={}) == ServeConfig()

    def test_full(self) -> None:
        """Every key is read; token_env is resolved; the journal path is taken from the config's folder."""
        data = {
            "host": "0.0.0.0",
            "port": 9000,
            "start": ["tests.cli.apps:Counter"],
            "tokens": [
                {"token": "admin-token"},
                {
                    "token_env": "READER",
                    "name": "reader",
                    "subscribe": ["orders.**"],
                    "publish": [],
                    "call": False,
                },
            ],
            "journal": {"sqlite": "data/jido.db", "synchronous": "NORMAL"},
        }
        config = parse_config(data, base=BASE, env={"READER": "reader-token"})
        assert config == ServeConfig(
            host="0.0.0.0",
            port=9000,
            start=("tests.cli.apps:Counter",),
            tokens=(
                TokenConfig(token="admin-token"),
                TokenConfig(
                    token="reader-token", name="reader", subscribe=("orders.**",), publish=(), call=False
                ),
            ),
            journal=JournalConfig(sqlite="/srv/app/data/jido.db", synchronous="NORMAL"),
            # Agent state goes in the journal's file unless [store] says otherwise.
            store=StoreConfig(sqlite="/srv/app/data/jido.db", synchronous="NORMAL"),
        )

    @pytest.mark.parametrize(
        ("data", "expected"),
        [
            ({"port": "8765"}, ['$.port: expected int, got "8765"']),
            ({"port": 70000}, ["$.port: must be between 0 and 65535, got 70000"]),
            ({"port": True}, ["$.port: expected int, got true"]),
            ({"host": ""}, ["$.host: must not be empty"]),
            ({"bogus": 1}, ["$: unknown field(s): bogus"]),
            ({"start": "app:Agent"}, ['$.start: expected array, got "app:Agent"']),
            ({"start": ["app:Agent", "app"]}, ["$.start[1]: expected 'module:object', got 'app'"]),
            ({"start": [3]}, ["$.start[0]: expected str, got 3"]),
            ({"tokens": {"token": "x"}}, ["$.tokens: expected array, got object"]),
            ({"tokens": [{}]}, ["$.tokens[0]: give exactly one of token or token_env"]),
            (
                {"tokens": [{"token": "a", "token_env": "B"}]},
                ["$.tokens[0]: give exactly one of token or token_env"],
            ),
            ({"tokens": [{"token": ""}]}, ["$.tokens[0].token: must not be empty"]),
            (
                {"tokens": [{"token": "a b"}]},
                ["$.tokens[0].token: may not contain whitespace or control characters"],
            ),
            (
                {"tokens": [{"token_env": "MISSING"}]},
                ["$.tokens[0].token_env: environment variable 'MISSING' is not set"],
            ),
            ({"tokens": [{"token": "a"}, {"token": "a"}]}, ["$.tokens[1]: the same token is given twice"]),
            ({"tokens": [{"token": "a", "call": "yes"}]}, ['$.tokens[0].call: expected bool, got "yes"']),
            ({"tokens": [{"token": "a", "scope": 1}]}, ["$.tokens[0]: unknown field(s): scope"]),
            (
                {"tokens": [{"token": "a", "name": "has space"}]},
                ["$.tokens[0].name: expected 1 to 128 of [A-Za-z0-9_.:@-], got 'has space'"],
            ),
            (
                {"tokens": [{"token": "a", "subscribe": ["ok.*", "bad..x"]}]},
                ["$.tokens[0].subscribe[1]: empty segment at position 2 in 'bad..x'"],
            ),
            (
                {"tokens": [{"token": "a", "publish": ["a*"]}]},
                [
                    "$.tokens[0].publish[0]: 'a*' at position 1 in 'a*' mixes a wildcard with other characters; wildcards must be whole segments"
                ],
            ),
            (
                {"host": "0.0.0.0"},
                ["$.tokens: required when host is not a loopback address (host is '0.0.0.0')"],
            ),
            ({"journal": {}}, ["$.journal.sqlite: required field missing"]),
            ({"journal": {"sqlite": ""}}, ["$.journal.sqlite: must not be empty"]),
            (
                {"journal": {"sqlite": "x.db", "synchronous": "OFF"}},
                ['$.journal.synchronous: expected one of "NORMAL", "FULL", got "OFF"'],
            ),
            ({"journal": "x.db"}, ['$.journal: expected object or null, got "x.db"']),
        ],
    )
    def test_bad_config(self, data: object, expected: list[str]) -> None:
        """Each bad value is reported at its $.path."""
        assert problems(data) == expected

    def test_every_problem_at_once(self) -> None:
        """Problems of the checks after structuring are all reported together."""
        data = {"port": -1, "start": ["x"], "tokens": [{"token": ""}], "journal": {"sqlite": ""}}
        assert problems(data) == [
            "$.port: must be between 0 and 65535, got -1",
            "$.start[0]: expected 'module:object', got 'x'",
            "$.tokens[0].token: must not be empty",
            "$.journal.sqlite: must not be empty",
        ]

    def test_type_and_rule_problems_at_once(self) -> None:
        """Values of the wrong type do not hide the rules broken by the values of the right type."""
        data = {
            "host": "",
            "port": "x",
            "start": [3, "x", "ok:Agent"],
            "tokens": [{"token": ""}, {"token": "b", "call": "yes", "subscribe": ["a..b"]}, 7],
            "dashboard": {"enabled": "no", "port": 70000},
            "journal": {"sqlite": "", "synchronous": "OFF"},
            "store": {"sqlite": 1},
            "bogus": 1,
        }
        assert problems(data) == [
            '$.port: expected int, got "x"',
            "$.start[0]: expected str, got 3",
            '$.tokens[1].call: expected bool, got "yes"',
            "$.tokens[2]: expected object, got 7",
            '$.journal.synchronous: expected one of "NORMAL", "FULL", got "OFF"',
            "$.store.sqlite: expected str, got 1",
            '$.dashboard.enabled: expected bool, got "no"',
            "$: unknown field(s): bogus",
            "$.host: must not be empty",
            "$.start[1]: expected 'module:object', got 'x'",
            "$.tokens[0].token: must not be empty",
            "$.tokens[1].subscribe[0]: empty segment at position 2 in 'a..b'",
            "$.journal.sqlite: must not be empty",
            "$.dashboard.port: must be between 0 and 65535, got 70000",
        ]

    @pytest.mark.parametrize(
        ("data", "expected"),
        [
            # A mistyped token is its own problem, not also "give exactly one of token or token_env".
            ({"tokens": [{"token": 5}]}, ["$.tokens[0].token: expected str or null, got 5"]),
            # Tokens given but mistyped are not "required".
            (
                {"host": "0.0.0.0", "tokens": [{"token": 5}]},
                ["$.tokens[0].token: expected str or null, got 5"],
            ),
            ({"host": "0.0.0.0", "tokens": 5}, ["$.tokens: expected array, got 5"]),
            # A mistyped host is checked no further.
            ({"host": 1}, ["$.host: expected str, got 1"]),
            (
                {"dashboard": {"host": "0.0.0.0", "enabled": "x"}},
                ['$.dashboard.enabled: expected bool, got "x"'],
            ),
            (
                {"journal": {"synchronous": 1}},
                [
                    "$.journal.sqlite: required field missing",
                    '$.journal.synchronous: expected one of "NORMAL", "FULL", got 1',
                ],
            ),
        ],
    )
    def test_no_problem_follows_from_another(self, data: object, expected: list[str]) -> None:
        """A bad value is reported once; the rules that read it are skipped rather than misled."""
        assert problems(data) == expected

    def test_not_a_table(self) -> None:
        """A document that is not a table is refused at $."""
        assert problems([1, 2]) == ["$: expected object, got array"]

    @pytest.mark.parametrize(
        ("host", "loopback"),
        [
            ("127.0.0.1", True),
            ("127.1.2.3", True),
            ("::1", True),
            ("localhost", True),
            ("0.0.0.0", False),
            ("example.org", False),
        ],
    )
    def test_is_loopback(self, host: str, loopback: bool) -> None:
        """Loopback hosts are recognised by address (and the name localhost)."""
        assert is_loopback(host) is loopback


class TestLoadConfig:
    def test_invalid_toml(self, tmp_path: pathlib.Path) -> None:
        """A file that is not TOML is reported at $ with the parser's position."""
        path = tmp_path / "jido.toml"
        path.write_text("port = \n")
        with pytest.raises(
            ValidationError,
            match=r"^invalid config:\n\$: invalid TOML: Invalid value \(at line 1, column 8\)$",
        ):
            load_config(path)

    def test_reads_file(self, tmp_path: pathlib.Path) -> None:
        """A valid file is read, its journal path resolved beside it."""
        path = tmp_path / "jido.toml"
        path.write_text('port = 0\n[journal]\nsqlite = "j.db"\n')
        assert load_config(path, env={}) == ServeConfig(
            port=0,
            journal=JournalConfig(sqlite=str(tmp_path / "j.db")),
            store=StoreConfig(sqlite=str(tmp_path / "j.db")),
        )

    def test_store_table(self, tmp_path: pathlib.Path) -> None:
        """[store] names its own file (beside the config), checked as strictly as the rest."""
        path = tmp_path / "jido.toml"
        path.write_text('[journal]\nsqlite = "j.db"\n[store]\nsqlite = "s.db"\nsynchronous = "NORMAL"\n')
        config = load_config(path, env={})
        assert config.store == StoreConfig(sqlite=str(tmp_path / "s.db"), synchronous="NORMAL")
        path.write_text('[store]\nsqlite = ""\n')
        with pytest.raises(ValidationError, match=r"^invalid config:\n\$\.store\.sqlite: must not be empty$"):
            load_config(path, env={})
        path.write_text('[store]\nsqlite = "s.db"\nsynchronous = "fast"\nkind = 1\n')
        with pytest.raises(ValidationError, match=r"\$\.store: unknown field\(s\): kind"):
            load_config(path, env={})


class TestServeCommand:
    def serve(self, path: pathlib.Path) -> tuple[int, str]:
        result = CliRunner().invoke(cli, ["serve", "--config", str(path)], prog_name="jido")
        lines = result.stderr.splitlines()
        assert len(lines) == 1, result.stderr
        assert result.stdout == ""
        return result.exit_code, lines[0]

    def test_missing_file(self, tmp_path: pathlib.Path) -> None:
        """A config file that does not exist is one line, exit 2."""
        path = tmp_path / "none.toml"
        assert self.serve(path) == (EXIT_USAGE, f"Error: config file {str(path)!r} not found")

    def test_bad_config_is_one_line(self, tmp_path: pathlib.Path) -> None:
        """Several problems come out on one line, each with its $.path."""
        path = tmp_path / "jido.toml"
        path.write_text('port = "x"\nextra = 1\n')
        assert self.serve(path) == (
            EXIT_USAGE,
            f'Error: {path}: invalid config: $.port: expected int, got "x"; $: unknown field(s): extra',
        )

    def test_bad_start_entry(self, tmp_path: pathlib.Path) -> None:
        """An entry of start that cannot be loaded is named by its $.path."""
        path = tmp_path / "jido.toml"
        path.write_text('start = ["tests.cli.apps:Counter", "tests.cli.apps:helper"]\n')
        code, line = self.serve(path)
        assert code == EXIT_USAGE
        assert line == (
            f"Error: {path}: invalid config: "
            "$.start[1]: 'tests.cli.apps:helper' is not an agent, supervisor or sensor (got function)"
        )

    def test_every_problem_in_one_run(self, tmp_path: pathlib.Path) -> None:
        """Type errors, rule errors and start entries that do not load come out together."""
        path = tmp_path / "jido.toml"
        path.write_text(
            'host = "0.0.0.0"\nport = "x"\nstart = ["tests.cli.apps:helper", "nope"]\n'
            '[dashboard]\nport = 70000\n[journal]\nsqlite = ""\n'
        )
        code, line = self.serve(path)
        assert code == EXIT_USAGE
        assert line == (
            f"Error: {path}: invalid config: "
            '$.port: expected int, got "x"; '
            "$.start[0]: 'tests.cli.apps:helper' is not an agent, supervisor or sensor (got function); "
            "$.start[1]: expected 'module:object', got 'nope'; "
            "$.tokens: required when host is not a loopback address (host is '0.0.0.0'); "
            "$.journal.sqlite: must not be empty; "
            "$.dashboard.port: must be between 0 and 65535, got 70000"
        )

    def test_invalid_toml(self, tmp_path: pathlib.Path) -> None:
        """Invalid TOML is one line with its position."""
        path = tmp_path / "jido.toml"
        path.write_text("[tokens\n")
        code, line = self.serve(path)
        assert code == EXIT_USAGE
        assert re.fullmatch(
            rf"Error: {re.escape(str(path))}: invalid config: \$: invalid TOML: .+ \(at line 1, column \d+\)",
            line,
        )
