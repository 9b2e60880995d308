"""What each dashboard page shows, as JSON-ready data read from a runtime (no HTTP here).

Everything is bounded: the agents page sorts and filters on the server and sends one page of rows, so a
browser looking at 10,000 agents receives a hundred, and hibernated agents are paged from the runtime in
hibernation order (never sorted or copied: there may be millions); lists of dead letters, events and trace
links are cut at a limit and say so. Parameters are checked strictly (:class:`QueryError` names the one that
does not fit), so a bad link is told what is wrong instead of being shown something else.
"""

from __future__ import annotations

import datetime as dt
import json
import math
import re
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any, Final, get_args

import attrs

from jido.convert import unstructure
from jido.errors import JidoError
from jido.ops.sleepers import Sleepers
from jido.runtime.server import AgentStatus
from jido.signal import Signal

if TYPE_CHECKING:
    from jido.bus.journal import DeadLetterRecord, Record
    from jido.runtime.activation import HibernatedAgent
    from jido.runtime.runtime import Runtime, RuntimeStatistics
    from jido.runtime.server import AgentRef
    from jido.runtime.supervisor import Supervisor
    from jido.telemetry import Event

__all__ = [
    "AGENT_COLUMNS",
    "MAX_PAGE",
    "STATUSES",
    "AgentQuery",
    "QueryError",
    "agent_detail",
    "agent_rows",
    "agents_page",
    "bus_view",
    "dead_letter_json",
    "hibernated_row",
    "overview",
    "query_int",
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
class QueryError(ValueError):
    """A query parameter (or a live page's view parameter) that is not one the page could have sent."""

    def __init__(self, param: str, message: str) -> None:
        super().__init__(f"{param}: {message}")
        self.param = param
        self.message = f"{param}: {message}"


_DIGITS: Final = re.compile(r"[0-9]{1,18}")
MAX_OFFSET: Final = 100_000_000
MAX_QUERY_TEXT: Final = 200
STATUSES: Final = frozenset(get_args(AgentStatus))
"""What the status filter takes (and "" for any): every status an agent can have, ``hibernated`` included."""


def query_int(params: Mapping[str, Any], name: str, default: int, low: int, high: int) -> int:
    """``params[name]`` as an int in ``[low, high]`` (``default`` when absent), or :class:`QueryError`.

    Only plain decimal digits are taken: ``int()`` would also take ``" 5"``, ``"1_000"`` and other scripts'
    digits, which no page sends.
    """
    value = params.get(name)
    if value is None:
        return default
    if isinstance(value, int) and not isinstance(value, bool):
        parsed = value
    elif isinstance(value, str) and _DIGITS.fullmatch(value):
        parsed = int(value)
    else:
        raise QueryError(name, f"must be a whole number from {low} to {high}, got {_shown(value)}")
    if not low <= parsed <= high:
        raise QueryError(name, f"must be a whole number from {low} to {high}, got {_shown(parsed)}")
    return parsed


def _shown(value: object) -> str:
    text = repr(value)
    return text if len(text) <= 40 else text[:40] + "..."


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
        """From query parameters or a live page's view parameters; a missing one takes its default.

        Raises:
            QueryError: a parameter the page could not have sent (the message names it and says what fits).
        """

        def text(name: str) -> str:
            value = params.get(name, "")
            if not isinstance(value, str):
                raise QueryError(name, f"must be a string, got {_shown(value)}")
            if len(value) > MAX_QUERY_TEXT:
                raise QueryError(name, f"may be at most {MAX_QUERY_TEXT} characters, got {len(value)}")
            return value

        sort = text("sort") or "id"
        if sort not in AGENT_COLUMNS:
            raise QueryError("sort", f"must be one of {', '.join(AGENT_COLUMNS)}, got {_shown(sort)}")
        status = text("status")
        if status and status not in STATUSES:
            raise QueryError("status", f"must be one of {', '.join(sorted(STATUSES))}, got {_shown(status)}")
        desc = params.get("desc", False)
        if desc not in (True, False, "1", "0", "true", "false", "", 1, 0):
            raise QueryError("desc", f"must be true or false (1 or 0), got {_shown(desc)}")
        return cls(
            q=text("q"),
            status=status,
            sort=sort,
            desc=desc in (True, "1", "true", 1),
            offset=query_int(params, "offset", 0, 0, MAX_OFFSET),
            limit=query_int(params, "limit", 100, 1, MAX_PAGE),
        )


def agent_rows(runtime: Runtime) -> list[dict[str, Any]]:
    """A row per live agent: running ones, then failed ones (with their reason). Hibernated agents are not
    here: :func:`agents_page` pages them from the runtime (there may be millions)."""
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


def hibernated_row(entry: HibernatedAgent) -> dict[str, Any]:
    """A sleeper's row: its counts are not known while it sleeps (None, shown as such, never as zeros)."""
    return {
        "id": entry.id,
        "name": entry.name,
        "status": "hibernated",
        "mailbox_depth": None,
        "mailbox_size": None,
        "handled": None,
        "errors": None,
        "restarts": None,
        "restart": entry.restart,
        "pending_work": entry.pending_work,
    }


def agents_page(runtime: Runtime, query: AgentQuery, sleepers: Sleepers | None = None) -> dict[str, Any]:
    """One filtered page of the agents: the live ones (:func:`agent_rows`) sorted as asked, then the hibernated
    ones in hibernation order (oldest sleeper first, whatever the sort), paged from the runtime so that a
    million sleepers cost no more than a page of them. Says how many matched in all, and of each kind.
    """
    rows = agent_rows(runtime) if query.status != "hibernated" else []
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
    live = rows[query.offset : query.offset + query.limit]
    asleep: list[dict[str, Any]] = []
    hibernated = 0
    if query.status in ("", "hibernated"):
        sleepers = sleepers if sleepers is not None else Sleepers(runtime)
        start = max(0, query.offset - len(rows))
        entries, hibernated = sleepers.page(query.q, start, query.limit - len(live))
        asleep = [hibernated_row(entry) for entry in entries]
    return {
        "total": len(rows) + hibernated,
        "live": len(rows),
        "hibernated": hibernated,
        "offset": query.offset,
        "limit": query.limit,
        "sort": query.sort,
        "desc": query.desc,
        "rows": live + asleep,
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
