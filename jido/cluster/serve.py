"""Run one cluster node: ``python -m jido.cluster.serve redis://HOST:PORT/DB --node ID --resolve module:function``.

The node joins the cluster on that Redis, hosts the virtual agents placed on it (their classes come from
``--resolve``, a function from an agent id to its agent class, the same on every node), and serves until
SIGTERM or SIGINT, when it stops its agents, releases their leases and leaves, so that the other nodes take
them over at once. It prints ``ready <node>`` on stdout once it serves, and ``stats <json>`` (its
:class:`~jido.cluster.runtime.ClusterStatistics`) as it leaves.

``--run module:function`` (repeatable) runs ``await function(cluster)`` on the node once it serves: an
application's own work (a load driver, a sensor feeding agents) beside the agents.
"""

from __future__ import annotations

import argparse
import importlib
import json
import signal
import sys
from collections.abc import Callable, Sequence
from typing import Any

import attrs
import trio

from jido._redis import RedisUnavailableError, unwrap
from jido.cluster.leases import DEFAULT_LEASE_TTL
from jido.cluster.membership import DEFAULT_NODE_TTL
from jido.cluster.names import check_cluster_namespace, check_node_id
from jido.cluster.node import database_of
from jido.cluster.runtime import ClusterRuntime, open_cluster_runtime

__all__ = ["load", "main", "serve_node"]


def load(target: str) -> Any:
    """The object named ``module:attribute``.

    Raises:
        ValueError: ``target`` is not ``module:attribute``, or names nothing importable.
    """
    module_name, _, attribute = target.partition(":")
    if not module_name or not attribute:
        raise ValueError(f"expected module:attribute, got {target!r}")
    try:
        module = importlib.import_module(module_name)
        return getattr(module, attribute)
    except (ImportError, AttributeError) as exc:
        raise ValueError(f"cannot load {target!r}: {exc}") from None


async def serve_node(
    url: str,
    *,
    node_id: str,
    resolve: Callable[[str], Any],
    namespace: str = "jido",
    node_ttl: float = DEFAULT_NODE_TTL,
    lease_ttl: float = DEFAULT_LEASE_TTL,
    run: Sequence[Callable[[ClusterRuntime], Any]] = (),
    task_status: trio.TaskStatus[ClusterRuntime] = trio.TASK_STATUS_IGNORED,
) -> ClusterRuntime:
    """Serve one node until SIGTERM or SIGINT (or cancelled); returns the node's runtime as it left."""
    with trio.open_signal_receiver(signal.SIGTERM, signal.SIGINT) as signals:
        async with (
            open_cluster_runtime(
                url,
                node_id=node_id,
                resolve=resolve,
                namespace=namespace,
                node_ttl=node_ttl,
                lease_ttl=lease_ttl,
            ) as cluster,
            trio.open_nursery() as nursery,
        ):
            for function in run:
                nursery.start_soon(function, cluster)
            task_status.started(cluster)
            async for _ in signals:
                break
            nursery.cancel_scope.cancel()
    return cluster


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m jido.cluster.serve", description=__doc__.splitlines()[0])
    parser.add_argument("url", help="the cluster's Redis, redis://host:port/db")
    parser.add_argument("--node", required=True, help="this node's id, unique in the cluster")
    parser.add_argument("--resolve", required=True, help="module:function giving an agent id's agent class")
    parser.add_argument("--namespace", default="jido", help="the cluster's key namespace (default jido)")
    parser.add_argument("--node-ttl", type=float, default=DEFAULT_NODE_TTL, help="seconds without heartbeat")
    parser.add_argument("--lease-ttl", type=float, default=DEFAULT_LEASE_TTL, help="seconds a lease lives")
    parser.add_argument("--run", action="append", default=[], help="module:function to run on the node")
    args = parser.parse_args(argv)
    try:
        check_node_id(args.node)
        check_cluster_namespace(args.namespace)
        database_of(args.url)
        resolve = load(args.resolve)
        run = [load(target) for target in args.run]
    except (TypeError, ValueError) as exc:
        parser.error(str(exc))

    async def serve() -> None:
        async with trio.open_nursery() as nursery:
            cluster: ClusterRuntime = await nursery.start(
                lambda task_status: serve_node(
                    args.url,
                    node_id=args.node,
                    resolve=resolve,
                    namespace=args.namespace,
                    node_ttl=args.node_ttl,
                    lease_ttl=args.lease_ttl,
                    run=run,
                    task_status=task_status,
                )
            )
            print(f"ready {cluster.node_id}", flush=True)
        print(f"stats {json.dumps(attrs.asdict(cluster.statistics()))}", flush=True)

    try:
        trio.run(serve)
    except (RedisUnavailableError, BaseExceptionGroup) as caught:
        # Redis not reached, or without the database named: one line, not a traceback.
        error = unwrap(caught) if isinstance(caught, BaseExceptionGroup) else caught
        if not isinstance(error, RedisUnavailableError):
            raise
        print(f"{parser.prog}: error: {error}", file=sys.stderr, flush=True)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
