"""`jido run` checks its target and options together: every problem in one run, on one line."""

from __future__ import annotations

from click.testing import CliRunner

from jido.cli import cli
from jido.cli.errors import EXIT_USAGE


class TestRunProblemsAtOnce:
    def test_target_and_hosts(self) -> None:
        """A target that is not runnable and two public hosts without a token are reported together."""
        result = CliRunner().invoke(
            cli,
            ["run", "tests.cli.apps:Add", "--host", "0.0.0.0", "--dashboard-host", "0.0.0.0"],
            prog_name="jido",
        )
        assert result.exit_code == EXIT_USAGE
        assert result.stdout == ""
        assert result.stderr.splitlines() == [
            "Error: 'tests.cli.apps:Add' is not an agent, supervisor or sensor (got class Add); "
            "--token is required when --host is not a loopback address (got '0.0.0.0'); "
            "--token is required when --dashboard-host is not a loopback address (got '0.0.0.0')"
        ]

    def test_id_and_host(self) -> None:
        """--id on a supervisor and a public host without a token are reported together."""
        result = CliRunner().invoke(
            cli, ["run", "tests.cli.apps:Team", "--id", "x", "--host", "0.0.0.0"], prog_name="jido"
        )
        assert result.exit_code == EXIT_USAGE
        assert result.stderr.splitlines() == [
            "Error: --id applies to an agent, and 'tests.cli.apps:Team' is a supervisor; "
            "--token is required when --host is not a loopback address (got '0.0.0.0')"
        ]
