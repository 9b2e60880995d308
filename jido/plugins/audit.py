"""The audit plugin: a bounded trail of the signals an agent handled, under the agent's ``audit`` key.

After each ``cmd`` that handled a signal, its ``after_cmd`` hook records the signal's type and id, the actions
that ran, and the outcome (``"ok"``, or ``"error"`` with the first error, shortened). The last ``limit``
entries are kept; ``total`` and ``errors`` count every one. The runtime's own signals (``jido.*``) are left out
unless ``include_system``. A signal hook records the agent's children starting, exiting and restarting
(``jido.agent.child.*``) when ``children`` is on.

The trail is part of the committed state, so it holds what the agent committed: under the ``"crash"`` error
policy a failed signal commits nothing, its entry included (it is in the dead letters); under ``"log"`` it is
committed with outcome ``"error"``. Signals rejected before any action ran (no route, bad params) are in the
dead letters, not in the trail.
"""

from __future__ import annotations

from typing import Final

import attrs

from jido.agent.plugin import CmdOutcome, PluginSpec, SignalHook
from jido.plugins._checks import bounded_int
from jido.signal import Signal

__all__ = ["MAX_LIMIT", "Audit", "AuditConfig", "AuditEntry", "AuditState"]

MAX_LIMIT: Final = 10_000
"""The most entries an audit trail may be configured to keep."""
_SYSTEM: Final = "jido."


@attrs.frozen
class AuditEntry:
    """One handled signal."""

    seq: int = 0
    signal_type: str = ""
    signal_id: str = ""
    outcome: str = "ok"
    actions: tuple[str, ...] = ()
    error: str | None = None


@attrs.frozen
class AuditState:
    """The trail's slice: the last ``limit`` entries, oldest first, and counts of all."""

    entries: tuple[AuditEntry, ...] = ()
    total: int = 0
    errors: int = 0


@attrs.frozen
class AuditConfig:
    """What the trail keeps.

    Attributes:
        limit: entries kept (1..10,000).
        include_system: record the runtime's own signals (``jido.*``) too.
        children: record the children's lifecycle notices (``jido.agent.child.*``), routing them to the agent.
        max_error_chars: characters kept of an error's message (1..10,000).
    """

    limit: int = attrs.field(default=100, validator=bounded_int(1, MAX_LIMIT))
    include_system: bool = False
    children: bool = True
    max_error_chars: int = attrs.field(default=200, validator=bounded_int(1, 10_000))


def _record(
    config: AuditConfig, state: AuditState, signal: Signal, actions: tuple[str, ...], error: str | None
) -> AuditState:
    entry = AuditEntry(
        seq=state.total + 1,
        signal_type=signal.type,
        signal_id=signal.id,
        outcome="ok" if error is None else "error",
        actions=actions,
        error=error,
    )
    entries = (*state.entries, entry)
    return AuditState(
        entries=entries[max(0, len(entries) - config.limit) :],
        total=state.total + 1,
        errors=state.errors + (error is not None),
    )


def _after_cmd(config: AuditConfig, state: AuditState, outcome: CmdOutcome) -> AuditState | None:
    signal = outcome.signal
    if signal is None:
        return None  # cmd called directly, not a handled signal
    if signal.type.startswith(_SYSTEM) and not config.include_system:
        return None
    errors = outcome.errors
    error = None
    if errors:
        first = errors[0].error
        error = f"{type(first).__name__}: {first}"[: config.max_error_chars]
    return _record(config, state, signal, outcome.actions, error)


def _on_child(config: AuditConfig, state: AuditState, signal: Signal) -> AuditState | None:
    if not config.children:
        return None
    return _record(config, state, signal, (), None)


Audit: Final[PluginSpec[AuditConfig, AuditState]] = PluginSpec(
    "audit",
    state=AuditState,
    config_schema=AuditConfig,
    description="An audit trail of handled signals (type, id, outcome), bounded",
    after_cmd=_after_cmd,
    signal_hooks=[SignalHook("jido.agent.child.*", _on_child, name="on_child")],
)
"""The audit plugin with its default config (100 entries); ``Audit.configure(limit=...)`` for another."""
