"""Review: Redis URL checks of the CLI (jido serve --cluster, [cluster], jido cluster)."""

from __future__ import annotations

import pathlib

import pytest
from click.testing import CliRunner

from jido._urls import redact_url
from jido.cli.cluster import cluster as cluster_command
from jido.cli.config import parse_config
from jido.errors import ValidationError

BASE = pathlib.Path("/srv/app")


@pytest.mark.parametrize("url", ["redis://user:s3cret@host:notaport/0", "redis://user:s3cret@host:99999/0"])
def test_redact_url_with_bad_port(url: str) -> None:
    shown = redact_url(url)
    assert "s3cret" not in shown


def test_config_bad_port_is_a_config_error() -> None:
    with pytest.raises(ValidationError) as caught:
        parse_config({"cluster": {"redis": "http://user:s3cret@host:bad/0"}}, base=BASE, env={})
    assert "$.cluster.redis" in str(caught.value)
    assert "s3cret" not in str(caught.value)


def test_cluster_command_bad_port_is_one_error_line() -> None:
    """jido cluster with a password and a bad port in REDIS_URL: one usage error, the password hidden."""
    result = CliRunner().invoke(cluster_command, ["redis://user:s3cret@localhost:notaport/0"])
    assert not isinstance(result.exception, ValueError), result.exception
    assert result.exit_code in (1, 2)
    assert "s3cret" not in result.output
