"""The operations surface over HTTP: health, readiness, metrics against ``rt.statistics()``, the JSON API."""

from __future__ import annotations

import logging

import pytest
import trio
from prometheus_client.parser import text_string_to_metric_families

import jido
from jido.bus.memory import MemoryJournal
from jido.ops import OPS_ACTION
from jido.telemetry import Event, attach

from .helpers import ADMIN, TOKENS, VIEWER, Counter, Worker, add, client, ops


def _samples(text: str) -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
    out: dict[tuple[str, tuple[tuple[str, str], ...]], float] = {}
    for family in text_string_to_metric_families(text):
        for sample in family.samples:
            out[(sample.name, tuple(sorted(sample.labels.items())))] = sample.value
    return out


class BrokenJournal(MemoryJournal):
    """A journal whose writes of checkpoints fail: the disk is full, say."""

    async def set_checkpoint(self, name: str, offset: int) -> int:
        raise OSError(28, "No space left on device")


class TestHealth:
    async def test_healthz_and_readyz(self) -> None:
        """/healthz and /readyz answer 200 without a token, even when the surface has tokens."""
        async with jido.open_runtime() as rt, ops(rt, tokens=TOKENS) as server, client(server) as http:
            assert (await http.get("/healthz")).json() == {"status": "ok"}
            ready = await http.get("/readyz")
            assert ready.status_code == 200 and ready.json() == {"status": "ready"}

    async def test_readyz_journal_not_writable(self) -> None:
        """/readyz is 503 and says why when the journal refuses a write."""
        async with (
            jido.open_runtime(journal=BrokenJournal()) as rt,
            ops(rt) as server,
            client(server) as http,
        ):
            ready = await http.get("/readyz")
            assert ready.status_code == 503
            assert ready.json() == {
                "status": "unavailable",
                "problems": ["journal: OSError: [Errno 28] No space left on device"],
            }
            assert (await http.get("/healthz")).status_code == 200

    async def test_readyz_not_started(self) -> None:
        """/readyz is 503 until whoever serves the runtime says it has started."""
        async with jido.open_runtime() as rt, ops(rt) as server, client(server) as http:
            server.state.ready = False
            ready = await http.get("/readyz")
            assert ready.status_code == 503
            assert ready.json()["problems"] == ["the runtime is not started"]


class TestMetrics:
    async def test_values_match_statistics(self) -> None:
        """Parsed with prometheus_client's parser, /metrics agrees with rt.statistics() and the bus."""
        async with jido.open_runtime() as rt, ops(rt) as server, client(server) as http:
            counter = await rt.start_agent(Counter, id="counter")
            worker = await rt.start_agent(Worker, id="worker")
            for by in (1, 2, 3):
                await counter.call(add(by))
            await worker.call(add())
            await rt.publish(jido.Signal(type="nobody.listens", source="/t"))
            await counter.call(jido.Signal(type="counter.picky", source="/t"))  # count 6 -> 7
            with pytest.raises(jido.ActionError):
                await counter.call(jido.Signal(type="counter.picky", source="/t"))  # odd: crashes
            response = await http.get("/metrics")
            assert response.headers["content-type"].startswith("text/plain; version=0.0.4")
            samples = _samples(response.text)
            stats = rt.statistics()
            bus = await rt.bus.statistics()
            assert samples[("jido_agents", (("status", "running"),))] == sum(
                1 for s in stats.statuses.values() if s == "running"
            )
            for agent_id in ("counter", "worker"):
                label = (("agent", agent_id),)
                assert samples[("jido_agent_handled_total", label)] == stats.handled[agent_id]
                assert samples[("jido_agent_errors_total", label)] == stats.errors.get(agent_id, 0)
                assert samples[("jido_agent_restarts_total", label)] == stats.restarts.get(agent_id, 0)
                assert samples[("jido_agent_mailbox_depth", label)] == stats.mailbox_depths[agent_id]
            assert samples[("jido_dead_letters_total", ())] == stats.dead_letters == 1
            assert samples[("jido_bus_last_offset", ())] == bus.last_offset
            assert samples[("jido_bus_published_total", ())] == bus.published
            for sub in bus.subscriptions:
                assert samples[("jido_subscription_lag", (("subscription", sub.name),))] == sub.lag
            handled = sum(stats.handled.values()) + sum(stats.errors.values())
            assert samples[("jido_signal_handling_seconds_count", ())] == handled
            assert samples[("jido_signal_handling_seconds_bucket", (("le", "+Inf"),))] == handled
            assert samples[("jido_signal_handling_errors_total", ())] == sum(stats.errors.values())

    async def test_registry_per_server(self) -> None:
        """Two runtimes in one process: each surface shows its own agents and its own latency counts."""
        async with (
            jido.open_runtime() as one,
            jido.open_runtime() as two,
            ops(one) as first,
            ops(two) as second,
            client(first) as http_one,
            client(second) as http_two,
        ):
            ref = await one.start_agent(Counter, id="only-in-one")
            await ref.call(add())
            await two.start_agent(Counter, id="only-in-two")
            a = _samples((await http_one.get("/metrics")).text)
            b = _samples((await http_two.get("/metrics")).text)
            assert ("jido_agent_handled_total", (("agent", "only-in-one"),)) in a
            assert ("jido_agent_handled_total", (("agent", "only-in-one"),)) not in b
            assert a[("jido_signal_handling_seconds_count", ())] == 1
            assert b[("jido_signal_handling_seconds_count", ())] == 0

    async def test_gateway_metrics(self) -> None:
        """With the gateway given, its connections and slow consumers are exported."""
        from functools import partial

        from jido.gateway import connect, serve_gateway
        from jido.ops import serve_ops

        async with jido.open_runtime() as rt, trio.open_nursery() as nursery:
            gateway = await nursery.start(serve_gateway, rt)
            server = await nursery.start(partial(serve_ops, rt, gateway=gateway))
            async with client(server) as http, connect(f"ws://127.0.0.1:{gateway.port}/"):
                samples = _samples((await http.get("/metrics")).text)
                assert samples[("jido_gateway_connections", ())] == 1
                assert samples[("jido_gateway_slow_consumers_total", ())] == 0
            nursery.cancel_scope.cancel()

    async def test_needs_token(self) -> None:
        """With tokens, /metrics needs one (a viewer's is enough)."""
        async with jido.open_runtime() as rt, ops(rt, tokens=TOKENS) as server:
            async with client(server) as http:
                assert (await http.get("/metrics")).status_code == 401
            async with client(server, VIEWER) as http:
                assert (await http.get("/metrics")).status_code == 200


class TestApi:
    async def test_agents_page_sorts_filters_and_bounds(self) -> None:
        """The agents list is sorted and filtered by the server and sends one bounded page."""
        async with jido.open_runtime() as rt, ops(rt) as server, client(server) as http:
            for index in range(12):
                ref = await rt.start_agent(Worker, id=f"w{index:02d}")
                for _ in range(index % 4):
                    await ref.call(add())
            page = (
                await http.get("/api/agents", params={"sort": "handled", "desc": "1", "limit": "5"})
            ).json()
            assert page["total"] == 12 and len(page["rows"]) == 5
            assert [r["id"] for r in page["rows"]] == ["w03", "w07", "w11", "w02", "w06"]
            page = (await http.get("/api/agents", params={"q": "W1", "limit": "500"})).json()
            assert [r["id"] for r in page["rows"]] == ["w10", "w11"] and page["limit"] == 500
            page = (await http.get("/api/agents")).json()
            assert (page["sort"], page["offset"], page["limit"], page["total"]) == ("id", 0, 100, 12)

    async def test_agent_detail(self) -> None:
        """An agent's page: state, routes, schedules; unknown ids are 404."""
        async with jido.open_runtime() as rt, ops(rt) as server, client(server) as http:
            ref = await rt.start_agent(Counter, id="c")
            await ref.call(add(4))
            detail = (await http.get("/api/agent", params={"id": "c"})).json()
            assert detail["state"] == '{\n  "count": 4\n}'
            assert [r["pattern"] for r in detail["routes"]] == [
                "counter.add",
                "counter.picky",
                "counter.forward",
            ]
            assert detail["schedules"] == {"timers": 0, "cron": []}
            missing = await http.get("/api/agent", params={"id": "nope"})
            assert missing.status_code == 404 and missing.json() == {"error": "no agent with id 'nope'"}

    async def test_trace(self) -> None:
        """A trace follows causation ids back to the cause and forward to every effect."""
        async with jido.open_runtime() as rt, ops(rt) as server, client(server) as http:
            ref = await rt.start_agent(Counter, id="c")
            await rt.subscribe_agent(ref, "counter.**")
            cause = jido.Signal(type="counter.forward", source="/t")
            await rt.publish(cause)
            for _ in range(100):
                if ref.state.count == 1:
                    break
                await trio.testing.wait_all_tasks_blocked()
            trace = (await http.get("/api/trace", params={"id": cause.id})).json()
            assert trace["causes"] == []
            assert [e["type"] for e in trace["effects"]] == ["counter.add"]
            effect = trace["effects"][0]["id"]
            back = (await http.get("/api/trace", params={"id": effect})).json()
            assert [c["id"] for c in back["causes"]] == [cause.id]
            assert (await http.get("/api/trace", params={"id": "nope"})).status_code == 404


class TestActions:
    async def _crash(self, rt: jido.Runtime) -> tuple[jido.AgentRef, int]:
        ref = await rt.start_agent(Counter, id="c")
        await ref.call(add(1))
        with pytest.raises(jido.ActionError):
            await ref.call(jido.Signal(type="counter.picky", source="/t"))
        [letter] = await rt.stored_dead_letters()
        return ref, letter.id

    async def test_redrive_logged_and_emitted(self, caplog: pytest.LogCaptureFixture) -> None:
        """An admin's redrive is handled, logged with who asked, and emitted as jido.ops.action."""
        events: list[Event] = []
        async with jido.open_runtime() as rt, ops(rt, tokens=TOKENS) as server, client(server, ADMIN) as http:
            ref, letter = await self._crash(rt)
            await ref.call(add(1))  # even: picky succeeds now
            with attach(OPS_ACTION, events.append), caplog.at_level(logging.WARNING, "jido.ops"):
                answer = await http.post(f"/api/dead-letters/{letter}/redrive")
            assert answer.status_code == 200
            assert answer.json() == {
                "outcome": "ok",
                "agent": "c",
                "detail": "handled by c",
                "handled": True,
                "state": {"count": 3},
            }
            assert await rt.stored_dead_letters() == []
            assert [dict(e.fields) for e in events] == [
                {
                    "action": "redrive",
                    "target": str(letter),
                    "principal": "alice",
                    "outcome": "ok",
                    "detail": "handled by c",
                }
            ]
            assert [r.getMessage() for r in caplog.records if r.name == "jido.ops"] == [
                f"ops: redrive {letter} by alice: ok (handled by c)"
            ]
            again = await http.post(f"/api/dead-letters/{letter}/redrive")
            assert again.status_code == 404

    async def test_discard_and_restart(self) -> None:
        """Discard removes a letter; restart of a running agent is a conflict, of an unknown one 404."""
        events: list[Event] = []
        async with jido.open_runtime() as rt, ops(rt, tokens=TOKENS) as server, client(server, ADMIN) as http:
            _, letter = await self._crash(rt)
            with attach(OPS_ACTION, events.append):
                assert (await http.post(f"/api/dead-letters/{letter}/discard")).json()["outcome"] == "ok"
                assert await rt.stored_dead_letters() == []
                running = await http.post("/api/restart", json={"agent": "c"})
                assert running.status_code == 409
                unknown = await http.post("/api/restart", json={"agent": "zzz"})
                assert unknown.status_code == 404
            assert [(e.fields["action"], e.fields["outcome"]) for e in events] == [
                ("discard", "ok"),
                ("restart", "refused"),
                ("restart", "refused"),
            ]

    async def test_restart_failed_agent(self) -> None:
        """A failed agent (past its restart budget) is restarted by an admin."""
        async with (
            jido.open_runtime(max_restarts=0) as rt,
            ops(rt, tokens=TOKENS) as server,
            client(server, ADMIN) as http,
        ):
            _ref, _ = await self._crash(rt)
            for _ in range(100):
                if "c" in rt.failed_agents():
                    break
                await trio.testing.wait_all_tasks_blocked()
            assert "c" in rt.failed_agents()
            listed = (await http.get("/api/agents", params={"status": "failed"})).json()
            assert [r["id"] for r in listed["rows"]] == ["c"]
            answer = await http.post("/api/restart", json={"agent": "c"})
            assert answer.status_code == 200 and answer.json()["status"] in ("running", "starting")
            assert rt.whereis("c") is not None
