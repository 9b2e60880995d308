"""What an admin may change from the dashboard: redrive or discard a dead letter, restart a failed agent, wake
a hibernated one.

Each action is logged (logger ``"jido.ops"``, level WARNING: an operator changed the running system) and
emitted as the ``jido.ops.action`` telemetry event, whatever its outcome, with who asked.
"""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING, Any, Final

import trio

from jido.bus.journal import DeadLetterRecord
from jido.convert import unstructure
from jido.errors import AgentExistsError, AgentNotFoundError, CallTimeoutError, ClosedError, JidoError
from jido.telemetry import define_event, emit
from jido.telemetry.events import FieldSpec

if TYPE_CHECKING:
    from jido.runtime.runtime import Runtime

__all__ = [
    "OPS_ACTION",
    "WAKE_TIMEOUT",
    "ActionRefused",
    "discard",
    "find_letter",
    "redrive",
    "restart",
    "wake",
]

logger = logging.getLogger("jido.ops")

OPS_ACTION: Final = "jido.ops.action"
define_event(
    OPS_ACTION,
    "An operator changed something through the operations surface (dashboard or its JSON API).",
    (
        FieldSpec("action", (str,), "'redrive', 'discard', 'restart' or 'wake'"),
        FieldSpec("target", (str,), "the dead letter's id or the agent's id"),
        FieldSpec("principal", (str,), "who asked: the token's name"),
        FieldSpec("outcome", (str,), "'ok', 'failed' (done, and the signal failed again), or 'refused'"),
        FieldSpec("detail", (str,), "what happened, in words"),
    ),
)

REDRIVE_TIMEOUT: Final = 10.0
"""Seconds a redriven signal may take to be handled before the answer says it is still pending."""
WAKE_TIMEOUT: Final = 10.0
"""Seconds a woken agent may take to start (its state loaded from the store) before the answer says it failed."""
MAX_LETTERS_SCANNED: Final = 100_000
_AGENT: Final = "agent:"


class ActionRefused(Exception):
    """An action that could not be carried out; ``status`` is the HTTP status that says why."""

    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status = status
        self.message = message


def _record(action: str, target: str, principal: str, outcome: str, detail: str) -> None:
    logger.warning(
        "ops: %s %s by %s: %s (%s)",
        action,
        target,
        principal,
        outcome,
        detail,
        extra={
            "ops_action": action,
            "ops_target": target,
            "ops_principal": principal,
            "ops_outcome": outcome,
        },
    )
    emit(OPS_ACTION, action=action, target=target, principal=principal, outcome=outcome, detail=detail)


async def find_letter(runtime: Runtime, letter_id: int) -> DeadLetterRecord | None:
    """The dead letter ``letter_id`` of the runtime's journal, or None."""
    letters = await runtime.stored_dead_letters(limit=MAX_LETTERS_SCANNED)
    for letter in letters:
        if letter.id == letter_id:
            return letter
    return None


def _runtime_letter(letter: DeadLetterRecord) -> str | None:
    """The agent a dead letter of the runtime was meant for (None for a bus subscription's letter).

    The runtime writes its letters with 0 attempts under ``agent:<id>``; a bus subscription, even an
    agent's own route subscription (also named ``agent:<id>``), gives up after at least one attempt.
    """
    if letter.attempts == 0 and letter.subscription.startswith(_AGENT):
        return letter.subscription[len(_AGENT) :]
    return None


async def redrive(runtime: Runtime, letter_id: int, principal: str) -> dict[str, Any]:
    """Deliver a dead letter's signal again and remove it from the dead letters.

    A letter of the runtime is called on its agent (woken first if it sleeps) and the answer says whether it
    was handled this time; one of a bus subscription goes back to that subscription.

    Raises:
        ActionRefused: 404 no such letter; 409 its agent or subscription is not there to take it.
    """
    target = str(letter_id)
    try:
        result = await _redrive(runtime, letter_id)
    except ActionRefused as exc:
        _record("redrive", target, principal, "refused", exc.message)
        raise
    _record("redrive", target, principal, result["outcome"], result["detail"])
    return result


async def _redrive(runtime: Runtime, letter_id: int) -> dict[str, Any]:
    letter = await find_letter(runtime, letter_id)
    if letter is None:
        raise ActionRefused(404, f"no dead letter with id {letter_id}")
    agent_id = _runtime_letter(letter)
    if agent_id is not None:
        return await _redrive_to_agent(runtime, letter, agent_id)
    return await _redrive_to_subscription(runtime, letter)


async def _redrive_to_agent(runtime: Runtime, letter: DeadLetterRecord, agent_id: str) -> dict[str, Any]:
    if agent_id in runtime.failed_agents():
        raise ActionRefused(409, f"agent {agent_id!r} has failed: restart it first")
    try:
        ref = await runtime.activate(agent_id)
    except AgentNotFoundError:
        raise ActionRefused(409, f"agent {agent_id!r} is not running") from None
    # Removed before it is sent, so that two operators redriving the same letter deliver it once.
    if not await runtime.bus.journal.remove_dead_letter(letter.id):
        raise ActionRefused(404, f"no dead letter with id {letter.id}")
    signal = letter.record.signal
    try:
        agent = await ref.call(signal, timeout=REDRIVE_TIMEOUT)
    except CallTimeoutError:
        return {"outcome": "ok", "agent": agent_id, "detail": "sent; not handled yet", "handled": False}
    except (JidoError, ClosedError) as exc:
        # Handling failed again: the runtime has recorded it as a new dead letter.
        return {
            "outcome": "failed",
            "agent": agent_id,
            "detail": f"{type(exc).__name__}: {exc}",
            "handled": False,
        }
    return {
        "outcome": "ok",
        "agent": agent_id,
        "detail": f"handled by {agent_id}",
        "handled": True,
        "state": unstructure(agent.state),
    }


async def _redrive_to_subscription(runtime: Runtime, letter: DeadLetterRecord) -> dict[str, Any]:
    for sub in runtime.bus.subscriptions():
        if sub.name == letter.subscription:
            break
    else:
        raise ActionRefused(409, f"subscription {letter.subscription!r} is not active")
    if not await runtime.bus.journal.remove_dead_letter(letter.id):
        raise ActionRefused(404, f"no dead letter with id {letter.id}")
    sub.redrive([letter.record])
    return {"outcome": "ok", "detail": f"back to subscription {sub.name}", "handled": False}


async def discard(runtime: Runtime, letter_id: int, principal: str) -> dict[str, Any]:
    """Remove a dead letter for good.

    Raises:
        ActionRefused: 404 no such letter.
    """
    if not await runtime.bus.journal.remove_dead_letter(letter_id):
        _record("discard", str(letter_id), principal, "refused", "no such dead letter")
        raise ActionRefused(404, f"no dead letter with id {letter_id}")
    _record("discard", str(letter_id), principal, "ok", "removed")
    return {"outcome": "ok", "detail": "removed"}


async def restart(runtime: Runtime, agent_id: str, principal: str) -> dict[str, Any]:
    """Start a failed agent again from its last committed state.

    Raises:
        ActionRefused: 404 no failed agent of that id; 409 it is running.
    """
    try:
        ref = await runtime.restart_agent(agent_id)
    except AgentExistsError:
        message = f"agent {agent_id!r} is running: only a failed agent is restarted"
        _record("restart", agent_id, principal, "refused", message)
        raise ActionRefused(409, message) from None
    except AgentNotFoundError:
        message = f"no failed agent with id {agent_id!r}"
        _record("restart", agent_id, principal, "refused", message)
        raise ActionRefused(404, message) from None
    except ClosedError as exc:
        _record("restart", agent_id, principal, "refused", str(exc))
        raise ActionRefused(503, str(exc)) from None
    _record("restart", agent_id, principal, "ok", f"restarted, {ref.status}")
    return {"outcome": "ok", "detail": f"restarted, {ref.status}", "agent": ref.id, "status": ref.status}


async def wake(runtime: Runtime, agent_id: str, principal: str) -> dict[str, Any]:
    """Wake a hibernated agent: it starts from its kept (or stored) state and sleeps again when idle.

    A wake that fails (its stored state cannot be read, say) is answered with outcome ``failed`` and the reason;
    the agent stays asleep.

    Raises:
        ActionRefused: 404 no agent of that id sleeps; 409 it is awake already.
    """
    if runtime.whereis(agent_id) is not None:
        message = f"agent {agent_id!r} is awake: only a hibernated agent is woken"
        _record("wake", agent_id, principal, "refused", message)
        raise ActionRefused(409, message)
    try:
        with trio.fail_after(WAKE_TIMEOUT):
            ref = await runtime.activate(agent_id)
    except AgentNotFoundError:
        message = f"no hibernated agent with id {agent_id!r}"
        _record("wake", agent_id, principal, "refused", message)
        raise ActionRefused(404, message) from None
    except ClosedError as exc:
        _record("wake", agent_id, principal, "refused", str(exc))
        raise ActionRefused(503, str(exc)) from None
    except trio.TooSlowError:
        detail = f"it did not start within {WAKE_TIMEOUT:g} s"
        _record("wake", agent_id, principal, "failed", detail)
        return {"outcome": "failed", "detail": detail, "agent": agent_id}
    except JidoError as exc:
        detail = f"it could not start: {type(exc).__name__}: {exc}"
        _record("wake", agent_id, principal, "failed", detail)
        return {"outcome": "failed", "detail": detail, "agent": agent_id}
    _record("wake", agent_id, principal, "ok", f"woken, {ref.status}")
    return {"outcome": "ok", "detail": f"woken, {ref.status}", "agent": ref.id, "status": ref.status}
