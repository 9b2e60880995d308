"""Identities: a durable subscription belongs to the identity (token name) that created it; inspect shows a token
only what is its own."""

from __future__ import annotations

from typing import Any

from jido.gateway import TokenPolicy
from jido.gateway.policy import identity_of
from jido.runtime.runtime import Runtime

from .helpers import RawClient, raw_client, serving, signal

TOKENS = {
    "alice-token": TokenPolicy(subscribe=("order.**",), call=False),
    "mallory-token": TokenPolicy(subscribe=("order.*",), call=False),
    "alice-new-token": TokenPolicy(subscribe=("order.**",), call=False, name="alice"),
    "alice-old-token": TokenPolicy(subscribe=("order.**",), call=False, name="alice"),
    "admin": TokenPolicy(),
}
FORBIDDEN = "durable subscription 'billing' belongs to another identity"


def durable(pattern: str = "order.*", request_id: str = "1", **extra: Any) -> dict[str, Any]:
    return {"op": "subscribe", "id": request_id, "pattern": pattern, "durable": "billing", **extra}


def error(request_id: str | None, code: str, message: str, **details: Any) -> dict[str, Any]:
    frame: dict[str, Any] = {"op": "error", "id": request_id, "code": code, "message": message}
    if details:
        frame["details"] = details
    return frame


async def next_offset(client: RawClient) -> int:
    frame = await client.recv()
    assert frame["op"] == "signal", frame
    offset: int = frame["offset"]
    return offset


class TestDurableOwnership:
    async def test_another_identity_cannot_take_over(self, runtime: Runtime) -> None:
        """A token allowed the same patterns still cannot take over another token's durable subscription:
        forbidden, and the holder keeps every delivery."""
        async with (
            serving(runtime, tokens=TOKENS) as gateway,
            raw_client(gateway.url, token="alice-token") as alice,
            raw_client(gateway.url, token="mallory-token") as mallory,
        ):
            assert (await alice.request(durable()))["op"] == "result"
            assert await mallory.request(durable()) == error("1", "forbidden", FORBIDDEN)
            offset = await runtime.publish(signal())
            assert await next_offset(alice) == offset  # no take-over notice came first
            assert await mallory.request({"op": "ping", "id": "2"}) == {
                "op": "result",
                "id": "2",
                "result": {},
            }

    async def test_another_identity_cannot_resume(self, runtime: Runtime) -> None:
        """Nor resume it while its owner is away; the owner then resumes where it was."""
        async with serving(runtime, tokens=TOKENS) as gateway:
            async with raw_client(gateway.url, token="alice-token") as alice:
                assert (await alice.request(durable()))["op"] == "result"
            first = await runtime.publish(signal())
            async with raw_client(gateway.url, token="mallory-token") as mallory:
                assert await mallory.request(durable()) == error("1", "forbidden", FORBIDDEN)
            async with raw_client(gateway.url, token="alice-token") as alice:
                reply = await alice.request(durable())
                assert reply["result"]["from"] == first
                assert await next_offset(alice) == first

    async def test_another_pattern_is_a_conflict(self, runtime: Runtime) -> None:
        """The owner reusing the name with another pattern gets conflict, and the position does not move:
        resumed with its own pattern, it gets every record it had not acked."""
        async with serving(runtime, tokens=TOKENS) as gateway:
            async with raw_client(gateway.url, token="alice-token") as alice:
                assert (await alice.request(durable()))["op"] == "result"
            first = await runtime.publish(signal("order.placed"))
            await runtime.publish(signal("order.item.added"))
            async with raw_client(gateway.url, token="alice-token") as alice:
                assert await alice.request(durable("order.**")) == error(
                    "1",
                    "conflict",
                    "durable subscription 'billing' is bound to pattern 'order.*', not 'order.**'",
                    durable="billing",
                    pattern="order.*",
                )
            async with raw_client(gateway.url, token="alice-token") as alice:
                assert (await alice.request(durable()))["result"]["from"] == first
                assert await next_offset(alice) == first

    async def test_another_pattern_does_not_disturb_the_holder(self, runtime: Runtime) -> None:
        """While it is held, the same: the holder is not dropped for a subscriber with another pattern."""
        async with (
            serving(runtime, tokens=TOKENS) as gateway,
            raw_client(gateway.url, token="alice-token") as holder,
            raw_client(gateway.url, token="alice-token") as other,
        ):
            assert (await holder.request(durable()))["op"] == "result"
            reply = await other.request(durable("order.**"))
            assert reply["code"] == "conflict"
            offset = await runtime.publish(signal())
            assert await next_offset(holder) == offset

    async def test_shared_name_takes_over(self, runtime: Runtime) -> None:
        """Two tokens with one name are one identity: the new token takes over what the old one held."""
        async with (
            serving(runtime, tokens=TOKENS) as gateway,
            raw_client(gateway.url, token="alice-old-token") as old,
            raw_client(gateway.url, token="alice-new-token") as new,
        ):
            assert (await old.request(durable()))["op"] == "result"
            assert (await new.request(durable()))["op"] == "result"
            notice = await old.recv()
            assert (notice["code"], notice["details"]) == (
                "conflict",
                {"subscription": "s1", "durable": "billing"},
            )
            offset = await runtime.publish(signal())
            assert await next_offset(new) == offset

    async def test_bus_knows_the_owner(self, runtime: Runtime) -> None:
        """The bus subscription is made with the token's identity as its owner."""
        async with (
            serving(runtime, tokens=TOKENS) as gateway,
            raw_client(gateway.url, token="alice-token") as alice,
        ):
            assert (await alice.request(durable()))["op"] == "result"
            (sub,) = [s for s in runtime.bus.subscriptions() if s.name == "gateway:billing"]
            assert sub.owner == identity_of("alice-token")


class TestInspect:
    async def test_only_own_subscriptions(self, runtime: Runtime) -> None:
        """A token sees its identity's durable subscriptions and its connection's own, nothing of others;
        and no agents (nor their subscriptions) when it may not call."""
        await runtime.bus.subscribe("order.*", name="agent:counter:order.*")
        async with (
            serving(runtime, tokens=TOKENS) as gateway,
            raw_client(gateway.url, token="alice-token") as alice,
            raw_client(gateway.url, token="alice-token") as alice_elsewhere,
            raw_client(gateway.url, token="mallory-token") as mallory,
        ):
            await alice.request({"op": "subscribe", "id": "1", "pattern": "order.*"})
            await alice_elsewhere.request(durable())
            await alice_elsewhere.request({"op": "subscribe", "id": "2", "pattern": "order.placed"})
            await mallory.request({"op": "subscribe", "id": "1", "pattern": "order.*", "durable": "other"})
            await mallory.request({"op": "subscribe", "id": "2", "pattern": "order.placed"})
            result = (await alice.request({"op": "inspect", "id": "9"}))["result"]
            assert result["agents"] == []
            assert sorted(result["bus"]["subscription_lag"]) == ["gateway:billing", *_transient(runtime)]

    async def test_caller_sees_agents(self, runtime: Runtime) -> None:
        """A token that may call sees the agents and their bus subscriptions."""
        await runtime.bus.subscribe("order.*", name="agent:counter:order.*")
        async with (
            serving(runtime, tokens=TOKENS) as gateway,
            raw_client(gateway.url, token="admin") as admin,
        ):
            result = (await admin.request({"op": "inspect", "id": "9"}))["result"]
            assert [agent["id"] for agent in result["agents"]] == ["counter"]
            assert list(result["bus"]["subscription_lag"]) == ["agent:counter:order.*"]


def _transient(runtime: Runtime) -> list[str]:
    """The bus names of the transient subscriptions of pattern 'order.*' (alice's one, in the test above)."""
    subs = runtime.bus.subscriptions()
    return [s.name for s in subs if s.name.startswith("transient-") and s.pattern == "order.*"]
