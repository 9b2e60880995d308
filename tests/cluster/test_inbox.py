"""Node inboxes, against a real Redis: send, receive through the consumer group, ack, bounded sends, and a
survivor claiming a dead node's pending and unread messages."""

from __future__ import annotations

import re

import pytest

from jido._redis import RedisClient
from jido.cluster.inbox import Inbox, InboxFullError
from jido.errors import BrokenError
from jido.signal import Signal
from tests.redis.server import redis_client as redis_client
from tests.redis.server import redis_namespace as redis_namespace
from tests.redis.server import redis_server as redis_server


def sig(i: int) -> Signal:
    return Signal(type="counter.add", source="/test", data={"by": i})


def inbox(client: RedisClient, namespace: str, node_id: str, **options: int) -> Inbox:
    return Inbox(client, node_id=node_id, namespace=namespace, **options)


class TestSendAndReceive:
    async def test_round_trip(self, redis_client: RedisClient, redis_namespace: str) -> None:
        """A signal sent to a node is received there, in order, with who to answer and the correlation."""
        a = inbox(redis_client, redis_namespace, "a")
        b = inbox(redis_client, redis_namespace, "b")
        await a.send("b", sig(1), reply_to="a", correlation="call-1")
        await a.send("b", sig(2))
        messages = await b.receive(timeout=0.001)
        assert [m.signal.data for m in messages] == [{"by": 1}, {"by": 2}]
        assert [(m.reply_to, m.correlation, m.inbox) for m in messages] == [
            ("a", "call-1", "b"),
            (None, None, "b"),
        ]

    async def test_empty_inbox(self, redis_client: RedisClient, redis_namespace: str) -> None:
        """Receiving from an empty inbox returns nothing once the (short) timeout passes."""
        assert await inbox(redis_client, redis_namespace, "a").receive(timeout=0.001) == []

    async def test_ack_removes(self, redis_client: RedisClient, redis_namespace: str) -> None:
        """Acked messages leave the inbox; a message is received once."""
        a = inbox(redis_client, redis_namespace, "a")
        await a.send("a", sig(1))
        messages = await a.receive(timeout=0.001)
        assert await a.receive(timeout=0.001) == []
        assert await a.pending() == 1
        assert await a.ack(messages) == 1
        assert await a.pending() == 0

    async def test_bounded(self, redis_client: RedisClient, redis_namespace: str) -> None:
        """A send to an inbox holding max_pending messages is refused, and nothing is dropped."""
        a = inbox(redis_client, redis_namespace, "a", max_pending=2)
        await a.send("b", sig(1))
        await a.send("b", sig(2))
        with pytest.raises(InboxFullError, match=r"^inbox of node 'b' is full \(2 messages\)$"):
            await a.send("b", sig(3))
        assert await a.pending("b") == 2


class TestClaim:
    async def test_survivor_takes_pending_and_unread(
        self, redis_client: RedisClient, redis_namespace: str
    ) -> None:
        """A dead node's read-but-unacked and unread messages are taken by a survivor, each once."""
        a = inbox(redis_client, redis_namespace, "a")
        b = inbox(redis_client, redis_namespace, "b")
        for i in range(3):
            await a.send("b", sig(i))
        read = await b.receive(count=2, timeout=0.001)  # b reads two, then dies before acking
        assert len(read) == 2
        await a.send("b", sig(3))
        claimed = await a.claim_from("b")
        assert [m.signal.data["by"] for m in claimed] == [0, 1, 2, 3]  # type: ignore[index]
        assert await a.claim_from("b") == []
        assert await a.ack(claimed) == 4
        assert await a.pending("b") == 0

    async def test_claim_from_unknown_node(self, redis_client: RedisClient, redis_namespace: str) -> None:
        """Claiming from a node that never had an inbox finds nothing."""
        assert await inbox(redis_client, redis_namespace, "a").claim_from("ghost") == []


class TestBadInput:
    async def test_inbox_of_another_type(self, redis_client: RedisClient, redis_namespace: str) -> None:
        """An inbox key holding another type is refused, naming the key, and left as it was."""
        a = inbox(redis_client, redis_namespace, "a")
        await redis_client.set(a.key("b"), "x")
        with pytest.raises(
            BrokenError, match=rf"^Redis key {re.escape(repr(a.key('b')))} holds a string, not a stream$"
        ):
            await a.send("b", sig(1))
        assert await redis_client.get(a.key("b")) == b"x"

    async def test_corrupt_message(self, redis_client: RedisClient, redis_namespace: str) -> None:
        """A message whose signal is unreadable is refused with its key and entry named."""
        a = inbox(redis_client, redis_namespace, "a")
        await a.send("a", sig(1))
        await redis_client.xadd(a.key(), {"s": "{nope", "r": "", "c": ""})
        with pytest.raises(BrokenError, match=r"is not a readable inbox message$"):
            await a.receive(timeout=0.001)

    async def test_bad_options(self, redis_client: RedisClient) -> None:
        """A bad node id or bound is refused when the inbox is made."""
        with pytest.raises(ValueError, match=r"^max_pending must be an int >= 1, got 0$"):
            Inbox(redis_client, node_id="a", max_pending=0)
        with pytest.raises(ValueError, match=r"^node_id must be"):
            Inbox(redis_client, node_id="")
