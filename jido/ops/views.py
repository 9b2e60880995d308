"""What each dashboard page shows, as JSON-ready data read from a runtime (no HTTP here).

Everything is bounded: the agents page sorts and filters on the server and sends one page of rows, so a
browser looking at 10,000 agents receives a hundred; lists of dead letters, events and trace links are cut
at a limit and say so.
"""

from __future__ import annotations

import datetime as dt
import json
import math
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any, Final

import attrs

from jido.convert import unstructure
from jido.errors import JidoError
from jido.signal import Signal

if TYPE_CHECKING:
    from jido.bus.journal import DeadLetterRecord, Record
    from jido.runtime.runtime import Runtime, RuntimeStatistics
    from jido.runtime.server import AgentRef
    from jido.runtime.supervisor import Supervisor
    from jido.telemetry import Event

__all__ = [
    "AGENT_COLUMNS",
    "MAX_PAGE",
    "AgentQuery",
    "agent_detail",
    "agent_rows",
    "agents_page",
    "bus_view",
    "dead_letter_json",
    "overview",
    "signal_json",
    "supervision_tree",
    "trace",
]

AGENT_COLUMNS: Final = ("id", "name", "status", "mailbox_depth", "handled", "errors", "restarts")
MAX_PAGE: Final = 500
"""Rows one agents page may ask for."""
MAX_TRACE_SCAN: Final = 200_000
"""Journal records a trace reads at most (newest first), so a trace of a huge journal stays bounded."""
MAX_TRACE_LINKS: Final = 500
MAX_TEXT: Final = 16_384
"""Characters of one shown value (a state, a signal's data) before it is cut."""
_TREE_DEPTH: Final = 32
_TREE_NODES: Final = 5_000


def _cut(text: str, limit: int = MAX_TEXT) -> str:
    return text if len(text) <= limit else text[:limit] + f"... ({len(text) - limit} more characters)"


def _json_safe(value: Any) -> Any:
    """A JSON value for display: the value itself when it encodes, else its unstructured form or its repr."""
    try:
        plain = unstructure(value)
        json.dumps(plain, allow_nan=False)
    except (TypeError, ValueError, RecursionError):
        return _cut(repr(value))
    return plain


def _iso(moment: dt.datetime | None) -> str | None:
    return None if moment is None else moment.astimezone(dt.UTC).isoformat()


def signal_json(signal: Signal) -> dict[str, Any]:
    """A signal as the pages show it: its CloudEvents attributes (data cut past :data:`MAX_TEXT`)."""
    data = signal.data
    shown = _json_safe(data)
    if len(json.dumps(shown, default=str)) > MAX_TEXT:
        shown = _cut(json.dumps(shown, default=str))
    return {
        "id": signal.id,
        "type": signal.type,
        "source": signal.source,
        "subject": signal.subject,
        "time": _iso(signal.time),
        "causationid": signal.causationid,
        "correlationid": signal.correlationid,
        "data": shown,
    }


def overview(stats: RuntimeStatistics) -> dict[str, Any]:
    """Counts for the header of every page."""
    by_status: dict[str, int] = {}
    for status in stats.statuses.values():
        by_status[status] = by_status.get(status, 0) + 1
    return {
        "agents": stats.agents,
        "by_status": by_status,
        "hibernated": stats.hibernated,
        "failed": len(stats.failed),
        "failed_children": dict(stats.failed_children),
        "dead_letters": stats.dead_letters,
        "published": stats.published,
        "mailbox_depth": sum(stats.mailbox_depths.values()),
    }


# -- agents --------------------------------------------------------------------------------------------------
@attrs.frozen
class AgentQuery:
    """One page of the agents list: a filter (a substring of the id or name, a status), a sort, a window."""

    q: str = ""
    status: str = ""
    sort: str = "id"
    desc: bool = False
    offset: int = 0
    limit: int = 100

    @classmethod
    def parse(cls, params: Mapping[str, Any]) -> AgentQuery:
        """From query parameters or a websocket message; bad or missing values fall back to the defaults."""

        def text(name: str, default: str) -> str:
            value = params.get(name, default)
            return value[:200] if isinstance(value, str) else default

        def number(name: str, default: int, low: int, high: int) -> int:
            value = params.get(name, default)
            try:
                parsed = int(value)
            except (TypeError, ValueError, OverflowError):
                return default
            return min(max(parsed, low), high)

        sort = text("sort", "id")
        desc = params.get("desc", False)
        return cls(
            q=text("q", ""),
            status=text("status", ""),
            sort=sort if sort in AGENT_COLUMNS else "id",
            desc=desc in (True, "1", "true", 1),
            offset=number("offset", 0, 0, 10_000_000),
            limit=number("limit", 100, 1, MAX_PAGE),
        )


def agent_rows(runtime: Runtime) -> list[dict[str, Any]]:
    """A row per agent the runtime knows: running ones, then failed ones (with their reason)."""
    rows: list[dict[str, Any]] = [
        {
            "id": ref.id,
            "name": ref.spec.name,
            "status": ref.status,
            "mailbox_depth": ref.mailbox_depth,
            "mailbox_size": ref.mailbox_size,
            "handled": ref.handled,
            "errors": ref.errors,
            "restarts": ref.restarts,
        }
        for ref in runtime.agents()
    ]
    for agent_id, failed in runtime.failed_agents().items():
        rows.append(
            {
                "id": agent_id,
                "name": failed.agent.spec.name,
                "status": "failed",
                "mailbox_depth": 0,
                "mailbox_size": failed.mailbox_size or runtime.mailbox_size,
                "handled": failed.handled,
                "errors": failed.errors,
                "restarts": failed.restarts,
                "reason": failed.reason,
            }
        )
    return rows


def agents_page(runtime: Runtime, query: AgentQuery) -> dict[str, Any]:
    """One sorted, filtered page of :func:`agent_rows`, with how many matched in all."""
    rows = agent_rows(runtime)
    needle = query.q.lower()
    if needle:
        rows = [r for r in rows if needle in r["id"].lower() or needle in r["name"].lower()]
    if query.status:
        rows = [r for r in rows if r["status"] == query.status]
    # Ties are broken by id so that a page does not shuffle between two pushes.
    rows.sort(key=lambda r: r["id"])
    if query.sort != "id":
        rows.sort(key=lambda r: r[query.sort], reverse=query.desc)
    elif query.desc:
        rows.reverse()
    return {
        "total": len(rows),
        "offset": query.offset,
        "limit": query.limit,
        "sort": query.sort,
        "desc": query.desc,
        "rows": rows[query.offset : query.offset + query.limit],
    }


def _event_json(event: Event) -> dict[str, Any]:
    fields: dict[str, Any] = {}
    for key, value in event.fields.items():
        if isinstance(value, Signal):
            fields[key] = {"id": value.id, "type": value.type}
        elif isinstance(value, BaseException):
            fields[key] = _cut(f"{type(value).__name__}: {value}", 2000)
        elif value is None or isinstance(value, str | int | float | bool):
            fields[key] = value if not isinstance(value, float) or math.isfinite(value) else None
        else:
            fields[key] = _cut(repr(value), 2000)
    return {"name": event.name, "time": event.time, "fields": fields}


def agent_detail(runtime: Runtime, ref: AgentRef, *, events: int = 100) -> dict[str, Any]:
    """An agent's page: its counts, committed state, routes, schedules and the newest recent events."""
    state = _json_safe(ref.state)
    text = json.dumps(state, indent=2, ensure_ascii=False, default=str)
    scheduler = ref.scheduler
    schedules: dict[str, Any] = {"timers": 0, "cron": []}
    if scheduler is not None and not scheduler.closed:
        next_times = scheduler.next_fire_times()
        schedules = {
            "timers": scheduler.pending(),
            "cron": [
                {"job_id": job_id, "expr": expr.text, "tz": expr.tz, "next": _iso(next_times.get(job_id))}
                for job_id, expr in sorted(scheduler.jobs().items())
            ],
        }
    recent = ref.recent_events()[-events:]
    return {
        "id": ref.id,
        "name": ref.spec.name,
        "description": ref.spec.description,
        "status": ref.status,
        "mailbox_depth": ref.mailbox_depth,
        "mailbox_size": ref.mailbox_size,
        "handled": ref.handled,
        "errors": ref.errors,
        "restarts": ref.restarts,
        "parent": ref.parent.id if ref.parent is not None else None,
        "children": sorted(child.id for child in ref.child_tags.values()),
        "state": _cut(text),
        "routes": [
            {"pattern": r.pattern, "action": r.action.name, "priority": r.priority, "plugin": r.plugin}
            for r in ref.spec.routes
        ],
        "schedules": schedules,
        "debugging": ref.debugging,
        "events": [_event_json(e) for e in reversed(recent)],
    }


# -- supervision tree ----------------------------------------------------------------------------------------
def supervision_tree(root: Supervisor | None) -> dict[str, Any]:
    """The runtime's supervisors and their children, nested; agents' spawned children under them.

    Cut at :data:`_TREE_NODES` nodes (``truncated`` says so): the agents page is the place for thousands.
    """
    count = 0

    def agent_node(ref: AgentRef, depth: int) -> dict[str, Any]:
        nonlocal count
        count += 1
        node: dict[str, Any] = {"kind": "agent", "id": ref.id, "name": ref.spec.name, "status": ref.status}
        if ref.children is not None and depth < _TREE_DEPTH:
            node["children"] = supervisor_children(ref.children, depth + 1)
        return node

    def supervisor_children(sup: Supervisor, depth: int) -> list[dict[str, Any]]:
        nonlocal count
        out: list[dict[str, Any]] = []
        for slot in sup.slots:
            if count >= _TREE_NODES:
                break
            if slot.ref is not None:
                out.append(agent_node(slot.ref, depth))
            elif slot.child_supervisor is not None and depth < _TREE_DEPTH:
                count += 1
                child = slot.child_supervisor
                out.append(
                    {
                        "kind": "supervisor",
                        "id": slot.name,
                        "name": child.name,
                        "strategy": child.strategy,
                        "children": supervisor_children(child, depth + 1),
                    }
                )
            else:
                count += 1
                out.append({"kind": "task", "id": slot.name, "name": slot.name})
        return out

    if root is None:
        return {"kind": "supervisor", "id": "root", "name": "root", "children": [], "truncated": False}
    children = supervisor_children(root, 0)
    return {
        "kind": "supervisor",
        "id": "root",
        "name": root.name,
        "strategy": root.strategy,
        "children": children,
        "truncated": count >= _TREE_NODES,
    }


# -- dead letters --------------------------------------------------------------------------------------------
def dead_letter_json(letter: DeadLetterRecord, *, full: bool = False) -> dict[str, Any]:
    """A dead letter as listed (``full``: with its whole signal)."""
    signal = letter.record.signal
    out: dict[str, Any] = {
        "id": letter.id,
        "subscription": letter.subscription,
        "offset": letter.record.offset,
        "reason": letter.reason,
        "error": _cut(letter.error, 4000 if full else 300),
        "attempts": letter.attempts,
        "at": _iso(letter.at),
        "signal_id": signal.id,
        "signal_type": signal.type,
    }
    if full:
        out["signal"] = signal_json(signal)
    return out


# -- bus -----------------------------------------------------------------------------------------------------
async def bus_view(runtime: Runtime) -> dict[str, Any]:
    """The journal's offsets, retention, and every subscription with its lag."""
    bus = runtime.bus
    stats = await bus.statistics()
    retention = bus.retention
    return {
        "first_offset": stats.first_offset,
        "last_offset": stats.last_offset,
        "published": stats.published,
        "trimmed": stats.trimmed,
        "retention": {
            "max_entries": retention.max_entries,
            "max_age": None if retention.max_age is None else retention.max_age.total_seconds(),
        },
        "subscriptions": [
            {
                "name": s.name,
                "pattern": s.pattern,
                "durable": s.durable,
                "owner": s.owner,
                "checkpoint": s.checkpoint,
                "cursor": s.cursor,
                "lag": s.lag,
                "in_flight": s.in_flight,
                "delivered": s.delivered,
                "acked": s.acked,
                "redelivered": s.redelivered,
                "dead_lettered": s.dead_lettered,
            }
            for s in sorted(stats.subscriptions, key=lambda s: (-s.lag, s.name))
        ],
    }


# -- trace ---------------------------------------------------------------------------------------------------
async def _scan(runtime: Runtime) -> list[Record]:
    journal = runtime.bus.journal
    last = await journal.last_offset()
    start = max(await journal.first_offset(), last - MAX_TRACE_SCAN + 1, 1)
    records: list[Record] = []
    while start <= last:
        batch = await journal.read(start, limit=1000)
        if not batch:
            break
        records.extend(batch)
        start = batch[-1].offset + 1
    return records


async def trace(runtime: Runtime, signal_id: str) -> dict[str, Any] | None:
    """What caused ``signal_id`` (its causation chain, oldest first) and what it caused (every descendant,
    in offset order), from the journal's causation ids; None when the journal holds no such signal."""
    try:
        records = await _scan(runtime)
    except JidoError:
        return None
    by_id: dict[str, Record] = {}
    children: dict[str, list[Record]] = {}
    for record in records:
        by_id[record.signal.id] = record
        cause = record.signal.causationid
        if cause is not None:
            children.setdefault(cause, []).append(record)
    found = by_id.get(signal_id)
    if found is None:
        return None

    def node(record: Record) -> dict[str, Any]:
        return {"offset": record.offset, **signal_json(record.signal)}

    causes: list[dict[str, Any]] = []
    seen = {signal_id}
    cause_id = found.signal.causationid
    missing: str | None = None
    while cause_id is not None and len(causes) < MAX_TRACE_LINKS and cause_id not in seen:
        seen.add(cause_id)
        parent = by_id.get(cause_id)
        if parent is None:
            missing = cause_id  # handled straight by an agent (a call), or trimmed: known by its id only
            break
        causes.append(node(parent))
        cause_id = parent.signal.causationid
    causes.reverse()
    effects: list[dict[str, Any]] = []
    pending: list[tuple[str, int, str]] = [(signal_id, 0, signal_id)]
    while pending and len(effects) < MAX_TRACE_LINKS:
        current, depth, _ = pending.pop()
        for child in reversed(children.get(current, [])):
            if child.signal.id in seen:
                continue
            seen.add(child.signal.id)
            effects.append({**node(child), "depth": depth + 1, "parent": current})
            pending.append((child.signal.id, depth + 1, current))
    effects.sort(key=lambda e: e["offset"])
    return {
        "signal": node(found),
        "causes": causes,
        "missing_cause": missing,
        "effects": effects,
        "truncated": len(effects) >= MAX_TRACE_LINKS or len(causes) >= MAX_TRACE_LINKS,
    }
