"""The serve config's [gateway] table: the gateway's limits, checked, and passed to the gateway."""

from __future__ import annotations

import pathlib

import pytest
from click.testing import CliRunner

from jido.cli import cli
from jido.cli.config import GatewayConfig, parse_config
from jido.cli.errors import EXIT_USAGE
from jido.errors import ValidationError

BASE = pathlib.Path("/srv/app")


def test_absent_table_passes_nothing() -> None:
    assert parse_config({}, base=BASE, env={}).gateway.options() == {}


def test_given_limits_become_options() -> None:
    config = parse_config(
        {"gateway": {"max_connections": 50, "max_subscriptions": 10, "handshake_timeout": 2}},
        base=BASE,
        env={},
    )
    assert config.gateway == GatewayConfig(max_connections=50, max_subscriptions=10, handshake_timeout=2.0)
    assert config.gateway.options() == {
        "max_connections": 50,
        "max_subscriptions": 10,
        "handshake_timeout": 2.0,
    }


def test_every_bad_limit_is_named_in_one_run() -> None:
    data = {
        "gateway": {
            "max_connections": 0,
            "max_total_bytes": "lots",
            "handshake_timeout": -1.0,
            "slow_consumer_timeout": float("inf"),
            "max_frames": 3,
            "max_subscriptions": True,
            "max_frame_bytes": 1.5,
        }
    }
    with pytest.raises(ValidationError) as info:
        parse_config(data, base=BASE, env={})
    shown = sorted(str(e) for e in info.value.errors)
    assert shown == [
        "$.gateway.handshake_timeout: expected a positive number of seconds, got -1.0",
        "$.gateway.max_connections: expected an int >= 1, got 0",
        "$.gateway.max_frame_bytes: expected int or null, got 1.5",
        "$.gateway.max_subscriptions: expected int or null, got true",
        '$.gateway.max_total_bytes: expected int or null, got "lots"',
        "$.gateway.slow_consumer_timeout: expected a positive number of seconds, got inf",
        "$.gateway: unknown field(s): max_frames",
    ]


def test_limits_that_do_not_fit_together_are_one_line(tmp_path: pathlib.Path) -> None:
    """Each limit is positive, but one connection's budget cannot hold its own parts: the gateway says what it
    needs, as one usage error, before anything is served."""
    path = tmp_path / "jido.toml"
    path.write_text("port = 0\n[dashboard]\nenabled = false\n[gateway]\nmax_connection_bytes = 1000\n")
    result = CliRunner().invoke(cli, ["serve", "--config", str(path)], prog_name="jido")
    assert result.exit_code == EXIT_USAGE, result.output
    errors = [line for line in result.stderr.splitlines() if line.startswith("Error:")]
    assert len(errors) == 1 and errors[0].startswith(
        "Error: [gateway]: max_connection_bytes must be at least"
    )
