"""Helpers shared by the state store tests: a clock the test sets by hand, and stores of each backend.

Not a conftest: the fixtures are defined here and imported by the store test modules that want them.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import itertools
from collections.abc import AsyncIterator, Callable
from pathlib import Path
from typing import Any

import pytest

from jido.store.memory import MemoryStateStore
from jido.store.sqlite import SQLiteStateStore
from jido.store.store import StateStore, StateWrite, StoredState
from tests.redis.server import RedisServer

T0 = dt.datetime(2026, 1, 1, 12, 0, tzinfo=dt.UTC)


class ManualClock:
    """A wall clock that moves only when the test moves it."""

    def __init__(self, start: dt.datetime = T0) -> None:
        self.current = start

    def now(self) -> dt.datetime:
        return self.current

    def advance(self, seconds: float) -> dt.datetime:
        self.current += dt.timedelta(seconds=seconds)
        return self.current


StoreFactory = Callable[..., StateStore]


@pytest.fixture
def clock() -> ManualClock:
    return ManualClock()


@pytest.fixture(params=["memory", "sqlite", "redis"])
async def make_store(request: pytest.FixtureRequest, tmp_path: Path) -> AsyncIterator[StoreFactory]:
    """Makes stores of one backend (each SQLite one in a file of its own, ``synchronous="NORMAL"`` to spare
    the disk: durability has its own tests; each Redis one in a namespace of its own on the session's
    server); closes them all afterwards."""
    made: list[StateStore] = []
    names = itertools.count()
    async with contextlib.AsyncExitStack() as stack:
        client = None
        if request.param == "redis":
            # Imported here: the memory and SQLite runs need neither coredis nor a server.
            from jido._redis import open_redis
            from jido.store.redis import RedisStore

            server: RedisServer = request.getfixturevalue("redis_server")
            client = await stack.enter_async_context(open_redis(server.url))
            base = request.getfixturevalue("redis_namespace")

        def make(*, clock: ManualClock | None = None, **options: Any) -> StateStore:
            store: StateStore
            if request.param == "memory":
                store = MemoryStateStore(clock=clock, **options)
            elif request.param == "sqlite":
                path = tmp_path / f"state-{next(names)}.db"
                store = SQLiteStateStore(path, clock=clock, synchronous="NORMAL", **options)
            else:
                assert client is not None
                store = RedisStore(client, namespace=f"{base}-{next(names)}", clock=clock, **options)
            made.append(store)
            return store

        yield make
        for store in made:
            await store.aclose()


@pytest.fixture
def store(make_store: StoreFactory, clock: ManualClock) -> StateStore:
    """A store of each backend on the test's manual clock."""
    return make_store(clock=clock)


async def save(store: StateStore, agent_id: str, data: str, expected: int | None = None) -> StoredState:
    """Save one state; return what was stored."""
    (state,) = await store.save_many([StateWrite(agent_id, data, expected)])
    return state
