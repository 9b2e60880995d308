"""Serving a node's inbox: reading it, one lane per agent, acks in batches, answers through the reply stream.

:class:`InboxServer` is the engine under :class:`~jido.cluster.runtime.ClusterRuntime`: it reads the node's
inbox (first what an earlier incarnation of the node read and did not ack), hands each message to ``handle``
in its agent's lane (one message at a time per agent, agents concurrently, at most ``max_in_flight`` in all),
acks what was handled in batches, and reads the node's reply stream for the calls it sent (:meth:`request`).
"""

from __future__ import annotations

import collections
import json
import logging
from collections.abc import Awaitable, Callable
from typing import Any

import trio

from jido._redis import RedisUnavailableError
from jido.cluster.inbox import Inbox, InboxMessage
from jido.cluster.remote import REPLY_TYPE
from jido.signal import Signal

__all__ = ["InboxServer"]

logger = logging.getLogger("jido.cluster")


class _Waiter:
    """A call waiting for its answer: the first answer counts (one that comes twice is dropped)."""

    __slots__ = ("answer", "event")

    def __init__(self) -> None:
        self.event = trio.Event()
        self.answer: tuple[str, dict[str, Any]] | None = None

    def give(self, node: str, data: object) -> None:
        if self.answer is None:
            self.answer = (node, data if isinstance(data, dict) else {"ok": False, "error": "bad reply"})
            self.event.set()


class InboxServer:
    """Serves a node's inbox into ``handle``, and carries the node's calls to other nodes.

    Args:
        inbox: the node's inbox.
        handle: handles one message (its agent's lane waits for it); returns True when it acked the message
            itself (answering a call acks it in the same script), else the server acks it.
        max_in_flight: messages handled at once (read and not yet acked); more are read as they finish.
    """

    def __init__(
        self, inbox: Inbox, handle: Callable[[InboxMessage], Awaitable[bool]], *, max_in_flight: int
    ) -> None:
        self.inbox = inbox
        self.handle = handle
        self.max_in_flight = max_in_flight
        self.calls_out = 0
        self._waiting: dict[str, _Waiter] = {}
        self._lanes: dict[str, collections.deque[InboxMessage]] = {}
        self._in_flight = 0
        self._room = trio.Event()
        self._acks: list[InboxMessage] = []
        self._ack_news = trio.Event()
        self._nursery: trio.Nursery | None = None

    def __repr__(self) -> str:
        return f"<InboxServer of node {self.node_id!r}: {self._in_flight} in flight>"

    @property
    def node_id(self) -> str:
        return self.inbox.node_id

    async def serve(self, *, task_status: trio.TaskStatus[None] = trio.TASK_STATUS_IGNORED) -> None:
        """Serve until cancelled; report started once the reply stream is read and earlier pending handed out."""
        async with trio.open_nursery() as nursery:
            self._nursery = nursery
            await nursery.start(self._serve_acks)
            await nursery.start(self._serve_replies)
            await nursery.start(self._serve_inbox)
            task_status.started()

    async def request(self, target: str, agent_id: str, signal: Signal) -> tuple[str, dict[str, Any]]:
        """Send a call of ``signal`` to ``agent_id`` into node ``target``'s inbox and wait for the answer (as long
        as the caller waits): (the answering node, the answer's data)."""
        correlation = signal.id + "/" + self.node_id + "/" + str(self.calls_out)
        waiter = self._waiting[correlation] = _Waiter()
        self.calls_out += 1
        try:
            await self.inbox.send(
                target, signal, agent_id=agent_id, reply_to=self.node_id, correlation=correlation
            )
            await waiter.event.wait()
        finally:
            del self._waiting[correlation]
        assert waiter.answer is not None
        return waiter.answer

    async def _serve_replies(self, *, task_status: trio.TaskStatus[None] = trio.TASK_STATUS_IGNORED) -> None:
        """Read this node's reply stream: each answer goes to the call waiting for it (if it still waits)."""
        await self.inbox.receive_replies(timeout=0.001)  # from here on: nothing answered later is missed
        task_status.started()
        down = False
        while True:
            try:
                replies = await self.inbox.receive_replies(timeout=1.0)
                down = False
            except RedisUnavailableError as exc:
                if not down:
                    logger.warning("node %r cannot read its replies: %s", self.node_id, exc)
                down = True
                await trio.sleep(0.5)
                continue
            for correlation, node, raw in replies:
                waiter = self._waiting.get(correlation)
                if waiter is None:
                    continue  # the caller gave up (timed out) already, or the answer came twice
                try:
                    data = json.loads(raw)
                except ValueError:
                    data = None
                waiter.give(node, data)

    def _deliver_reply(self, message: InboxMessage) -> None:
        # An answer that came through the inbox, as RemoteAgents (the first cut) sends them.
        waiter = self._waiting.get(message.correlation or "")
        if waiter is None:
            return  # the caller gave up (timed out) already, or the answer came twice
        waiter.give(message.signal.source.rsplit("/", 1)[-1], message.signal.data)

    async def _serve_inbox(self, *, task_status: trio.TaskStatus[None] = trio.TASK_STATUS_IGNORED) -> None:
        nursery = self._nursery
        assert nursery is not None
        # What an earlier incarnation of this node read and did not ack (it was killed, and restarted before
        # the others saw it gone): handled first, again (idempotent).
        after = "0"
        for _ in range(self.inbox.max_pending // 256 + 1):
            left = await self.inbox.receive_pending(after=after, count=256)
            if not left:
                break
            after = left[-1].id
            self._dispatch(left)
        task_status.started()
        down = False
        while True:
            while self._in_flight >= self.max_in_flight:
                self._room = trio.Event()
                await self._room.wait()
            try:
                messages = await self.inbox.receive(
                    count=min(256, self.max_in_flight - self._in_flight), timeout=1.0
                )
                down = False
            except RedisUnavailableError as exc:
                if not down:
                    logger.warning("node %r cannot read its inbox: %s", self.node_id, exc)
                down = True
                await trio.sleep(0.5)
                continue
            self._dispatch(messages)

    def _dispatch(self, messages: list[InboxMessage]) -> None:
        """Each message to its agent's lane (started if it has none), in the order read."""
        nursery = self._nursery
        assert nursery is not None
        for message in messages:
            if message.signal.type == REPLY_TYPE:
                self._deliver_reply(message)
                self.ack_soon(message)
                continue
            if message.agent_id is None:
                self.ack_soon(message)
                continue
            self._in_flight += 1
            lane = self._lanes.get(message.agent_id)
            if lane is None:
                lane = self._lanes[message.agent_id] = collections.deque()
                nursery.start_soon(self._run_lane, message.agent_id, lane)
            lane.append(message)

    async def _run_lane(self, agent_id: str, lane: collections.deque[InboxMessage]) -> None:
        """Handle one agent's messages in the order they were read, one at a time."""
        try:
            while lane:
                message = lane.popleft()
                acked = False
                try:
                    acked = await self.handle(message)
                except Exception:
                    logger.exception("node %r could not handle inbox message %s", self.node_id, message.id)
                finally:
                    self._in_flight -= 1
                    self._room.set()
                    if not acked:
                        self.ack_soon(message)
        finally:
            del self._lanes[agent_id]

    async def send_with_retry(
        self,
        node_id: str,
        signal: Signal,
        *,
        agent_id: str | None,
        reply_to: str | None,
        correlation: str | None,
    ) -> None:
        """Send, waiting out a full inbox or Redis being away (the message is acked only once sent on)."""
        delay = 0.05
        while True:
            try:
                await self.inbox.send(
                    node_id, signal, agent_id=agent_id, reply_to=reply_to, correlation=correlation
                )
            except (RedisUnavailableError, trio.WouldBlock) as exc:
                logger.warning("node %r cannot send to node %r yet: %s", self.node_id, node_id, exc)
                await trio.sleep(delay)
                delay = min(delay * 2, 1.0)
            else:
                return

    def ack_soon(self, message: InboxMessage) -> None:
        self._acks.append(message)
        self._ack_news.set()

    async def _serve_acks(self, *, task_status: trio.TaskStatus[None] = trio.TASK_STATUS_IGNORED) -> None:
        """Acknowledge handled messages in batches: one round trip for all that finished meanwhile."""
        task_status.started()
        while True:
            await self._ack_news.wait()
            self._ack_news = trio.Event()
            batch, self._acks = self._acks, []
            try:
                await self.inbox.ack(batch)
            except RedisUnavailableError as exc:
                logger.warning("node %r cannot ack its inbox: %s", self.node_id, exc)
                self._acks[:0] = batch
                self._ack_news.set()
                await trio.sleep(0.5)
