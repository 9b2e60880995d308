"""Retries: the retryable classification, the backoff delays, and how the engines retry."""

from __future__ import annotations

import random
from typing import Any

import pytest
import trio
import trio.testing
from hypothesis import given
from hypothesis import strategies as st

import jido.action.retry as retry_module
from jido.action.exec import execute, execute_sync
from jido.action.instruction import Instruction
from jido.action.result import ActionResult
from jido.action.retry import backoff_delay, is_retryable
from jido.action.spec import ActionContext, RetryPolicy
from jido.errors import (
    ActionError,
    ActionTimeoutError,
    DefinitionError,
    ValidationError,
)

from .helpers import Recorder, raising, spec_of

DEFAULT = RetryPolicy()


class Flagged(Exception):
    def __init__(self, retryable: bool) -> None:
        super().__init__("flagged")
        self.retryable = retryable


class TestIsRetryable:
    @pytest.mark.parametrize(
        "exc",
        [
            ActionTimeoutError("t", action="a", timeout=1),
            TimeoutError(),
            OSError(),
            ConnectionResetError(),
            trio.BrokenResourceError(),
            RuntimeError(),
            Exception(),
        ],
        ids=type,
    )
    def test_retryable(self, exc: Exception) -> None:
        """Timeouts, OS and connection errors, broken resources and unknown errors are retryable."""
        assert is_retryable(exc, DEFAULT)

    @pytest.mark.parametrize(
        "exc",
        [
            ValidationError.at("$", "bad"),
            DefinitionError(),
            TypeError(),
            ValueError(),
            KeyError(),
            IndexError(),
            AttributeError(),
            NameError(),
            AssertionError(),
            NotImplementedError(),
        ],
        ids=type,
    )
    def test_not_retryable(self, exc: Exception) -> None:
        """Programming and input errors are not retryable."""
        assert not is_retryable(exc, DEFAULT)

    def test_attribute_decides(self) -> None:
        """A boolean ``retryable`` attribute overrides the type table both ways."""
        assert not is_retryable(ActionError("x", action="a", retryable=False), DEFAULT)
        assert is_retryable(ActionError("x", action="a", retryable=True), DEFAULT)
        assert not is_retryable(Flagged(False), DEFAULT)

    def test_non_bool_attribute_ignored(self) -> None:
        """A ``retryable`` attribute that is not a bool does not decide."""
        exc = ValueError()
        exc.retryable = "yes"  # type: ignore[attr-defined]
        assert not is_retryable(exc, DEFAULT)

    def test_retry_on_is_isinstance_only(self) -> None:
        """With retry_on, only instances of those types are retryable, whatever the table says."""
        policy = RetryPolicy(retry_on=(ValueError,))
        assert is_retryable(ValueError(), policy)
        assert not is_retryable(OSError(), policy)
        assert not is_retryable(ActionError("x", action="a", retryable=True), policy)

    def test_group_all_retryable(self) -> None:
        """A group is retryable when every exception in it is."""
        assert is_retryable(ExceptionGroup("g", [OSError(), ExceptionGroup("h", [TimeoutError()])]), DEFAULT)
        assert not is_retryable(ExceptionGroup("g", [OSError(), ValueError()]), DEFAULT)


class TestBackoffDelay:
    def test_exponential(self) -> None:
        """Without jitter the delays grow by the multiplier."""
        policy = RetryPolicy(backoff=0.5, multiplier=3, jitter=0)
        assert [backoff_delay(policy, n) for n in (1, 2, 3)] == [0.5, 1.5, 4.5]

    def test_capped(self) -> None:
        """No delay exceeds max_backoff."""
        policy = RetryPolicy(backoff=1, multiplier=10, max_backoff=5, jitter=0)
        assert [backoff_delay(policy, n) for n in (1, 2, 3)] == [1, 5, 5]

    def test_huge_attempt(self) -> None:
        """A very late attempt does not overflow: it gets the cap."""
        policy = RetryPolicy(backoff=1.0, multiplier=2.0, max_backoff=7, jitter=0)
        assert backoff_delay(policy, 5000) == 7

    def test_jitter_reproducible(self) -> None:
        """With a seeded source, jittered delays are the source's draws scaled."""
        policy = RetryPolicy(backoff=1, multiplier=2, jitter=0.5)
        expected = random.Random(7)
        delays = [backoff_delay(policy, n, rng=random.Random(7)) for n in (1,)]
        assert delays == [1 * expected.uniform(0.5, 1.5)]

    def test_module_rng_seedable(self, monkeypatch: pytest.MonkeyPatch) -> None:
        """The module-level source can be replaced by a seeded one."""
        monkeypatch.setattr(retry_module, "jitter_rng", random.Random(3))
        policy = RetryPolicy(backoff=2, jitter=0.25)
        first = backoff_delay(policy, 1)
        assert first == 2 * random.Random(3).uniform(0.75, 1.25)

    def test_no_jitter_draws_nothing(self) -> None:
        """jitter=0 leaves the random source untouched."""
        rng = random.Random(1)
        before = rng.getstate()
        backoff_delay(RetryPolicy(jitter=0), 2, rng=rng)
        assert rng.getstate() == before

    @pytest.mark.parametrize("attempt", [0, -1, True, 1.0])
    def test_bad_attempt(self, attempt: Any) -> None:
        """The attempt number is an int >= 1."""
        with pytest.raises(ValueError, match=r"^attempt must be an int >= 1, got "):
            backoff_delay(DEFAULT, attempt)

    @given(
        backoff=st.floats(0, 10),
        multiplier=st.floats(1, 5),
        jitter=st.floats(0, 1),
        attempt=st.integers(1, 50),
        seed=st.integers(0, 2**32),
    )
    def test_within_bounds(
        self, backoff: float, multiplier: float, jitter: float, attempt: int, seed: int
    ) -> None:
        """Every delay lies within the jitter band around the capped exponential."""
        policy = RetryPolicy(backoff=backoff, multiplier=multiplier, max_backoff=60, jitter=jitter)
        base = min(backoff * multiplier ** (attempt - 1), 60)
        delay = backoff_delay(policy, attempt, rng=random.Random(seed))
        assert base * (1 - jitter) - 1e-9 <= delay <= base * (1 + jitter) + 1e-9


def _flaky(failures: int, exc: Exception) -> Recorder:
    """A run that raises ``exc`` on its first ``failures`` calls, then returns ``{"ok": True}``."""
    recorder = Recorder()

    def answer(*args: Any) -> dict[str, bool]:
        if len(recorder.calls) <= failures:
            raise exc
        return {"ok": True}

    recorder.answer = answer
    return recorder


NO_JITTER = RetryPolicy(max_attempts=3, backoff=0.25, multiplier=2, jitter=0)


class TestRetriesUnderTrio:
    async def test_succeeds_after_retries(self, autojump_clock: trio.testing.MockClock) -> None:
        """Two retryable failures, then success: three attempts and exactly the backoff in virtual time."""
        run = _flaky(2, OSError("down"))
        result = await execute(Instruction(spec_of(run, retry=NO_JITTER)), ActionContext())
        assert result == ActionResult({"ok": True})
        assert len(run.calls) == 3
        assert trio.current_time() == 0.25 + 0.5

    async def test_exhausted(self, autojump_clock: trio.testing.MockClock) -> None:
        """When every attempt fails, the error counts them and the time is the backoff sum."""
        run = Recorder(raising(OSError("down")))
        with pytest.raises(
            ActionError, match=r"^action 'act' failed after 3 attempts: OSError\('down'\)$"
        ) as info:
            await execute(Instruction(spec_of(run, retry=NO_JITTER)), ActionContext())
        assert (info.value.attempts, info.value.retryable) == (3, True)
        assert len(run.calls) == 3
        assert trio.current_time() == 0.75

    async def test_capped_backoff_time(self, autojump_clock: trio.testing.MockClock) -> None:
        """The virtual time spent equals the capped delays."""
        policy = RetryPolicy(max_attempts=4, backoff=1, multiplier=10, max_backoff=5, jitter=0)
        with pytest.raises(ActionError):
            await execute(Instruction(spec_of(Recorder(raising(OSError())), retry=policy)), ActionContext())
        assert trio.current_time() == 1 + 5 + 5

    async def test_jittered_time(
        self, autojump_clock: trio.testing.MockClock, monkeypatch: pytest.MonkeyPatch
    ) -> None:
        """With a seeded jitter source the time spent is reproducible."""
        monkeypatch.setattr(retry_module, "jitter_rng", random.Random(11))
        policy = RetryPolicy(max_attempts=3, backoff=1, multiplier=2, jitter=0.5)
        with pytest.raises(ActionError):
            await execute(Instruction(spec_of(Recorder(raising(OSError())), retry=policy)), ActionContext())
        rng = random.Random(11)
        assert trio.current_time() == pytest.approx(1 * rng.uniform(0.5, 1.5) + 2 * rng.uniform(0.5, 1.5))

    async def test_not_retryable(self, autojump_clock: trio.testing.MockClock) -> None:
        """A non-retryable failure is not retried."""
        run = Recorder(raising(ValueError("bad")))
        with pytest.raises(ActionError, match=r"^action 'act' failed: ValueError\('bad'\)$") as info:
            await execute(Instruction(spec_of(run, retry=NO_JITTER)), ActionContext())
        assert (len(run.calls), info.value.attempts, info.value.retryable) == (1, 1, False)
        assert trio.current_time() == 0

    async def test_retry_on_override(self, autojump_clock: trio.testing.MockClock) -> None:
        """retry_on makes a ValueError retryable and an OSError not."""
        policy = RetryPolicy(max_attempts=3, jitter=0, retry_on=(ValueError,))
        value_run, os_run = _flaky(1, ValueError()), Recorder(raising(OSError()))
        await execute(Instruction(spec_of(value_run, retry=policy)), ActionContext())
        with pytest.raises(ActionError):
            await execute(Instruction(spec_of(os_run, retry=policy)), ActionContext())
        assert (len(value_run.calls), len(os_run.calls)) == (2, 1)

    async def test_instruction_policy_wins(self, autojump_clock: trio.testing.MockClock) -> None:
        """The instruction's retry policy overrides the spec's."""
        run = Recorder(raising(OSError()))
        spec = spec_of(run, retry=RetryPolicy(max_attempts=5, jitter=0))
        with pytest.raises(ActionError):
            await execute(Instruction(spec, retry=RetryPolicy(max_attempts=2, jitter=0)), ActionContext())
        assert len(run.calls) == 2

    async def test_timeouts_retried(self, autojump_clock: trio.testing.MockClock) -> None:
        """A timed-out attempt is retried; time is every timeout plus every delay."""

        async def run(params: Any, ctx: ActionContext) -> None:
            await trio.sleep(100)

        with pytest.raises(
            ActionTimeoutError, match=r"^action 'act' timed out after 2s \(3 attempts\)$"
        ) as info:
            await execute(Instruction(spec_of(run, timeout=2, retry=NO_JITTER)), ActionContext())
        assert info.value.attempts == 3
        assert trio.current_time() == 3 * 2 + 0.25 + 0.5

    async def test_nested_non_retryable_action_error(self, autojump_clock: trio.testing.MockClock) -> None:
        """A nested action's non-retryable ActionError is not retried by the outer action."""
        inner = spec_of(Recorder(raising(ValueError())), name="inner")
        calls: list[int] = []

        async def outer_run(params: Any, ctx: ActionContext) -> None:
            calls.append(ctx.attempt)
            await execute(Instruction(inner), ctx)

        with pytest.raises(ActionError):
            await execute(Instruction(spec_of(outer_run, retry=NO_JITTER)), ActionContext())
        assert calls == [1]


class TestRetriesWithoutLoop:
    def test_sleeps_backoff(self) -> None:
        """execute_sync waits the backoff delays through the given sleeper."""
        slept: list[float] = []
        run = _flaky(2, ConnectionError())
        result = execute_sync(Instruction(spec_of(run, retry=NO_JITTER)), ActionContext(), sleep=slept.append)
        assert result.value == {"ok": True}
        assert slept == [0.25, 0.5]

    def test_not_retryable(self) -> None:
        """execute_sync does not retry a non-retryable failure."""
        slept: list[float] = []
        run = Recorder(raising(KeyError("k")))
        with pytest.raises(ActionError):
            execute_sync(Instruction(spec_of(run, retry=NO_JITTER)), ActionContext(), sleep=slept.append)
        assert (len(run.calls), slept) == (1, [])

    def test_default_sleeper_is_time_sleep(self, monkeypatch: pytest.MonkeyPatch) -> None:
        """Without a sleeper, execute_sync waits with time.sleep."""
        slept: list[float] = []
        monkeypatch.setattr("time.sleep", slept.append)
        with pytest.raises(ActionError):
            execute_sync(Instruction(spec_of(Recorder(raising(OSError())), retry=NO_JITTER)), ActionContext())
        assert slept == [0.25, 0.5]
