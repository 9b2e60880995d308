"""Signal ids: UUIDv7 strings, ordered by creation, stamped with the time they were made."""

from __future__ import annotations

import datetime as dt
import time
import uuid

import pytest

from jido.signal import ids
from jido.signal.ids import id_time, new_id

# 2030-01-01T00:00:00Z, in milliseconds: later than any real clock these tests run under.
FIXED_MS = 1_893_456_000_000


@pytest.fixture
def frozen_clock(monkeypatch: pytest.MonkeyPatch) -> list[int]:
    """Make new_id read a clock the test sets (milliseconds in a one-item list), from a fresh state."""
    now = [FIXED_MS]
    monkeypatch.setattr(ids, "_last_ms", 0)
    monkeypatch.setattr(ids, "_counter", 0)
    monkeypatch.setattr(ids.time, "time_ns", lambda: now[0] * 1_000_000)
    return now


class TestNewId:
    def test_is_a_canonical_uuid_version_7(self) -> None:
        """An id is the canonical lowercase text of an RFC 9562 version 7 UUID."""
        value = new_id()
        parsed = uuid.UUID(value)
        assert (parsed.version, parsed.variant, str(parsed)) == (7, uuid.RFC_4122, value)

    def test_ids_made_in_sequence_strictly_increase(self) -> None:
        """Ids sort, as strings, in the order they were made, with no repeats."""
        made = [new_id() for _ in range(20_000)]
        assert made == sorted(made)
        assert len(set(made)) == len(made)

    def test_ids_in_one_millisecond_share_its_timestamp(self, frozen_clock: list[int]) -> None:
        """Ids made within one millisecond carry that millisecond and still increase."""
        made = [new_id() for _ in range(1000)]
        assert made == sorted(made)
        assert {id_time(i) for i in made} == {dt.datetime(2030, 1, 1, tzinfo=dt.UTC)}

    def test_counter_overflow_borrows_the_next_millisecond(self, frozen_clock: list[int]) -> None:
        """Past 4096 ids in one millisecond, ids move to the next millisecond rather than repeat."""
        made = [new_id() for _ in range(4097)]  # the first millisecond holds 2049 to 4096 of them
        assert made == sorted(made)
        stamps = [id_time(i) for i in made]
        start = dt.datetime(2030, 1, 1, tzinfo=dt.UTC)
        assert stamps[:2048] == [start] * 2048
        assert set(stamps) == {start, start + dt.timedelta(milliseconds=1)}

    def test_clock_stepping_back_keeps_order(self, frozen_clock: list[int]) -> None:
        """When the clock steps back, ids keep the last timestamp and keep increasing."""
        first = new_id()
        frozen_clock[0] -= 5000
        second = new_id()
        assert second > first
        assert id_time(second) == id_time(first)

    def test_burst_stays_close_to_the_clock(self) -> None:
        """A burst of ids is stamped at most one millisecond per 2048 ids ahead of the clock."""
        count = 50_000
        made = [new_id() for _ in range(count)]
        after = dt.datetime.fromtimestamp(time.time(), dt.UTC)
        stamp = id_time(made[-1])
        assert stamp is not None
        assert stamp <= after + dt.timedelta(milliseconds=count // 2048 + 1)

    def test_fork_hook_reseeds_and_renews_the_lock(self, monkeypatch: pytest.MonkeyPatch) -> None:
        """In a forked child the generator gets new random state and a fresh lock."""
        monkeypatch.setattr(ids, "_lock", ids._lock)
        state, lock = ids._rng.getstate(), ids._lock
        ids._after_fork_in_child()
        assert ids._rng.getstate() != state
        assert ids._lock is not lock


class TestIdTime:
    def test_reads_the_millisecond_of_a_v7_id(self, frozen_clock: list[int]) -> None:
        """id_time gives the UTC millisecond the id was made in."""
        frozen_clock[0] = FIXED_MS + 123
        assert id_time(new_id()) == dt.datetime(2030, 1, 1, 0, 0, 0, 123_000, tzinfo=dt.UTC)

    @pytest.mark.parametrize(
        "value",
        [str(uuid.uuid4()), "not-a-uuid", "", "01234567-89ab-7def-0123-456789abcdef", 42, None],
        ids=["uuid4", "garbage", "empty", "v7-wrong-variant", "int", "none"],
    )
    def test_anything_else_gives_none(self, value: object) -> None:
        """id_time gives None for what is not a UUIDv7 string."""
        assert id_time(value) is None  # type: ignore[arg-type]
