"""An orchestration hub with specialized workers: work items are spread over child agents, and none is lost.

The hub is one agent. ``hub.workers.start`` (``{"count": n}``) makes it spawn ``n`` worker agents as its
children (the ``SpawnAgent`` directive): they get the ids ``<hub id>/worker-<i>``, live under the hub's own
supervisor, and stop with it. The runtime tells the hub when each one has started or exited for good
(``jido.agent.child.started`` / ``jido.agent.child.exit``); the hub keeps the list of live workers from those
signals, in start order.

A client submits work with ``hub.work.submitted`` (``{"item_id": ..., "payload": {...}}``). The hub records
the item as pending and assigns it round-robin: an ``Emit`` of ``hub.work.assigned`` to the worker's id. The
worker does the work (it counts the words of ``payload["text"]``), records the item in its own state, and
reports ``hub.work.done`` back to the hub's id. The hub's state is the ledger: every item with its status
(``pending``, ``done`` or ``failed``), the worker holding or having done it, the attempt number, and the
result or error.

How no item is lost
-------------------
A worker that crashes on an item does not report it, and the runtime does not tell a parent that its child
crashed and restarted; what it does is put the signal that crashed the worker in the dead letters and restart
the worker from its last committed state, with its mailbox (the items queued behind the bad one) intact.
So the hub cannot rely on hearing about a failure. It relies on a **lease** instead:

* Each assignment comes with a ``Schedule`` directive: ``hub.work.expired`` (``{item_id, attempt}``) is
  delivered to the hub ``lease_seconds`` later. The lease covers every way an assignment can vanish: the
  worker crashed on it (the assignment is a dead letter), the assignment could not be delivered (worker gone
  or its mailbox full: a dead letter too), or the worker is stuck.
* When a lease expires and the item is still pending *on that attempt*, the hub assigns the item again, to
  the next worker in the rotation that is not the one that held it (when there is another), with
  ``attempt + 1`` and a new lease. A lease of an earlier attempt, or of an item that has since settled, is
  ignored.
* After ``max_attempts`` attempts the item is recorded as ``failed``, with the reason, so a poison item ends
  up in the ledger (and each of its assignments in ``rt.dead_letters()``): nothing is silently lost, and a
  poison item cannot crash workers forever. Each crash costs one restart of the hub's children supervisor
  (3 restarts within 5 s before it gives up), so ``max_attempts`` stays below that budget.
* When a worker exits for good (``jido.agent.child.exit``), the items it held are assigned again at once.
  Items submitted while no worker is running wait unassigned and are assigned as workers start.
* The hub records an item ``done`` once: the first report wins. A later report for a settled item (a lease
  that ran out on a slow but live worker makes two workers do the item) is counted in ``late_reports`` and
  changes nothing. Delivery to workers is therefore at least once and recording exactly once: work must be
  idempotent, as with any at-least-once queue.

Fault injection: a payload with ``"poison": true`` crashes every worker that gets it; one with
``"fail_attempts": k`` crashes the workers of its first ``k`` attempts and then succeeds.

The hub itself refuses a duplicate item id, a report for an item it never had, and a second start: under the
default error policy the refused signal goes to the dead letters, the caller gets the error, and the hub
restarts from its last committed state (its ledger, its workers and its pending leases carry over).

Run it: ``python examples/hub_workers.py``.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any, Final, Literal

import attrs
import trio

import jido
from dsl import action, agent, route, spec_of

SOURCE: Final = "/examples/hub_workers"
ItemStatus = Literal["pending", "done", "failed"]


def _positive(_: object, attribute: attrs.Attribute[int], value: object) -> None:
    if isinstance(value, int) and not isinstance(value, bool) and value < 1:
        raise jido.ValidationError.at(f"$.{attribute.name}", f"expected an int >= 1, got {value!r}")


def _non_empty(_: object, attribute: attrs.Attribute[str], value: object) -> None:
    if isinstance(value, str) and not value:
        raise jido.ValidationError.at(f"$.{attribute.name}", "expected a non-empty string")


class InjectedFault(RuntimeError):
    """A worker was told to fail on this item (``poison`` or ``fail_attempts`` in its payload)."""


# -- the worker -------------------------------------------------------------------------------------------


@action(description="Do one work item and report it to the hub")
class Process:
    item_id: str
    payload: dict[str, Any]
    attempt: int

    def run(self, ctx: jido.ActionContext) -> tuple[dict[str, Any], jido.Emit]:
        if not ctx.state.hub_id:
            raise ValueError(f"worker {ctx.agent_id!r} has no hub_id to report to")
        if self.payload.get("poison"):
            raise InjectedFault(f"poison item {self.item_id!r}")
        if self.attempt <= self.payload.get("fail_attempts", 0):
            raise InjectedFault(f"injected fault on item {self.item_id!r}, attempt {self.attempt}")
        text = self.payload.get("text", "")
        result = {"words": len(str(text).split())}
        report = jido.Signal(
            type="hub.work.done",
            source=f"{SOURCE}/{ctx.agent_id}",
            data={"item_id": self.item_id, "worker": ctx.agent_id, "attempt": self.attempt, "result": result},
        )
        return {"processed": [*ctx.state.processed, self.item_id]}, jido.Emit(report, to=ctx.state.hub_id)


@agent(description="Does the work items its hub assigns and reports each one back")
@route("hub.work.assigned", Process)
class Worker:
    hub_id: str = ""
    processed: list[str] = attrs.field(factory=list)


def _agent_spec(cls: type) -> jido.AgentSpec[Any]:
    spec = spec_of(cls)
    assert isinstance(spec, jido.AgentSpec)
    return spec


WORKER_SPEC: Final = _agent_spec(Worker)

# -- the hub ----------------------------------------------------------------------------------------------


@attrs.frozen
class WorkItem:
    """One item in the hub's ledger.

    Attributes:
        payload: what the client submitted.
        status: ``pending`` until a worker reports it (``done``) or it runs out of attempts (``failed``).
        worker: the worker holding it (pending; ``None`` while unassigned) or the one that did it.
        attempt: how many times it was assigned.
        result: the worker's result, once done.
        error: why it failed, once failed.
    """

    payload: dict[str, Any]
    status: ItemStatus = "pending"
    worker: str | None = None
    attempt: int = 0
    result: dict[str, Any] | None = None
    error: str | None = None


Changes = dict[str, Any]
Effects = list[jido.Directive]


class _LedgerEdit:
    """The hub's state being changed by one action: items and the rotation cursor, and the directives made."""

    def __init__(self, ctx: jido.ActionContext) -> None:
        self.ctx = ctx
        self.state = ctx.state
        self.changed: dict[str, WorkItem] = {}  # only the items this action changed
        self.cursor: int = ctx.state.cursor
        self.effects: Effects = []

    def item(self, item_id: str) -> WorkItem:
        found: WorkItem | None = self.changed.get(item_id) or self.state.ledger.get(item_id)
        if found is None:
            raise KeyError(f"unknown item {item_id!r}")
        return found

    def set(self, item_id: str, item: WorkItem) -> None:
        self.changed[item_id] = item

    def assign(self, item_id: str, workers: list[str], *, avoid: str | None = None) -> None:
        """Assign the item to the next worker in the rotation (not ``avoid`` if another is running)."""
        item = self.item(item_id)
        if not workers:
            self.set(item_id, attrs.evolve(item, worker=None))
            return
        worker = workers[self.cursor % len(workers)]
        self.cursor += 1
        if worker == avoid and len(workers) > 1:
            worker = workers[self.cursor % len(workers)]
            self.cursor += 1
        attempt = item.attempt + 1
        self.set(item_id, attrs.evolve(item, worker=worker, attempt=attempt))
        data = {"item_id": item_id, "payload": item.payload, "attempt": attempt}
        self.effects.append(
            jido.Emit(jido.Signal(type="hub.work.assigned", source=self._source, data=data), to=worker)
        )
        expired = jido.Signal(
            type="hub.work.expired", source=self._source, data={"item_id": item_id, "attempt": attempt}
        )
        self.effects.append(jido.Schedule(self.state.lease_seconds, expired))

    @property
    def _source(self) -> str:
        return f"{SOURCE}/{self.ctx.agent_id}"

    def result(self, **changes: Any) -> tuple[Changes, Effects]:
        # State changes are deep-merged: returning only the changed items leaves the others as they are.
        return {"ledger": self.changed, "cursor": self.cursor, **changes}, self.effects


@action(description="Spawn `count` workers as children of the hub")
class StartWorkers:
    count: int = attrs.field(default=3, validator=_positive)

    def run(self, ctx: jido.ActionContext) -> tuple[Changes, Effects]:
        if ctx.state.workers_requested:
            raise ValueError(f"hub {ctx.agent_id!r} already started {ctx.state.workers_requested} workers")
        spawns: Effects = [
            jido.SpawnAgent(WORKER_SPEC, tag=f"worker-{i}", state={"hub_id": ctx.agent_id})
            for i in range(self.count)
        ]
        return {"workers_requested": self.count}, spawns


@action(description="A worker started: add it to the rotation and give it the items waiting for a worker")
class WorkerStarted:
    tag: str
    id: str

    def run(self, ctx: jido.ActionContext) -> tuple[Changes, Effects]:
        edit = _LedgerEdit(ctx)
        workers = [*ctx.state.workers, self.id]
        for item_id, item in ctx.state.ledger.items():
            if item.status == "pending" and item.worker is None:
                edit.assign(item_id, workers)
        return edit.result(workers=workers)


@action(description="A worker exited for good: take it out of the rotation and reassign what it held")
class WorkerExited:
    tag: str
    id: str
    reason: str = ""

    def run(self, ctx: jido.ActionContext) -> tuple[Changes, Effects]:
        edit = _LedgerEdit(ctx)
        workers = [w for w in ctx.state.workers if w != self.id]
        for item_id, item in ctx.state.ledger.items():
            if item.status == "pending" and item.worker == self.id:
                edit.assign(item_id, workers)
        return edit.result(workers=workers)


@action(description="Record a submitted work item and assign it")
class Submit:
    item_id: str = attrs.field(validator=_non_empty)
    payload: dict[str, Any] = attrs.field(factory=dict)

    def run(self, ctx: jido.ActionContext) -> tuple[Changes, Effects]:
        if self.item_id in ctx.state.ledger:
            raise ValueError(f"item {self.item_id!r} was already submitted")
        edit = _LedgerEdit(ctx)
        edit.set(self.item_id, WorkItem(payload=self.payload))
        edit.assign(self.item_id, ctx.state.workers)
        return edit.result()


@action(description="A worker did an item: record it done, once")
class RecordDone:
    item_id: str
    worker: str
    attempt: int
    result: dict[str, Any]

    def run(self, ctx: jido.ActionContext) -> dict[str, Any]:
        item: WorkItem | None = ctx.state.ledger.get(self.item_id)
        if item is None:
            raise ValueError(f"report from {self.worker!r} for unknown item {self.item_id!r}")
        if item.status != "pending":
            return {"late_reports": ctx.state.late_reports + 1}
        done = attrs.evolve(item, status="done", worker=self.worker, attempt=self.attempt, result=self.result)
        return {"ledger": {self.item_id: done}}


@action(description="An assignment's lease ran out: assign the item again, or record it failed")
class Expire:
    item_id: str
    attempt: int

    def run(self, ctx: jido.ActionContext) -> tuple[Changes, Effects] | None:
        item: WorkItem | None = ctx.state.ledger.get(self.item_id)
        if item is None or item.status != "pending" or item.attempt != self.attempt:
            return None  # settled, or reassigned since: this lease is stale
        edit = _LedgerEdit(ctx)
        if item.attempt >= ctx.state.max_attempts:
            error = f"no report after {item.attempt} attempts (last on {item.worker!r})"
            edit.set(self.item_id, attrs.evolve(item, status="failed", error=error))
        else:
            edit.assign(self.item_id, ctx.state.workers, avoid=item.worker)
        return edit.result()


@agent(description="Spreads work items over its worker children and keeps the ledger")
@route("hub.workers.start", StartWorkers)
@route("jido.agent.child.started", WorkerStarted)
@route("jido.agent.child.exit", WorkerExited)
@route("hub.work.submitted", Submit)
@route("hub.work.done", RecordDone)
@route("hub.work.expired", Expire)
class Hub:
    workers: list[str] = attrs.field(factory=list)
    workers_requested: int = 0
    cursor: int = 0
    ledger: dict[str, WorkItem] = attrs.field(factory=dict)
    lease_seconds: float = 30.0
    max_attempts: int = 2
    late_reports: int = 0


# -- helpers for clients ----------------------------------------------------------------------------------


def start_workers(count: int) -> jido.Signal:
    """The signal that makes a hub spawn ``count`` workers."""
    return jido.Signal(type="hub.workers.start", source=f"{SOURCE}/client", data={"count": count})


def submit(item_id: str, **payload: Any) -> jido.Signal:
    """The signal that submits one work item."""
    data = {"item_id": item_id, "payload": payload}
    return jido.Signal(type="hub.work.submitted", source=f"{SOURCE}/client", data=data)


def settled(state: Any) -> bool:
    """Whether every item in a hub's ledger is done or failed."""
    return all(item.status != "pending" for item in state.ledger.values())


def by_status(state: Any) -> dict[ItemStatus, list[str]]:
    """The item ids of a hub's ledger grouped by status, in submission order."""
    groups: dict[ItemStatus, list[str]] = {"pending": [], "done": [], "failed": []}
    for item_id, item in state.ledger.items():
        groups[item.status].append(item_id)
    return groups


async def run_hub(
    rt: jido.Runtime,
    items: Iterable[tuple[str, Mapping[str, Any]]],
    *,
    workers: int = 3,
    hub_id: str = "hub",
    lease_seconds: float = 30.0,
    max_attempts: int = 2,
) -> jido.AgentRef:
    """Start a hub with ``workers`` workers, submit ``items`` (id, payload) and wait until all have settled."""
    hub = await rt.start_agent(
        Hub, id=hub_id, state={"lease_seconds": lease_seconds, "max_attempts": max_attempts}
    )
    await hub.call(start_workers(workers))
    for item_id, payload in items:
        await hub.call(submit(item_id, **payload))
    await hub.wait_state(settled)
    return hub


def demo_items() -> list[tuple[str, dict[str, Any]]]:
    """Eight items; item-3 fails on its first attempt only, item-5 is poison."""
    texts = ["one", "two words", "three more words", "four", "five", "six", "seven", "eight"]
    items: list[tuple[str, dict[str, Any]]] = [(f"item-{i}", {"text": t}) for i, t in enumerate(texts)]
    items[3][1]["fail_attempts"] = 1
    items[5][1]["poison"] = True
    return items


async def demo() -> None:
    async with jido.open_runtime() as rt:
        # A short lease so the demo's two bad items are settled well within a second of real time.
        hub = await run_hub(rt, demo_items(), workers=3, lease_seconds=0.1)
        print(f"hub {hub.id!r} with workers {hub.state.workers}")
        for item_id, item in hub.state.ledger.items():
            outcome = item.result if item.status == "done" else item.error
            print(f"  {item_id}: {item.status:6} attempt {item.attempt} by {item.worker}: {outcome}")
        for ref in rt.agents():
            if ref.id != hub.id:
                print(f"  {ref.id}: processed {ref.state.processed}, restarts {ref.restarts}")
        crashes = [d for d in rt.dead_letters() if d.reason == "crash"]
        print(f"dead letters (crashes): {[(d.agent_id, d.signal.data['item_id']) for d in crashes]}")
        await hub.stop()
        print(f"after the hub stopped: {len(rt.agents())} agents running")


def main() -> None:
    trio.run(demo)


if __name__ == "__main__":
    main()
