"""Action events: start, then stop or exception (with outcome and attempts), and retry, in both engines."""

from __future__ import annotations

from typing import Any

import pytest
import trio
import trio.testing

from jido.action.exec import execute, execute_sync
from jido.action.instruction import Instruction
from jido.action.spec import ActionContext, RetryPolicy, action_spec_of
from jido.errors import ActionError, ActionTimeoutError, DeadlineExceededError, ValidationError
from jido.runtime.runtime import open_runtime
from jido.signal import Signal

from ..action.helpers import raising, spec_of
from ..runtime.agents import Add, Counter, sig
from .conftest import Recorder


class Flaky:
    """Fails ``failures`` times with a retryable error, then returns {}."""

    def __init__(self, failures: int) -> None:
        self.failures = failures

    def __call__(self, params: Any, ctx: ActionContext) -> dict[str, Any]:
        if self.failures:
            self.failures -= 1
            raise ConnectionError("flaky")
        return {}


async def sleeper(params: Any, ctx: ActionContext) -> None:
    await trio.sleep(10)


class TestExecute:
    async def test_success(self, recorder: Recorder, autojump_clock: trio.testing.MockClock) -> None:
        """A successful action emits start then stop (outcome ok, one attempt), with its context."""
        signal = Signal(type="a.b", source="/t")
        await execute(Instruction(spec_of(lambda p, c: {})), ActionContext(agent_id="x", signal=signal))
        assert recorder.names() == ["jido.action.start", "jido.action.stop"]
        assert recorder.one("jido.action.start") == {
            "action": "act",
            "agent_id": "x",
            "signal_id": signal.id,
            "signal_type": "a.b",
        }
        stop = recorder.one("jido.action.stop")
        assert (stop["outcome"], stop["attempts"], stop["duration"]) == ("ok", 1, 0.0)

    async def test_failure(self, recorder: Recorder) -> None:
        """A failing action emits exception with outcome 'error' and the ActionError raised."""
        with pytest.raises(ActionError) as caught:
            await execute(Instruction(spec_of(raising(RuntimeError("no")))), ActionContext())
        exception = recorder.one("jido.action.exception")
        assert (exception["outcome"], exception["error"], exception["attempts"]) == ("error", caught.value, 1)
        assert (exception["agent_id"], exception["signal_id"], exception["signal_type"]) == (None, None, None)

    async def test_timeout(self, recorder: Recorder, autojump_clock: trio.testing.MockClock) -> None:
        """An action running out of time emits exception with outcome 'timeout' after its timeout."""
        with pytest.raises(ActionTimeoutError):
            await execute(Instruction(spec_of(sleeper, timeout=2.0)), ActionContext())
        exception = recorder.one("jido.action.exception")
        assert (exception["outcome"], exception["duration"]) == ("timeout", 2.0)

    async def test_invalid_params(self, recorder: Recorder) -> None:
        """Invalid params emit start, then exception with outcome 'invalid' and no attempt."""
        spec = action_spec_of(Add)
        assert spec is not None
        with pytest.raises(ValidationError):
            await execute(Instruction(spec, {"by": "3"}), ActionContext())
        exception = recorder.one("jido.action.exception")
        assert (exception["outcome"], exception["attempts"]) == ("invalid", 0)

    async def test_deadline(self, recorder: Recorder, autojump_clock: trio.testing.MockClock) -> None:
        """An action whose caller's deadline has passed emits exception with outcome 'deadline'."""
        with trio.move_on_after(1):
            autojump_clock.jump(2)  # sync work overran the deadline; trio has not cancelled us yet
            with pytest.raises(DeadlineExceededError):
                await execute(Instruction(spec_of(lambda p, c: {})), ActionContext())
        assert recorder.one("jido.action.exception")["outcome"] == "deadline"

    async def test_cancelled(self, recorder: Recorder, autojump_clock: trio.testing.MockClock) -> None:
        """An action cancelled from outside emits exception with outcome 'cancelled' and the Cancelled."""
        with trio.move_on_after(1):
            await execute(Instruction(spec_of(sleeper)), ActionContext())
        exception = recorder.one("jido.action.exception")
        assert exception["outcome"] == "cancelled" and isinstance(exception["error"], trio.Cancelled)

    async def test_retry(self, recorder: Recorder, autojump_clock: trio.testing.MockClock) -> None:
        """Each retry emits retry (attempt, delay, error); stop counts every attempt."""
        policy = RetryPolicy(max_attempts=3, backoff=1.0, jitter=0.0)
        await execute(Instruction(spec_of(Flaky(2), retry=policy)), ActionContext())
        retries = recorder.named("jido.action.retry")
        assert [(r["attempt"], r["delay"]) for r in retries] == [(1, 1.0), (2, 2.0)]
        assert all(isinstance(r["error"], ConnectionError) for r in retries)
        stop = recorder.one("jido.action.stop")
        assert (stop["attempts"], stop["duration"]) == (3, 3.0)

    async def test_nested_actions_nest_events(self, recorder: Recorder) -> None:
        """An action run inside another emits its start/stop inside the outer pair."""
        inner = spec_of(lambda p, c: {}, name="inner")

        async def outer(params: Any, ctx: ActionContext) -> None:
            await execute(Instruction(inner), ActionContext())

        await execute(Instruction(spec_of(outer, name="outer")), ActionContext())
        assert [(e.name, e.fields["action"]) for e in recorder.events] == [
            ("jido.action.start", "outer"),
            ("jido.action.start", "inner"),
            ("jido.action.stop", "inner"),
            ("jido.action.stop", "outer"),
        ]

    async def test_not_an_instruction_emits_nothing(self, recorder: Recorder) -> None:
        """A call that is refused before naming an action (TypeError) emits no event."""
        with pytest.raises(TypeError):
            await execute("nope", ActionContext())  # type: ignore[arg-type]
        assert recorder.events == []


class TestExecuteSync:
    def test_success_and_failure(self, recorder: Recorder) -> None:
        """execute_sync emits the same events (durations from perf_counter)."""
        execute_sync(Instruction(spec_of(lambda p, c: {})), ActionContext())
        with pytest.raises(ActionError):
            execute_sync(Instruction(spec_of(raising(RuntimeError("no")))), ActionContext())
        assert recorder.names() == [
            "jido.action.start",
            "jido.action.stop",
            "jido.action.start",
            "jido.action.exception",
        ]
        assert recorder.one("jido.action.exception")["outcome"] == "error"

    def test_retry(self, recorder: Recorder) -> None:
        """execute_sync emits retry events and counts attempts."""
        waits: list[float] = []
        policy = RetryPolicy(max_attempts=2, backoff=0.5, jitter=0.0)
        execute_sync(Instruction(spec_of(Flaky(1), retry=policy)), ActionContext(), sleep=waits.append)
        assert [r["delay"] for r in recorder.named("jido.action.retry")] == [0.5] == waits
        assert recorder.one("jido.action.stop")["attempts"] == 2


class TestInAgent:
    async def test_agent_actions_carry_agent_and_signal(self, recorder: Recorder) -> None:
        """Actions run by an agent carry its id and the signal being handled."""
        async with open_runtime() as rt:
            ref = await rt.start_agent(Counter, id="c")
            signal = sig("add", by=1)
            await ref.call(signal)
            crash = sig("crash")
            with pytest.raises(ActionError):
                await ref.call(crash)
        stop = recorder.one("jido.action.stop", signal_id=signal.id)
        assert (stop["action"], stop["agent_id"], stop["signal_type"]) == ("add", "c", "counter.add")
        assert recorder.one("jido.action.exception", signal_id=crash.id)["outcome"] == "error"
