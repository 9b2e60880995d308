"""Test helpers that need no pytest: a runtime for tests, a recorder of published signals, and waits that never
sleep on the wall clock.

Under trio's autojump clock (the ``jido_runtime`` fixture runs on one) the timeouts below are virtual: a wait
that can never succeed fails at once, in clock time ``timeout`` seconds later, not after real seconds.
"""

from __future__ import annotations

import datetime as dt
import logging
import sys
from collections.abc import AsyncIterator, Callable, Iterator
from contextlib import asynccontextmanager, contextmanager, nullcontext
from typing import TYPE_CHECKING, Any, Final

import trio
import trio.testing

from jido.clock import Clock, TrioClock
from jido.errors import ClosedError
from jido.runtime.runtime import Runtime, open_runtime
from jido.signal.pattern import matches, parse_pattern
from jido.signal.signal import Signal
from jido.testing.faults import FaultInjector, FaultPlan

if TYPE_CHECKING:
    from jido.runtime.server import AgentRef

__all__ = [
    "DEFAULT_WAIT",
    "TEST_START",
    "SignalRecorder",
    "open_test_runtime",
    "wait_for_state",
    "wait_until",
]

TEST_START: Final = dt.datetime(2025, 1, 1, tzinfo=dt.UTC)
"""Where the wall clock of a test runtime starts: a fixed instant, so that cron tests are reproducible."""

DEFAULT_WAIT: Final = 10.0
"""Seconds (of trio's clock) a helper waits before it fails the test."""

_POLL: Final = 0.01
_MAX_NAP: Final = 1.0


@asynccontextmanager
async def open_test_runtime(
    *, faults: FaultPlan | FaultInjector | None = None, clock: Clock | None = None, **options: Any
) -> AsyncIterator[Runtime]:
    """Open a runtime for a test: what the ``jido_runtime`` fixture gives, for code that cannot use fixtures.

    Use it inside a Hypothesis test, one runtime per example (pytest-trio sets async fixtures up once per
    test, not per example), with the ``autojump_clock`` fixture among the test's arguments::

        @given(amounts=st.lists(st.integers(0, 200)))
        async def test_demand(autojump_clock, amounts):
            async with open_test_runtime(faults=FaultPlan([...])) as rt:
                ...

    Args:
        faults: a plan (or an injector) whose faults the runtime's agents see; without it, whatever
            interceptor the context already has (``inject_faults``) stays in force.
        clock: the runtime's wall clock; a :class:`~jido.TrioClock` from :data:`TEST_START` by default.
        options: more keyword arguments for :func:`~jido.open_runtime`.
    """
    injector = FaultInjector(faults) if isinstance(faults, FaultPlan) else faults
    with _example_logs(), injector.install() if injector is not None else nullcontext():
        async with open_runtime(clock=clock or TrioClock(start=TEST_START), **options) as runtime:
            yield runtime


class _Held(logging.Handler):
    def __init__(self) -> None:
        super().__init__()
        self.lines: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        # One line each, without the traceback: the message names the error, and a crash's traceback is
        # that of a fault the plan injected on purpose.
        self.lines.append(f"{record.levelname} {record.name}: {record.getMessage()}")


_EXAMPLE_LOGS: Final = 50
"""The most log lines of one example attached to its failure (the last ones are kept)."""


@contextmanager
def _example_logs() -> Iterator[None]:
    """Inside a Hypothesis example, hold jido's log records back, and attach them to the example's failure.

    Otherwise pytest's log capture collects the records of every example Hypothesis ran (the tracebacks of
    faults injected in examples that passed, well over a hundred lines), and shows them all under the one
    that failed. Outside Hypothesis nothing changes.
    """
    control = sys.modules.get("hypothesis.control")  # not imported: not in a Hypothesis test either
    if control is None or not control.currently_in_test_context():
        yield
        return
    logger = logging.getLogger("jido")
    held = _Held()
    propagate = logger.propagate
    logger.addHandler(held)
    logger.propagate = False
    try:
        yield
    except BaseException as exc:
        if held.lines:
            shown = held.lines[-_EXAMPLE_LOGS:]
            cut = len(held.lines) - len(shown)
            exc.add_note(
                "jido log of this example"
                + (f" (its last {len(shown)} lines)" if cut else "")
                + ":\n"
                + "\n".join(f"  {line}" for line in shown)
            )
        raise
    finally:
        logger.removeHandler(held)
        logger.propagate = propagate


def _check_timeout(timeout: object) -> float:
    if isinstance(timeout, bool) or not isinstance(timeout, int | float) or not timeout > 0:
        raise ValueError(f"timeout must be a positive number of seconds, got {timeout!r}")
    return float(timeout)


async def wait_for_state(
    ref: AgentRef, predicate: Callable[[Any], bool], *, timeout: float = DEFAULT_WAIT
) -> Any:
    """Wait until ``predicate`` holds for a committed state of the agent; returns that state.

    Args:
        ref: the agent.
        predicate: a function of the state.
        timeout: seconds of trio's clock.

    Raises:
        AssertionError: not within ``timeout``, or the agent stopped first; the message shows the last state.
    """
    __tracebackhide__ = True  # a failed wait is the test's failure: pytest shows the test's line, not ours
    timeout = _check_timeout(timeout)
    try:
        return await ref.wait_state(predicate, timeout=timeout)
    except (trio.TooSlowError, TimeoutError):
        raise AssertionError(
            f"agent {ref.id!r}: no committed state matched within {timeout:g}s; last state: {ref.state!r}"
        ) from None
    except ClosedError:
        raise AssertionError(
            f"agent {ref.id!r} stopped before its state matched; last state: {ref.state!r}"
        ) from None


async def wait_until(
    condition: Callable[[], bool], *, timeout: float = DEFAULT_WAIT, message: str | None = None
) -> None:
    """Wait until ``condition()`` is true.

    The condition is checked whenever every task is blocked, and again after each timer of the program fires
    (on trio's mock clock; every 10 ms on a real one), so it suits conditions that no event announces (dead
    letters, statistics).

    Args:
        condition: checked repeatedly; should be cheap and have no effects.
        timeout: seconds of trio's clock.
        message: what was awaited, for the failure message.

    Raises:
        AssertionError: not within ``timeout``.
    """
    __tracebackhide__ = True  # see wait_for_state
    timeout = _check_timeout(timeout)
    virtual = isinstance(trio.lowlevel.current_clock(), trio.testing.MockClock)
    with trio.move_on_after(timeout):
        while True:
            if condition():
                return
            await trio.testing.wait_all_tasks_blocked()
            if condition():
                return
            # Every task waits: nothing changes before the next timer, so on trio's mock clock nap until it.
            # On a real clock, something outside trio's view (a thread, a socket) may change it sooner.
            nap = trio.lowlevel.current_statistics().seconds_to_next_deadline
            await trio.sleep(min(nap, _MAX_NAP) if virtual else min(nap, _POLL))
    raise AssertionError(f"{message or 'condition'} not met within {timeout:g}s")


class SignalRecorder:
    """Records every signal published on a runtime's bus that matches a pattern (``"**"``: all of them).

    Open one with :meth:`open`; it records while the block lasts. Signals cast straight to an agent
    (``ref.cast``/``call``) are not published, so they are not recorded.
    """

    def __init__(self, pattern: str = "**") -> None:
        parse_pattern(pattern)
        self.pattern = pattern
        self._signals: list[Signal] = []
        self._changed = trio.Event()

    def __repr__(self) -> str:
        return f"<SignalRecorder {self.pattern!r} recorded={len(self._signals)}>"

    @classmethod
    @asynccontextmanager
    async def open(cls, runtime: Runtime, pattern: str = "**") -> AsyncIterator[SignalRecorder]:
        """Record ``runtime``'s published signals matching ``pattern`` inside the block."""
        recorder = cls(pattern)
        async with trio.open_nursery() as nursery, runtime.listen(pattern) as channel:
            nursery.start_soon(recorder._drain, channel)
            try:
                yield recorder
            finally:
                nursery.cancel_scope.cancel()

    async def _drain(self, channel: trio.MemoryReceiveChannel[Signal]) -> None:
        async for signal in channel:
            self.record(signal)

    def record(self, signal: Signal) -> None:
        """Add ``signal`` (the recorder's task does this; tests may too)."""
        self._signals.append(signal)
        self._changed.set()
        self._changed = trio.Event()

    @property
    def signals(self) -> list[Signal]:
        """The recorded signals, oldest first (a copy)."""
        return list(self._signals)

    def types(self) -> list[str]:
        """The types of the recorded signals, oldest first."""
        return [s.type for s in self._signals]

    def matching(self, pattern: str) -> list[Signal]:
        """The recorded signals whose type matches the router ``pattern``, oldest first."""
        parse_pattern(pattern)
        return [s for s in self._signals if matches(pattern, s.type)]

    def clear(self) -> None:
        """Forget what was recorded so far."""
        self._signals.clear()

    async def wait_for(
        self, pattern: str = "**", *, count: int = 1, timeout: float = DEFAULT_WAIT
    ) -> list[Signal]:
        """Wait until at least ``count`` recorded signals match ``pattern``; returns the matching ones.

        Raises:
            AssertionError: not within ``timeout`` seconds of trio's clock; the message lists what was recorded.
        """
        __tracebackhide__ = True  # see wait_for_state
        if isinstance(count, bool) or not isinstance(count, int) or count < 1:
            raise ValueError(f"count must be an int >= 1, got {count!r}")
        timeout = _check_timeout(timeout)
        with trio.move_on_after(timeout):
            while True:
                found = self.matching(pattern)
                if len(found) >= count:
                    return found
                await self._changed.wait()
        found = self.matching(pattern)
        raise AssertionError(
            f"{len(found)} of {count} signal(s) matching {pattern!r} recorded within {timeout:g}s; "
            f"recorded types: {self.types()!r}"
        )
