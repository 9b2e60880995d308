"""The Redis store's revisions never repeat across a delete (the contract suite's rule; its Redis cases are
marked xfail there until that suite drops the mark): a state made anew starts above every revision deleted."""

from __future__ import annotations

import pytest

from jido._redis import RedisClient
from jido.errors import StaleStateError
from jido.store.redis import RedisStore
from jido.store.store import StateWrite
from tests.redis.server import redis_client as redis_client
from tests.redis.server import redis_namespace as redis_namespace
from tests.redis.server import redis_server as redis_server


async def save(store: RedisStore, agent_id: str, data: str, expected: int | None = None) -> int:
    [stored] = await store.save_many([StateWrite(agent_id, data, expected_revision=expected)])
    return stored.revision


async def test_revision_never_repeats_after_delete(redis_client: RedisClient, redis_namespace: str) -> None:
    """After a delete the agent's next save is above every revision deleted, and so is a new agent's."""
    store = RedisStore(redis_client, namespace=redis_namespace)
    await save(store, "a", "1")
    await save(store, "a", "2")
    assert await store.delete("a")
    assert await store.load("a") is None
    assert await save(store, "a", "3", expected=0) == 3
    assert await save(store, "b", "1") == 3
    assert await save(store, "b", "2", expected=3) == 4


async def test_no_aba_across_a_delete(redis_client: RedisClient, redis_namespace: str) -> None:
    """A writer holding a revision from before a delete cannot overwrite the state made after it."""
    store = RedisStore(redis_client, namespace=redis_namespace)
    await save(store, "a", "old")
    assert await store.delete("a", expected_revision=1)
    assert await save(store, "a", "new", expected=0) == 2
    with pytest.raises(StaleStateError) as caught:
        await save(store, "a", "stale writer", expected=1)
    assert (caught.value.expected, caught.value.actual) == (1, 2)
    loaded = await store.load("a")
    assert loaded is not None and loaded.data == "new"


async def test_batch_of_new_states_after_a_delete(redis_client: RedisClient, redis_namespace: str) -> None:
    """A batch writing one new agent twice numbers both writes from the floor up."""
    store = RedisStore(redis_client, namespace=redis_namespace)
    await save(store, "x", "1")
    await save(store, "x", "2")
    assert await store.delete("x")
    stored = await store.save_many([StateWrite("y", "1"), StateWrite("y", "2", expected_revision=3)])
    assert [s.revision for s in stored] == [3, 4]
