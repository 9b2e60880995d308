"""Executing actions: params, context, results, output checks, errors, sync vs async, the convenience API."""

from __future__ import annotations

import math
from typing import Any

import attrs
import pytest
import trio

from jido._spec_attr import SPEC_ATTR
from jido.action.exec import execute, execute_sync, run_action, run_action_sync, validate_params
from jido.action.instruction import Instruction
from jido.action.result import ActionResult
from jido.action.spec import ActionContext, ActionSpec, NoParams, RetryPolicy
from jido.agent.directives import Stop
from jido.agent.state_ops import SetPath
from jido.errors import ActionError, ValidationError

from .helpers import Recorder, raising, spec_of


@attrs.frozen
class By:
    by: int
    label: str = "x"


@attrs.frozen
class Total:
    total: int


def sync_run(spec: ActionSpec, params: Any = None, **options: Any) -> ActionResult:
    instruction = Instruction(spec, {} if params is None else params, **options)
    return execute_sync(instruction, ActionContext())


class TestParams:
    def test_instance_used_as_is(self) -> None:
        """An instance of the params class reaches run unchanged."""
        run = Recorder()
        params = By(2)
        sync_run(spec_of(run, params=By), params)
        assert run.calls[0][0] is params

    def test_mapping_validated(self) -> None:
        """A mapping is structured into the params class."""
        run = Recorder()
        sync_run(spec_of(run, params=By), {"by": 2})
        assert run.calls[0][0] == By(2)

    def test_string_for_int(self) -> None:
        """A string where an int is wanted is refused, naming the field."""
        with pytest.raises(ValidationError, match=r'^invalid act params:\n\$\.by: expected int, got "3"$'):
            sync_run(spec_of(Recorder(), params=By), {"by": "3"})

    def test_bool_for_int(self) -> None:
        """A bool is not an int."""
        with pytest.raises(ValidationError, match=r"^invalid act params:\n\$\.by: expected int, got true$"):
            sync_run(spec_of(Recorder(), params=By), {"by": True})

    def test_unknown_key(self) -> None:
        """An unknown key is refused."""
        with pytest.raises(ValidationError, match=r"^invalid act params:\n\$: unknown field\(s\): bogus$"):
            sync_run(spec_of(Recorder(), params=By), {"by": 1, "bogus": 2})

    def test_unknown_key_allowed(self) -> None:
        """With allow_extra, unknown keys are dropped."""
        run = Recorder()
        sync_run(spec_of(run, params=By, allow_extra=True), {"by": 1, "bogus": 2})
        assert run.calls[0][0] == By(1)

    def test_missing_field(self) -> None:
        """A required field left out is named."""
        with pytest.raises(ValidationError, match=r"^invalid act params:\n\$\.by: required field missing$"):
            sync_run(spec_of(Recorder(), params=By), {"label": "y"})

    @pytest.mark.parametrize(
        ("params", "shown"),
        [([1], "array"), (3, "3"), ("by", '"by"'), (None, "null"), (Total(1), "Total")],
    )
    def test_not_a_mapping(self, params: object, shown: str) -> None:
        """Params that are neither a mapping nor a params instance are refused at $."""
        with pytest.raises(
            ValidationError, match=rf"^invalid act params:\n\$: expected object, got {shown}$"
        ):
            validate_params(spec_of(Recorder(), params=By), params)

    def test_not_retried_nor_compensated(self) -> None:
        """Invalid params stop before any attempt: no run, no retry, no compensation."""
        run, undo = Recorder(), Recorder()
        spec = spec_of(run, params=By, retry=RetryPolicy(max_attempts=3), compensate=undo)
        with pytest.raises(ValidationError):
            sync_run(spec, {"by": "3"})
        assert run.calls == []
        assert undo.calls == []

    async def test_async_engine_validates_too(self) -> None:
        """execute refuses bad params with the same error."""
        spec = spec_of(Recorder(), params=By)
        with pytest.raises(ValidationError, match=r'^invalid act params:\n\$\.by: expected int, got "3"$'):
            await execute(Instruction(spec, {"by": "3"}), ActionContext())

    @pytest.mark.parametrize("timeout", [0, -1, "1", True, float("nan")])
    def test_bad_instruction_timeout(self, timeout: object) -> None:
        """An instruction timeout that is not a positive number is refused."""
        with pytest.raises(
            ValidationError, match=r"^invalid act instruction:\n\$\.timeout: expected a positive"
        ):
            sync_run(spec_of(Recorder()), timeout=timeout)

    def test_bad_instruction_retry(self) -> None:
        """An instruction retry that is not a RetryPolicy is refused."""
        with pytest.raises(
            ValidationError, match=r"^invalid act instruction:\n\$\.retry: expected a RetryPolicy, got int$"
        ):
            sync_run(spec_of(Recorder()), retry=3)

    def test_bad_instruction_context(self) -> None:
        """An instruction context that is not a mapping is refused."""
        with pytest.raises(
            ValidationError, match=r"^invalid act instruction:\n\$\.context: expected object, got list$"
        ):
            sync_run(spec_of(Recorder()), context=[1])


class TestContext:
    def test_action_name_and_data(self) -> None:
        """run sees its own name and the instruction's context merged over ctx.data."""
        run = Recorder()
        ctx = ActionContext(action="caller", state="S", agent_id="a1", data={"trace": "t", "user": "u"})
        execute_sync(Instruction(spec_of(run, name="mine"), {}, {"user": "v"}), ctx)
        seen = run.calls[0][1]
        assert (seen.action, seen.state, seen.agent_id) == ("mine", "S", "a1")
        assert seen.data == {"trace": "t", "user": "v"}
        assert seen.attempt == 1

    def test_caller_data_not_mutated(self) -> None:
        """Merging the instruction's context leaves the caller's ctx.data alone."""
        data = {"trace": "t"}
        execute_sync(Instruction(spec_of(Recorder()), {}, {"user": "v"}), ActionContext(data=data))
        assert data == {"trace": "t"}

    def test_fields_known(self) -> None:
        """The engine builds ActionContext by its fields; a new field must be added there too."""
        names = [a.name for a in attrs.fields(ActionContext)]
        assert names == ["action", "state", "agent_id", "signal", "data", "attempt"]

    def test_subclass_keeps_its_fields(self) -> None:
        """A subclass of ActionContext keeps its own fields and type."""

        @attrs.frozen
        class TracedContext(ActionContext):
            trace_id: str = ""

        run = Recorder()
        execute_sync(Instruction(spec_of(run)), TracedContext(trace_id="t1", state="S"))
        seen = run.calls[0][1]
        assert isinstance(seen, TracedContext)
        assert (seen.trace_id, seen.state, seen.action) == ("t1", "S", "act")

    def test_attempt_numbers(self) -> None:
        """Each retry sees the next attempt number."""
        run = Recorder(raising(OSError("down")))
        spec = spec_of(run, retry=RetryPolicy(max_attempts=3, jitter=0))
        with pytest.raises(ActionError):
            execute_sync(Instruction(spec), ActionContext(), sleep=lambda _: None)
        assert [ctx.attempt for _, ctx in run.calls] == [1, 2, 3]


class TestResults:
    @pytest.mark.parametrize(
        ("returned", "expected"),
        [
            (None, ActionResult()),
            ({"count": 1}, ActionResult({"count": 1})),
            (Stop(), ActionResult({}, (Stop(),))),
            ([Stop(), SetPath("a.b", 1)], ActionResult({}, (Stop(), SetPath("a.b", 1)))),
            (({"count": 1}, Stop()), ActionResult({"count": 1}, (Stop(),))),
            ((None, [Stop()]), ActionResult({}, (Stop(),))),
            (ActionResult({"x": 1}), ActionResult({"x": 1})),
        ],
    )
    def test_shapes(self, returned: object, expected: ActionResult) -> None:
        """Every accepted return shape becomes its ActionResult."""
        assert sync_run(spec_of(Recorder(lambda p, c: returned))) == expected

    def test_bad_shape(self) -> None:
        """A return value of no accepted shape fails the action, without retries."""
        run = Recorder(lambda p, c: 42)
        spec = spec_of(run, retry=RetryPolicy(max_attempts=3))
        with pytest.raises(
            ActionError, match=r"^action 'act' returned int: expected None, a mapping"
        ) as info:
            sync_run(spec)
        assert len(run.calls) == 1
        assert (info.value.attempts, info.value.retryable) == (1, False)

    def test_bad_tuple(self) -> None:
        """A tuple whose first item is not a mapping fails the action."""
        with pytest.raises(ActionError, match=r"^action 'act' returned a tuple whose first item is int"):
            sync_run(spec_of(Recorder(lambda p, c: (1, Stop()))))

    def test_bad_effect(self) -> None:
        """A list item that is not an effect fails the action."""
        with pytest.raises(ActionError, match=r"^action 'act' returned str where a Directive or StateOp"):
            sync_run(spec_of(Recorder(lambda p, c: [Stop(), "x"])))

    async def test_async_run(self) -> None:
        """execute awaits an async run."""

        async def run(params: Any, ctx: ActionContext) -> dict[str, int]:
            await trio.lowlevel.checkpoint()
            return {"n": 1}

        result = await execute(Instruction(spec_of(run)), ActionContext())
        assert result == ActionResult({"n": 1})

    async def test_bad_shape_under_trio(self) -> None:
        """execute fails a result of no accepted shape, compensates, and does not retry."""
        run, undo = Recorder(lambda *_: 42), Recorder()
        spec = spec_of(run, retry=RetryPolicy(max_attempts=3), compensate=undo)
        with pytest.raises(ActionError, match=r"^action 'act' returned int: expected None") as info:
            await execute(Instruction(spec), ActionContext())
        assert (len(run.calls), len(undo.calls), info.value.retryable) == (1, 1, False)

    async def test_sync_run_without_timeout(self) -> None:
        """execute calls a sync run inline when there is no timeout."""
        spec = spec_of(Recorder(lambda p, c: {"n": 2}), timeout=math.inf)
        assert await execute(Instruction(spec), ActionContext()) == ActionResult({"n": 2})

    async def test_sync_run_under_trio(self) -> None:
        """execute calls a sync run inline."""
        result = await execute(Instruction(spec_of(Recorder(lambda p, c: {"n": 2}))), ActionContext())
        assert result == ActionResult({"n": 2})

    async def test_awaitable_from_callable_object(self) -> None:
        """execute awaits what a callable object returns when it is awaitable."""

        class Callable_:
            async def __call__(self, params: Any, ctx: ActionContext) -> dict[str, int]:
                return {"n": 3}

        result = await execute(Instruction(spec_of(Callable_())), ActionContext())
        assert result == ActionResult({"n": 3})


class TestOutput:
    def test_fits(self) -> None:
        """A result that fits the output schema passes as returned."""
        assert sync_run(spec_of(Recorder(lambda p, c: {"total": 3}), output=Total)) == ActionResult(
            {"total": 3}
        )

    def test_does_not_fit(self) -> None:
        """A result that does not fit fails the action, with the ValidationError as cause, not retried."""
        run = Recorder(lambda p, c: {"total": "x"})
        spec = spec_of(run, output=Total, retry=RetryPolicy(max_attempts=3))
        with pytest.raises(
            ActionError,
            match=r'^output of action \'act\' does not fit its schema:\n\$\.total: expected int, got "x"$',
        ) as info:
            sync_run(spec)
        assert isinstance(info.value.__cause__, ValidationError)
        assert (info.value.retryable, len(run.calls)) == (False, 1)

    def test_compensated(self) -> None:
        """An output that does not fit is a failed attempt: compensation runs."""
        undo = Recorder()
        spec = spec_of(Recorder(lambda p, c: {"total": "x"}), output=Total, compensate=undo)
        with pytest.raises(ActionError) as info:
            sync_run(spec)
        assert info.value.compensated is True
        assert len(undo.calls) == 1


class TestErrors:
    def test_wrapped(self) -> None:
        """What run raises becomes an ActionError with it as cause."""
        boom = RuntimeError("boom")
        with pytest.raises(ActionError, match=r"^action 'act' failed: RuntimeError\('boom'\)$") as info:
            sync_run(spec_of(Recorder(raising(boom))))
        error = info.value
        assert error.__cause__ is boom
        assert (error.action, error.attempts, error.retryable, error.compensated) == ("act", 1, True, None)
        assert error.compensation_error is None

    def test_not_retryable_recorded(self) -> None:
        """The error records the classification of the failure."""
        with pytest.raises(ActionError) as info:
            sync_run(spec_of(Recorder(raising(ValueError("bad")))))
        assert info.value.retryable is False

    def test_nested_action_error_wrapped(self) -> None:
        """An ActionError from a nested action is wrapped in the outer action's error."""
        inner = spec_of(Recorder(raising(RuntimeError("x"))), name="inner")
        outer = spec_of(lambda p, c: sync_run(inner), name="outer")
        with pytest.raises(
            ActionError, match=r"^action 'outer' failed: ActionError\(\"action 'inner'"
        ) as info:
            sync_run(outer)
        assert isinstance(info.value.__cause__, ActionError)

    def test_keyboard_interrupt_not_wrapped(self) -> None:
        """KeyboardInterrupt passes through untouched, without compensation."""
        undo = Recorder()
        with pytest.raises(KeyboardInterrupt):
            sync_run(spec_of(Recorder(raising(KeyboardInterrupt())), compensate=undo))
        assert undo.calls == []

    async def test_base_exception_not_wrapped_async(self) -> None:
        """A BaseException that is not an Exception passes through execute untouched."""

        class Halt(BaseException):
            pass

        with pytest.raises(Halt):
            await execute(Instruction(spec_of(Recorder(raising(Halt())))), ActionContext())

    async def test_cancelled_not_wrapped(self) -> None:
        """Cancellation from outside propagates as trio.Cancelled to the scope that cancelled."""
        undo = Recorder()
        started = trio.Event()

        async def run(params: Any, ctx: ActionContext) -> None:
            started.set()
            await trio.sleep_forever()

        spec = spec_of(run, compensate=undo, retry=RetryPolicy(max_attempts=3))
        with trio.CancelScope() as scope:
            async with trio.open_nursery() as nursery:
                nursery.start_soon(execute, Instruction(spec), ActionContext())
                await started.wait()
                scope.cancel()
        assert scope.cancelled_caught
        assert undo.calls == []

    def test_bad_instruction_type(self) -> None:
        """execute_sync takes an Instruction."""
        with pytest.raises(TypeError, match=r"^expected an Instruction, got dict$"):
            execute_sync({}, ActionContext())  # type: ignore[arg-type]

    def test_bad_action_type(self) -> None:
        """An Instruction built around something that is not an ActionSpec is refused."""
        with pytest.raises(TypeError, match=r"^Instruction.action must be an ActionSpec, got str$"):
            execute_sync(Instruction("add"), ActionContext())  # type: ignore[arg-type]

    async def test_bad_context_type(self) -> None:
        """execute takes an ActionContext."""
        with pytest.raises(TypeError, match=r"^expected an ActionContext, got dict$"):
            await execute(Instruction(spec_of(Recorder())), {})  # type: ignore[arg-type]


class TestSyncEngine:
    def test_async_run_refused(self) -> None:
        """execute_sync refuses an async action before running anything."""

        async def run(params: Any, ctx: ActionContext) -> None:
            pass

        with pytest.raises(TypeError, match=r"^action 'act' is async: run it under trio with `await execute"):
            sync_run(spec_of(run))

    def test_async_compensate_refused(self) -> None:
        """execute_sync refuses an action whose compensate is async."""

        async def undo(params: Any, ctx: ActionContext, error: Exception) -> None:
            pass

        with pytest.raises(TypeError, match=r"^action 'act' has an async compensate"):
            sync_run(spec_of(Recorder(), compensate=undo))

    def test_coroutine_returned(self) -> None:
        """A sync callable that returns a coroutine fails the action; the coroutine is closed, not leaked."""

        class Callable_:
            async def __call__(self, params: Any, ctx: ActionContext) -> None:
                pass

        with pytest.raises(ActionError, match=r"^run of action 'act' returned a coroutine"):
            sync_run(spec_of(Callable_()))

    def test_coroutine_returned_by_compensate(self) -> None:
        """A compensate that returns a coroutine is a failed compensation."""

        class Undo:
            async def __call__(self, params: Any, ctx: ActionContext, error: Exception) -> None:
                pass

        with pytest.raises(ActionError) as info:
            sync_run(spec_of(Recorder(raising(RuntimeError())), compensate=Undo()))
        assert info.value.compensated is False
        assert "returned a coroutine" in str(info.value.compensation_error)

    def test_timeout_not_enforced(self) -> None:
        """Without an event loop a slow sync run is not interrupted: its result stands."""
        result = sync_run(spec_of(Recorder(lambda p, c: {"ok": True}), timeout=1e-9))
        assert result == ActionResult({"ok": True})


def _decorated() -> type:
    """A class shaped like what @action builds: it is its own params class and carries its spec."""

    @attrs.frozen
    class Inc:
        by: int = 1

        def run(self, ctx: ActionContext) -> dict[str, Any]:
            return {"count": (ctx.state or 0) + self.by}

    setattr(Inc, SPEC_ATTR, ActionSpec(name="inc", run=Inc.run, params=Inc))
    return Inc


class TestRunAction:
    async def test_spec_with_mapping(self) -> None:
        """run_action validates a mapping and returns the result."""
        result = await run_action(_decorated(), {"by": 2}, state=3)
        assert result.value == {"count": 5}

    async def test_instance_carries_params(self) -> None:
        """An instance of a decorated class is its own params."""
        inc = _decorated()
        assert (await run_action(inc(by=4))).value == {"count": 4}

    async def test_defaults(self) -> None:
        """No params means the params class defaults."""
        assert (await run_action(_decorated())).value == {"count": 1}

    async def test_context(self) -> None:
        """context becomes ctx.data."""
        run = Recorder()
        await run_action(spec_of(run), context={"k": 1})
        assert run.calls[0][1].data == {"k": 1}

    async def test_timeout_override(self, autojump_clock: trio.testing.MockClock) -> None:
        """timeout overrides the action's own timeout."""

        async def run(params: Any, ctx: ActionContext) -> None:
            await trio.sleep(10)

        with pytest.raises(ActionError, match=r"^action 'act' timed out after 2s$"):
            await run_action(spec_of(run), timeout=2)
        assert trio.current_time() == 2

    def test_sync_with_retry_override(self) -> None:
        """run_action_sync applies the given retry policy and sleeper."""
        slept: list[float] = []
        run = Recorder(raising(OSError("down")))
        with pytest.raises(ActionError, match=r"^action 'act' failed after 2 attempts: OSError\('down'\)$"):
            run_action_sync(spec_of(run), retry=RetryPolicy(max_attempts=2, jitter=0), sleep=slept.append)
        assert slept == [0.25]

    def test_sync_no_params(self) -> None:
        """An action without params runs with NoParams."""
        run = Recorder()
        run_action_sync(spec_of(run))
        assert run.calls[0][0] == NoParams()

    def test_not_an_action(self) -> None:
        """Something that is not an action is refused."""
        with pytest.raises(TypeError, match=r"^42 is not an action: pass an ActionSpec or an @action class$"):
            run_action_sync(42)

    def test_context_not_mapping(self) -> None:
        """A context that is not a mapping is refused."""
        with pytest.raises(TypeError, match=r"^context must be a mapping, got list$"):
            run_action_sync(spec_of(Recorder()), context=[1])  # type: ignore[arg-type]
