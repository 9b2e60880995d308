"""The errors jido raises, as one small tree.

Catch the narrowest class that says what you want to handle. Each class also subclasses the builtin a Python
user would reach for first (a definition problem is a ``TypeError``, bad data a ``ValueError``, a missing route a
``LookupError``, an action that ran out of time a ``TimeoutError``).

::

    JidoError
    ├── DefinitionError (TypeError)       a spec or decorated class is malformed; raised at definition time
    ├── ValidationError (ValueError)      data does not fit its schema; carries ``$.path`` lines
    │   └── SignalError                   a signal (or its JSON) is not a valid CloudEvent
    ├── RoutingError (LookupError)        a signal could not be routed
    │   ├── NoRouteError                  no route matches the signal's type
    │   └── RoutePredicateError           a route's match predicate raised
    ├── ActionError                       an action failed; ``__cause__`` is what it raised
    │   ├── ActionTimeoutError (TimeoutError)
    │   └── DeadlineExceededError         the caller's deadline had passed before the action started
    ├── StrategyError                     an agent's strategy refused an instruction
    │   ├── TransitionError               the FSM strategy does not allow that action in the current state
    │   └── WorkflowBusyError             a workflow run is already in progress
    ├── SupervisionError                  a supervisor gave up (restart intensity exceeded)
    ├── AgentNotFoundError (LookupError)  no agent is registered under that id
    ├── AgentExistsError (ValueError)     an agent is already registered under that id
    ├── SubscriptionConflictError (ValueError)  a durable subscription name is bound to another pattern
    ├── ForbiddenError (PermissionError)  the resource belongs to another identity (a durable subscription)
    ├── StaleStateError (ValueError)      a compare-and-set write of agent state found another revision stored
    ├── MailboxFullError (trio.WouldBlock) ``cast_nowait`` found the mailbox full
    ├── CallTimeoutError (TimeoutError)   ``call`` got no answer in time (the signal may still be handled)
    ├── ClosedError                       you closed it (agent stopped, runtime left); using it again is a bug
    │   └── AgentFailedError              the agent exhausted its restart budget and is stopped as failed
    ├── BrokenError                       it broke under you (its task crashed); the cause is attached
    └── InternalError                     a bug in jido itself; please report it

Context (signal id, agent id, route, action name, field path) is kept in attributes and shown in messages
with ``!r`` so that a message can be matched exactly in tests.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Final

import attrs
import trio

__all__ = [
    "ActionError",
    "ActionTimeoutError",
    "AgentExistsError",
    "AgentFailedError",
    "AgentNotFoundError",
    "BrokenError",
    "CallTimeoutError",
    "ClosedError",
    "DeadlineExceededError",
    "DefinitionError",
    "FieldError",
    "ForbiddenError",
    "InternalError",
    "JidoError",
    "MailboxFullError",
    "NoRouteError",
    "PluginHookError",
    "PluginRejectedError",
    "RoutePredicateError",
    "RoutingError",
    "SignalError",
    "StaleStateError",
    "StrategyError",
    "SubscriptionConflictError",
    "SupervisionError",
    "TransitionError",
    "ValidationError",
    "WorkflowBusyError",
]

ROOT_PATH: Final = "$"


class JidoError(Exception):
    """The base of every error jido raises on purpose."""


class DefinitionError(JidoError, TypeError):
    """A spec, or a class given to a decorator, breaks a rule; raised when it is defined, not when it runs."""


@attrs.frozen
class FieldError:
    """One problem found at one place in some data: ``path`` is a JSONPath such as ``$.data.by``."""

    path: str
    message: str

    def __str__(self) -> str:
        return f"{self.path}: {self.message}"


class ValidationError(JidoError, ValueError):
    """Data that does not fit its schema.

    Attributes:
        errors: every problem found, each with its ``$.path``; never empty.
        subject: what was being validated (``"Increment params"``), or ``None``.
    """

    errors: tuple[FieldError, ...]
    subject: str | None

    def __init__(self, errors: Iterable[FieldError], *, subject: str | None = None) -> None:
        self.errors = tuple(errors)
        if not self.errors:
            raise InternalError("ValidationError needs at least one FieldError")
        self.subject = subject
        lines = "\n".join(str(e) for e in self.errors)
        super().__init__(f"invalid {subject}:\n{lines}" if subject else lines)

    @classmethod
    def at(cls, path: str, message: str, *, subject: str | None = None) -> ValidationError:
        """Build an error with a single ``path: message`` line."""
        return cls([FieldError(path, message)], subject=subject)

    def prefixed(self, prefix: str, *, subject: str | None = None) -> ValidationError:
        """The same errors re-rooted under ``prefix`` (``$.by`` under ``$.data`` becomes ``$.data.by``)."""
        errors = [FieldError(prefix + e.path[len(ROOT_PATH) :], e.message) for e in self.errors]
        return type(self)(errors, subject=subject if subject is not None else self.subject)


class SignalError(ValidationError):
    """A signal, or the JSON it was parsed from, is not a valid CloudEvent."""


class RoutingError(JidoError, LookupError):
    """A signal could not be routed."""

    def __init__(self, message: str, *, signal_type: str | None = None) -> None:
        super().__init__(message)
        self.signal_type = signal_type


class NoRouteError(RoutingError):
    """No route matches the signal's type."""

    def __init__(self, signal_type: str, *, where: str | None = None) -> None:
        suffix = f" in {where}" if where else ""
        super().__init__(f"no route for signal type {signal_type!r}{suffix}", signal_type=signal_type)


class PluginRejectedError(RoutingError):
    """A plugin's ``before_route`` hook refused the signal (or raised on it); nothing ran.

    Attributes:
        plugin: the refusing plugin's state key.
        reason: why.
    """

    def __init__(self, message: str, *, plugin: str, reason: str, signal_type: str | None = None) -> None:
        super().__init__(message, signal_type=signal_type)
        self.plugin = plugin
        self.reason = reason


class PluginHookError(JidoError):
    """A plugin's hook raised, or returned something that is not what it must return.

    Carried by an :class:`~jido.directives.Error` directive (context ``"plugin"``), so the agent's error
    policy decides what follows, as for a failed action.

    Attributes:
        plugin: the plugin's state key.
        hook: the hook's name (``"after_cmd"``).
    """

    def __init__(self, message: str, *, plugin: str, hook: str) -> None:
        super().__init__(message)
        self.plugin = plugin
        self.hook = hook


class RoutePredicateError(RoutingError):
    """A route's match predicate raised instead of answering; its exception is ``__cause__``."""

    def __init__(self, pattern: str, signal_type: str) -> None:
        super().__init__(
            f"match predicate of route {pattern!r} raised on signal type {signal_type!r}",
            signal_type=signal_type,
        )
        self.pattern = pattern


class ActionError(JidoError):
    """An action failed. ``__cause__`` holds what its ``run`` raised, if anything.

    Attributes:
        action: the action's name.
        attempts: how many attempts were made.
        retryable: whether the failure was classified as worth another attempt.
        compensated: ``None`` when no compensation ran, else whether it completed.
        compensation_error: what compensation raised, if it failed.
    """

    def __init__(
        self,
        message: str,
        *,
        action: str,
        attempts: int = 1,
        retryable: bool = False,
        compensated: bool | None = None,
        compensation_error: BaseException | None = None,
    ) -> None:
        super().__init__(message)
        self.action = action
        self.attempts = attempts
        self.retryable = retryable
        self.compensated = compensated
        self.compensation_error = compensation_error


class ActionTimeoutError(ActionError, TimeoutError):
    """An action did not finish within its timeout."""

    def __init__(
        self,
        message: str,
        *,
        action: str,
        timeout: float,
        attempts: int = 1,
        compensated: bool | None = None,
        compensation_error: BaseException | None = None,
    ) -> None:
        # A timeout is retryable by classification: the next attempt may well be faster.
        super().__init__(
            message,
            action=action,
            attempts=attempts,
            retryable=True,
            compensated=compensated,
            compensation_error=compensation_error,
        )
        self.timeout = timeout


class DeadlineExceededError(ActionTimeoutError):
    """The caller's deadline had already passed before the action could start."""


class StrategyError(JidoError):
    """An agent's strategy refused an instruction; the state was left as it was."""


class TransitionError(StrategyError):
    """The FSM strategy does not allow this action in the agent's current state."""

    def __init__(self, action: str, current: object, allowed: tuple[str, ...]) -> None:
        shown = ", ".join(repr(a) for a in allowed) or "none"
        super().__init__(f"action {action!r} is not allowed in state {current!r} (allowed: {shown})")
        self.action = action
        self.current = current
        self.allowed = allowed


class WorkflowBusyError(StrategyError):
    """A run of the workflow is already in progress; a second one is refused, not queued."""

    def __init__(self, workflow: str) -> None:
        super().__init__(f"workflow {workflow!r} is already running: wait for the run in progress to finish")
        self.workflow = workflow


class SupervisionError(JidoError):
    """A supervisor gave up: a child failed more often than its restart intensity allows."""


class AgentNotFoundError(JidoError, LookupError):
    """No agent is registered under the id."""

    def __init__(self, agent_id: str) -> None:
        super().__init__(f"no agent with id {agent_id!r}")
        self.agent_id = agent_id


class AgentExistsError(JidoError, ValueError):
    """An agent is already registered under the id; ids are unique within a runtime."""

    def __init__(self, agent_id: str) -> None:
        super().__init__(f"an agent with id {agent_id!r} is already running")
        self.agent_id = agent_id


class SubscriptionConflictError(JidoError, ValueError):
    """A durable subscription name is already bound to another pattern: resuming it with this one would move
    the stored position past records the other pattern never saw."""

    def __init__(self, name: str, pattern: str, bound: str) -> None:
        super().__init__(f"durable subscription {name!r} is bound to pattern {bound!r}, not {pattern!r}")
        self.name = name
        self.pattern = pattern
        self.bound = bound


class ForbiddenError(JidoError, PermissionError):
    """The resource belongs to another identity: a durable subscription created by another gateway token."""

    def __init__(self, what: str) -> None:
        super().__init__(f"{what} belongs to another identity")
        self.what = what


class StaleStateError(JidoError, ValueError):
    """A compare-and-set write found another revision stored than the one it expected; nothing was written.

    Attributes:
        agent_id: the agent whose write was refused.
        expected: the revision the write expected (0: that the agent had no state).
        actual: the revision stored (0: the agent has no state).
    """

    def __init__(self, agent_id: str, expected: int, actual: int) -> None:
        super().__init__(f"state of agent {agent_id!r} is at revision {actual}, not the expected {expected}")
        self.agent_id = agent_id
        self.expected = expected
        self.actual = actual

    def __reduce__(self) -> tuple[type[StaleStateError], tuple[str, int, int]]:
        # Exceptions pickle their args; ours are the message, not the constructor's arguments.
        return (type(self), (self.agent_id, self.expected, self.actual))


class MailboxFullError(JidoError, trio.WouldBlock):
    """The agent's mailbox is full; ``cast`` would wait for room, ``cast_nowait`` raises this."""

    def __init__(self, agent_id: str, size: int) -> None:
        super().__init__(f"mailbox of agent {agent_id!r} is full ({size} signals)")
        self.agent_id = agent_id
        self.size = size


class CallTimeoutError(JidoError, TimeoutError):
    """``call`` got no answer in time. The signal stays accepted and may still be handled later."""

    def __init__(self, agent_id: str, signal_type: str, timeout: float) -> None:
        super().__init__(f"call to agent {agent_id!r} with {signal_type!r} got no answer within {timeout:g}s")
        self.agent_id = agent_id
        self.timeout = timeout


class ClosedError(JidoError):
    """The resource was closed by its owner (an agent stopped, a runtime shut down); using it is a bug."""


class AgentFailedError(ClosedError):
    """The agent crashed more often than its restart budget allows and is stopped with status ``failed``;
    an operator brings it back with ``restart_agent``."""

    def __init__(self, agent_id: str) -> None:
        super().__init__(f"agent {agent_id!r} has failed (restart budget exhausted); restart it to resume")
        self.agent_id = agent_id


class BrokenError(JidoError):
    """The resource broke under you (its task crashed); ``__cause__`` says why."""


class InternalError(JidoError):
    """An invariant inside jido did not hold: a bug in jido, please report it."""
