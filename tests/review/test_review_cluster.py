"""Review: the cluster runtime (failover, bad input)."""

from __future__ import annotations

import pathlib
from typing import Any

import pytest
import trio
from click.testing import CliRunner

from jido._redis import RedisClient, RedisUnavailableError
from jido.cli.cluster import cluster as cluster_command
from jido.cli.config import check_cluster_url, parse_config
from jido.cli.errors import EXIT_FAILURE, EXIT_USAGE, CliError
from jido.cluster.leases import Leases
from jido.cluster.membership import Membership
from jido.cluster.runtime import open_cluster_runtime
from jido.errors import ValidationError
from jido.signal import Signal
from tests.cli.test_cli_cluster import finished
from tests.cli.test_cli_process import DEADLINE, jido_process
from tests.cluster.agents import Tally
from tests.redis.server import RedisServer
from tests.redis.server import redis_client as redis_client
from tests.redis.server import redis_namespace as redis_namespace
from tests.redis.server import redis_server as redis_server

KNOWN = {"t-1": Tally}


def strict_resolve(agent_id: str) -> type[Any]:
    """A resolve that knows a fixed set of ids (a dict lookup): KeyError for any other."""
    return KNOWN[agent_id]


async def _until(predicate: Any, *, step: float = 0.02, limit: int = 500) -> None:
    for _ in range(limit):  # bounded poll of Redis's own TTLs
        if await predicate():
            return
        await trio.sleep(step)
    raise AssertionError("condition not reached")


async def test_failover_with_resolve_error_keeps_the_node(
    redis_server: RedisServer, redis_client: RedisClient, redis_namespace: str
) -> None:
    """A resolve raising KeyError for a dead node's agent is counted and logged; the survivor serves on."""
    # A node that started an agent resolve does not know (ClusterRuntime.start_agent allows it), then died.
    old = Membership(redis_client, node_id="old", namespace=redis_namespace, ttl=0.3)
    await old.join()
    leases = Leases(redis_client, node_id="old", namespace=redis_namespace, ttl=0.3)
    await leases.acquire("special")

    async def old_gone() -> bool:
        return "old" not in await old.live_nodes()

    await _until(old_gone)
    survived = False
    with trio.move_on_after(20):
        async with open_cluster_runtime(
            redis_server.url,
            node_id="new",
            resolve=strict_resolve,
            namespace=redis_namespace,
            node_ttl=1.0,
            lease_ttl=1.0,
        ) as node:

            async def given_up() -> bool:  # the takeover of "old" ran (its lease on "special" ran out first)
                return node.statistics().reactivate_failed == 1

            await _until(given_up)
            agent = await node.call("t-1", Signal(type="tally.add", source="/t", data={"by": 2}), timeout=5)
            survived = agent.state.total == 2
    assert survived


def test_cluster_command_db_out_of_range(redis_server: RedisServer) -> None:
    """jido cluster on a database the server does not have: one error line naming the URL, exit 1."""
    url = redis_server.url.rsplit("/", 1)[0] + "/99"  # the server has 16 databases
    result = CliRunner().invoke(cluster_command, [url])
    assert isinstance(result.exception, CliError), repr(result.exception)
    assert result.exception.exit_code == EXIT_FAILURE
    assert result.exception.message == (
        f"cannot read the cluster: Redis at {url} is unavailable: it has no database 99"
        " (DB index is out of range)"
    )


def test_cluster_command_db_not_a_number() -> None:
    """jido cluster on a URL whose database is not a number: a usage error, before connecting."""
    result = CliRunner().invoke(cluster_command, ["redis://user:s3cret@127.0.0.1:1/abc"])
    assert isinstance(result.exception, CliError), repr(result.exception)
    assert result.exception.exit_code == EXIT_USAGE
    assert "s3cret" not in result.exception.message
    assert "database is a number" in result.exception.message


@pytest.mark.parametrize(
    "url",
    [
        "redis://h:6379/abc",
        "redis://h:6379/1/2",
        "redis://h:6379/0?db=x",
        "unix:///run/redis.sock?db=x",
        "redis://u:s3cret@h:notaport/0",
        "redis://u:s3cret@h:99999/0",
    ],
)
def test_config_refuses_bad_db_or_port(url: str) -> None:
    """[cluster] redis with a database that is not a number, or a bad port: a config error, redacted."""
    with pytest.raises(ValidationError) as caught:
        parse_config({"cluster": {"redis": url}}, base=pathlib.Path("/srv/app"), env={})
    assert "$.cluster.redis" in str(caught.value)
    assert "s3cret" not in str(caught.value)


@pytest.mark.parametrize(
    "url", ["redis://h:6379", "redis://h:6379/", "redis://h/15", "rediss://h:1/0?db=3", "unix:///r.sock?db=1"]
)
def test_config_accepts_good_urls(url: str) -> None:
    """The forms coredis reads a database from, with a number, pass the check."""
    assert check_cluster_url(url) is None


async def test_open_cluster_runtime_db_out_of_range(redis_server: RedisServer, redis_namespace: str) -> None:
    """open_cluster_runtime on a database the server does not have: RedisUnavailableError naming the URL."""
    url = redis_server.url.rsplit("/", 1)[0] + "/99"
    with pytest.raises(RedisUnavailableError) as caught:
        async with open_cluster_runtime(url, node_id="n", resolve=strict_resolve, namespace=redis_namespace):
            pass
    assert (
        str(caught.value)
        == f"Redis at {url} is unavailable: it has no database 99 (DB index is out of range)"
    )


async def test_open_cluster_runtime_db_not_a_number(redis_server: RedisServer, redis_namespace: str) -> None:
    """open_cluster_runtime on a URL whose database is not a number: ValueError (not database 0 quietly)."""
    url = redis_server.url.rsplit("/", 1)[0].replace("redis://", "redis://user:s3cret@") + "/abc"
    with pytest.raises(ValueError, match=r"names database 'abc': it must be a number") as caught:
        async with open_cluster_runtime(url, node_id="n", resolve=strict_resolve, namespace=redis_namespace):
            pass
    assert "s3cret" not in str(caught.value)


async def test_serve_cluster_db_out_of_range(redis_server: RedisServer, tmp_path: pathlib.Path) -> None:
    """jido serve --cluster on a database the server lacks: one error line naming it, exit 1."""
    config = tmp_path / "jido.toml"
    config.write_text("port = 0\n[dashboard]\nenabled = false\n")
    url = redis_server.url.rsplit("/", 1)[0] + "/99"
    with trio.fail_after(DEADLINE):
        async with jido_process("serve", "--config", str(config), "--cluster", url) as child:
            code, err = await finished(child)
        assert code == 1, err
        assert f"cannot join the cluster: Redis at {url} is unavailable: it has no database 99" in err
        assert "Traceback" not in err
        async with jido_process("serve", "--config", str(config), "--cluster", url[:-2] + "abc") as child:
            code, err = await finished(child)
        assert code == 2, err
        assert "--cluster: expected a Redis URL whose database is a number" in err
