"""A Hypothesis state machine that keeps one trio runtime alive across its rules.

Hypothesis calls a state machine's rules one by one, synchronously. :class:`RuntimeStateMachine` runs a trio
event loop in a helper thread for the life of each machine instance, opens a runtime in it, and lets rules run
async code there with :meth:`~RuntimeStateMachine.run`. So rules such as "send a signal", "inject a fault",
"restart the agent" act on one long-lived runtime, and invariants read agent state between them::

    class TrackerMachine(RuntimeStateMachine):
        @initialize()
        def start(self) -> None:
            self.ref = self.run(self.rt.start_agent, DemandTracker, id="tracker")

        @rule(amount=st.integers(0, 200))
        def boost(self, amount: int) -> None:
            self.call(self.ref, demand_signal("boost", amount=amount))

        @rule(fault=jst.action_faults(["boost", "cool"]))
        def inject(self, fault: Fault) -> None:
            self.faults.set_plan(FaultPlan([fault]))

        @invariant()
        def demand_in_range(self) -> None:
            assert 0 <= self.ref.state.demand <= 100

    TestTracker = TrackerMachine.TestCase

Time is trio's :class:`~trio.testing.MockClock`: it stands still between rules and jumps ahead while a rule
waits (autojump), so retries, timeouts and schedules cost no real time. Each rule ends once every task is
blocked, so invariants see a settled runtime. The runtime's agents see the machine's fault injector
(:attr:`~RuntimeStateMachine.faults`); the faults that fire during a rule are noted for Hypothesis, so the
report of a failing example shows them step by step.
"""

from __future__ import annotations

# First, before Hypothesis: without it, this import says what to install.
import jido.testing._needs_hypothesis  # noqa: F401

# isort: split
import contextlib
import functools
import math
import threading
from collections.abc import Awaitable, Callable, Mapping
from typing import Any, ClassVar, ParamSpec, TypeVar

import trio
import trio.testing
from hypothesis import note
from hypothesis.control import currently_in_test_context
from hypothesis.stateful import RuleBasedStateMachine

from jido.agent.spec import Agent
from jido.clock import TrioClock
from jido.errors import ClosedError
from jido.runtime.runtime import Runtime, open_runtime
from jido.runtime.server import AgentRef
from jido.signal.signal import Signal
from jido.testing.faults import FaultInjector
from jido.testing.helpers import TEST_START

__all__ = ["RuntimeStateMachine"]

T = TypeVar("T")
P = ParamSpec("P")


class RuntimeStateMachine(RuleBasedStateMachine):
    """A :class:`~hypothesis.stateful.RuleBasedStateMachine` with a live jido runtime (see the module docs).

    Class attributes:
        runtime_options: keyword arguments for :func:`~jido.open_runtime` (``max_restarts``, ``within``, ...).

    Attributes:
        clock: the trio clock of the machine's event loop.
        faults: the fault injector every agent of the runtime sees.
    """

    runtime_options: ClassVar[Mapping[str, Any]] = {}

    def __init__(self) -> None:
        super().__init__()
        self.clock = trio.testing.MockClock()
        self.faults = FaultInjector()
        self._token: trio.lowlevel.TrioToken | None = None
        self._runtime: Runtime | None = None
        self._failure: BaseException | None = None
        self._closing: trio.Event | None = None
        self._loop_error: BaseException | None = None
        self._nursery: trio.Nursery | None = None
        self._host_scope: trio.CancelScope | None = None
        self._host_done: trio.Event | None = None
        self._reported = 0
        ready = threading.Event()
        self._thread = threading.Thread(
            target=self._main, args=(ready,), name="jido-state-machine", daemon=True
        )
        self._thread.start()
        ready.wait()
        if self._loop_error is not None:
            raise self._loop_error

    # -- the event loop thread -----------------------------------------------------------------------------
    def _main(self, ready: threading.Event) -> None:
        try:
            trio.run(self._serve, ready, clock=self.clock)
        except BaseException as exc:  # handed to the main thread, which raises it
            self._loop_error = exc
            ready.set()

    async def _serve(self, ready: threading.Event) -> None:
        self._token = trio.lowlevel.current_trio_token()
        self._closing = trio.Event()
        # One wall clock for the machine: a reopened runtime goes on from the same wall-clock time.
        self._wall = TrioClock(start=TEST_START)
        with self.faults.install():
            async with trio.open_nursery() as nursery:
                self._nursery = nursery
                await self._open()
                ready.set()
                await self._closing.wait()
                nursery.cancel_scope.cancel()

    async def _open(self) -> None:
        assert self._nursery is not None
        self._failure = None
        self._runtime = await self._nursery.start(self._host)

    async def _host(self, *, task_status: trio.TaskStatus[Runtime]) -> None:
        options = dict(self.runtime_options)
        options.setdefault("clock", self._wall)
        done = self._host_done = trio.Event()
        try:
            with trio.CancelScope() as scope:
                self._host_scope = scope
                async with open_runtime(**options) as runtime:
                    task_status.started(runtime)
                    await trio.sleep_forever()
        except Exception as exc:  # the runtime failed (a supervisor gave up): rules see it in runtime_failure
            self._failure = exc
        finally:
            done.set()

    async def _reopen(self) -> None:
        if self._host_scope is not None:
            self._host_scope.cancel()
        if self._host_done is not None:
            await self._host_done.wait()
        await self._open()

    # -- what rules use -------------------------------------------------------------------------------------
    @property
    def rt(self) -> Runtime:
        """The runtime.

        Raises:
            ClosedError: the runtime failed (see :attr:`runtime_failure`).
        """
        if self._failure is not None or self._runtime is None:
            raise ClosedError(f"the runtime has failed: {self._failure!r}")
        return self._runtime

    @property
    def runtime_failure(self) -> BaseException | None:
        """What ended the runtime (a :class:`~jido.errors.SupervisionError` when the root supervisor gave up)."""
        return self._failure

    def reopen_runtime(self) -> Runtime:
        """Close the runtime if it still runs, and open a fresh one (as a parent would after an escalation).

        Agents are not carried over: start them again (``self.rt.start_agent(ref.agent)`` resumes one from
        its last committed state). The fault injector, the clock and the wall clock go on.
        """
        self.run(self._reopen)
        return self.rt

    def run(self, afn: Callable[P, Awaitable[T]], /, *args: P.args, **kwargs: P.kwargs) -> T:
        """Run ``await afn(*args, **kwargs)`` in the runtime's event loop and return its result (or raise its error).

        Time jumps ahead while it waits; it returns once every task is blocked again, with time standing still.
        """
        token = self._token
        if token is None or self._thread is None or not self._thread.is_alive():
            raise ClosedError("the state machine's event loop is not running")
        try:
            return trio.from_thread.run(self._step, functools.partial(afn, *args, **kwargs), trio_token=token)
        finally:
            self._note_faults()

    async def _step(self, afn: Callable[[], Awaitable[T]]) -> T:
        # Agents (and their bus subscriptions) started by this rule copy this task's context: give it the
        # injector.
        self.clock.autojump_threshold = 0
        try:
            with self.faults.install():
                result = await afn()
                await trio.testing.wait_all_tasks_blocked()
            return result
        finally:
            self.clock.autojump_threshold = math.inf

    def call(self, ref: AgentRef, signal: Signal, *, timeout: float = 5.0) -> Agent | Exception:
        """``ref.call(signal)`` in the loop; returns the agent after it, or the exception the call raised."""

        async def attempt() -> Agent | Exception:
            try:
                return await ref.call(signal, timeout=timeout)
            except Exception as exc:  # returned: a failed call is an outcome rules reason about
                return exc

        return self.run(attempt)

    def cast(self, ref: AgentRef, signal: Signal) -> None:
        """``ref.cast(signal)`` in the loop (it returns once every task is blocked again)."""
        self.run(ref.cast, signal)

    def advance(self, seconds: float) -> None:
        """Let ``seconds`` of (virtual) time pass: timers, retries and schedules due in that time fire."""
        if isinstance(seconds, bool) or not isinstance(seconds, int | float) or not 0 <= seconds < math.inf:
            raise ValueError(f"seconds must be a finite number >= 0, got {seconds!r}")
        self.run(trio.sleep, seconds)

    def _note_faults(self) -> None:
        if not currently_in_test_context():  # driven by hand, outside Hypothesis: nothing to note for
            return
        records = self.faults.records
        for record in records[self._reported :]:
            note(f"fault: {record}")
        self._reported = len(records)

    def teardown(self) -> None:
        """Close the runtime and stop the event loop."""
        token = self._token
        if token is not None and self._thread.is_alive():
            closing = self._closing
            assert closing is not None
            with contextlib.suppress(trio.RunFinishedError):
                trio.from_thread.run_sync(closing.set, trio_token=token)
        self._thread.join()
        if self._loop_error is not None:
            raise self._loop_error
