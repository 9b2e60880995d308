"""Hostile input to the jido command (JSON and TOML nested past the stack): one error line, exit 2."""

from __future__ import annotations

import pathlib

import pytest
from click.testing import CliRunner, Result

from jido.cli import cli
from jido.cli.errors import EXIT_USAGE

DEEP_JSON = "[" * 50_000 + "]" * 50_000
URL = "ws://127.0.0.1:9/"  # never reached: the input is refused before connecting


def invoke(*args: str) -> Result:
    return CliRunner().invoke(cli, list(args), prog_name="jido")


def error_line(result: Result) -> str:
    lines = result.stderr.splitlines()
    assert len(lines) == 1, result.stderr
    return lines[0]


class TestDataOption:
    @pytest.mark.parametrize("args", [("send", "a.b"), ("call", "counter", "a.b")], ids=["send", "call"])
    def test_nested_past_the_stack(self, args: tuple[str, ...]) -> None:
        """--data nested 50,000 deep is one line naming --data, exit 2 (no RecursionError traceback)."""
        result = invoke(*args, "--data", DEEP_JSON, "--url", URL)
        assert result.exit_code == EXIT_USAGE, result.output
        assert error_line(result) == "Error: --data: invalid JSON: nested too deeply"

    def test_nested_past_the_signal_limit(self) -> None:
        """--data that JSON can read but a signal may not carry (over 128 levels) is an invalid signal."""
        result = invoke("send", "a.b", "--data", "[" * 200 + "]" * 200, "--url", URL)
        assert result.exit_code == EXIT_USAGE, result.output
        assert error_line(result).startswith("Error: invalid signal: $.data[0][0]")
        assert error_line(result).endswith(": nested deeper than 128 levels")

    def test_not_a_number(self) -> None:
        """NaN is not JSON, whatever Python's json module accepts."""
        result = invoke("send", "a.b", "--data", '{"x": NaN}', "--url", URL)
        assert result.exit_code == EXIT_USAGE, result.output
        assert error_line(result) == "Error: --data: invalid JSON: NaN is not valid JSON"

    def test_syntax_error_keeps_its_words(self) -> None:
        """A syntax error still says where it is, as docs/cli.md shows."""
        result = invoke("send", "order.placed", "--data", '{"id": 7', "--url", URL)
        assert result.exit_code == EXIT_USAGE, result.output
        assert error_line(result) == (
            "Error: --data: invalid JSON: Expecting ',' delimiter: line 1 column 9 (char 8)"
        )


class TestConfigFile:
    @pytest.mark.parametrize("value", ["[" * 5000 + "]" * 5000, "{a=" * 5000 + "1" + "}" * 5000])
    def test_nested_past_the_stack(self, tmp_path: pathlib.Path, value: str) -> None:
        """A TOML array or inline table nested past tomllib's recursion is one line at $, exit 2."""
        config = tmp_path / "jido.toml"
        config.write_text(f"host = {value}\n", encoding="utf-8")
        result = invoke("serve", "--config", str(config))
        assert result.exit_code == EXIT_USAGE, result.output
        assert error_line(result) == f"Error: {config}: invalid config: $: invalid TOML: nested too deeply"


class TestOptionValues:
    @pytest.mark.parametrize(
        ("args", "message"),
        [
            (["inspect", "--timeout", "nan"], "must be a number of seconds, not NaN"),
            (["call", "a", "b.c", "--timeout", "nan"], "must be a number of seconds, not NaN"),
            (["inspect", "--token", ""], "a token must be non-empty"),
            (["inspect", "--token", "a\nb"], "a token must be non-empty"),
        ],
    )
    def test_bad_values_are_one_usage_line(self, args: list[str], message: str) -> None:
        """NaN timeouts and tokens that cannot travel in a header are usage errors (exit 2), no traceback."""
        result = CliRunner().invoke(cli, args, prog_name="jido")
        assert result.exit_code == 2, result.output
        assert message in result.stderr and "Traceback" not in result.stderr

    def test_config_not_utf8(self, tmp_path: pathlib.Path) -> None:
        """A config file that is not UTF-8 text is one error line, exit 2."""
        path = tmp_path / "jido.toml"
        path.write_bytes(b"port = 0\n\xff\xfe\n")
        result = CliRunner().invoke(cli, ["serve", "--config", str(path)], prog_name="jido")
        assert result.exit_code == 2, result.output
        assert result.stderr.splitlines() == [f"Error: {path}: not UTF-8 text (invalid start byte at byte 9)"]
