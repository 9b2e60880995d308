"""Timeouts, nested deadlines and compensation under trio (virtual time)."""

from __future__ import annotations

import math
from typing import Any

import pytest
import trio
import trio.testing

from jido.action.exec import execute, execute_sync
from jido.action.instruction import Instruction
from jido.action.spec import ActionContext, RetryPolicy
from jido.errors import ActionError, ActionTimeoutError, DeadlineExceededError, ValidationError

from .helpers import Recorder, raising, spec_of

NO_JITTER = RetryPolicy(max_attempts=3, backoff=0.25, multiplier=2, jitter=0)


async def sleeping(params: Any, ctx: ActionContext) -> dict[str, bool]:
    await trio.sleep(10)
    return {"slept": True}


class TestTimeout:
    async def test_times_out(self, autojump_clock: trio.testing.MockClock) -> None:
        """An attempt longer than the timeout fails with ActionTimeoutError at the deadline."""
        with pytest.raises(ActionTimeoutError, match=r"^action 'act' timed out after 1s$") as info:
            await execute(Instruction(spec_of(sleeping, timeout=1)), ActionContext())
        error = info.value
        assert (error.timeout, error.attempts, error.retryable, error.compensated) == (1, 1, True, None)
        assert trio.current_time() == 1

    async def test_instruction_timeout_wins(self, autojump_clock: trio.testing.MockClock) -> None:
        """The instruction's timeout overrides the spec's."""
        with pytest.raises(ActionTimeoutError, match=r"^action 'act' timed out after 0\.5s$"):
            await execute(Instruction(spec_of(sleeping, timeout=1), timeout=0.5), ActionContext())
        assert trio.current_time() == 0.5

    async def test_within_timeout(self, autojump_clock: trio.testing.MockClock) -> None:
        """An attempt that ends in time returns its result."""
        result = await execute(Instruction(spec_of(sleeping, timeout=11)), ActionContext())
        assert result.value == {"slept": True}

    async def test_infinite(self, autojump_clock: trio.testing.MockClock) -> None:
        """math.inf means no timeout."""

        async def run(params: Any, ctx: ActionContext) -> None:
            await trio.sleep(80_000)

        await execute(Instruction(spec_of(run, timeout=math.inf)), ActionContext())
        assert trio.current_time() == 80_000

    async def test_infinite_still_wraps_errors(self) -> None:
        """Without a timeout scope, failures are still wrapped."""
        with pytest.raises(ActionError, match=r"^action 'act' failed: OSError\(\)$"):
            await execute(
                Instruction(spec_of(Recorder(raising(OSError())), timeout=math.inf)), ActionContext()
            )

    async def test_cancelled_turned_into_error(self, autojump_clock: trio.testing.MockClock) -> None:
        """A run that turns its Cancelled into its own error still timed out; that error is the cause."""

        async def run(params: Any, ctx: ActionContext) -> None:
            try:
                await trio.sleep(10)
            except trio.Cancelled:
                raise RuntimeError("interrupted") from None

        with pytest.raises(ActionTimeoutError) as info:
            await execute(Instruction(spec_of(run, timeout=1)), ActionContext())
        assert isinstance(info.value.__cause__, RuntimeError)

    async def test_sync_run_not_interrupted(self, autojump_clock: trio.testing.MockClock) -> None:
        """A sync run cannot be interrupted: if it returns after its deadline, its result stands."""

        def run(params: Any, ctx: ActionContext) -> dict[str, int]:
            autojump_clock.jump(5)
            return {"n": 1}

        result = await execute(Instruction(spec_of(run, timeout=1)), ActionContext())
        assert result.value == {"n": 1}

    async def test_sync_run_failing_late(self, autojump_clock: trio.testing.MockClock) -> None:
        """A sync run that fails after its deadline has passed timed out; its error is the cause."""

        def run(params: Any, ctx: ActionContext) -> None:
            autojump_clock.jump(5)
            raise OSError("late")

        with pytest.raises(ActionTimeoutError, match=r"^action 'act' timed out after 1s$") as info:
            await execute(Instruction(spec_of(run, timeout=1)), ActionContext())
        assert isinstance(info.value.__cause__, OSError)


class TestNestedDeadlines:
    async def test_inner_never_outlives_outer(self, autojump_clock: trio.testing.MockClock) -> None:
        """An inner action with a longer timeout is cut at the outer deadline; the outer times out."""
        inner_undo = Recorder()
        inner = spec_of(sleeping, name="inner", timeout=30, compensate=inner_undo)

        async def outer_run(params: Any, ctx: ActionContext) -> None:
            await execute(Instruction(inner), ctx)

        with pytest.raises(ActionTimeoutError, match=r"^action 'outer' timed out after 1s$"):
            await execute(Instruction(spec_of(outer_run, name="outer", timeout=1)), ActionContext())
        assert trio.current_time() == 1
        assert inner_undo.calls == []  # cancelled from outside: not the inner action's own failure

    async def test_inner_shorter_deadline(self, autojump_clock: trio.testing.MockClock) -> None:
        """An inner action with a shorter timeout times out first; the outer fails with it as cause."""
        inner = spec_of(sleeping, name="inner", timeout=1)

        async def outer_run(params: Any, ctx: ActionContext) -> None:
            await execute(Instruction(inner), ctx)

        with pytest.raises(ActionError, match=r"^action 'outer' failed: ActionTimeoutError") as info:
            await execute(Instruction(spec_of(outer_run, name="outer", timeout=5)), ActionContext())
        assert isinstance(info.value.__cause__, ActionTimeoutError)
        assert trio.current_time() == 1

    async def test_caller_scope_bounds_action(self, autojump_clock: trio.testing.MockClock) -> None:
        """A caller's move_on_after cuts an action short; the Cancelled is the caller's, not wrapped."""
        with trio.move_on_after(2) as scope:
            await execute(Instruction(spec_of(sleeping, timeout=30)), ActionContext())
        assert scope.cancelled_caught
        assert trio.current_time() == 2

    async def test_failure_under_earlier_caller_deadline(
        self, autojump_clock: trio.testing.MockClock
    ) -> None:
        """Under a caller's earlier deadline, an action's own failure is still wrapped as usual."""

        async def run(params: Any, ctx: ActionContext) -> None:
            await trio.sleep(0.5)
            raise OSError("down")

        with (
            trio.move_on_after(1),
            pytest.raises(ActionError, match=r"^action 'act' failed: OSError\('down'\)$"),
        ):
            await execute(Instruction(spec_of(run, timeout=30)), ActionContext())

    async def test_deadline_exceeded(self, autojump_clock: trio.testing.MockClock) -> None:
        """When the caller's deadline has passed before the action starts, it does not start."""
        run = Recorder()
        with trio.move_on_after(1):
            autojump_clock.jump(2)  # sync work overran the deadline; trio has not cancelled us yet
            with pytest.raises(
                DeadlineExceededError, match=r"^action 'act' not started: its caller's deadline has passed$"
            ) as info:
                await execute(Instruction(spec_of(run)), ActionContext())
        assert run.calls == []
        assert info.value.attempts == 0

    async def test_deadline_exceeded_inside_outer_is_outer_timeout(
        self, autojump_clock: trio.testing.MockClock
    ) -> None:
        """An outer action whose run overran its deadline before calling an inner one timed out."""
        inner_run = Recorder()

        async def outer_run(params: Any, ctx: ActionContext) -> None:
            autojump_clock.jump(2)
            await execute(Instruction(spec_of(inner_run, name="inner")), ctx)

        with pytest.raises(ActionTimeoutError, match=r"^action 'outer' timed out after 1s$") as info:
            await execute(Instruction(spec_of(outer_run, name="outer", timeout=1)), ActionContext())
        assert isinstance(info.value.__cause__, DeadlineExceededError)
        assert inner_run.calls == []

    async def test_cancelled_scope_delivers_cancelled(self) -> None:
        """In a scope already cancelled, execute delivers the Cancelled rather than an error."""
        run = Recorder()
        with trio.CancelScope() as scope:
            scope.cancel()
            await execute(Instruction(spec_of(run)), ActionContext())
        assert scope.cancelled_caught
        assert run.calls == []


class TestCompensation:
    async def test_once_after_retries(self, autojump_clock: trio.testing.MockClock) -> None:
        """Compensation runs once, after the last attempt, with the last context and failure."""
        failure = OSError("down")
        undo = Recorder()
        spec = spec_of(Recorder(raising(failure)), retry=NO_JITTER, compensate=undo)
        with pytest.raises(
            ActionError, match=r"^action 'act' failed after 3 attempts: OSError\('down'\)$"
        ) as info:
            await execute(Instruction(spec, {}), ActionContext())
        assert len(undo.calls) == 1
        _, ctx, error = undo.calls[0]
        assert (ctx.attempt, error) == (3, failure)
        assert (info.value.compensated, info.value.compensation_error) == (True, None)

    async def test_after_timeout(self, autojump_clock: trio.testing.MockClock) -> None:
        """A timed-out action is compensated with the timeout as its error."""
        undo = Recorder()
        with pytest.raises(ActionTimeoutError) as info:
            await execute(Instruction(spec_of(sleeping, timeout=1, compensate=undo)), ActionContext())
        assert isinstance(undo.calls[0][2], ActionTimeoutError)
        assert info.value.compensated is True

    async def test_async_compensate(self, autojump_clock: trio.testing.MockClock) -> None:
        """An async compensate is awaited."""
        done: list[float] = []

        async def undo(params: Any, ctx: ActionContext, error: Exception) -> None:
            await trio.sleep(1)
            done.append(trio.current_time())

        with pytest.raises(ActionError) as info:
            await execute(
                Instruction(spec_of(Recorder(raising(OSError())), compensate=undo)), ActionContext()
            )
        assert done == [1]
        assert info.value.compensated is True

    async def test_timeout(self, autojump_clock: trio.testing.MockClock) -> None:
        """A compensation past its own timeout is cut and recorded as an ActionTimeoutError."""

        async def undo(params: Any, ctx: ActionContext, error: Exception) -> None:
            await trio.sleep(100)

        spec = spec_of(Recorder(raising(OSError())), compensate=undo, compensation_timeout=2)
        with pytest.raises(
            ActionError, match=r"^action 'act' failed: OSError\(\); compensation timed out after 2s$"
        ) as info:
            await execute(Instruction(spec), ActionContext())
        assert info.value.compensated is False
        assert isinstance(info.value.compensation_error, ActionTimeoutError)
        assert str(info.value.compensation_error) == "compensation of action 'act' timed out after 2s"
        assert trio.current_time() == 2

    async def test_failure_recorded(self) -> None:
        """A compensation that raises is recorded, and the action's own failure stays the cause."""
        failure, undo_failure = OSError("down"), ValueError("undo")
        spec = spec_of(Recorder(raising(failure)), compensate=Recorder(raising(undo_failure)))
        with pytest.raises(
            ActionError,
            match=r"^action 'act' failed: OSError\('down'\); compensation failed: ValueError\('undo'\)$",
        ) as info:
            await execute(Instruction(spec), ActionContext())
        assert (info.value.compensated, info.value.compensation_error) == (False, undo_failure)
        assert info.value.__cause__ is failure

    async def test_compensate_turning_cancelled_into_error(
        self, autojump_clock: trio.testing.MockClock
    ) -> None:
        """A compensation that turns its timeout's Cancelled into an error counts as timed out."""

        async def undo(params: Any, ctx: ActionContext, error: Exception) -> None:
            try:
                await trio.sleep(100)
            except trio.Cancelled:
                raise RuntimeError("interrupted") from None

        spec = spec_of(Recorder(raising(OSError())), compensate=undo, compensation_timeout=1)
        with pytest.raises(ActionError) as info:
            await execute(Instruction(spec), ActionContext())
        assert isinstance(info.value.compensation_error, ActionTimeoutError)

    async def test_not_on_success(self) -> None:
        """A successful action is not compensated."""
        undo = Recorder()
        await execute(Instruction(spec_of(Recorder(), compensate=undo)), ActionContext())
        assert undo.calls == []

    async def test_not_for_invalid_params(self) -> None:
        """Invalid params mean nothing ran: no compensation."""
        undo = Recorder()
        with pytest.raises(ValidationError):
            await execute(Instruction(spec_of(Recorder(), compensate=undo), [1]), ActionContext())
        assert undo.calls == []

    async def test_bounded_by_caller(self, autojump_clock: trio.testing.MockClock) -> None:
        """Compensation does not outlive the caller's deadline: the caller's Cancelled propagates."""

        async def undo(params: Any, ctx: ActionContext, error: Exception) -> None:
            await trio.sleep(100)

        spec = spec_of(Recorder(raising(OSError())), compensate=undo, compensation_timeout=50)
        with trio.move_on_after(3) as scope:
            await execute(Instruction(spec), ActionContext())
        assert scope.cancelled_caught
        assert trio.current_time() == 3

    def test_sync_once_after_retries(self) -> None:
        """execute_sync compensates once, after the last attempt."""
        undo = Recorder()
        spec = spec_of(Recorder(raising(OSError())), retry=NO_JITTER, compensate=undo)
        with pytest.raises(ActionError) as info:
            execute_sync(Instruction(spec), ActionContext(), sleep=lambda _: None)
        assert len(undo.calls) == 1
        assert undo.calls[0][1].attempt == 3
        assert info.value.compensated is True

    def test_sync_failure_recorded(self) -> None:
        """execute_sync records a compensation that raises."""
        undo_failure = ValueError("undo")
        spec = spec_of(Recorder(raising(OSError())), compensate=Recorder(raising(undo_failure)))
        with pytest.raises(ActionError) as info:
            execute_sync(Instruction(spec), ActionContext())
        assert (info.value.compensated, info.value.compensation_error) == (False, undo_failure)
