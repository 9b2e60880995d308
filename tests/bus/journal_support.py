"""Helpers shared by the journal tests: a clock the test sets by hand, signals, and journals of each backend.

Not a conftest: the fixtures are defined here and imported by the journal test modules only, so that they
never shadow the fixtures of other tests in this folder.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import itertools
from collections.abc import AsyncIterator, Callable
from pathlib import Path
from typing import Any

import pytest

from jido.bus.journal import Journal
from jido.bus.memory import MemoryJournal
from jido.bus.sqlite import SQLiteJournal
from jido.signal import Signal
from tests.redis.server import RedisServer

T0 = dt.datetime(2026, 1, 1, 12, 0, tzinfo=dt.UTC)


class ManualClock:
    """A wall clock that moves only when the test moves it (forward or back)."""

    def __init__(self, start: dt.datetime = T0) -> None:
        self.current = start

    def now(self) -> dt.datetime:
        return self.current

    def advance(self, seconds: float) -> dt.datetime:
        self.current += dt.timedelta(seconds=seconds)
        return self.current


def sig(i: int = 0, type_: str = "order.placed") -> Signal:
    """A small signal whose data says which one it is."""
    return Signal(type=type_, source="/test", data={"i": i})


JournalFactory = Callable[..., Journal]


@pytest.fixture
def clock() -> ManualClock:
    return ManualClock()


@pytest.fixture(params=["memory", "sqlite", "redis"])
async def make_journal(request: pytest.FixtureRequest, tmp_path: Path) -> AsyncIterator[JournalFactory]:
    """Makes journals of one backend (each SQLite one in a file of its own, each Redis one in a namespace of
    its own on the session's server), with the options every backend takes (``max_dead_letters``); closes
    them all afterwards."""
    made: list[Journal] = []
    names = itertools.count()
    async with contextlib.AsyncExitStack() as stack:
        client = None
        if request.param == "redis":
            # Imported here: the memory and SQLite runs need neither coredis nor a server.
            from jido._redis import open_redis
            from jido.bus.redis import RedisJournal

            server: RedisServer = request.getfixturevalue("redis_server")
            client = await stack.enter_async_context(open_redis(server.url))
            base = request.getfixturevalue("redis_namespace")

        def make(*, clock: ManualClock | None = None, **options: Any) -> Journal:
            journal: Journal
            if request.param == "memory":
                journal = MemoryJournal(clock=clock, **options)
            elif request.param == "sqlite":
                journal = SQLiteJournal(tmp_path / f"journal-{next(names)}.db", clock=clock, **options)
            else:
                assert client is not None
                journal = RedisJournal(client, namespace=f"{base}-{next(names)}", clock=clock, **options)
            made.append(journal)
            return journal

        yield make
        for journal in made:
            await journal.aclose()


@pytest.fixture
def journal(make_journal: JournalFactory, clock: ManualClock) -> Journal:
    """A journal of each backend on the test's manual clock."""
    return make_journal(clock=clock)
