"""The memory plugin: a key-value memory with time-to-live, under the agent's ``memory`` key.

Signals it routes:

* ``memory.put`` with data ``{"key": "k", "value": <any JSON>, "ttl": 30.0}`` (``ttl`` optional, seconds):
  stores the value. With a TTL, the entry expires on the runtime's clock: the put returns a
  :class:`~jido.agent.directives.Schedule` directive of ``memory.expire`` after ``ttl`` seconds, which the
  runtime's scheduler delivers (under trio's ``MockClock`` in tests, too). A TTL above ``max_ttl`` is capped.
* ``memory.delete`` with ``{"key": "k"}``; ``memory.clear``.
* ``memory.expire`` (sent by the scheduler) with ``{"key": "k", "version": n}``: removes the entry only if it
  is still the version that scheduled it, so a value written again since is not expired by an older TTL.

The memory holds at most ``max_keys`` keys: writing a new key into a full memory evicts the oldest written
one (counted in ``evicted``). Keys are 1..256 characters; a value is at most ``max_value_bytes`` as JSON (a
larger one fails the put, naming the key: like any failed action, under the ``"crash"`` policy the signal goes
to the dead letters and the memory stays as it was), so the memory is bounded in bytes as well as in keys.

Pending expiries are timers of the agent: they survive its crashes and restarts (they belong to its slot) and
its hibernation (they wake it). They are not stored with the state, though: an entry whose expiry was pending
when the whole runtime stopped is not expired by a runtime that restores the agent from its store; it stays
until it is written again (with a TTL), deleted or cleared. The entries themselves are committed and stored
with the rest of the agent's state.
"""

from __future__ import annotations

import json
from typing import Any, Final

import attrs

from jido.action.spec import ActionSpec
from jido.agent.directives import Schedule
from jido.agent.plugin import PluginContext, PluginSpec
from jido.agent.routes import RouteSpec
from jido.agent.state_ops import DeletePath, SetPath, SetState
from jido.plugins._checks import bounded_float, bounded_int, bounded_str
from jido.signal import Signal

__all__ = ["EXPIRE", "Memory", "MemoryConfig", "MemoryEntry", "MemoryState"]

EXPIRE: Final = "memory.expire"
_DAY: Final = 86_400.0


@attrs.frozen
class MemoryEntry:
    """One stored value; ``version`` is the memory's write counter when it was written."""

    value: Any = None
    version: int = 0
    ttl: float | None = None


@attrs.frozen
class MemoryState:
    """The memory's slice."""

    entries: dict[str, MemoryEntry] = attrs.field(factory=dict)
    next_version: int = 1
    evicted: int = 0
    expired: int = 0


@attrs.frozen
class MemoryConfig:
    """Bounds of the memory.

    Attributes:
        max_keys: keys kept (1..100,000); a new key past it evicts the oldest written.
        max_value_bytes: the largest value, as JSON (1 B..16 MiB); 64 KiB by default.
        max_ttl: the longest TTL, in seconds (up to 365 days); longer ones are capped.
        default_ttl: the TTL of a put that gives none; None: such entries do not expire.
    """

    max_keys: int = attrs.field(default=1_000, validator=bounded_int(1, 100_000))
    max_value_bytes: int = attrs.field(default=64 * 1024, validator=bounded_int(1, 16 * 1024 * 1024))
    max_ttl: float = attrs.field(default=30 * _DAY, validator=bounded_float(0.0, 365 * _DAY))
    default_ttl: float | None = attrs.field(
        default=None, validator=bounded_float(0.0, 365 * _DAY, optional=True)
    )


@attrs.frozen
class PutParams:
    """Params of ``memory.put``."""

    key: str = attrs.field(validator=bounded_str(256))
    value: Any = None
    ttl: float | None = attrs.field(default=None, validator=bounded_float(0.0, float("inf"), optional=True))


@attrs.frozen
class KeyParams:
    """Params of ``memory.delete``."""

    key: str = attrs.field(validator=bounded_str(256))


@attrs.frozen
class ExpireParams:
    """Params of ``memory.expire``."""

    key: str = attrs.field(validator=bounded_str(256))
    version: int = 0


Ctx = PluginContext[MemoryState, MemoryConfig]


def _put(params: PutParams, ctx: Ctx) -> list[Any]:
    state, config = ctx.state, ctx.config
    size = len(json.dumps(params.value, ensure_ascii=False, separators=(",", ":")).encode())
    if size > config.max_value_bytes:
        raise ValueError(
            f"memory value for {params.key!r} is {size} bytes as JSON, over max_value_bytes={config.max_value_bytes}"
        )
    version = state.next_version
    ttl = params.ttl if params.ttl is not None else config.default_ttl
    if ttl is not None:
        ttl = min(ttl, config.max_ttl)
    effects: list[Any] = []
    evicted = 0
    if params.key not in state.entries and len(state.entries) >= config.max_keys:
        oldest = min(state.entries.items(), key=lambda item: item[1].version)[0]
        effects.append(DeletePath(("entries", oldest)))
        evicted = 1
    effects.append(SetPath(("entries", params.key), MemoryEntry(params.value, version, ttl)))
    effects.append(SetState({"next_version": version + 1, "evicted": state.evicted + evicted}))
    if ttl is not None:
        expire = Signal(
            type=EXPIRE,
            source=f"/jido/agent/{ctx.agent_id}/memory" if ctx.agent_id else "/jido/plugins/memory",
            data={"key": params.key, "version": version},
        )
        effects.append(Schedule(ttl, expire))
    return effects


def _delete(params: KeyParams, ctx: Ctx) -> list[Any] | None:
    if params.key not in ctx.state.entries:
        return None
    return [DeletePath(("entries", params.key))]


def _expire(params: ExpireParams, ctx: Ctx) -> list[Any] | None:
    entry = ctx.state.entries.get(params.key)
    if entry is None or entry.version != params.version:
        return None  # deleted, or written again since this expiry was scheduled: that write has its own
    return [DeletePath(("entries", params.key)), SetState({"expired": ctx.state.expired + 1})]


def _clear(params: Any, ctx: Ctx) -> list[Any] | None:
    # A path set, not a merge: merging {} into the entries would leave them as they are.
    return [SetPath(("entries",), {})] if ctx.state.entries else None


PUT: Final = ActionSpec("put", _put, params=PutParams, description="Store a value, with an optional TTL")
DELETE: Final = ActionSpec("delete", _delete, params=KeyParams, description="Forget a key")
EXPIRE_ACTION: Final = ActionSpec("expire", _expire, params=ExpireParams, description="Expire a key")
CLEAR: Final = ActionSpec("clear", _clear, description="Forget every key")

Memory: Final[PluginSpec[MemoryConfig, MemoryState]] = PluginSpec(
    "memory",
    state=MemoryState,
    config_schema=MemoryConfig,
    description="A key-value memory with TTLs on the runtime's clock",
    routes=[
        RouteSpec("memory.put", PUT),
        RouteSpec("memory.delete", DELETE),
        RouteSpec(EXPIRE, EXPIRE_ACTION),
        RouteSpec("memory.clear", CLEAR),
    ],
)
"""The memory plugin with its default config; ``Memory.configure(max_keys=...)`` for another."""
