"""The hibernated agents as the pages show them, at a bounded cost however many sleep.

The runtime lists its sleepers a page at a time (:meth:`Runtime.hibernated_agents`), oldest sleeper first.
Unfiltered, a page costs O(offset + limit) and is asked for at every tick. Filtered, each question scans every
sleeper (about 50 ms for a million), and every open page asks at every tick: :class:`Sleepers` keeps each
filter's first :data:`FILTER_WINDOW` matches and its total, and asks again only once the sleepers changed (one
fell asleep, woke or stopped), and then at most once every :data:`REFRESH` seconds per filter. So a filter
costs one scan per ``REFRESH`` seconds, however many pages show it and whichever page they are on; nothing
here sorts the sleepers or copies more than a window of them.
"""

from __future__ import annotations

import collections
import json
from typing import TYPE_CHECKING, Any, Final

import attrs
import trio

from jido.errors import JidoError

if TYPE_CHECKING:
    from jido.runtime.activation import HibernatedAgent
    from jido.runtime.runtime import Runtime

__all__ = ["FILTER_WINDOW", "REFRESH", "Sleepers", "hibernated_detail"]

REFRESH: Final = 2.0
"""Seconds a filtered answer is kept at least, even when the sleepers changed meanwhile."""
FILTER_WINDOW: Final = 10_000
"""Matches of one filter kept (its first ones, oldest sleeper first): the pages a filtered view can show."""
MAX_CACHED: Final = 16
"""Filters whose matches are kept (the least recently used go first): at most about 16 x 10,000 entries."""
_STATE_TEXT: Final = 16_384
_Generation = tuple[int, int, int]


@attrs.define
class _Answer:
    generation: _Generation
    at: float
    rows: list[HibernatedAgent]
    total: int


class Sleepers:
    """Pages of a runtime's hibernated agents for the dashboard, filtered ones kept for a while (see above)."""

    def __init__(self, runtime: Runtime) -> None:
        self.runtime = runtime
        self.scans = 0  # filtered questions asked of the runtime (each scans every sleeper)
        self._answers: collections.OrderedDict[str, _Answer] = collections.OrderedDict()

    def _generation(self) -> _Generation:
        stats = self.runtime.statistics()
        return stats.hibernated, stats.hibernations, stats.activations

    def page(self, contains: str, offset: int, limit: int) -> tuple[list[HibernatedAgent], int]:
        """Up to ``limit`` sleepers from ``offset`` (oldest sleeper first) whose id or class contains
        ``contains`` (case-insensitive), and how many match in all.

        A filter's first :data:`FILTER_WINDOW` matches are kept with its total, so paging through them costs
        no scan; pages past them are empty (the total says how many there are: a narrower filter shows them).
        """
        if not contains:
            return self.runtime.hibernated_agents(offset=offset, limit=limit)
        key = contains.lower()
        generation = self._generation()
        now = trio.current_time()
        answer = self._answers.get(key)
        if answer is None or (answer.generation != generation and now - answer.at >= REFRESH):
            rows, total = self.runtime.hibernated_agents(offset=0, limit=FILTER_WINDOW, contains=contains)
            self.scans += 1
            answer = self._answers[key] = _Answer(generation, now, rows, total)
        self._answers.move_to_end(key)
        while len(self._answers) > MAX_CACHED:
            self._answers.popitem(last=False)
        return answer.rows[offset : offset + limit], answer.total

    def sleeps(self, agent_id: str) -> bool:
        """Whether ``agent_id`` is hibernated now (O(1))."""
        return self.runtime.hibernated_agent(agent_id) is not None

    def find(self, agent_id: str) -> HibernatedAgent | None:
        """The runtime's entry of the sleeping ``agent_id`` (O(1)); None when it does not sleep."""
        return self.runtime.hibernated_agent(agent_id)


def _cut(text: str) -> str:
    return text if len(text) <= _STATE_TEXT else text[:_STATE_TEXT] + f"... ({len(text) - _STATE_TEXT} more)"


async def hibernated_detail(runtime: Runtime, sleepers: Sleepers, agent_id: str) -> dict[str, Any] | None:
    """The agent page of the hibernated ``agent_id`` (None when it does not sleep): its class and whether it has
    timers or cron jobs that will wake it, and its state when the runtime has a store (read from the store; a
    sleeper's state is otherwise in memory only as the runtime keeps it, shown when it wakes)."""
    if not sleepers.sleeps(agent_id):
        return None
    entry = sleepers.find(agent_id)
    out: dict[str, Any] = {
        "id": agent_id,
        "status": "hibernated",
        "name": None if entry is None else entry.name,
        "restart": None if entry is None else entry.restart,
        "pending_work": None if entry is None else entry.pending_work,
        "state": None,
        "stored": None,
    }
    persistence = runtime.persistence
    if persistence is None:
        out["state_note"] = "hibernated; state loads when it wakes"
        return out
    try:
        stored = await persistence.store.load(agent_id)
    except (JidoError, OSError, ValueError) as exc:
        out["state_note"] = f"the store could not be read: {type(exc).__name__}: {exc}"
        return out
    if stored is None:
        out["state_note"] = "hibernated; nothing stored yet (it starts new when it wakes)"
        return out
    out["stored"] = {"revision": stored.revision, "updated_at": stored.updated_at.isoformat()}
    try:
        document = json.loads(stored.data)
    except ValueError:
        document = None
    if not isinstance(document, dict) or "state" not in document:
        out["state_note"] = "the stored record is not in jido's format; it is checked when the agent wakes"
        return out
    if out["name"] is None and isinstance(document.get("agent"), str):
        out["name"] = document["agent"]
    out["state"] = _cut(json.dumps(document["state"], indent=2, ensure_ascii=False))
    out["state_note"] = f"as stored (revision {stored.revision}); it loads when the agent wakes"
    return out
