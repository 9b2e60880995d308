"""The Demand Tracker agent: a listing's demand score, pushed by signals and decayed on a cron heartbeat.

State: ``listing_id`` ("demo-listing"), ``demand`` (0..100, starts at 50), ``ticks`` (decays since the last
cleanup) and ``last_updated_at`` (the ``time`` of the signal that last changed demand, ISO 8601; it stays as
it is when an instruction runs without a signal, as in a bare ``jido.cmd``).

Actions and the signals routed to them:

==========================  =============  ===============================================================
signal type                 action         effect
==========================  =============  ===============================================================
``listing.demand.boost``    ``Boost``      demand + ``amount`` (default 10), capped at 100
``listing.demand.cool``     ``Cool``       demand - ``amount`` (default 10), floored at 0
``listing.demand.tick``     ``Decay``      demand - 2 (floored at 0), ticks + 1
``heartbeat.tick``          ``Heartbeat``  the same as ``Decay`` (it delegates to it)
``cleanup.run``             ``Cleanup``    ticks back to 0, no directives
==========================  =============  ===============================================================

Whenever demand actually changes, the action emits one ``listing.demand.changed`` signal (source
``/demo/demand-tracker``) with data ``{previous, current, delta, reason, listing_id}``, where ``reason`` is
``"boost"``, ``"cool"`` or ``"decay"``. A decay at 0 changes nothing and emits nothing; so does a boost at 100
or a cool at 0.

``delta`` is the change that happened, ``current - previous``, not the amount asked for: boosting 60 from 50
caps at 100 and reports ``delta == 50`` (Jido's own example reports the requested amount, 60, which makes
``previous + delta != current``). A cool reports a negative delta.

Two cron schedules are declared with the agent and started by the runtime: ``*/5 * * * *`` in UTC sends
``heartbeat.tick`` (job ``"heartbeat"``), and ``@daily`` in America/New_York sends ``cleanup.run`` (job
``"cleanup"``) at local midnight. At local midnight both are due at the same instant (New York's offset is
a whole number of hours); their relative order is not specified, so ticks read 0 or 1 just after midnight.

Run it: ``python examples/demand_tracker.py``. It walks through the pure core (``jido.cmd``, no event loop),
then starts the agent under the runtime and sends it signals; it does not wait for real cron minutes.
"""

from __future__ import annotations

import datetime as dt
from typing import Any, Final

import attrs
import trio

import jido
from dsl import AgentState, action, agent, cron, route

LISTING_ID: Final = "demo-listing"
SOURCE: Final = "/demo/demand-tracker"
CHANGED: Final = "listing.demand.changed"
MAX_DEMAND: Final = 100
MIN_DEMAND: Final = 0
DECAY_STEP: Final = 2


def _non_negative(_: object, attribute: attrs.Attribute[int], value: object) -> None:
    # The DSL's strict int check reports a wrong type; this one the range. A negative boost is a cool.
    if isinstance(value, int) and not isinstance(value, bool) and value < 0:
        raise jido.ValidationError.at(f"$.{attribute.name}", f"expected an int >= 0, got {value!r}")


def _change(
    ctx: jido.ActionContext[DemandTracker], target: int, reason: str, **extra: Any
) -> dict[str, Any] | tuple[dict[str, Any], jido.Emit]:
    """Move demand to ``target`` (clamped to 0..100); emit ``listing.demand.changed`` if it moved."""
    state = ctx.state
    previous = state.demand
    current = max(MIN_DEMAND, min(MAX_DEMAND, target))
    if current == previous:
        return dict(extra)
    changes: dict[str, Any] = {"demand": current, **extra}
    if isinstance(ctx.signal, jido.Signal):
        changes["last_updated_at"] = ctx.signal.time.isoformat()
    data = {
        "previous": previous,
        "current": current,
        "delta": current - previous,
        "reason": reason,
        "listing_id": state.listing_id,
    }
    return changes, jido.Emit(jido.Signal(type=CHANGED, source=SOURCE, data=data))


@action(description="Raise demand by `amount`, capped at 100")
class Boost:
    amount: int = attrs.field(default=10, validator=_non_negative)

    def run(
        self, ctx: jido.ActionContext[DemandTracker]
    ) -> dict[str, Any] | tuple[dict[str, Any], jido.Emit]:
        return _change(ctx, ctx.state.demand + self.amount, "boost")


@action(description="Lower demand by `amount`, floored at 0")
class Cool:
    amount: int = attrs.field(default=10, validator=_non_negative)

    def run(
        self, ctx: jido.ActionContext[DemandTracker]
    ) -> dict[str, Any] | tuple[dict[str, Any], jido.Emit]:
        return _change(ctx, ctx.state.demand - self.amount, "cool")


@action(description="Let demand decay by 2 (floored at 0) and count the tick")
class Decay:
    def run(
        self, ctx: jido.ActionContext[DemandTracker]
    ) -> dict[str, Any] | tuple[dict[str, Any], jido.Emit]:
        return _change(ctx, ctx.state.demand - DECAY_STEP, "decay", ticks=ctx.state.ticks + 1)


@action(description="The cron heartbeat: a decay")
class Heartbeat:
    def run(
        self, ctx: jido.ActionContext[DemandTracker]
    ) -> dict[str, Any] | tuple[dict[str, Any], jido.Emit]:
        return Decay().run(ctx)


@action(description="Daily cleanup: reset the tick count")
class Cleanup:
    def run(self, ctx: jido.ActionContext[DemandTracker]) -> dict[str, Any]:
        return {"ticks": 0}


@agent(
    description="Tracks a listing's demand; decays it on a heartbeat",
    schedules=[
        cron("*/5 * * * *", "heartbeat.tick", job_id="heartbeat"),
        cron("@daily", "cleanup.run", job_id="cleanup", tz="America/New_York"),
    ],
)
@route("listing.demand.boost", Boost)
@route("listing.demand.cool", Cool)
@route("listing.demand.tick", Decay)
@route("heartbeat.tick", Heartbeat)
@route("cleanup.run", Cleanup)
class DemandTracker(AgentState):
    listing_id: str = LISTING_ID
    demand: int = 50
    ticks: int = 0
    last_updated_at: str | None = None


def new_tracker(id: str | None = None, **state: Any) -> jido.Agent[DemandTracker]:
    """A new Demand Tracker agent value (``state`` overrides the defaults, validated strictly)."""
    return DemandTracker.new(id, **state)


def demand_signal(kind: str, **data: Any) -> jido.Signal:
    """A ``listing.demand.<kind>`` signal (``boost``, ``cool``, ``tick``) with ``data`` (e.g. ``amount``)."""
    return jido.Signal(type=f"listing.demand.{kind}", source="/demo/client", data=data or None)


def _describe(directives: list[jido.Directive]) -> str:
    emitted = [d.signal.data for d in directives if isinstance(d, jido.Emit)]
    return f"emitted {emitted}" if emitted else "no signal"


def pure_walkthrough() -> None:
    """Drive the agent through ``jido.cmd``: no event loop, every step a pure function call."""
    tracker = new_tracker()
    print(
        f"new: listing={tracker.state.listing_id} demand={tracker.state.demand} ticks={tracker.state.ticks}"
    )
    for schedule in tracker.spec.schedules:
        print(f"schedule {schedule.job_id!r}: {schedule.expr} -> {schedule.signal_type} ({schedule.tz})")
    steps: list[tuple[str, Any]] = [
        ("Boost()", Boost()),
        ("Boost(amount=60)", Boost(amount=60)),
        ("Cool(amount=60)", Cool(amount=60)),
        ("Cool(amount=200)", Cool(amount=200)),
        ("Decay() at 0", Decay()),
        ("Boost(amount=20)", Boost(amount=20)),
        ("Heartbeat()", Heartbeat()),
        ("Cleanup()", Cleanup()),
    ]
    for label, instruction in steps:
        tracker, directives = jido.cmd(tracker, instruction)
        print(
            f"{label:>18} -> demand={tracker.state.demand:3} ticks={tracker.state.ticks} {_describe(directives)}"
        )
    tracker, directives = jido.cmd(tracker, (Boost, {"amount": -5}))
    [error] = directives
    assert isinstance(error, jido.Error)
    print(f"Boost(amount=-5) is refused, demand stays {tracker.state.demand}: {error.error}")


async def runtime_walkthrough() -> None:
    """Run the agent under the runtime: signals in by ``ref.call``, ``listing.demand.changed`` out."""
    async with jido.open_runtime() as rt:
        ref = await rt.start_agent(DemandTracker, id="demand-tracker")
        async with rt.listen("listing.demand.*") as changes:
            for signal in (demand_signal("boost", amount=25), demand_signal("cool"), demand_signal("tick")):
                await ref.call(signal)
                emitted = await changes.receive()
                caused = "yes" if emitted.causationid == signal.id else "no"
                print(f"runtime {signal.type} -> {emitted.type} {emitted.data} (caused by it: {caused})")
        jobs = ref.scheduler.next_fire_times() if ref.scheduler is not None else {}
        for job_id, when in sorted(jobs.items()):
            print(f"next {job_id} tick at {when.astimezone(dt.UTC).isoformat()}")
        print(f"runtime state: demand={ref.state.demand} ticks={ref.state.ticks}")


def main() -> None:
    pure_walkthrough()
    trio.run(runtime_walkthrough)


if __name__ == "__main__":
    main()
