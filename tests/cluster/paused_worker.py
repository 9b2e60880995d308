"""A node process for the SIGSTOP test: it takes the lease on counter ``c``, writes through a fenced store,
says ``ready``, then waits for a line on stdin and handles one more call, saying ``refused <error>`` if the
store refused its write or ``wrote <count>`` if it did not.

Run as ``python -m tests.cluster.paused_worker URL NAMESPACE``.
"""

from __future__ import annotations

import sys

import trio

from jido._redis import open_redis
from jido.cluster.leases import Leases
from jido.errors import StaleStateError
from jido.runtime.runtime import open_runtime
from jido.store.redis import RedisStore
from tests.runtime.agents import Counter, sig


async def main(url: str, namespace: str) -> None:
    async with open_redis(url) as client:
        store = RedisStore(client, namespace=namespace, url=url)
        leases = Leases(client, node_id="paused", namespace=namespace)
        lease = await leases.acquire("c")
        await store.raise_fence("c", lease.token)
        async with open_runtime(store=store.fenced(leases.token)) as rt:
            ref = await rt.start_agent(Counter, id="c")
            await ref.call(sig("add", by=1))
            print("ready", flush=True)
            stdin = trio.lowlevel.FdStream(sys.stdin.fileno())
            await stdin.receive_some()  # the test resumed us (SIGCONT) and says go
            try:
                agent = await ref.call(sig("add", by=5))
            except StaleStateError as exc:  # FencedWriteError is one
                print(f"refused {type(exc).__name__}: {exc}", flush=True)
            else:
                print(f"wrote {agent.state.count}", flush=True)


if __name__ == "__main__":
    trio.run(main, sys.argv[1], sys.argv[2])
