"""Durable subscription names are rows of the journal kept across connections: an identity may store only so
many (a client making a new name per subscribe would otherwise grow the journal without end), and may forget
one to make room."""

from __future__ import annotations

import pytest

from jido.gateway import TokenPolicy, ops
from jido.runtime.runtime import Runtime

from .helpers import raw_client, serving

TOKENS = {"alice-token": TokenPolicy(name="alice"), "bob-token": TokenPolicy(name="bob")}


def subscribe(request_id: str, durable: str) -> dict[str, object]:
    return {"op": "subscribe", "id": request_id, "pattern": "order.*", "durable": durable}


@pytest.fixture(autouse=True)
def small_limit(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(ops, "MAX_DURABLE_SUBSCRIPTIONS", 3)


class TestDurableLimit:
    async def test_new_name_past_the_limit_refused(self, runtime: Runtime) -> None:
        """A new durable name past the identity's limit is forbidden, saying how to make room; the names it
        has resume, and another identity is not affected."""
        async with serving(runtime, tokens=TOKENS) as gateway:
            async with raw_client(gateway.url, token="alice-token") as alice:
                for n in range(3):
                    assert (await alice.request(subscribe(str(n), f"d{n}")))["op"] == "result"
                    assert (
                        await alice.request({"op": "unsubscribe", "id": "u", "subscription": f"s{n + 1}"})
                    )["op"] == "result"
                assert await alice.request(subscribe("4", "d4")) == {
                    "op": "error",
                    "id": "4",
                    "code": "forbidden",
                    "message": "at most 3 durable subscriptions per identity: reuse a name, or unsubscribe one "
                    'with "forget": true',
                    "details": {"limit": 3},
                }
                assert (await alice.request(subscribe("5", "d0")))["op"] == "result"
            async with raw_client(gateway.url, token="bob-token") as bob:
                assert (await bob.request(subscribe("1", "d4")))["op"] == "result"

    async def test_forget_makes_room(self, runtime: Runtime) -> None:
        """Unsubscribing with forget removes the name (checkpoint and binding): a new name fits again."""
        async with (
            serving(runtime, tokens=TOKENS) as gateway,
            raw_client(gateway.url, token="alice-token") as alice,
        ):
            for n in range(3):
                assert (await alice.request(subscribe(str(n), f"d{n}")))["op"] == "result"
            reply = await alice.request(
                {"op": "unsubscribe", "id": "f", "subscription": "s1", "forget": True}
            )
            assert reply == {"op": "result", "id": "f", "result": {}}
            assert await runtime.bus.journal.get_checkpoint("gateway:d0") is None
            assert (await alice.request(subscribe("4", "d4")))["op"] == "result"

    async def test_forget_a_transient_subscription(self, runtime: Runtime) -> None:
        """forget on a transient subscription is a bad_frame at $.forget, and the subscription stays."""
        async with serving(runtime) as gateway, raw_client(gateway.url) as client:
            await client.request({"op": "subscribe", "id": "1", "pattern": "order.*"})
            reply = await client.request(
                {"op": "unsubscribe", "id": "2", "subscription": "s1", "forget": True}
            )
            message = "subscription 's1' is transient: only a durable one is forgotten"
            assert reply == {
                "op": "error",
                "id": "2",
                "code": "bad_frame",
                "message": f"$.forget: {message}",
                "details": {"errors": [{"path": "$.forget", "message": message}]},
            }
            assert (await client.request({"op": "unsubscribe", "id": "3", "subscription": "s1"}))[
                "op"
            ] == "result"

    async def test_forget_must_be_bool(self, runtime: Runtime) -> None:
        """forget of another type is a bad_frame naming it."""
        async with serving(runtime) as gateway, raw_client(gateway.url) as client:
            reply = await client.request(
                {"op": "unsubscribe", "id": "1", "subscription": "s1", "forget": "yes"}
            )
            assert (reply["code"], reply["message"]) == ("bad_frame", '$.forget: expected bool, got "yes"')
