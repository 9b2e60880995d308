"""Hibernated agents on the dashboard: listed after the live ones, paged from the runtime in hibernation order,
filtered, counted, and shown on their own page, at a bounded cost with many thousands of them; and the
parameters, frames and bodies of the pages and the API checked at the boundary (under virtual time: the app is
called in process, and live pages through a stub websocket)."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

import httpx
import pytest
import trio
import trio.testing

import jido
from jido.ops import OPS_ACTION, views
from jido.ops.access import Access
from jido.ops.app import BODY_TIMEOUT, OpsState, build_app
from jido.ops.feed import Feed
from jido.ops.live import SEND_TIMEOUT, LiveClient
from jido.ops.metrics import Metrics
from jido.ops.recorder import Recorder
from jido.ops.sleepers import FILTER_WINDOW, REFRESH, Sleepers
from jido.runtime.runtime import Runtime
from jido.store.memory import MemoryStateStore
from jido.telemetry import Event, attach
from tests.runtime.sleepers import Sleeper, command

from .helpers import ADMIN, TOKENS, VIEWER, Worker, add

MANY = 20_000


@asynccontextmanager
async def api(rt: Runtime) -> AsyncIterator[tuple[httpx.AsyncClient, OpsState]]:
    """The surface's app called in process (no sockets, so virtual time is safe), without tokens."""
    with Recorder(rt) as recorder:
        state = OpsState(rt, Access(None), Feed(rt, recorder), Metrics())
        transport = httpx.ASGITransport(app=build_app(state))
        async with httpx.AsyncClient(transport=transport, base_url="http://127.0.0.1") as http:
            yield http, state


async def _fall_asleep(rt: Runtime, ids: list[str]) -> None:
    for agent_id in ids:
        await rt.start_agent(Sleeper, id=agent_id)
    await trio.sleep(11)  # past Sleeper's idle timeout (virtual time)
    await trio.testing.wait_all_tasks_blocked()
    assert rt.statistics().hibernated == len(ids)


def _spy(rt: Runtime, monkeypatch: pytest.MonkeyPatch) -> list[dict[str, Any]]:
    """Record every question the surface asks of ``rt.hibernated_agents``."""
    calls: list[dict[str, Any]] = []
    real = rt.hibernated_agents

    def spied(**kw: Any) -> Any:
        calls.append(kw)
        return real(**kw)

    monkeypatch.setattr(rt, "hibernated_agents", spied)
    return calls


class TestManySleepers:
    async def test_pages_are_bounded_and_counted(
        self, autojump_clock: trio.testing.MockClock, monkeypatch: pytest.MonkeyPatch
    ) -> None:
        """With 20,000 sleepers, a page holds at most its limit, totals count everyone, filters narrow."""
        async with jido.open_runtime() as rt, api(rt) as (http, _state):
            await _fall_asleep(rt, [f"s{i:05d}" for i in range(MANY)])
            for index in range(3):
                ref = await rt.start_agent(Worker, id=f"w{index}")
                for _ in range(index):
                    await ref.call(add())
            order = [h.id for h in rt.hibernated_agents(limit=MANY)[0]]  # hibernation order
            calls = _spy(rt, monkeypatch)

            page = (await http.get("/api/agents")).json()
            assert (page["total"], page["live"], page["hibernated"]) == (MANY + 3, 3, MANY)
            assert [r["id"] for r in page["rows"]] == ["w0", "w1", "w2", *order[:97]]
            asleep = page["rows"][3]
            assert asleep == {
                "id": order[0],
                "name": "sleeper",
                "status": "hibernated",
                "mailbox_depth": None,
                "mailbox_size": None,
                "handled": None,
                "errors": None,
                "restarts": None,
                "restart": "transient",
                "pending_work": False,
            }

            # Sorted by a column: the live rows are; the sleepers follow in hibernation order.
            page = (
                await http.get("/api/agents", params={"sort": "handled", "desc": "1", "limit": "5"})
            ).json()
            assert [r["id"] for r in page["rows"]] == ["w2", "w1", "w0", *order[:2]]

            # The last page: the window runs past the live rows into the sleepers, and stops at the end.
            page = (await http.get("/api/agents", params={"offset": str(MANY - 47), "limit": "100"})).json()
            assert [r["id"] for r in page["rows"]] == order[-50:]
            beyond = (await http.get("/api/agents", params={"offset": "100000000"})).json()
            assert beyond["rows"] == [] and beyond["total"] == MANY + 3

            only = (await http.get("/api/agents", params={"status": "hibernated", "limit": "500"})).json()
            assert (only["total"], only["live"], len(only["rows"])) == (MANY, 0, 500)
            assert {r["status"] for r in only["rows"]} == {"hibernated"}

            running = (await http.get("/api/agents", params={"status": "running"})).json()
            assert (running["total"], running["hibernated"]) == (3, 0)

            found = (await http.get("/api/agents", params={"q": "S1999"})).json()
            assert [r["id"] for r in found["rows"]] == [i for i in order if i.startswith("s1999")]
            assert found["total"] == 10
            by_class = (await http.get("/api/agents", params={"q": "sleep", "limit": "3"})).json()
            assert by_class["total"] == MANY and [r["id"] for r in by_class["rows"]] == order[:3]
            workers = (await http.get("/api/agents", params={"q": "w", "status": "hibernated"})).json()
            assert workers["total"] == 0 and workers["rows"] == []

            # No question asked for more than a page (a filter: its window): nothing copied or sorted every sleeper.
            assert calls and all(
                c["limit"] <= (FILTER_WINDOW if c.get("contains") else views.MAX_PAGE) for c in calls
            )

    async def test_filtered_answers_are_kept(
        self, autojump_clock: trio.testing.MockClock, monkeypatch: pytest.MonkeyPatch
    ) -> None:
        """A filter scans the sleepers once while they do not change, and at most once per REFRESH when they do."""
        async with jido.open_runtime() as rt:
            await _fall_asleep(rt, [f"s{i:03d}" for i in range(300)])
            sleepers = Sleepers(rt)
            query = views.AgentQuery(q="s1", status="hibernated")
            first = views.agents_page(rt, query, sleepers)
            for _ in range(5):  # every page, every tick: one scan
                assert views.agents_page(rt, query, sleepers) == first
            assert sleepers.scans == 1 and first["total"] == 100

            await rt.agent(Sleeper, "s100").call(command("ping"))  # wakes: the sleepers changed
            assert views.agents_page(rt, query, sleepers)["total"] == 100  # kept a little while
            assert sleepers.scans == 1
            await trio.sleep(REFRESH)
            assert views.agents_page(rt, query, sleepers)["total"] == 99
            assert sleepers.scans == 2
            # Another page of the same filter comes from what was kept; another filter is another scan;
            # unfiltered pages are never kept (they cost only their rows).
            paged = views.agents_page(rt, views.AgentQuery(q="s1", status="hibernated", offset=10), sleepers)
            expected = [h.id for h in rt.hibernated_agents(contains="s1", limit=1000)[0]][10:]
            assert [r["id"] for r in paged["rows"]] == expected[: len(paged["rows"])] and paged["rows"]
            assert sleepers.scans == 2
            views.agents_page(rt, views.AgentQuery(status="hibernated"), sleepers)
            assert sleepers.scans == 2
            views.agents_page(rt, views.AgentQuery(q="s2", status="hibernated"), sleepers)
            assert sleepers.scans == 3

    async def test_a_filter_shows_its_first_window(
        self, autojump_clock: trio.testing.MockClock, monkeypatch: pytest.MonkeyPatch
    ) -> None:
        """Pages of a filter past its first FILTER_WINDOW matches are empty; the total still counts them all."""
        monkeypatch.setattr("jido.ops.sleepers.FILTER_WINDOW", 50)
        async with jido.open_runtime() as rt:
            await _fall_asleep(rt, [f"s{i:03d}" for i in range(120)])
            sleepers = Sleepers(rt)
            order = [h.id for h in rt.hibernated_agents(limit=1000)[0]]
            rows, total = sleepers.page("s", 40, 20)
            assert [r.id for r in rows] == order[40:50] and total == 120
            assert sleepers.page("s", 60, 20) == ([], 120)
            assert sleepers.scans == 1


class TestQueries:
    @pytest.mark.parametrize(
        ("params", "error"),
        [
            ({"offset": "-1"}, "offset: must be a whole number from 0 to 100000000, got '-1'"),
            ({"offset": "1e3"}, "offset: must be a whole number from 0 to 100000000, got '1e3'"),
            ({"offset": "1_000"}, "offset: must be a whole number from 0 to 100000000, got '1_000'"),
            ({"offset": " 5"}, "offset: must be a whole number from 0 to 100000000, got ' 5'"),
            ({"offset": "\u0665"}, "offset: must be a whole number from 0 to 100000000, got '\u0665'"),
            (
                {"offset": "9" * 5000},
                "offset: must be a whole number from 0 to 100000000, got '" + "9" * 39 + "...",
            ),
            ({"offset": "100000001"}, "offset: must be a whole number from 0 to 100000000, got 100000001"),
            ({"limit": "1000000000"}, "limit: must be a whole number from 1 to 500, got 1000000000"),
            ({"limit": "0"}, "limit: must be a whole number from 1 to 500, got 0"),
            ({"limit": "x"}, "limit: must be a whole number from 1 to 500, got 'x'"),
            ({"limit": ""}, "limit: must be a whole number from 1 to 500, got ''"),
            (
                {"sort": "nope"},
                "sort: must be one of id, name, status, mailbox_depth, handled, errors, restarts, got 'nope'",
            ),
            (
                {"status": "asleep"},
                "status: must be one of failed, hibernated, restarting, running, starting, stopped, got 'asleep'",
            ),
            ({"desc": "maybe"}, "desc: must be true or false (1 or 0), got 'maybe'"),
            ({"q": "x" * 201}, "q: may be at most 200 characters, got 201"),
        ],
    )
    async def test_bad_agents_params_are_named(self, params: dict[str, str], error: str) -> None:
        """A parameter the page could not have sent is a 400 naming it, never a page of something else."""
        async with jido.open_runtime() as rt, api(rt) as (http, _state):
            answer = await http.get("/api/agents", params=params)
            assert (answer.status_code, answer.json()) == (400, {"error": error})

    @pytest.mark.parametrize(
        ("path", "params", "error"),
        [
            ("/api/agent", {}, "id: give the agent's id (at most 1024 characters): /api/agent?id=..."),
            (
                "/api/agent",
                {"id": "a" * 1025},
                "id: give the agent's id (at most 1024 characters): /api/agent?id=...",
            ),
            ("/api/dead-letters", {"limit": "-1"}, "limit: must be a whole number from 1 to 500, got '-1'"),
            ("/api/dead-letters", {"limit": "501"}, "limit: must be a whole number from 1 to 500, got 501"),
            (
                "/api/trace",
                {"id": ""},
                "id: give the signal's id (at most 1024 characters): /api/trace?id=...",
            ),
        ],
    )
    async def test_bad_params_elsewhere(self, path: str, params: dict[str, str], error: str) -> None:
        """The other endpoints' parameters are checked the same way."""
        async with jido.open_runtime() as rt, api(rt) as (http, _state):
            answer = await http.get(path, params=params)
            assert (answer.status_code, answer.json()) == (400, {"error": error})

    async def test_odd_but_fine_params(self) -> None:
        """Unknown parameters are ignored; a filter of odd characters is only a filter; booleans in words."""
        async with jido.open_runtime() as rt, api(rt) as (http, _state):
            await rt.start_agent(Worker, id="w\u00e9\u0000")
            for params in [
                {"nope": "1"},
                {"q": "\u00e9\u0000"},
                {"q": "%", "desc": "true"},
                {"desc": "false"},
            ]:
                answer = await http.get("/api/agents", params=params)
                assert answer.status_code == 200, params
            assert (await http.get("/api/agents", params={"q": "\u00c9"})).json()["total"] == 1


class TestHibernatedAgentPage:
    async def test_without_store(self, autojump_clock: trio.testing.MockClock) -> None:
        """A sleeper's page says it sleeps, whether timers will wake it, and that its state loads on waking."""
        async with jido.open_runtime() as rt, api(rt) as (http, _state):
            a = await rt.start_agent(Sleeper, id="a")
            await rt.start_agent(Sleeper, id="b")
            await a.call(command("set.later", delay=3600.0))
            await trio.sleep(11)
            await trio.testing.wait_all_tasks_blocked()
            detail = (await http.get("/api/agent", params={"id": "a"})).json()
            assert detail == {
                "id": "a",
                "status": "hibernated",
                "name": "sleeper",
                "restart": "transient",
                "pending_work": True,
                "state": None,
                "stored": None,
                "state_note": "hibernated; state loads when it wakes",
            }
            assert (await http.get("/api/agent", params={"id": "b"})).json()["pending_work"] is False
            assert (await http.get("/api/agent", params={"id": "c"})).status_code == 404
            # Reading the page does not wake it.
            assert rt.statistics().hibernated == 2 and rt.whereis("a") is None

    async def test_with_store(self, autojump_clock: trio.testing.MockClock) -> None:
        """With a store, the page shows the stored state and its revision, read without waking the agent."""
        async with jido.open_runtime(store=MemoryStateStore()) as rt, api(rt) as (http, _state):
            ref = await rt.start_agent(Sleeper, id="a")
            await ref.call(command("ping"))
            await trio.sleep(11)
            await trio.testing.wait_all_tasks_blocked()
            detail = (await http.get("/api/agent", params={"id": "a"})).json()
            assert detail["status"] == "hibernated" and detail["pending_work"] is False
            assert detail["state"] == '{\n  "log": [\n    "ping"\n  ]\n}'
            assert detail["stored"]["revision"] >= 1
            assert detail["state_note"].startswith("as stored (revision ")
            assert rt.whereis("a") is None

    async def test_readyz_and_tree_use_the_public_runtime(self) -> None:
        """The tree comes from rt.root_supervisor; /readyz says when the runtime has closed."""
        async with jido.open_runtime() as rt, api(rt) as (http, _state):
            await rt.start_agent(Worker, id="w")
            tree = (await http.get("/api/tree")).json()
            assert [c["id"] for c in tree["children"]] == ["w"]
            assert (await http.get("/readyz")).status_code == 200
        async with api(rt) as (http, _state):
            closed = await http.get("/readyz")
            assert closed.status_code == 503
            assert "the runtime is closed" in closed.json()["problems"]
            assert (await http.get("/api/tree")).json()["children"] == []


class StubSocket:
    """What LiveClient uses of a websocket: frames in from a channel, messages out to a list, or never out."""

    def __init__(self, *, sends_before_stall: int | None = None) -> None:
        self.sent: list[dict[str, Any]] = []
        self.frames, self._inbox = trio.open_memory_channel[dict[str, Any]](16)
        self.closed: int | None = None
        self._sends_left = sends_before_stall

    async def send_text(self, text: str) -> None:
        if self._sends_left is not None:
            if self._sends_left == 0:
                await trio.sleep_forever()  # a client that stopped reading
            self._sends_left -= 1
        self.sent.append(json.loads(text))

    async def receive(self) -> dict[str, Any]:
        return await self._inbox.receive()

    async def close(self, code: int = 1000, reason: str = "") -> None:
        self.closed = code

    async def say(self, message: dict[str, Any]) -> None:
        await self.frames.send({"type": "websocket.receive", "text": json.dumps(message)})


@asynccontextmanager
async def live_page(rt: Runtime, socket: StubSocket) -> AsyncIterator[LiveClient]:
    with Recorder(rt) as recorder:
        client = LiveClient(socket, rt, Feed(rt, recorder), dict, Sleepers(rt))  # type: ignore[arg-type]
        async with trio.open_nursery() as nursery:
            nursery.start_soon(client.run)
            yield client
            nursery.cancel_scope.cancel()


async def _next_tick(socket: StubSocket, view: str) -> dict[str, Any]:
    with trio.fail_after(60):  # a bound on a broken test (virtual time)
        while True:
            await trio.testing.wait_all_tasks_blocked()
            for message in socket.sent:
                if message["kind"] == "tick" and message["view"] == view:
                    socket.sent.clear()
                    return message
            socket.sent.clear()
            await trio.sleep(1)


class TestLivePages:
    async def test_hibernated_rows_and_page_over_the_websocket(
        self, autojump_clock: trio.testing.MockClock
    ) -> None:
        """A live page lists sleepers with the 'hibernated' status filter and shows a sleeper's own page."""
        async with jido.open_runtime() as rt:
            await _fall_asleep(rt, ["a", "b"])
            socket = StubSocket()
            async with live_page(rt, socket):
                await socket.say({"op": "view", "view": "agents", "params": {"status": "hibernated"}})
                tick = await _next_tick(socket, "agents")
                assert tick["data"]["total"] == 2 and {r["id"] for r in tick["data"]["rows"]} == {"a", "b"}
                await socket.say({"op": "view", "view": "agent", "id": "a"})
                tick = await _next_tick(socket, "agent")
                assert tick["data"]["status"] == "hibernated" and tick["data"]["missing"] is False
                assert tick["data"]["state_note"] == "hibernated; state loads when it wakes"
                assert rt.whereis("a") is None  # showing it did not wake it

    async def test_bad_view_params_are_named_and_change_nothing(
        self, autojump_clock: trio.testing.MockClock
    ) -> None:
        """A view with a parameter out of range is answered with an error naming it; the page keeps its view."""
        async with jido.open_runtime() as rt:
            socket = StubSocket()
            async with live_page(rt, socket) as client:
                for params, error in [
                    ({"offset": -1}, "offset: must be a whole number from 0 to 100000000, got -1"),
                    ({"limit": 10**9}, "limit: must be a whole number from 1 to 500, got 1000000000"),
                    ({"limit": 1e999}, "limit: must be a whole number from 1 to 500, got inf"),
                    ({"limit": True}, "limit: must be a whole number from 1 to 500, got True"),
                    ({"q": ["x"]}, "q: must be a string, got ['x']"),
                    (
                        {"status": "zombie"},
                        "status: must be one of failed, hibernated, restarting, running, starting, stopped, got 'zombie'",
                    ),
                ]:
                    await socket.frames.send(
                        {
                            "type": "websocket.receive",
                            "text": json.dumps({"op": "view", "view": "agents", "params": params}),
                        }
                    )
                    await trio.testing.wait_all_tasks_blocked()
                    assert {"kind": "error", "message": error} in socket.sent, params
                    assert client.view == "overview"
                    socket.sent.clear()

    async def test_binary_frame_closes_with_1003(self, autojump_clock: trio.testing.MockClock) -> None:
        """A binary frame is another protocol: the page is closed with 1003 (unsupported data)."""
        async with jido.open_runtime() as rt:
            socket = StubSocket()
            with Recorder(rt) as recorder:
                client = LiveClient(socket, rt, Feed(rt, recorder), dict)  # type: ignore[arg-type]
                await socket.frames.send({"type": "websocket.receive", "bytes": b"\x00\x01"})
                with trio.fail_after(60):
                    await client.run()
            assert socket.closed == 1003

    async def test_a_page_that_stops_reading_is_dropped(self, autojump_clock: trio.testing.MockClock) -> None:
        """A client that takes no message within SEND_TIMEOUT is dropped instead of holding its slot forever."""
        async with jido.open_runtime() as rt:
            socket = StubSocket(sends_before_stall=1)  # the hello, then nothing
            with Recorder(rt) as recorder:
                client = LiveClient(socket, rt, Feed(rt, recorder), dict)  # type: ignore[arg-type]
                start = trio.current_time()
                with trio.fail_after(SEND_TIMEOUT * 2):
                    await client.run()
            assert [m["kind"] for m in socket.sent] == ["hello"]
            assert trio.current_time() - start >= SEND_TIMEOUT


class TestSlowBodies:
    async def test_a_body_that_never_arrives_is_408(self, autojump_clock: trio.testing.MockClock) -> None:
        """A request whose body does not arrive within BODY_TIMEOUT is answered 408, not held open."""
        async with jido.open_runtime() as rt:
            with Recorder(rt) as recorder:
                state = OpsState(rt, Access(dict(TOKENS)), Feed(rt, recorder), Metrics())
                app = build_app(state)
                sent: list[dict[str, Any]] = []
                chunks = [{"type": "http.request", "body": b'{"ag', "more_body": True}]

                async def receive() -> dict[str, Any]:
                    if chunks:
                        return chunks.pop()
                    await trio.sleep_forever()  # the rest of the body never comes
                    raise AssertionError

                async def send(message: dict[str, Any]) -> None:
                    sent.append(message)

                scope = {
                    "type": "http",
                    "asgi": {"version": "3.0"},
                    "http_version": "1.1",
                    "method": "POST",
                    "scheme": "http",
                    "path": "/api/restart",
                    "raw_path": b"/api/restart",
                    "query_string": b"",
                    "root_path": "",
                    "headers": [
                        (b"host", b"127.0.0.1"),
                        (b"authorization", f"Bearer {ADMIN}".encode()),
                        (b"content-type", b"application/json"),
                        (b"content-length", b"100"),
                    ],
                    "client": ("127.0.0.1", 5000),
                    "server": ("127.0.0.1", 8766),
                }
                start = trio.current_time()
                with trio.fail_after(BODY_TIMEOUT * 2):
                    await app(scope, receive, send)
                assert trio.current_time() - start == pytest.approx(BODY_TIMEOUT)
                assert sent[0]["status"] == 408
                body = b"".join(m.get("body", b"") for m in sent[1:])
                assert json.loads(body) == {"error": "the body did not arrive within 10 s"}


class TestWake:
    async def test_admin_wakes_a_sleeper(
        self, autojump_clock: trio.testing.MockClock, caplog: pytest.LogCaptureFixture
    ) -> None:
        """An admin wakes a sleeper through the checked change path; it is logged and emitted with who asked."""
        events: list[Event] = []
        async with jido.open_runtime() as rt:
            await _fall_asleep(rt, ["a"])
            with Recorder(rt) as recorder, attach(OPS_ACTION, events.append):
                state = OpsState(rt, Access(dict(TOKENS)), Feed(rt, recorder), Metrics())
                transport = httpx.ASGITransport(app=build_app(state))
                async with httpx.AsyncClient(transport=transport, base_url="http://127.0.0.1") as http:
                    viewer = await http.post("/api/wake", json={"agent": "a"}, headers=_bearer(VIEWER))
                    assert (viewer.status_code, viewer.json()) == (
                        403,
                        {"error": "this needs an admin token"},
                    )
                    woken = await http.post("/api/wake", json={"agent": "a"}, headers=_bearer(ADMIN))
                    assert woken.json() == {
                        "outcome": "ok",
                        "detail": "woken, running",
                        "agent": "a",
                        "status": "running",
                    }
                    assert rt.whereis("a") is not None and rt.statistics().hibernated == 0
                    again = await http.post("/api/wake", json={"agent": "a"}, headers=_bearer(ADMIN))
                    assert (again.status_code, again.json()) == (
                        409,
                        {"error": "agent 'a' is awake: only a hibernated agent is woken"},
                    )
                    nobody = await http.post("/api/wake", json={"agent": "z"}, headers=_bearer(ADMIN))
                    assert (nobody.status_code, nobody.json()) == (
                        404,
                        {"error": "no hibernated agent with id 'z'"},
                    )
                    bad = await http.post("/api/wake", json={"agent": 5}, headers=_bearer(ADMIN))
                    assert bad.status_code == 400 and bad.json()["error"].startswith(
                        "agent: give the agent's id"
                    )
        assert [(e.fields["outcome"], e.fields["principal"]) for e in events] == [
            ("ok", "alice"),
            ("refused", "alice"),
            ("refused", "alice"),
        ]
        assert "ops: wake a by alice: ok (woken, running)" in caplog.text


def _bearer(token: str) -> dict[str, str]:
    return {"authorization": f"Bearer {token}"}
