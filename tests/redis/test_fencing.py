"""Fencing tokens on the Redis store: a write carrying an older token than one that already wrote an agent is
refused, so a node that lost its lease cannot overwrite the new owner's state."""

from __future__ import annotations

import pytest

from jido._redis import RedisClient
from jido.errors import ClosedError, StaleStateError
from jido.store.redis import FencedWriteError, RedisStore
from jido.store.store import StateStore, StateWrite
from tests.redis.server import redis_client as redis_client
from tests.redis.server import redis_namespace as redis_namespace
from tests.redis.server import redis_server as redis_server


@pytest.fixture
def store(redis_client: RedisClient, redis_namespace: str) -> RedisStore:
    return RedisStore(redis_client, namespace=redis_namespace)


class TestFencedWrites:
    async def test_fenced_view_is_a_state_store(self, store: RedisStore) -> None:
        """The fenced view satisfies the StateStore protocol, so a runtime can take it as its store."""
        assert isinstance(store.fenced(lambda _: 1), StateStore)

    async def test_newer_token_writes(self, store: RedisStore) -> None:
        """Writes with the same or a newer token than the last one go through."""
        tokens = {"a": 3}
        view = store.fenced(tokens.get)
        await view.save_many([StateWrite("a", "1")])
        await view.save_many([StateWrite("a", "2")])
        tokens["a"] = 4
        [state] = await view.save_many([StateWrite("a", "3")])
        assert (state.data, state.revision) == ("3", 3)

    async def test_older_token_refused(self, store: RedisStore) -> None:
        """A former owner (older token) writing after the new owner is refused, and nothing of its batch is
        stored."""
        new_owner = store.fenced({"a": 8, "b": 8}.get)
        old_owner = store.fenced({"a": 7, "b": 7}.get)
        await new_owner.save_many([StateWrite("a", "new")])
        with pytest.raises(
            FencedWriteError,
            match=r"^state of agent 'a' was written with fencing token 8; a write with the older token 7 is refused$",
        ) as caught:
            await old_owner.save_many([StateWrite("b", "stale-b"), StateWrite("a", "stale-a")])
        assert isinstance(caught.value, StaleStateError)
        assert (caught.value.agent_id, caught.value.expected, caught.value.actual) == ("a", 7, 8)
        loaded = await store.load_many(["a", "b"])
        assert list(loaded) == ["a"] and loaded["a"].data == "new"
        assert store.statistics().conflicts == 1

    async def test_fence_outlives_delete(self, store: RedisStore) -> None:
        """The new owner deleting an agent does not let the former owner write it again."""
        await store.fenced({"a": 5}.get).save_many([StateWrite("a", "1")])
        assert await store.fenced({"a": 5}.get).delete("a") is True
        with pytest.raises(FencedWriteError):
            await store.fenced({"a": 4}.get).save_many([StateWrite("a", "zombie")])
        with pytest.raises(FencedWriteError):
            await store.fenced({"a": 4}.get).delete("a")
        assert await store.load("a") is None

    async def test_unfenced_writes_unchecked(self, store: RedisStore) -> None:
        """Writes through the plain store carry no token and are not checked (single-node use)."""
        await store.fenced({"a": 9}.get).save_many([StateWrite("a", "1")])
        [state] = await store.save_many([StateWrite("a", "2")])
        assert state.revision == 2

    async def test_compare_and_set_still_applies(self, store: RedisStore) -> None:
        """A fenced write with an expected revision is refused by the revision check like any other."""
        view = store.fenced({"a": 1}.get)
        await view.save_many([StateWrite("a", "1")])
        with pytest.raises(
            StaleStateError, match=r"^state of agent 'a' is at revision 1, not the expected 0$"
        ):
            await view.save_many([StateWrite("a", "2", expected_revision=0)])

    @pytest.mark.parametrize("token", [-1, True, 1.5, "3", 2**53])
    async def test_bad_token(self, store: RedisStore, token: object) -> None:
        """A token that is not an int from 0 to 2**53 - 1 is refused before anything is sent."""
        view = store.fenced(lambda _: token)  # type: ignore[arg-type,return-value]
        with pytest.raises(TypeError, match=r"^a fencing token must be None or an int"):
            await view.save_many([StateWrite("a", "1")])
        assert await store.load("a") is None

    async def test_tokens_must_be_callable(self, store: RedisStore) -> None:
        """fenced() takes a function from agent id to token."""
        with pytest.raises(TypeError, match=r"^tokens must be callable, got \{\}$"):
            store.fenced({})  # type: ignore[arg-type]

    async def test_closing_the_view_keeps_the_store(self, store: RedisStore) -> None:
        """A runtime closing the fenced view it was given leaves the shared store open; the view refuses."""
        view = store.fenced({"a": 1}.get)
        await view.aclose()
        with pytest.raises(ClosedError, match=r"^fenced RedisStore\('.*'\) is closed$"):
            await view.load("a")
        with pytest.raises(ClosedError):
            await view.save_many([StateWrite("a", "1")])
        assert await store.count() == 0
