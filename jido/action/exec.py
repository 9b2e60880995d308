"""Running an action: params validation, the context, timeouts, retries, output checks and compensation.

Two engines share one set of rules:

* :func:`execute` runs under trio. ``run`` may be sync or async. An async attempt is awaited in its own
  cancel scope of ``timeout`` seconds, nested in the caller's scopes, so the effective deadline is the earlier
  of the two: an action called from inside another action's ``run`` never outlives its caller. A sync ``run``
  is called inline, on the event loop: nothing can interrupt it, so it only counts as timed out when it
  *fails* after its deadline (a sync run that returns late keeps its result). Keep sync actions short, or
  make them async and move blocking work to ``trio.to_thread.run_sync``.
* :func:`execute_sync` needs no event loop and accepts only sync actions. It cannot interrupt a running
  function, so **timeouts are not enforced there**; retries and compensation still apply, and the backoff
  waits with ``time.sleep`` (or the ``sleep`` you pass).

What happens, in order:

1. ``instruction.params`` is used as is when it is an instance of the action's params class; a mapping is
   validated strictly (:func:`jido.convert.structure`); anything else is refused. A bad value raises
   :class:`~jido.errors.ValidationError` with ``$.path`` lines, unwrapped and never retried: nothing ran.
2. Each attempt gets ``ctx`` with ``action`` set to the action's name, ``data`` set to ``ctx.data`` with
   ``instruction.context`` merged over it, and ``attempt`` numbered from 1.
3. What ``run`` returns becomes an :class:`~jido.action.result.ActionResult`; when the spec has an ``output``
   schema, the result's mapping must fit it. A result of the wrong shape is a bug in the action: it is never
   retried.
4. What ``run`` raises is wrapped in :class:`~jido.errors.ActionError` (the original is ``__cause__``). An
   attempt that runs out of time fails with :class:`~jido.errors.ActionTimeoutError`. Cancellation from
   outside (``trio.Cancelled``) and other ``BaseException`` s such as ``KeyboardInterrupt`` are never wrapped.
5. A retryable failure (:func:`jido.action.retry.is_retryable`) is tried again, up to the policy's
   ``max_attempts``, after the policy's backoff.
6. After the last failed attempt, and only then, ``compensate(params, ctx, error)`` runs once, bounded by the
   spec's ``compensation_timeout`` (and by the caller's deadline). The raised error records whether it
   completed (``compensated``) and what it raised (``compensation_error``).

The caller's deadline is checked before the first attempt. If it has passed but trio has not delivered the
cancellation yet (sync code ran past it), the action does not start:
:class:`~jido.errors.DeadlineExceededError`. If the caller's scope is already cancelled (``cancel()`` was
called, or it was entered with a deadline in the past), the ``trio.Cancelled`` is delivered instead, so that
the scope that cancelled catches it.

Interception: while an :data:`ActionInterceptor` is set in the context variable :data:`action_interceptor`,
each attempt calls ``interceptor(spec, params, ctx, sync)`` instead of ``spec.run(params, ctx)``. It may call
``spec.run`` itself, raise, or return something else (an awaitable under :func:`execute`), and what it returns
or raises is treated exactly as what ``run`` would have. :mod:`jido.testing` injects faults this way. Unset (the
default), it costs one ``ContextVar.get`` per attempt. Trio tasks copy the context when they start, so set it
before starting the tasks (agents, a runtime) whose actions it should see.

Compensation is for the action's own failures. An action cancelled from outside (its caller's deadline
passed, its nursery is shutting down) is not compensated: cancellation must propagate promptly, and a
compensation that failed at that point could not be reported without swallowing the cancellation. The caller,
whose own failure it is, compensates for the work it started.
"""

from __future__ import annotations

import contextvars
import inspect
import math
import time
from collections.abc import Callable, Mapping
from typing import Any, Final, Literal, TypeAlias

import attrs
import trio

from jido.action.instruction import Instruction
from jido.action.result import ActionResult, normalize_result
from jido.action.retry import backoff_delay, is_retryable
from jido.action.spec import ActionContext, ActionSpec, RetryPolicy, action_spec_of
from jido.convert import converter, describe_value, structure, structured_by_default
from jido.errors import ActionError, ActionTimeoutError, DeadlineExceededError, ValidationError
from jido.signal import Signal
from jido.telemetry.events import ACTION_EXCEPTION, ACTION_RETRY, ACTION_START, ACTION_STOP
from jido.telemetry.handlers import _BY_NAME, _FAMILIES, emit

__all__ = [
    "ActionInterceptor",
    "action_interceptor",
    "execute",
    "execute_sync",
    "run_action",
    "run_action_sync",
    "validate_params",
]

_Kind = Literal["raised", "timeout", "rejected"]
_JSON_SCALARS: Final = (str, int, float, bool, type(None))
_SCALARS: Final = frozenset({int, float, str, bool})
_structure_hook: Final = converter.get_structure_hook
# params class -> (the converter's hook for it when looked at, see _plain_fields); one per action
_PLAIN: Final[dict[type, tuple[object, dict[str, type] | None]]] = {}


def _plain_fields(cls: type) -> dict[str, type] | None:
    """Field name -> type when every field of ``cls`` is a plain JSON scalar (int, float, str, bool) and the
    converter structures ``cls`` with jido's own hooks, else None.

    For such a class, a dict whose keys are field names and whose values have exactly the field's type is
    what the strict converter would pass to the class unchanged: validating it is calling the class (whose
    attrs validators still run). Most actions take a few such params, or none; anything else (an int for a
    float field, a nested value, an unknown key) takes the converter's path, with its full error messages. So
    does a class a user registered a structure hook for on ``jido.convert.converter`` (or for int, float, str
    or bool): that hook decides, as it would anywhere else.
    """
    hook = _structure_hook(cls)  # cached by cattrs; another object after any registration
    cached = _PLAIN.get(cls)
    if cached is not None and cached[0] is hook:
        return cached[1]
    if not attrs.has(cls):
        return None
    plain: dict[str, type] | None = {}
    for field in attrs.fields(cls):
        if field.type not in _SCALARS or not field.init or field.alias != field.name:
            plain = None
            break
        plain[field.name] = field.type  # type: ignore[index]
    if plain is not None and not structured_by_default(hook, set(plain.values())):
        plain = None
    _PLAIN[cls] = (hook, plain)
    return plain


ActionInterceptor: TypeAlias = Callable[[ActionSpec, Any, ActionContext, bool], object]
"""``interceptor(spec, params, ctx, sync)``, called for each attempt in place of ``spec.run(params, ctx)``.

``sync`` is True under :func:`execute_sync` (no event loop: the interceptor must not return an awaitable).
Whatever it returns or raises counts as what ``run`` returned or raised."""

action_interceptor: Final[contextvars.ContextVar[ActionInterceptor | None]] = contextvars.ContextVar(
    "jido.action.interceptor", default=None
)
"""The interceptor consulted once per attempt, or ``None`` (the default: ``run`` is called directly)."""


def validate_params(spec: ActionSpec, params: object) -> Any:
    """Turn ``params`` into an instance of ``spec.params``, strictly.

    Args:
        spec: the action.
        params: an instance of ``spec.params`` (returned as is) or a mapping to validate.

    Raises:
        ValidationError: naming each problem by its ``$.path``, with subject ``"<name> params"``.
    """
    if isinstance(params, spec.params):
        return params
    if type(params) is dict:
        plain = _plain_fields(spec.params)
        if plain is not None:
            for key, value in params.items():
                if plain.get(key) is not type(value):
                    break
            else:
                try:
                    return spec.params(**params)
                except Exception:  # a validator refused a value: the converter reports it with its path
                    plain = None
    subject = f"{spec.name} params"
    if isinstance(params, Mapping):
        return structure(params, spec.params, subject=subject, allow_extra=spec.allow_extra)
    if isinstance(params, list | tuple):
        shown = "array"
    elif isinstance(params, _JSON_SCALARS):
        shown = describe_value(params)
    else:
        shown = type(params).__qualname__
    raise ValidationError.at("$", f"expected object, got {shown}", subject=subject)


class _Call:
    """One instruction made ready to run: everything checked, nothing run yet.

    A plain slotted class, not attrs: it is built on every call and never compared or shown.
    """

    __slots__ = ("attempts", "ctx", "data", "params", "policy", "spec", "timeout")

    def __init__(
        self,
        spec: ActionSpec,
        params: Any,
        ctx: ActionContext,
        data: Mapping[str, Any],
        timeout: float,
        policy: RetryPolicy,
    ) -> None:
        self.spec = spec
        self.params = params
        self.ctx = ctx
        self.data = data
        self.timeout = timeout
        self.policy = policy
        self.attempts = 0  # attempts started so far (for telemetry)

    def context(self, attempt: int) -> ActionContext:
        ctx = self.ctx
        if attempt == 1 and ctx.attempt == 1 and ctx.data is self.data and ctx.action == self.spec.name:
            return ctx  # the caller built it for this action already (an agent's strategy does)
        if type(ctx) is not ActionContext:  # a subclass may add fields: let attrs copy them
            return attrs.evolve(ctx, action=self.spec.name, data=self.data, attempt=attempt)
        # attrs.evolve costs three times this; tests pin ActionContext's fields so this cannot fall behind.
        return ActionContext(self.spec.name, ctx.state, ctx.agent_id, ctx.signal, self.data, attempt)


def _prepare(instruction: Instruction, ctx: ActionContext, *, sync: bool) -> _Call:
    if not isinstance(instruction, Instruction):
        raise TypeError(f"expected an Instruction, got {type(instruction).__name__}")
    if not isinstance(ctx, ActionContext):
        raise TypeError(f"expected an ActionContext, got {type(ctx).__name__}")
    spec = instruction.action
    if not isinstance(spec, ActionSpec):
        raise TypeError(f"Instruction.action must be an ActionSpec, got {type(spec).__name__}")
    if sync:
        if spec.is_async:
            raise TypeError(f"action {spec.name!r} is async: run it under trio with `await execute(...)`")
        if spec.compensate is not None and inspect.iscoroutinefunction(spec.compensate):
            raise TypeError(
                f"action {spec.name!r} has an async compensate: run it under trio with `await execute(...)`"
            )
    timeout = spec.timeout if instruction.timeout is None else instruction.timeout
    if type(timeout) is float and timeout > 0:
        pass  # the common case, decided without the isinstance checks below
    elif isinstance(timeout, bool) or not isinstance(timeout, int | float) or not timeout > 0:
        raise ValidationError.at(
            "$.timeout",
            f"expected a positive number of seconds or math.inf, got {describe_value(timeout)}",
            subject=f"{spec.name} instruction",
        )
    policy = spec.retry if instruction.retry is None else instruction.retry
    if type(policy) is not RetryPolicy and not isinstance(policy, RetryPolicy):
        raise ValidationError.at(
            "$.retry",
            f"expected a RetryPolicy, got {type(policy).__name__}",
            subject=f"{spec.name} instruction",
        )
    extra = instruction.context
    if type(extra) is not dict and not isinstance(extra, Mapping):
        raise ValidationError.at(
            "$.context", f"expected object, got {type(extra).__name__}", subject=f"{spec.name} instruction"
        )
    data = {**ctx.data, **extra} if extra else ctx.data
    params = validate_params(spec, instruction.params)
    return _Call(spec, params, ctx, data, float(timeout), policy)


def _finish(spec: ActionSpec, returned: object) -> ActionResult:
    """Normalize what ``run`` returned and check it against the output schema; ActionError if it is wrong."""
    result = normalize_result(returned, spec.name)
    if spec.output is not None:
        try:
            structure(dict(result.value), spec.output, subject=f"{spec.name} output")
        except ValidationError as exc:
            lines = "\n".join(str(e) for e in exc.errors)
            raise ActionError(
                f"output of action {spec.name!r} does not fit its schema:\n{lines}", action=spec.name
            ) from exc
    return result


def _timed_out(spec: ActionSpec, timeout: float) -> ActionTimeoutError:
    return ActionTimeoutError(
        f"action {spec.name!r} timed out after {timeout:g}s", action=spec.name, timeout=timeout
    )


def _failure(
    call: _Call,
    failure: Exception,
    kind: _Kind,
    attempts: int,
    compensated: bool | None,
    compensation_error: BaseException | None,
) -> ActionError:
    """The error raised after the last attempt, with its cause set."""
    name = call.spec.name
    if compensation_error is None:
        note = ""
    elif isinstance(compensation_error, ActionTimeoutError):
        note = f"; compensation timed out after {call.spec.compensation_timeout:g}s"
    else:
        note = f"; compensation failed: {compensation_error!r}"
    error: ActionError
    if kind == "timeout":
        tries = f" ({attempts} attempts)" if attempts > 1 else ""
        error = ActionTimeoutError(
            f"action {name!r} timed out after {call.timeout:g}s{tries}{note}",
            action=name,
            timeout=call.timeout,
            attempts=attempts,
            compensated=compensated,
            compensation_error=compensation_error,
        )
        error.__cause__ = failure.__cause__
    elif kind == "rejected":
        error = ActionError(
            f"{failure}{note}",
            action=name,
            attempts=attempts,
            retryable=False,
            compensated=compensated,
            compensation_error=compensation_error,
        )
        error.__cause__ = failure.__cause__
    else:
        after = f" after {attempts} attempts" if attempts > 1 else ""
        error = ActionError(
            f"action {name!r} failed{after}: {failure!r}{note}",
            action=name,
            attempts=attempts,
            retryable=is_retryable(failure, call.policy),
            compensated=compensated,
            compensation_error=compensation_error,
        )
        error.__cause__ = failure
    error.__suppress_context__ = True
    return error


def _should_retry(call: _Call, failure: Exception, kind: _Kind, attempt: int) -> bool:
    return kind != "rejected" and attempt < call.policy.max_attempts and is_retryable(failure, call.policy)


# -- under trio ----------------------------------------------------------------------------------------------


async def execute(instruction: Instruction, ctx: ActionContext) -> ActionResult:
    """Run one instruction under trio, with its timeout, retries and compensation.

    Args:
        instruction: the action, its params and per-call options.
        ctx: what the action sees besides its params (state, agent id, signal, data).

    Returns:
        The normalized result of the first successful attempt.

    Raises:
        ValidationError: the params (or the instruction's options) are invalid; the action did not run.
        DeadlineExceededError: the caller's deadline had passed before the action could start.
        ActionTimeoutError: the last attempt ran out of time.
        ActionError: the last attempt failed; ``__cause__`` is what ``run`` raised.
        TypeError: ``instruction`` or ``ctx`` has the wrong type.
    """
    if _ACTION_EVENTS in _FAMILIES:
        return await _execute_observed(instruction, ctx)
    return await _execute(_prepare(instruction, ctx, sync=False))


_RUN_CONTEXT: Any = None
try:
    from trio._core import _run as _trio_run

    _RUN_CONTEXT = _trio_run.GLOBAL_RUN_CONTEXT
except (ImportError, AttributeError):  # pragma: no cover - another trio: the public lookup decides every time
    pass


def _no_deadline_passed() -> bool:
    """True when no cancel scope of the run has a deadline that has passed (False: look closer).

    ``trio.current_effective_deadline()`` walks every enclosing cancel scope (eight of them under an agent,
    about a twentieth of a cast). Trio keeps the deadlines of all the run's scopes in one heap, whose earliest
    entry bounds the caller's effective deadline from below: while that is ahead, so is the caller's. Trio has
    no public way to read it cheaply, so this reads its run context; any surprise answers "look closer".
    """
    try:
        runner = _RUN_CONTEXT.runner
        return bool(runner.deadlines.next_deadline() > runner.clock.current_time())
    except Exception:  # pragma: no cover - trio's internals moved: the public lookup decides
        return False


async def _execute(call: _Call) -> ActionResult:
    spec = call.spec
    if _no_deadline_passed():
        # No deadline has passed, the caller's included; only an outright cancel() is left to honour.
        await trio.lowlevel.checkpoint_if_cancelled()
    else:
        deadline = trio.current_effective_deadline()
        if deadline <= trio.current_time():
            if deadline == -math.inf:
                # Our scope was cancelled outright: let the Cancelled reach the scope that cancelled it.
                await trio.lowlevel.checkpoint()
            raise DeadlineExceededError(
                f"action {spec.name!r} not started: its caller's deadline has passed",
                action=spec.name,
                timeout=call.timeout,
                attempts=0,
            )
    attempt = 0
    while True:
        attempt += 1
        call.attempts = attempt
        actx = call.context(attempt)
        # One attempt, written inline: a sync run (the common case) then costs no coroutine of its own.
        deadline = trio.current_time() + call.timeout
        failure: Exception | None = None
        returned: object = None
        caught = False
        intercept = action_interceptor.get()
        try:
            if intercept is None:
                returned = spec.run(call.params, actx)
            else:
                returned = intercept(spec, call.params, actx, False)
        except Exception as exc:
            failure = exc
        if failure is None and type(returned) is not dict and inspect.isawaitable(returned):
            failure, returned, caught = await _awaited(returned, deadline)
        # A sync run is never interrupted (it has no checkpoint), so it needs no scope: it counts as timed out
        # only when it failed after its deadline. So does a run that turned our Cancelled into an error of its
        # own, or that failed because its time ran out before trio could cancel it (a DeadlineExceededError).
        kind: _Kind = "raised"
        if caught or (failure is not None and trio.current_time() >= deadline):
            timed_out = _timed_out(spec, call.timeout)
            timed_out.__cause__ = failure
            failure, kind = timed_out, "timeout"
        elif failure is None:
            try:
                return _finish(spec, returned)
            except ActionError as exc:
                failure, kind = exc, "rejected"
        if _should_retry(call, failure, kind, attempt):
            delay = backoff_delay(call.policy, attempt)
            if ACTION_RETRY in _BY_NAME:
                _retrying(call, attempt, delay, failure)
            await trio.sleep(delay)
            continue
        compensated: bool | None = None
        compensation_error: BaseException | None = None
        if spec.compensate is not None:
            compensated, compensation_error = await _compensate(call, actx, failure)
        raise _failure(call, failure, kind, attempt, compensated, compensation_error)


async def _awaited(returned: Any, deadline: float) -> tuple[Exception | None, object, bool]:
    """Await what an async ``run`` returned, within ``deadline``: (failure, result, whether it timed out)."""
    if trio.current_effective_deadline() <= deadline:
        # The caller's deadline comes first: trio delivers a cancellation to the outermost cancelled
        # scope, so a scope of ours could never fire. Skipping it saves most of the cost of a call.
        try:
            return None, await returned, False
        except Exception as exc:
            return exc, None, False
    failure: Exception | None = None
    result: object = None
    with trio.CancelScope(deadline=deadline) as scope:
        try:
            result = await returned
        except Exception as exc:
            failure = exc
    return failure, result, scope.cancelled_caught


async def _compensate(call: _Call, ctx: ActionContext, error: Exception) -> tuple[bool, BaseException | None]:
    compensate = call.spec.compensate
    assert compensate is not None
    limit = call.spec.compensation_timeout
    failure: Exception | None = None
    with trio.move_on_after(limit) as scope:
        try:
            returned = compensate(call.params, ctx, error)
            if inspect.isawaitable(returned):
                await returned
        except Exception as exc:
            failure = exc
    if scope.cancelled_caught or (failure is not None and scope.cancel_called):
        return False, ActionTimeoutError(
            f"compensation of action {call.spec.name!r} timed out after {limit:g}s",
            action=call.spec.name,
            timeout=limit,
        )
    return (False, failure) if failure is not None else (True, None)


# -- without an event loop -----------------------------------------------------------------------------------


def execute_sync(
    instruction: Instruction, ctx: ActionContext, *, sleep: Callable[[float], object] | None = None
) -> ActionResult:
    """Run one instruction of a sync action without an event loop, with retries and compensation.

    Timeouts are not enforced: nothing can interrupt a running function without an event loop. Use
    :func:`execute` under trio when a deadline matters.

    Args:
        instruction: the action, its params and per-call options.
        ctx: what the action sees besides its params (state, agent id, signal, data).
        sleep: waits between attempts; ``time.sleep`` when omitted (tests pass a recorder).

    Returns:
        The normalized result of the first successful attempt.

    Raises:
        TypeError: the action's ``run`` or ``compensate`` is async, or ``instruction`` or ``ctx`` has the
            wrong type.
        ValidationError: the params (or the instruction's options) are invalid; the action did not run.
        ActionError: the last attempt failed; ``__cause__`` is what ``run`` raised.
    """
    if _ACTION_EVENTS in _FAMILIES:
        return _execute_sync_observed(instruction, ctx, sleep)
    return _execute_sync(_prepare(instruction, ctx, sync=True), sleep)


def _execute_sync(call: _Call, sleep: Callable[[float], object] | None) -> ActionResult:
    spec = call.spec
    wait = time.sleep if sleep is None else sleep
    attempt = 0
    while True:
        attempt += 1
        call.attempts = attempt
        actx = call.context(attempt)
        failure: Exception
        kind: _Kind = "raised"
        intercept = action_interceptor.get()
        try:
            if intercept is None:
                returned = spec.run(call.params, actx)
            else:
                returned = intercept(spec, call.params, actx, True)
        except Exception as exc:
            failure = exc
        else:
            try:
                return _finish(spec, _not_awaitable(returned, spec.name, "run"))
            except ActionError as exc:
                failure, kind = exc, "rejected"
        if _should_retry(call, failure, kind, attempt):
            delay = backoff_delay(call.policy, attempt)
            if ACTION_RETRY in _BY_NAME:
                _retrying(call, attempt, delay, failure)
            wait(delay)
            continue
        compensated: bool | None = None
        compensation_error: BaseException | None = None
        if spec.compensate is not None:
            compensated, compensation_error = _compensate_sync(call, actx, failure)
        raise _failure(call, failure, kind, attempt, compensated, compensation_error)


def _compensate_sync(call: _Call, ctx: ActionContext, error: Exception) -> tuple[bool, BaseException | None]:
    compensate = call.spec.compensate
    assert compensate is not None
    try:
        _not_awaitable(compensate(call.params, ctx, error), call.spec.name, "compensate")
    except Exception as exc:
        return False, exc
    return True, None


def _not_awaitable(returned: object, action: str, method: str) -> object:
    if inspect.iscoroutine(returned):
        returned.close()  # never awaited: close it so that it does not warn later
        raise ActionError(
            f"{method} of action {action!r} returned a coroutine: run it under trio with `await execute()`",
            action=action,
        )
    return returned


# -- telemetry (jido.telemetry.events: jido.action.*) ---------------------------------------------------------

_ACTION_EVENTS: Final = "jido.action"


def _event_fields(instruction: object, ctx: object) -> dict[str, Any] | None:
    """The fields every action event carries, or None when ``instruction`` names no action (a TypeError)."""
    spec = getattr(instruction, "action", None) if isinstance(instruction, Instruction) else None
    return _fields(spec, ctx) if isinstance(spec, ActionSpec) else None


def _fields(spec: ActionSpec, ctx: object) -> dict[str, Any]:
    signal = getattr(ctx, "signal", None)
    return {
        "action": spec.name,
        "agent_id": getattr(ctx, "agent_id", None),
        "signal_id": signal.id if isinstance(signal, Signal) else None,
        "signal_type": signal.type if isinstance(signal, Signal) else None,
    }


def _outcome(error: BaseException) -> str:
    if isinstance(error, trio.Cancelled):
        return "cancelled"
    if isinstance(error, ValidationError):
        return "invalid"
    if isinstance(error, DeadlineExceededError):
        return "deadline"
    if isinstance(error, ActionTimeoutError):
        return "timeout"
    return "error"


def _retrying(call: _Call, attempt: int, delay: float, failure: Exception) -> None:
    emit(ACTION_RETRY, **_fields(call.spec, call.ctx), attempt=attempt, delay=float(delay), error=failure)


async def _execute_observed(instruction: Instruction, ctx: ActionContext) -> ActionResult:
    """:func:`execute` between ``jido.action.start`` and ``stop`` / ``exception`` events."""
    fields = _event_fields(instruction, ctx)
    if fields is None:
        return await _execute(_prepare(instruction, ctx, sync=False))  # raises TypeError: nothing started
    emit(ACTION_START, **fields)
    start = trio.current_time()
    call: _Call | None = None
    try:
        call = _prepare(instruction, ctx, sync=False)
        result = await _execute(call)
    except BaseException as exc:
        attempts = call.attempts if call is not None else 0
        duration = trio.current_time() - start
        emit(
            ACTION_EXCEPTION, **fields, attempts=attempts, duration=duration, outcome=_outcome(exc), error=exc
        )
        raise
    emit(ACTION_STOP, **fields, attempts=call.attempts, duration=trio.current_time() - start, outcome="ok")
    return result


def _execute_sync_observed(
    instruction: Instruction, ctx: ActionContext, sleep: Callable[[float], object] | None
) -> ActionResult:
    """:func:`execute_sync` between ``jido.action.start`` and ``stop`` / ``exception`` events."""
    fields = _event_fields(instruction, ctx)
    if fields is None:
        return _execute_sync(_prepare(instruction, ctx, sync=True), sleep)  # raises TypeError
    emit(ACTION_START, **fields)
    start = time.perf_counter()
    call: _Call | None = None
    try:
        call = _prepare(instruction, ctx, sync=True)
        result = _execute_sync(call, sleep)
    except BaseException as exc:
        attempts = call.attempts if call is not None else 0
        duration = time.perf_counter() - start
        emit(
            ACTION_EXCEPTION, **fields, attempts=attempts, duration=duration, outcome=_outcome(exc), error=exc
        )
        raise
    emit(ACTION_STOP, **fields, attempts=call.attempts, duration=time.perf_counter() - start, outcome="ok")
    return result


# -- the convenience API -------------------------------------------------------------------------------------


def _standalone(
    action: object,
    params: object,
    context: Mapping[str, Any] | None,
    state: Any,
    timeout: float | None,
    retry: RetryPolicy | None,
) -> tuple[Instruction, ActionContext]:
    spec = action_spec_of(action)
    if spec is None:
        raise TypeError(f"{action!r} is not an action: pass an ActionSpec or an @action class")
    if params is None:
        # An instance of a decorated action class carries its own params.
        params = {} if isinstance(action, ActionSpec | type) else action
    if context is not None and not isinstance(context, Mapping):
        raise TypeError(f"context must be a mapping, got {type(context).__name__}")
    instruction = Instruction(spec, params, context or {}, timeout=timeout, retry=retry)
    return instruction, ActionContext(state=state)


async def run_action(
    action: object,
    params: object = None,
    *,
    context: Mapping[str, Any] | None = None,
    state: Any = None,
    timeout: float | None = None,
    retry: RetryPolicy | None = None,
) -> ActionResult:
    """Run an action once, outside any agent, under trio.

    Args:
        action: an :class:`~jido.action.spec.ActionSpec`, an ``@action`` class, or an instance of one (which
            then carries its own params).
        params: a mapping (validated strictly) or an instance of the params class; none means defaults.
        context: free-form data the action sees as ``ctx.data``.
        state: what the action sees as ``ctx.state``.
        timeout: overrides the action's timeout.
        retry: overrides the action's retry policy.

    Raises:
        TypeError: ``action`` is not an action, or ``context`` is not a mapping.
        ValidationError: bad params or options.
        ActionError: as :func:`execute`.
    """
    instruction, ctx = _standalone(action, params, context, state, timeout, retry)
    return await execute(instruction, ctx)


def run_action_sync(
    action: object,
    params: object = None,
    *,
    context: Mapping[str, Any] | None = None,
    state: Any = None,
    timeout: float | None = None,
    retry: RetryPolicy | None = None,
    sleep: Callable[[float], object] | None = None,
) -> ActionResult:
    """Like :func:`run_action`, without an event loop (sync actions only; ``timeout`` is not enforced)."""
    instruction, ctx = _standalone(action, params, context, state, timeout, retry)
    return execute_sync(instruction, ctx, sleep=sleep)
