"""Cross-node calls to virtual agents, over node inboxes, through the runtime's public API.

A first cut of location transparency, outside the runtime: :class:`RemoteAgents` serves this node's inbox
into a local runtime (each message becomes a ``call`` on the virtual agent it names, so it is acked only once
the agent committed it) and answers calls into the caller's inbox; :meth:`RemoteAgents.call` places an agent
by rendezvous over the live nodes and calls it here or there the same way.

What it does not do yet (the runtime's own wiring will): return an ``Agent`` from a remote call (it returns
the committed state as JSON data), re-send a call whose target node died (the caller's timeout bounds it), or
carry bus deliveries. Messages for one agent are applied in the order they were read; messages for different
agents run concurrently.
"""

from __future__ import annotations

import contextlib
import json
import logging
import secrets
from collections.abc import Callable
from typing import Any, Final

import trio

from jido.agent.spec import AgentSpec
from jido.cluster.inbox import InboxMessage
from jido.cluster.node import ClusterNode
from jido.convert import unstructure
from jido.errors import BrokenError, CallTimeoutError, JidoError
from jido.runtime.runtime import Runtime
from jido.signal import Signal

__all__ = ["REPLY_TYPE", "NoLiveNodeError", "RemoteAgents", "RemoteCallError"]

logger = logging.getLogger("jido.cluster")

REPLY_TYPE: Final = "jido.cluster.reply"
"""The type of the signal that carries a call's answer back to the caller's inbox."""

Resolve = Callable[[str], "type[Any] | AgentSpec[Any]"]


class RemoteCallError(JidoError):
    """A call handled on another node failed there; the message is that node's error, with its type."""

    def __init__(self, agent_id: str, node_id: str, error: str) -> None:
        super().__init__(f"call to agent {agent_id!r} on node {node_id!r} failed: {error}")
        self.agent_id = agent_id
        self.node_id = node_id


class NoLiveNodeError(BrokenError):
    """No node of the cluster was live to take a message for an agent within the time given; nothing was sent."""

    def __init__(self, agent_id: str, timeout: float) -> None:
        super().__init__(
            f"no live node to send agent {agent_id!r} a signal within {timeout:g} s; nothing was sent"
        )
        self.agent_id = agent_id
        self.timeout = timeout


class RemoteAgents:
    """Serves a node's inbox into a runtime, and calls agents wherever they live.

    Args:
        node: this node.
        runtime: the runtime this node runs its agents in.
        resolve: the agent class (or spec) of an agent id, the same function on every node.
    """

    def __init__(self, node: ClusterNode, runtime: Runtime, resolve: Resolve) -> None:
        self.node = node
        self.runtime = runtime
        self.resolve = resolve
        self._waiting: dict[str, trio.MemorySendChannel[dict[str, Any]]] = {}

    async def call(self, agent_id: str, signal: Signal, *, timeout: float = 5.0) -> dict[str, Any]:
        """Call ``agent_id`` on its home node (here, or through the inboxes); returns its committed state.

        Raises:
            CallTimeoutError: no answer within ``timeout`` (the signal may still be handled).
            RemoteCallError: the call failed on the other node.
        """
        home = await self.node.home_of(agent_id)
        if home is None or home == self.node_id:
            agent = await self.runtime.agent(self.resolve(agent_id), agent_id).call(signal, timeout=timeout)
            state: dict[str, Any] = unstructure(agent.state)
            return state
        correlation = secrets.token_hex(12)
        send, receive = trio.open_memory_channel[dict[str, Any]](1)
        self._waiting[correlation] = send
        try:
            await self.node.inbox.send(
                home, signal, agent_id=agent_id, reply_to=self.node_id, correlation=correlation
            )
            with trio.move_on_after(timeout) as scope:
                answer = await receive.receive()
            if scope.cancelled_caught:
                raise CallTimeoutError(agent_id, signal.type, timeout)
        finally:
            del self._waiting[correlation]
            send.close()
            receive.close()
        if not answer.get("ok"):
            raise RemoteCallError(agent_id, home, str(answer.get("error")))
        result: dict[str, Any] = answer["state"]
        return result

    @property
    def node_id(self) -> str:
        return self.node.node_id

    async def serve(self, *, task_status: trio.TaskStatus[None] = trio.TASK_STATUS_IGNORED) -> None:
        """Read this node's inbox until cancelled: answers go to their callers, signals to their agents."""
        task_status.started()
        while True:
            messages = await self.node.inbox.receive(count=100, timeout=1.0)
            if not messages:
                continue
            lanes: dict[str, list[InboxMessage]] = {}
            replies: list[InboxMessage] = []
            for message in messages:
                if message.signal.type == REPLY_TYPE:
                    replies.append(message)
                elif message.agent_id is not None:
                    lanes.setdefault(message.agent_id, []).append(message)
            for message in replies:
                self._deliver_reply(message)
            async with trio.open_nursery() as nursery:
                for lane in lanes.values():
                    nursery.start_soon(self._handle_lane, lane)
            await self.node.inbox.ack(messages)

    def _deliver_reply(self, message: InboxMessage) -> None:
        waiter = self._waiting.get(message.correlation or "")
        if waiter is None:
            return  # the caller gave up (timed out) already
        data = message.signal.data
        with contextlib.suppress(trio.WouldBlock, trio.ClosedResourceError):  # an answer came twice, or late
            waiter.send_nowait(data if isinstance(data, dict) else {"ok": False, "error": "malformed reply"})

    async def _handle_lane(self, lane: list[InboxMessage]) -> None:
        for message in lane:
            assert message.agent_id is not None
            answer: dict[str, Any]
            try:
                virtual = self.runtime.agent(self.resolve(message.agent_id), message.agent_id)
                agent = await virtual.call(message.signal, idempotent=True)
                answer = {"ok": True, "state": json.loads(json.dumps(unstructure(agent.state)))}
            except Exception as exc:  # the caller is told; this node goes on
                answer = {"ok": False, "error": f"{type(exc).__name__}: {exc}"}
            if message.reply_to is not None:
                reply = Signal(type=REPLY_TYPE, source=f"/jido/cluster/{self.node_id}", data=answer)
                await self.node.inbox.send(
                    message.reply_to, reply, agent_id=message.agent_id, correlation=message.correlation
                )
