"""examples/hub_workers.py: a hub spreading work over child workers, losing nothing when workers crash."""

from __future__ import annotations

import collections
from typing import Any

import pytest
import trio
import trio.testing

import jido
from examples.hub_workers import (
    WORKER_SPEC,
    Expire,
    Hub,
    Process,
    RecordDone,
    StartWorkers,
    Submit,
    Worker,
    WorkerExited,
    WorkerStarted,
    WorkItem,
    by_status,
    demo_items,
    run_hub,
    settled,
    start_workers,
    submit,
)

W0, W1, W2 = "hub/worker-0", "hub/worker-1", "hub/worker-2"


def new_hub(**state: Any) -> jido.Agent:
    hub: jido.Agent = Hub.new("hub", **state)  # type: ignore[attr-defined]
    return hub


def with_workers(*ids: str, **state: Any) -> jido.Agent:
    hub = new_hub(**state)
    for worker_id in ids:
        hub, directives = jido.cmd(hub, WorkerStarted(tag=worker_id.rsplit("/", 1)[1], id=worker_id))
        assert directives == []
    return hub


def assignments(directives: list[jido.Directive]) -> list[tuple[str | None, str, int]]:
    """(worker, item id, attempt) of each assignment, checking that each comes with its lease."""
    found = []
    for emit, lease in zip(directives[::2], directives[1::2], strict=True):
        assert isinstance(emit, jido.Emit) and isinstance(lease, jido.Schedule)
        assert emit.signal.type == "hub.work.assigned"
        assert lease.signal.type == "hub.work.expired"
        assert lease.signal.data == {
            "item_id": emit.signal.data["item_id"],
            "attempt": emit.signal.data["attempt"],
        }
        found.append((emit.to, emit.signal.data["item_id"], emit.signal.data["attempt"]))
    return found


def error_of(directives: list[jido.Directive]) -> BaseException:
    [directive] = directives
    assert isinstance(directive, jido.Error)
    return directive.error


class TestHubCore:
    def test_start_spawns_workers(self) -> None:
        """Starting the hub spawns `count` worker children tagged worker-<i>, each told the hub's id."""
        hub, directives = jido.cmd(new_hub(), StartWorkers(count=3))
        assert directives == [
            jido.SpawnAgent(WORKER_SPEC, tag=f"worker-{i}", state={"hub_id": "hub"}) for i in range(3)
        ]
        assert hub.state.workers_requested == 3
        assert hub.state.workers == []  # a worker joins the rotation when it has started

    def test_second_start_refused(self) -> None:
        """A hub that started its workers refuses to start more."""
        hub, _ = jido.cmd(new_hub(), StartWorkers(count=2))
        again, directives = jido.cmd(hub, StartWorkers(count=2))
        assert again == hub
        with pytest.raises(
            jido.ActionError,
            match=r"""^action 'start_workers' failed: ValueError\("hub 'hub' already started 2 workers"\)$""",
        ):
            raise error_of(directives)

    def test_worker_count_checked(self) -> None:
        """Zero workers is refused, naming $.count."""
        _, directives = jido.cmd(new_hub(), (StartWorkers, {"count": 0}))
        with pytest.raises(
            jido.ValidationError,
            match=r"^invalid start_workers params:\n\$\.count: expected an int >= 1, got 0$",
        ):
            raise error_of(directives)

    def test_round_robin(self) -> None:
        """Items are assigned to the workers in turn, each with a lease of lease_seconds."""
        hub = with_workers(W0, W1, W2, lease_seconds=12.5)
        assigned = []
        for i in range(4):
            hub, directives = jido.cmd(hub, Submit(item_id=f"i{i}", payload={"text": "x"}))
            assigned += assignments(directives)
            assert [d.delay for d in directives if isinstance(d, jido.Schedule)] == [12.5]
        assert assigned == [(W0, "i0", 1), (W1, "i1", 1), (W2, "i2", 1), (W0, "i3", 1)]
        assert hub.state.ledger["i3"] == WorkItem(payload={"text": "x"}, worker=W0, attempt=1)

    def test_items_wait_for_a_worker(self) -> None:
        """Items submitted before any worker runs wait unassigned; the first worker to start gets them."""
        hub = new_hub()
        for item_id in ("a", "b"):
            hub, directives = jido.cmd(hub, Submit(item_id=item_id))
            assert directives == []
        assert hub.state.ledger["a"] == WorkItem(payload={})
        hub, directives = jido.cmd(hub, WorkerStarted(tag="worker-0", id=W0))
        assert assignments(directives) == [(W0, "a", 1), (W0, "b", 1)]
        assert hub.state.workers == [W0]

    def test_duplicate_item_refused(self) -> None:
        """An item id already in the ledger is refused and the ledger is unchanged."""
        hub, _ = jido.cmd(with_workers(W0), Submit(item_id="a", payload={"text": "first"}))
        again, directives = jido.cmd(hub, Submit(item_id="a", payload={"text": "second"}))
        assert again == hub
        with pytest.raises(
            jido.ActionError,
            match=r"""^action 'submit' failed: ValueError\("item 'a' was already submitted"\)$""",
        ):
            raise error_of(directives)

    @pytest.mark.parametrize(
        ("data", "message"),
        [
            ({"item_id": ""}, r"\$\.item_id: expected a non-empty string"),
            ({"payload": {}}, r"\$\.item_id: required field missing"),
            ({"item_id": "a", "payload": [1]}, r"\$\.payload: expected object, got array"),
        ],
    )
    def test_bad_submission(self, data: dict[str, Any], message: str) -> None:
        """A submission without a proper item id or payload is refused, naming the field."""
        _, directives = jido.cmd(with_workers(W0), (Submit, data))
        with pytest.raises(jido.ValidationError, match=rf"^invalid submit params:\n{message}$"):
            raise error_of(directives)

    def test_done_recorded_once(self) -> None:
        """The first report settles an item; a later one only counts as a late report."""
        hub, _ = jido.cmd(with_workers(W0, W1), Submit(item_id="a"))
        hub, directives = jido.cmd(hub, RecordDone(item_id="a", worker=W0, attempt=1, result={"words": 0}))
        assert directives == []
        done = WorkItem(payload={}, status="done", worker=W0, attempt=1, result={"words": 0})
        assert hub.state.ledger["a"] == done
        hub, _ = jido.cmd(hub, RecordDone(item_id="a", worker=W1, attempt=2, result={"words": 9}))
        assert (hub.state.ledger["a"], hub.state.late_reports) == (done, 1)

    def test_report_for_unknown_item_refused(self) -> None:
        """A report for an item the hub never had is refused."""
        _, directives = jido.cmd(with_workers(W0), RecordDone(item_id="zz", worker=W0, attempt=1, result={}))
        with pytest.raises(
            jido.ActionError,
            match=r"""^action 'record_done' failed: ValueError\("report from 'hub/worker-0' for unknown item 'zz'"\)$""",
        ):
            raise error_of(directives)

    def test_expired_lease_reassigns_elsewhere(self) -> None:
        """When a lease runs out the item goes to another worker, as attempt 2 with a new lease."""
        hub, _ = jido.cmd(with_workers(W0, W1, W2), [Submit(item_id="a"), Submit(item_id="b")])
        assert hub.state.ledger["b"].worker == W1
        hub, directives = jido.cmd(hub, Expire(item_id="b", attempt=1))
        # The rotation is at W2, so W2 gets it; had it been at W1, W1 would have been skipped.
        assert assignments(directives) == [(W2, "b", 2)]
        hub, directives = jido.cmd(hub, Expire(item_id="a", attempt=1))
        assert assignments(directives) == [(W1, "a", 2)]  # W0 held it: skipped

    def test_expired_lease_skips_the_holder(self) -> None:
        """The worker whose lease ran out is skipped when the rotation comes to it."""
        hub, _ = jido.cmd(with_workers(W0, W1), Submit(item_id="a"))
        hub, _ = jido.cmd(hub, Submit(item_id="b"))
        hub, directives = jido.cmd(hub, Expire(item_id="a", attempt=1))
        assert assignments(directives) == [(W1, "a", 2)]

    def test_stale_lease_ignored(self) -> None:
        """A lease of an earlier attempt or of a settled item changes nothing."""
        hub, _ = jido.cmd(with_workers(W0, W1), Submit(item_id="a"))
        hub, _ = jido.cmd(hub, Expire(item_id="a", attempt=1))
        for stale in (Expire(item_id="a", attempt=1), Expire(item_id="gone", attempt=1)):
            again, directives = jido.cmd(hub, stale)
            assert (again, directives) == (hub, [])
        hub, _ = jido.cmd(hub, RecordDone(item_id="a", worker=W1, attempt=2, result={}))
        again, directives = jido.cmd(hub, Expire(item_id="a", attempt=2))
        assert (again, directives) == (hub, [])

    def test_out_of_attempts_fails(self) -> None:
        """After max_attempts expired leases the item is recorded failed, with the reason, and not assigned."""
        hub, _ = jido.cmd(with_workers(W0, W1, max_attempts=2), Submit(item_id="a"))
        hub, _ = jido.cmd(hub, Expire(item_id="a", attempt=1))
        hub, directives = jido.cmd(hub, Expire(item_id="a", attempt=2))
        assert directives == []
        assert hub.state.ledger["a"] == WorkItem(
            payload={},
            status="failed",
            worker=W1,
            attempt=2,
            error="no report after 2 attempts (last on 'hub/worker-1')",
        )
        assert settled(hub.state)

    def test_worker_exit_reassigns_its_items(self) -> None:
        """A worker that exits leaves the rotation; its pending items go to the others at once."""
        hub, _ = jido.cmd(with_workers(W0, W1), [Submit(item_id=i) for i in ("a", "b", "c")])
        hub, _ = jido.cmd(hub, RecordDone(item_id="a", worker=W0, attempt=1, result={}))
        hub, directives = jido.cmd(hub, WorkerExited(tag="worker-0", id=W0, reason="normal"))
        assert assignments(directives) == [(W1, "c", 2)]  # a is done; b was on W1
        assert hub.state.workers == [W1]

    def test_last_worker_exit_leaves_items_waiting(self) -> None:
        """When the last worker exits its items wait unassigned for the next one."""
        hub, _ = jido.cmd(with_workers(W0), Submit(item_id="a"))
        hub, directives = jido.cmd(hub, WorkerExited(tag="worker-0", id=W0))
        assert directives == []
        assert (hub.state.ledger["a"].worker, hub.state.ledger["a"].status) == (None, "pending")
        assert by_status(hub.state) == {"pending": ["a"], "done": [], "failed": []}


class TestWorkerCore:
    def worker(self) -> jido.Agent:
        worker: jido.Agent = Worker.new(W0, hub_id="hub")  # type: ignore[attr-defined]
        return worker

    def test_process_reports_to_hub(self) -> None:
        """A worker records the item and reports its result to the hub's id."""
        worker, directives = jido.cmd(
            self.worker(), Process(item_id="a", payload={"text": "two words"}, attempt=1)
        )
        assert worker.state.processed == ["a"]
        [report] = directives
        assert isinstance(report, jido.Emit) and report.to == "hub"
        assert report.signal.type == "hub.work.done"
        assert report.signal.data == {"item_id": "a", "worker": W0, "attempt": 1, "result": {"words": 2}}

    def test_worker_without_hub_refused(self) -> None:
        """A worker started without a hub id refuses work instead of reporting it nowhere."""
        orphan: jido.Agent = Worker.new("w")  # type: ignore[attr-defined]
        worker, directives = jido.cmd(orphan, Process(item_id="a", payload={}, attempt=1))
        assert worker == orphan
        with pytest.raises(
            jido.ActionError,
            match=r"""^action 'process' failed: ValueError\("worker 'w' has no hub_id to report to"\)$""",
        ):
            raise error_of(directives)

    def test_poison_fails(self) -> None:
        """A poison item fails on every attempt and is not recorded."""
        for attempt in (1, 2, 3):
            worker, directives = jido.cmd(
                self.worker(), Process(item_id="p", payload={"poison": True}, attempt=attempt)
            )
            assert worker.state.processed == []
            with pytest.raises(
                jido.ActionError, match=r"""^action 'process' failed: InjectedFault\("poison item 'p'"\)$"""
            ):
                raise error_of(directives)

    def test_flaky_fails_first_attempts_only(self) -> None:
        """An item with fail_attempts=k fails on attempts 1..k and succeeds after."""
        payload = {"text": "x", "fail_attempts": 2}
        for attempt in (1, 2):
            _, directives = jido.cmd(self.worker(), Process(item_id="f", payload=payload, attempt=attempt))
            assert isinstance(error_of(directives), jido.ActionError)
        worker, _ = jido.cmd(self.worker(), Process(item_id="f", payload=payload, attempt=3))
        assert worker.state.processed == ["f"]


def items(count: int, **faults: dict[str, Any]) -> list[tuple[str, dict[str, Any]]]:
    """``count`` items item-0.. with a text payload; ``faults`` adds payload keys to the named items."""
    return [(f"item-{i}", {"text": f"item number {i}", **faults.get(f"item_{i}", {})}) for i in range(count)]


def processed_counts(rt: jido.Runtime, hub: jido.AgentRef) -> collections.Counter[str]:
    """How many times the workers did each item (over every worker's committed state)."""
    return collections.Counter(item for w in workers_of(rt, hub) for item in w.state.processed)


def workers_of(rt: jido.Runtime, hub: jido.AgentRef) -> list[jido.AgentRef]:
    return [ref for ref in rt.agents() if ref.id.startswith(f"{hub.id}/")]


def crash_letters(rt: jido.Runtime) -> list[tuple[str | None, str, int]]:
    return [
        (d.agent_id, d.signal.data["item_id"], d.signal.data["attempt"])
        for d in rt.dead_letters()
        if d.reason == "crash"
    ]


class TestUnderRuntime:
    async def test_workers_started_as_children(self, autojump_clock: trio.testing.MockClock) -> None:
        """The hub spawns its workers as children with ids hub/worker-<i> and keeps them in its rotation."""
        async with jido.open_runtime() as rt:
            hub = await run_hub(rt, [], workers=4)
            ids = [f"hub/worker-{i}" for i in range(4)]
            assert hub.state.workers == ids
            assert [ref.id for ref in workers_of(rt, hub)] == ids
            assert all(ref.state.hub_id == "hub" for ref in workers_of(rt, hub))

    async def test_items_submitted_before_workers(self, autojump_clock: trio.testing.MockClock) -> None:
        """Items submitted before the workers start wait, then are spread over the workers as they start."""
        async with jido.open_runtime() as rt:
            hub = await rt.start_agent(Hub, id="hub")
            for i in range(3):
                await hub.call(submit(f"item-{i}", text="early"))
            assert by_status(hub.state)["pending"] == ["item-0", "item-1", "item-2"]
            await hub.call(start_workers(2))
            state = await hub.wait_state(settled)
            assert [state.ledger[f"item-{i}"].worker for i in range(3)] == [W0, W0, W0]
            assert processed_counts(rt, hub) == {"item-0": 1, "item-1": 1, "item-2": 1}

    async def test_all_done_once_despite_a_crash(self, autojump_clock: trio.testing.MockClock) -> None:
        """A worker crashing in the middle loses nothing: every item is done, exactly once, none done twice."""
        async with jido.open_runtime() as rt:
            hub = await run_hub(rt, items(9, item_4={"fail_attempts": 1}), workers=3)
            assert by_status(hub.state) == {
                "pending": [],
                "done": [f"item-{i}" for i in range(9)],
                "failed": [],
            }
            assert processed_counts(rt, hub) == {f"item-{i}": 1 for i in range(9)}
            assert hub.state.late_reports == 0
            assert crash_letters(rt) == [(W1, "item-4", 1)]
            retried = hub.state.ledger["item-4"]
            assert (retried.attempt, retried.worker, retried.result) == (2, W0, {"words": 3})
            assert [w.restarts for w in workers_of(rt, hub)] == [0, 1, 0]

    async def test_poison_recorded_failed(self, autojump_clock: trio.testing.MockClock) -> None:
        """A poison item ends failed after max_attempts crashes, each in the dead letters; the rest are done once."""
        async with jido.open_runtime() as rt:
            start = trio.current_time()
            hub = await run_hub(rt, items(9, item_4={"poison": True}), workers=3, lease_seconds=30.0)
            assert by_status(hub.state) == {
                "pending": [],
                "done": [f"item-{i}" for i in range(9) if i != 4],
                "failed": ["item-4"],
            }
            failed = hub.state.ledger["item-4"]
            assert failed.error == "no report after 2 attempts (last on 'hub/worker-0')"
            assert crash_letters(rt) == [(W1, "item-4", 1), (W0, "item-4", 2)]
            letter = rt.dead_letters()[0]
            with pytest.raises(
                jido.ActionError,
                match=r"""^action 'process' failed: InjectedFault\("poison item 'item-4'"\)$""",
            ):
                raise letter.error
            assert processed_counts(rt, hub) == {f"item-{i}": 1 for i in range(9) if i != 4}
            assert trio.current_time() - start == 60.0  # two leases, the only waits

    async def test_crashed_worker_resumes(self, autojump_clock: trio.testing.MockClock) -> None:
        """The crashed worker restarts from its committed state and does the items queued behind the poison."""
        async with jido.open_runtime() as rt:
            hub = await run_hub(rt, items(9, item_4={"poison": True}), workers=3)
            crashed = rt.get(W1)
            assert crashed.restarts == 1
            assert crashed.state.processed == ["item-1", "item-7"]
            behind = hub.state.ledger["item-7"]
            assert (behind.status, behind.worker, behind.attempt) == ("done", W1, 1)

    async def test_stopped_worker_items_reassigned(self, autojump_clock: trio.testing.MockClock) -> None:
        """A worker stopped while it holds an item: the hub moves the item at once, without waiting for the lease."""
        async with jido.open_runtime() as rt:
            hub = await run_hub(rt, [], workers=2, lease_seconds=30.0)
            await hub.call(submit("a", text="x"))
            await hub.call(submit("b", text="y", fail_attempts=1))  # W1 crashes on it and holds it
            await trio.sleep(1)
            assert crash_letters(rt) == [(W1, "b", 1)]
            start = trio.current_time()
            await rt.get(W1).stop()
            state = await hub.wait_state(settled)
            assert trio.current_time() == start  # moved by the exit, not by the lease
            assert (state.ledger["b"].status, state.ledger["b"].worker, state.ledger["b"].attempt) == (
                "done",
                W0,
                2,
            )
            assert state.workers == [W0]
            await hub.call(submit("c", text="z"))
            state = await hub.wait_state(settled)
            assert state.ledger["c"].worker == W0

    async def test_bad_submission_keeps_the_ledger(self, autojump_clock: trio.testing.MockClock) -> None:
        """A duplicate item id is refused to the caller and dead-lettered; the hub restarts with its ledger."""
        async with jido.open_runtime() as rt:
            hub = await run_hub(rt, items(3), workers=2)
            duplicate = submit("item-1", text="again")
            with pytest.raises(
                jido.ActionError,
                match=r"""^action 'submit' failed: ValueError\("item 'item-1' was already submitted"\)$""",
            ):
                await hub.call(duplicate)
            assert [(d.signal.id, d.reason) for d in rt.dead_letters()] == [(duplicate.id, "crash")]
            assert by_status(hub.state)["done"] == ["item-0", "item-1", "item-2"]
            await hub.call(submit("item-3", text="one more"))
            assert hub.restarts == 1
            state = await hub.wait_state(settled)
            assert state.ledger["item-3"].status == "done"
            assert len(workers_of(rt, hub)) == 2

    async def test_children_stop_with_hub(self, autojump_clock: trio.testing.MockClock) -> None:
        """Stopping the hub stops its workers: none is left in the runtime."""
        async with jido.open_runtime() as rt:
            hub = await run_hub(rt, items(4), workers=3)
            workers = workers_of(rt, hub)
            assert len(workers) == 3
            await hub.stop()
            assert rt.agents() == []
            assert all(w.status == "stopped" for w in workers)

    async def test_demo_items(self, autojump_clock: trio.testing.MockClock) -> None:
        """The demo's items: item-3 is done on its second attempt, item-5 fails, the rest are done."""
        async with jido.open_runtime() as rt:
            hub = await run_hub(rt, demo_items(), workers=3)
            groups = by_status(hub.state)
            assert groups["failed"] == ["item-5"]
            assert len(groups["done"]) == 7
            assert hub.state.ledger["item-3"].attempt == 2
            assert sum(w.restarts for w in workers_of(rt, hub)) == 3
