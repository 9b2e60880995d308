"""A durable subscription name is bound to the pattern and owner that first subscribed it; the bus refuses
another owner (ForbiddenError) or another pattern (SubscriptionConflictError) before changing anything. Also:
the reasons the bus gives its dead letters, and their bound under a subscriber that never acks."""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Any

import pytest
import trio
import trio.testing

from jido.bus.bus import Bus, open_bus
from jido.bus.journal import DurableBinding
from jido.bus.memory import MemoryJournal
from jido.bus.sqlite import open_sqlite_journal
from jido.errors import ForbiddenError, SubscriptionConflictError
from jido.signal import Signal
from tests.bus.journal_support import ManualClock


def sig(kind: str, n: int = 0) -> Signal:
    return Signal(type=kind, source="/shop", data={"n": n})


async def state(bus: Bus, name: str) -> tuple[int | None, list[str]]:
    """What a refused subscribe must leave unchanged: the stored checkpoint and the bus's subscriptions."""
    return await bus.journal.get_checkpoint(name), [s.name for s in bus.subscriptions()]


class TestBinding:
    @pytest.mark.parametrize(
        ("first", "second"),
        [("tok-a", "tok-b"), (None, "tok-b"), ("tok-a", None)],
        ids=["other-token", "token-after-none", "none-after-token"],
    )
    async def test_other_owner_forbidden(self, first: str | None, second: str | None) -> None:
        """Another owner (None is an owner of its own) cannot take a durable name over, subscribed or not,
        whatever pattern it asks for; nothing changes."""
        async with open_bus() as bus:
            sub = await bus.subscribe("order.*", name="billing", owner=first)
            await bus.publish(sig("order.placed"))
            for pattern in ("order.*", "**"):
                before = await state(bus, "billing")
                with pytest.raises(
                    ForbiddenError, match=r"^durable subscription 'billing' belongs to another identity$"
                ) as caught:
                    await bus.subscribe(pattern, name="billing", owner=second)
                assert caught.value.what == "durable subscription 'billing'"
                assert await state(bus, "billing") == before
            await bus.unsubscribe(sub)
            with pytest.raises(ForbiddenError):
                await bus.subscribe("order.*", name="billing", owner=second)

    async def test_other_pattern_conflicts(self) -> None:
        """The same owner with another pattern is refused with both patterns named; nothing changes."""
        async with open_bus() as bus:
            sub = await bus.subscribe("order.*", name="billing", owner="tok-a")
            await bus.unsubscribe(sub)
            before = await state(bus, "billing")
            with pytest.raises(
                SubscriptionConflictError,
                match=r"^durable subscription 'billing' is bound to pattern 'order\.\*', not '\*\*'$",
            ) as caught:
                await bus.subscribe("**", name="billing", owner="tok-a")
            assert (caught.value.name, caught.value.pattern, caught.value.bound) == (
                "billing",
                "**",
                "order.*",
            )
            assert isinstance(caught.value, ValueError)  # callers that caught ValueError still do
            assert await state(bus, "billing") == before

    async def test_two_patterns_lose_nothing(self) -> None:
        """The data loss this prevents: a second pattern on one name would have moved the shared checkpoint
        past records the first never matched. Refused, the first resumes with all of them."""
        async with open_bus() as bus:
            orders = await bus.subscribe("order.*", name="shared", start_from="beginning")
            await bus.unsubscribe(orders)
            await bus.publish([sig("order.placed", 1), sig("user.joined", 2), sig("order.paid", 3)])
            with pytest.raises(SubscriptionConflictError):
                await bus.subscribe("user.*", name="shared")
            orders = await bus.subscribe("order.*", name="shared")
            taken = [await orders.next() for _ in range(2)]
            assert [d.signal.data["n"] for d in taken] == [1, 3]

    async def test_same_owner_and_pattern_resume(self) -> None:
        """The owner that bound the name resumes it with the same pattern, from its checkpoint."""
        async with open_bus() as bus:
            sub = await bus.subscribe("order.*", name="billing", owner="tok-a", start_from="beginning")
            await bus.publish([sig("order.placed", n) for n in range(3)])
            delivery = await sub.next()
            await sub.ack(delivery.offset)
            await bus.unsubscribe(sub)
            again = await bus.subscribe("order.*", name="billing", owner="tok-a")
            assert (await again.next()).offset == 2

    async def test_already_subscribed_same_owner(self) -> None:
        """The owner subscribing its name twice at once still gets the old ValueError."""
        async with open_bus() as bus:
            await bus.subscribe("order.*", name="billing", owner="tok-a")
            with pytest.raises(ValueError, match=r"^durable subscription 'billing' is already subscribed$"):
                await bus.subscribe("order.*", name="billing", owner="tok-a")

    async def test_statistics_show_owner_and_pattern(self) -> None:
        """Statistics list each subscription's pattern, owner and kind, for a gateway to filter by token."""
        async with open_bus() as bus:
            await bus.subscribe("order.*", name="billing", owner="tok-a")
            await bus.subscribe("user.*", owner="tok-b")
            await bus.subscribe("**")
            shown = [(s.name, s.pattern, s.owner, s.durable) for s in (await bus.statistics()).subscriptions]
            assert shown == [
                ("billing", "order.*", "tok-a", True),
                ("transient-1:user.*", "user.*", "tok-b", False),
                ("transient-2:**", "**", None, False),
            ]

    async def test_transient_has_no_binding(self) -> None:
        """A transient subscription binds no name: others may use any pattern and owner."""
        async with open_bus() as bus:
            await bus.subscribe("order.*", owner="tok-a")
            await bus.subscribe("user.*", owner="tok-b")
            assert await bus.journal.get_checkpoint("transient-1:order.*") is None

    @pytest.mark.parametrize(
        ("owner", "message"),
        [
            ("", r"^owner must be a non-empty string or None, got ''$"),
            (7, r"^owner must be a non-empty string or None, got 7$"),
        ],
    )
    async def test_bad_owner(self, owner: Any, message: str) -> None:
        """An owner that is not a non-empty str (or None) is refused before the journal is touched."""
        async with open_bus() as bus:
            with pytest.raises(ValueError, match=message):
                await bus.subscribe("**", name="billing", owner=owner)
            assert await state(bus, "billing") == (None, [])

    async def test_bad_target_registers_nothing(self) -> None:
        """A target that cannot be called is refused before the subscription exists (it used to be left
        registered, and its durable name taken)."""
        async with open_bus() as bus:
            with pytest.raises(
                TypeError, match=r"^target must have async deliver\(signal\) or be callable, got 3$"
            ):
                await bus.subscribe("**", name="billing", target=3)
            assert await state(bus, "billing") == (None, [])

    async def test_bound_in_the_file(self, tmp_path: Path) -> None:
        """With SQLite the binding outlives the process: another owner is refused after a reopen."""
        path = tmp_path / "j.db"
        async with open_sqlite_journal(path) as journal, open_bus(journal) as bus:
            await bus.subscribe("order.*", name="billing", owner="tok-a")
        async with open_sqlite_journal(path) as journal, open_bus(journal) as bus:
            with pytest.raises(ForbiddenError):
                await bus.subscribe("order.*", name="billing", owner="tok-b")
            with pytest.raises(SubscriptionConflictError):
                await bus.subscribe("**", name="billing", owner="tok-a")
            await bus.subscribe("order.*", name="billing", owner="tok-a")

    async def test_checkpoint_without_binding_adopts(self, tmp_path: Path) -> None:
        """A checkpoint stored before names were bound resumes under the first owner and pattern to come,
        which then hold it."""
        path = tmp_path / "j.db"
        async with open_sqlite_journal(path) as journal:
            await journal.append([sig("order.placed", n) for n in range(3)])
            await journal.set_checkpoint("billing", 1)
        async with open_sqlite_journal(path) as journal, open_bus(journal) as bus:
            sub = await bus.subscribe("order.*", name="billing", owner="tok-a")
            assert (await sub.next()).offset == 2
            with pytest.raises(ForbiddenError):
                await bus.subscribe("order.*", name="billing", owner="tok-b")
            binding = await journal.bind_subscription("billing", pattern="**", owner=None, offset=0)
            assert binding == DurableBinding("billing", "order.*", "tok-a", 1)


class TestBusDeadLetters:
    async def test_reasons(self, autojump_clock: trio.testing.MockClock) -> None:
        """The bus says why it gave up: attempts used up, or an error another attempt cannot fix."""
        async with open_bus() as bus:
            sub = await bus.subscribe("**", name="flaky", max_attempts=2, backoff=1.0)
            await bus.publish([sig("order.placed", 1), sig("order.placed", 2)])
            first, second = await sub.next(), await sub.next()
            await sub.nack(first.offset, RuntimeError("down"))
            await sub.nack(second.offset, ValueError("bad order"), retry=False)
            again = await sub.next()
            await sub.nack(again.offset, RuntimeError("still down"))
            letters = await bus.dead_letters("flaky")
            assert [(d.record.offset, d.reason, d.error) for d in letters] == [
                (2, "not_retryable", "ValueError: bad order"),
                (1, "max_attempts", "RuntimeError: still down"),
            ]

    async def test_bounded_under_a_subscriber_that_never_acks(
        self, autojump_clock: trio.testing.MockClock, caplog: pytest.LogCaptureFixture
    ) -> None:
        """A subscriber that never acks dead-letters every record; the memory journal keeps the newest
        max_dead_letters of them, counts the rest as evicted and logs that once, not once each."""
        caplog.set_level(logging.WARNING, logger="jido.bus")
        journal = MemoryJournal(clock=ManualClock(), max_dead_letters=50)
        async with open_bus(journal) as bus:
            sub = await bus.subscribe("**", name="deaf", max_attempts=1, ack_timeout=1.0, max_in_flight=400)
            await bus.publish([sig("order.placed", n) for n in range(400)])
            for _ in range(400):
                await sub.next()  # delivered, never acked
            with trio.move_on_after(2):  # past the ack timeout, each one goes to the dead letters
                await sub.next()
            assert sub.statistics().dead_lettered == 400
            stats = journal.statistics()
            assert (stats.dead_letters, stats.dead_letters_evicted) == (50, 350)
            assert [d.record.offset for d in await bus.dead_letters()] == list(range(351, 401))
        evictions = [r.getMessage() for r in caplog.records if "oldest dead letters" in r.getMessage()]
        assert evictions == [
            "MemoryJournal evicted 1 oldest dead letters to stay within max_dead_letters=50 (1 evicted in all)"
        ]


@pytest.fixture(params=["memory", "sqlite"])
async def any_bus(request: pytest.FixtureRequest, tmp_path: Path) -> Any:
    if request.param == "memory":
        async with open_bus(MemoryJournal()) as bus:
            yield bus
    else:
        async with open_sqlite_journal(tmp_path / "j.db") as journal, open_bus(journal) as bus:
            yield bus


class TestForget:
    async def test_forget_removes_checkpoint_and_binding(self, any_bus: Bus) -> None:
        """A forgotten name starts afresh: another owner and pattern may take it, and it is no longer
        counted for its owner."""
        bus = any_bus
        await bus.publish(sig("order.placed"))
        sub = await bus.subscribe("order.*", name="d", owner="alice", start_from="beginning")
        await sub.ack((await sub.next()).offset)
        await sub.aclose()
        counter = bus.journal.count_durable  # type: ignore[attr-defined]
        assert (await counter("alice"), await counter("bob"), await counter(None)) == (1, 0, 0)
        assert await bus.forget("d") is True
        assert await bus.forget("d") is False
        assert (await bus.journal.get_checkpoint("d"), await counter("alice")) == (None, 0)
        again = await bus.subscribe("audit.*", name="d", owner="bob", start_from="beginning")
        assert again.statistics().checkpoint == 0

    async def test_subscribed_name_is_not_forgotten(self, any_bus: Bus) -> None:
        """A name subscribed now is refused, and stays as it was."""
        await any_bus.subscribe("order.*", name="d", owner="alice")
        with pytest.raises(ValueError, match=r"^durable subscription 'd' is subscribed: close it first$"):
            await any_bus.forget("d")
        assert await any_bus.journal.count_durable("alice") == 1  # type: ignore[attr-defined]
