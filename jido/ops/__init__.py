"""The operations surface: a live dashboard, Prometheus ``/metrics``, ``/healthz`` and ``/readyz``.

Served by Hypercorn's trio worker with Starlette (``pip install 'jido[ops]'``), inside the caller's nursery::

    async with jido.open_runtime() as rt, trio.open_nursery() as nursery:
        ops = await nursery.start(serve_ops, rt)
        print(ops.url)

``jido run`` and ``jido serve`` start it by default on loopback. See ``docs/operations.md``.
"""

from jido.ops.access import OpsToken as OpsToken
from jido.ops.actions import OPS_ACTION as OPS_ACTION
from jido.ops.server import OpsServer as OpsServer
from jido.ops.server import serve_ops as serve_ops

__all__ = ["OPS_ACTION", "OpsServer", "OpsToken", "serve_ops"]
