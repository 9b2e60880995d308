"""Durable agent state: how the runtime keeps each agent's committed state in a state store.

With a store configured (``open_runtime(store=...)``), an agent's new state is written before it is committed
in memory: before a caller's ``call`` returns and before the bus delivery that caused it is acked. The record
holds, besides the state, the offset of the last bus record each of the agent's subscriptions applied, and the
ids of the last signals sent with an idempotency key, all in one write. A bus record delivered again after a
crash (it was applied and stored, but not acked) is then recognised and not applied twice: each accepted bus
signal changes an agent's state exactly once despite at-least-once delivery.

A write that fails leaves the agent as it was (its memory is never ahead of its store): the caller gets the
error and the bus delivery is not acked, so it comes again. A compare-and-set conflict (another process wrote
the same agent) makes the agent adopt what is stored before the caller gets the error.

The record is JSON text::

    {"format": 1, "agent": "counter", "version": 1, "state": {...}, "applied": {"agent:c:counter.*": 41},
     "recent": [...]}

and, while a root agent has timers or cron jobs (written with each of its commits, when it hibernates, and
when the runtime closes with it running), its pending work (:meth:`~jido.runtime.scheduler.Scheduler.export`
with wall-clock deadlines) and the id of the runtime that wrote it, with the write's ``wake_at`` set to when
the earliest comes due::

    "pending": {"timers": [[1767225600.25, "<signal JSON>"]], "cron": [...], "clock": "wall"},
    "pending_by": "<runtime id>"

A write without pending work clears both; so does a deliberate stop of the agent (``ref.stop()``, a Stop
directive, StopAfter; not a stop with reason ``"moved"``), so that no later runtime wakes it.

``version`` is the agent's state schema version; a stored state of an older one is taken through the agent's
migrations when it is restored, and one that cannot be is refused (BrokenError), never overwritten.
"""

from __future__ import annotations

import collections
import datetime as dt
import hashlib
import json
import logging
from collections.abc import Mapping
from typing import Any, Final

import attrs

from jido.agent.spec import Agent, AgentSpec
from jido.convert import structure, unstructure
from jido.errors import BrokenError, ValidationError
from jido.runtime.scheduler import PendingWork, Scheduler, check_pending
from jido.store.store import StateStore, StateWrite, StoredState

__all__ = ["DEFAULT_RECENT_KEYS", "Durability", "Persistence", "idempotency_key"]

logger = logging.getLogger("jido.runtime")

FORMAT: Final = 1
DEFAULT_RECENT_KEYS: Final = 256
"""Idempotency keys remembered per agent (the newest): a key sent again within them is not applied again."""


_KEY_LIMIT: Final = 64


def idempotency_key(signal_id: str) -> str:
    """The key remembered for a signal id: the id itself, or for a long one its SHA-256, so that the window
    of recent keys kept (in memory and with the state) is bounded in bytes whatever ids senders choose."""
    if len(signal_id) <= _KEY_LIMIT:
        return signal_id
    return "sha256:" + hashlib.sha256(signal_id.encode("utf-8", "surrogatepass")).hexdigest()


class Durability:
    """What one agent's store record holds besides its state: its revision, the bus offsets applied, the
    recent idempotency keys. Owned by the agent's ref; changed only after a successful write."""

    __slots__ = (
        "_export",
        "applied",
        "pending",
        "pending_by",
        "pending_stored",
        "recent",
        "recent_set",
        "revision",
        "scheduler",
        "stored_changes",
    )

    def __init__(
        self,
        *,
        revision: int = 0,
        applied: Mapping[str, int] | None = None,
        recent: list[str] | None = None,
        keep: int = DEFAULT_RECENT_KEYS,
    ) -> None:
        self.revision = revision
        self.applied: dict[str, int] = dict(applied or {})
        self.recent: collections.deque[str] = collections.deque(recent or (), maxlen=keep)
        self.recent_set = set(self.recent)
        # The pending work read with the state (export text, wall clock) and who wrote it, until the runtime
        # takes it; and whether the stored record holds pending work (a commit without it clears it).
        self.pending: str | None = None
        self.pending_by: str | None = None
        self.pending_stored = False
        # A root agent's scheduler: each commit stores its pending work too (exported again only when it
        # changed), and which change of it the stored record holds (-1: none).
        self.scheduler: Scheduler | None = None
        self.stored_changes = -1
        self._export: tuple[int, PendingWork] | None = None

    def pending_work(self, spec: AgentSpec) -> PendingWork | None:
        """The scheduler's pending work with wall-clock deadlines, or None when it has none to keep."""
        scheduler = self.scheduler
        if scheduler is None or not (scheduler.pending() or scheduler.has_jobs() or spec.schedules):
            return None
        cached = self._export
        if cached is not None and cached[0] == scheduler.changes:
            return cached[1]
        work = scheduler.export(wall=True)
        self._export = (scheduler.changes, work)
        return work

    def seen(self, origin: tuple[str, int] | None, key: str | None) -> bool:
        """Whether a signal from ``origin`` (subscription, offset) or with idempotency ``key`` was applied."""
        if origin is not None and self.applied.get(origin[0], 0) >= origin[1]:
            return True
        return key is not None and key in self.recent_set

    def after(self, origin: tuple[str, int] | None, key: str | None) -> tuple[dict[str, int], list[str]]:
        """The applied offsets and recent keys once a signal from ``origin`` with ``key`` is applied."""
        applied = self.applied
        if origin is not None:
            applied = {**applied, origin[0]: origin[1]}
        recent = list(self.recent)
        if key is not None:
            recent.append(key)
            if self.recent.maxlen is not None and len(recent) > self.recent.maxlen:
                del recent[: len(recent) - self.recent.maxlen]
        return applied, recent

    def adopt(self, revision: int, applied: dict[str, int], recent: list[str]) -> None:
        self.revision = revision
        self.applied = applied
        self.recent = collections.deque(recent, maxlen=self.recent.maxlen)
        self.recent_set = set(self.recent)


@attrs.frozen
class Restored:
    """An agent as its store record had it."""

    agent: Agent
    durability: Durability
    stored: bool  # False: nothing was stored for it (a new agent)


def _migrated(where: str, spec: AgentSpec, version: object, state: object) -> object:
    """A stored state of ``version`` taken through the agent's migrations to its current version."""
    if isinstance(version, bool) or not isinstance(version, int) or version < 1:
        raise BrokenError(f"{where} has a bad state version {version!r}")
    if version > spec.version:
        raise BrokenError(
            f"{where} is of state version {version}, newer than agent {spec.name!r} (version {spec.version})"
        )
    while version < spec.version:
        migrate = spec.migrations.get(version)
        if migrate is None:
            raise BrokenError(
                f"{where} is of state version {version}; agent {spec.name!r} (version {spec.version}) "
                f"has no migration from version {version}"
            )
        try:
            state = migrate(dict(state) if isinstance(state, dict) else state)  # type: ignore[arg-type]
        except Exception as exc:
            raise BrokenError(
                f"{where}: the migration from state version {version} raised {type(exc).__name__}: {exc}"
            ) from exc
        version += 1
    return state


class Persistence:
    """The runtime's side of a state store: encode, write, restore.

    Args:
        store: the state store.
        recent_keys: idempotency keys remembered per agent.
    """

    def __init__(self, store: StateStore, *, recent_keys: int = DEFAULT_RECENT_KEYS) -> None:
        if not isinstance(store, StateStore):
            raise TypeError(f"store must be a StateStore (jido.store), got {type(store).__name__}")
        self.store = store
        self._keep = recent_keys
        self.runtime_id = ""  # written with the pending work it stores (the runtime sets it)

    def fresh(self) -> Durability:
        return Durability(keep=self._keep)

    async def restore(self, agent: Agent) -> Restored:
        """``agent`` as stored under its id, or ``agent`` itself when nothing is stored.

        Raises:
            BrokenError: the record cannot be read as this agent's state (another kind of agent, a state that
                does not fit the schema, not our format); the message names the agent id and the field.
                Nothing is overwritten.
        """
        stored = await self.store.load(agent.id)
        if stored is None:
            return Restored(agent, self.fresh(), stored=False)
        return Restored(*self.decode(agent, stored), stored=True)

    def decode(self, agent: Agent, stored: StoredState) -> tuple[Agent, Durability]:
        spec = agent.spec
        where = f"stored state of agent {agent.id!r} (revision {stored.revision})"
        try:
            document = json.loads(stored.data)
        except ValueError as exc:
            raise BrokenError(f"{where} is not JSON: {exc}") from None
        if not isinstance(document, dict) or document.get("format") != FORMAT:
            found = document.get("format") if isinstance(document, dict) else None
            raise BrokenError(f"{where} is not in jido's format {FORMAT} (format: {found!r})")
        if document.get("agent") != spec.name:
            raise BrokenError(f"{where} belongs to agent kind {document.get('agent')!r}, not {spec.name!r}")
        raw = _migrated(where, spec, document.get("version", 1), document.get("state"))
        try:
            state: Any = structure(raw, spec.state, subject=f"{spec.name} state")
        except ValidationError as exc:
            lines = "; ".join(str(e) for e in exc.errors)
            raise BrokenError(f"{where} does not fit the {spec.name!r} state schema: {lines}") from None
        applied = document.get("applied", {})
        recent = document.get("recent", [])
        if not (
            isinstance(applied, dict)
            and all(isinstance(k, str) and type(v) is int for k, v in applied.items())
            and isinstance(recent, list)
            and all(isinstance(k, str) for k in recent)
        ):
            raise BrokenError(f"{where} has malformed bookkeeping (applied offsets or recent keys)")
        durability = Durability(revision=stored.revision, applied=applied, recent=recent, keep=self._keep)
        pending, pending_by = document.get("pending"), document.get("pending_by")
        if pending is not None:
            text = json.dumps(pending, ensure_ascii=False, separators=(",", ":"))
            try:
                check_pending(text)
            except ValidationError as exc:
                lines = "; ".join(str(e) for e in exc.errors)
                raise BrokenError(f"{where} has malformed pending work: {lines}") from None
            durability.pending = text
            durability.pending_by = pending_by if isinstance(pending_by, str) else None
            durability.pending_stored = True
        return attrs.evolve(agent, state=state), durability

    def encode(
        self,
        agent: Agent,
        applied: Mapping[str, int],
        recent: list[str],
        pending: str | None = None,
        pending_by: str | None = None,
    ) -> str:
        document: dict[str, Any] = {
            "format": FORMAT,
            "agent": agent.spec.name,
            "version": agent.spec.version,
            "state": unstructure(agent.state),
            "applied": applied,
            "recent": recent,
        }
        text = json.dumps(document, ensure_ascii=False, separators=(",", ":"), allow_nan=False)
        if pending is None:
            return text
        # Spliced in as it is (JSON object text from Scheduler.export): not parsed and written again per commit.
        by = json.dumps(pending_by, ensure_ascii=False)
        return f'{text[:-1]},"pending":{pending},"pending_by":{by}}}'

    @staticmethod
    def pending_owner(stored: StoredState) -> tuple[str, str | None] | None:
        """For a record holding pending work: its agent kind (spec name) and the id of the runtime that wrote
        it; None for a record without pending work (or not one of ours)."""
        try:
            document = json.loads(stored.data)
        except ValueError:
            return None
        if not isinstance(document, dict) or document.get("pending") is None:
            return None
        name, by = document.get("agent"), document.get("pending_by")
        if not isinstance(name, str):
            return None
        return name, by if isinstance(by, str) else None

    async def clear_pending(self, agent_id: str) -> None:
        """Take the pending work out of ``agent_id``'s stored record, if it holds any (the agent stopped for
        good while asleep: nothing should wake it after a restart). Compare-and-set on what it read.

        Raises:
            StaleStateError: another writer stored this agent meanwhile.
            BrokenError: the store failed.
        """
        stored = await self.store.load(agent_id)
        if stored is None:
            return
        try:
            document = json.loads(stored.data)
        except ValueError:
            return
        if not isinstance(document, dict) or document.get("pending") is None:
            return
        document.pop("pending")
        document.pop("pending_by", None)
        data = json.dumps(document, ensure_ascii=False, separators=(",", ":"), allow_nan=False)
        await self.store.save_many([StateWrite(agent_id, data, stored.revision)])

    async def save_pending(
        self,
        agent: Agent,
        durability: Durability,
        pending: str | None,
        wake_at: dt.datetime | None,
        *,
        by: str,
    ) -> None:
        """Write ``agent``'s state again with its pending work (``pending``: export text with wall-clock
        deadlines, due ``wake_at``), or without any (``pending`` None: clears what is stored). Compare-and-set
        against ``durability``, which follows on success.

        Raises:
            StaleStateError: another writer stored this agent since.
            BrokenError, ValueError, TypeError: the store failed, or the state cannot be written as JSON text.
        """
        applied, recent = dict(durability.applied), list(durability.recent)
        changes = -1 if durability.scheduler is None or pending is None else durability.scheduler.changes
        data = self.encode(agent, applied, recent, pending, by)
        write = StateWrite(
            agent.id, data, durability.revision, wake_at=wake_at if pending is not None else None
        )
        [stored] = await self.store.save_many([write])
        durability.adopt(stored.revision, applied, recent)
        durability.pending_stored = pending is not None
        durability.stored_changes = changes

    async def save(
        self,
        agent: Agent,
        durability: Durability,
        *,
        origin: tuple[str, int] | None = None,
        key: str | None = None,
    ) -> None:
        """Write ``agent`` (its new state) as applying ``origin`` and ``key``; on success ``durability``
        follows. Compare-and-set against the revision ``durability`` holds.

        Raises:
            StaleStateError: another writer stored this agent since (``durability`` is left as it was).
            BrokenError, ValueError, TypeError: the store failed, or the state cannot be written as JSON text.
        """
        applied, recent = durability.after(origin, key)
        scheduler = durability.scheduler
        if scheduler is None:  # not a root agent's: its timers are not kept in the store
            data = self.encode(agent, applied, recent)
            [stored] = await self.store.save_many([StateWrite(agent.id, data, durability.revision)])
            durability.adopt(stored.revision, applied, recent)
            durability.pending_stored = False
            return
        # A root agent's timers and cron jobs go with each of its commits, so that they outlive a crash of
        # the process as its state does (exported again only when they changed).
        work = durability.pending_work(agent.spec)
        changes = scheduler.changes
        if work is None:
            data = self.encode(agent, applied, recent)
            write = StateWrite(agent.id, data, durability.revision)
        else:
            data = self.encode(agent, applied, recent, work.text, self.runtime_id)
            write = StateWrite(agent.id, data, durability.revision, wake_at=work.wake_at)
        [stored] = await self.store.save_many([write])
        durability.adopt(stored.revision, applied, recent)
        durability.pending_stored = work is not None
        durability.stored_changes = changes if work is not None else -1
