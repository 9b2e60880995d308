"""`jido serve --cluster` and the [cluster] table: the served runtime is a node of a cluster on Redis, its
started agents stay on it and answer calls from the other nodes."""

from __future__ import annotations

import json
import pathlib
import re

import pytest
import trio
from click.testing import CliRunner

import jido
from jido.cli.cluster import cluster as cluster_command
from jido.cli.cluster import cluster_tables
from jido.cli.config import ClusterConfig, parse_config
from jido.cli.errors import EXIT_FAILURE, EXIT_USAGE, CliError
from jido.cluster import open_cluster_runtime
from jido.cluster.view import AgentLease, ClusterView, NodeView
from jido.errors import ValidationError
from tests.cli.apps import Counter
from tests.cli.test_cli_process import DEADLINE, URL, Child, jido_process
from tests.redis.server import RedisServer
from tests.redis.server import redis_namespace as redis_namespace
from tests.redis.server import redis_server as redis_server

BASE = pathlib.Path("/srv/app")


async def ran(child: Child) -> tuple[int, str, str]:
    """Wait for a child that exits on its own; its exit code, stdout and stderr."""
    got = {"stdout": b"", "stderr": b""}

    async def drain(name: str) -> None:
        pipe = child.process.stdout if name == "stdout" else child.process.stderr
        assert pipe is not None
        while chunk := await pipe.receive_some():
            got[name] += chunk

    async with trio.open_nursery() as nursery:
        nursery.start_soon(drain, "stdout")
        nursery.start_soon(drain, "stderr")
    return await child.process.wait(), got["stdout"].decode(), got["stderr"].decode()


async def finished(child: Child) -> tuple[int, str]:
    """Wait for a child that exits on its own; its exit code and stderr."""
    err = b""
    assert child.process.stderr is not None
    while chunk := await child.process.stderr.receive_some():
        err += chunk
    return await child.process.wait(), err.decode()


class TestClusterConfig:
    def test_defaults(self) -> None:
        """Only redis is required; the rest has defaults."""
        config = parse_config({"cluster": {"redis": "redis://10.0.0.5:6379/0"}}, base=BASE, env={})
        assert config.cluster == ClusterConfig(redis="redis://10.0.0.5:6379/0")
        assert config.cluster.namespace == "jido" and config.cluster.node is None

    def test_every_problem_at_once(self) -> None:
        """A bad URL, node, resolve and TTL, and a journal beside the cluster, are reported together."""
        data = {
            "cluster": {"redis": "http://x", "node": "a b", "resolve": "nothing", "lease_ttl": 0},
            "journal": {"sqlite": "j.db"},
        }
        with pytest.raises(ValidationError) as caught:
            parse_config(data, base=BASE, env={})
        assert str(caught.value).splitlines() == [
            "invalid config:",
            "$.cluster.redis: expected a Redis URL (redis://host:port/db, rediss:// or unix://), got 'http://x'",
            "$.cluster.node: must be non-empty, without spaces, got 'a b'",
            "$.cluster.resolve: expected 'module:function', got 'nothing'",
            "$.cluster.lease_ttl: must be from 0.001 to 86400 seconds, got 0.0",
            "$.cluster: a cluster keeps its journal and agent state in Redis: remove [journal] and [store]",
        ]

    def test_keys_are_known(self) -> None:
        """A [cluster] table with a key jido does not know is refused; redis may come from --cluster."""
        assert parse_config({"cluster": {}}, base=BASE, env={}).cluster == ClusterConfig()
        with pytest.raises(ValidationError, match=r"\$\.cluster: unknown field\(s\): bogus"):
            parse_config({"cluster": {"redis": "redis://x", "bogus": 1}}, base=BASE, env={})


class TestServeCluster:
    async def test_started_agent_answers_other_nodes(
        self, redis_server: RedisServer, redis_namespace: str, tmp_path: pathlib.Path
    ) -> None:
        """`jido serve --cluster URL` joins; its started agent answers a call from another node; Ctrl-C leaves."""
        config = tmp_path / "jido.toml"
        config.write_text(
            f'port = 0\nstart = ["tests.cli.apps:Counter"]\n[dashboard]\nenabled = false\n'
            f'[cluster]\nnode = "served"\nnamespace = "{redis_namespace}"\nnode_ttl = 2.0\nlease_ttl = 2.0\n'
        )
        with trio.fail_after(DEADLINE):
            async with jido_process("serve", "--config", str(config), "--cluster", redis_server.url) as child:
                line = (await child.line_matching(re.compile(r"^jido: cluster: .*"))).group(0)
                assert line == (
                    f"jido: cluster: node 'served' on {redis_server.url} (namespace {redis_namespace!r}); "
                    "live nodes: served"
                )
                await child.line_matching(re.compile(r"^jido: started agent 'counter' as 'counter'"))
                async with open_cluster_runtime(
                    redis_server.url,
                    node_id="caller",
                    resolve=lambda _: Counter,
                    namespace=redis_namespace,
                    host=False,
                ) as caller:
                    agent = await caller.call(
                        "counter", jido.Signal(type="counter.add", source="/t", data={"by": 1}), timeout=10
                    )
                    assert agent.state.count == 4
                code, out, err = await child.interrupt()
        assert code == 0, err
        assert out.splitlines()[-1] == "jido: stopped"

    async def test_inspect_shows_nodes_agents_and_leases(
        self, redis_server: RedisServer, redis_namespace: str, tmp_path: pathlib.Path
    ) -> None:
        """`jido inspect --cluster URL` shows the gateway's tables, then the cluster's nodes and every lease
        (the agent, the node holding it, its token); with --json, under "cluster"."""
        config = tmp_path / "jido.toml"
        config.write_text(
            f'port = 0\nstart = ["tests.cli.apps:Counter"]\n[dashboard]\nenabled = false\n'
            f'[cluster]\nnode = "served"\nnamespace = "{redis_namespace}"\nnode_ttl = 2.0\nlease_ttl = 2.0\n'
        )
        with trio.fail_after(DEADLINE):
            async with jido_process("serve", "--config", str(config), "--cluster", redis_server.url) as child:
                await child.line_matching(re.compile(r"^jido: started agent 'counter' as 'counter'"))
                url = (await child.line_matching(URL)).group(1)
                args = ["--url", url, "--cluster", redis_server.url, "--namespace", redis_namespace]
                async with jido_process("inspect", *args) as inspect:
                    code, out, err = await ran(inspect)
                assert code == 0, err
                assert f"nodes of cluster {redis_namespace!r}" in out and "leases" in out
                assert re.search(r"counter\s.*served", out), out
                async with jido_process("inspect", "--json", *args) as inspect:
                    code, out, err = await ran(inspect)
                assert code == 0, err
                nodes = json.loads(out)["cluster"]["nodes"]
                assert [(n["node_id"], [lease["agent_id"] for lease in n["leases"]]) for n in nodes] == [
                    ("served", ["counter"])
                ]
                async with jido_process("inspect", "--url", url, "--cluster", "http://x") as inspect:
                    code, out, err = await ran(inspect)
                assert code == 2 and "--cluster: expected a Redis URL" in err
                await child.interrupt()

    async def test_bad_url_and_unreachable_redis(self, tmp_path: pathlib.Path) -> None:
        """A --cluster that is not a Redis URL, or a [cluster] without redis, is a usage error; a Redis that
        cannot be reached is named."""
        config = tmp_path / "jido.toml"
        config.write_text("port = 0\n[dashboard]\nenabled = false\n")
        with trio.fail_after(DEADLINE):
            async with jido_process("serve", "--config", str(config), "--cluster", "http://x") as child:
                code, err = await finished(child)
            assert code == 2
            assert "--cluster: expected a Redis URL" in err
            async with jido_process(
                "serve", "--config", str(config), "--cluster", "redis://127.0.0.1:1/0"
            ) as child:
                code, err = await finished(child)
            assert code == 1
            assert "cannot join the cluster:" in err and "redis://127.0.0.1:1/0" in err
            config.write_text("port = 0\n[cluster]\nnode = 'a'\n")
            async with jido_process("serve", "--config", str(config)) as child:
                code, err = await finished(child)
            assert code == 2
            assert "$.cluster.redis: required (or give jido serve --cluster REDIS_URL)" in err


class TestClusterCommand:
    def test_tables(self) -> None:
        """The nodes table, and with --agents the leases table."""
        view = ClusterView(
            "shop",
            (NodeView("a", "2026-01-01T00:00:00+00:00", (AgentLease("cart-1", 3, 0.5),), 2),),
        )
        nodes, leases = cluster_tables(view, agents=True)
        assert nodes.title == "nodes of cluster 'shop'" and nodes.row_count == 1
        assert leases.title == "leases" and leases.row_count == 1
        assert len(cluster_tables(view, agents=False)) == 1

    def test_empty_and_unreachable(self, redis_server: RedisServer, redis_namespace: str) -> None:
        """A namespace without live nodes says so; an unreachable Redis is one error naming it."""
        runner = CliRunner()
        result = runner.invoke(cluster_command, [redis_server.url, "--namespace", redis_namespace])
        assert result.exit_code == 0, result.output
        assert result.output == f"no live node in cluster {redis_namespace!r} on {redis_server.url}\n"
        result = runner.invoke(cluster_command, ["redis://127.0.0.1:1/0"])
        error = result.exception  # the command alone (outside the jido group) leaves its CliError raised
        assert isinstance(error, CliError) and error.exit_code == EXIT_FAILURE
        assert error.message.startswith(
            "cannot read the cluster: Redis at redis://127.0.0.1:1/0 is unavailable"
        )
        error = runner.invoke(cluster_command, ["http://x"]).exception
        assert isinstance(error, CliError) and error.exit_code == EXIT_USAGE
