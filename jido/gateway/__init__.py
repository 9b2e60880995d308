"""The websocket gateway: a runtime's bus and agents, reachable from other processes and languages.

Serve one with :func:`serve_gateway` (``await nursery.start(serve_gateway, runtime)``), connect to it with
:func:`connect`. The wire protocol is described in ``docs/gateway-protocol.md``.
"""

from jido.gateway.client import GatewayClient as GatewayClient
from jido.gateway.client import connect as connect
from jido.gateway.policy import TokenPolicy as TokenPolicy
from jido.gateway.protocol import GatewayError as GatewayError
from jido.gateway.server import Gateway as Gateway
from jido.gateway.server import GatewayStatistics as GatewayStatistics
from jido.gateway.server import serve_gateway as serve_gateway
from jido.gateway.subscription import GatewaySignal as GatewaySignal
from jido.gateway.subscription import GatewaySubscription as GatewaySubscription

__all__ = [
    "Gateway",
    "GatewayClient",
    "GatewayError",
    "GatewaySignal",
    "GatewayStatistics",
    "GatewaySubscription",
    "TokenPolicy",
    "connect",
    "serve_gateway",
]
