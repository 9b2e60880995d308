"""Requests no client should send, to every endpoint: each is refused with a 4xx, nothing changes, and the
runtime and the surface go on serving everyone."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import httpx
import pytest
import trio
import trio_websocket
import wsproto
import wsproto.events

import jido
from jido.ops import OpsServer
from jido.ops.app import MAX_BODY
from jido.runtime.runtime import Runtime

from .helpers import ADMIN, TOKENS, VIEWER, Counter, add, client, ops

GETS = [
    "/metrics",
    "/api/session",
    "/api/overview",
    "/api/agents",
    "/api/agent?id=c",
    "/api/tree",
    "/api/dead-letters",
    "/api/dead-letters/1",
    "/api/bus",
    "/api/trace?id=x",
]
POSTS = ["/api/dead-letters/1/redrive", "/api/dead-letters/1/discard", "/api/restart", "/api/wake"]


@asynccontextmanager
async def served(**options: object) -> AsyncIterator[tuple[Runtime, OpsServer, int]]:
    """A runtime with a crashed signal (dead letter) and the surface; checks at the end that it still works."""
    async with jido.open_runtime() as rt, ops(rt, **options) as server:
        ref = await rt.start_agent(Counter, id="c")
        await ref.call(add())
        with pytest.raises(jido.ActionError):
            await ref.call(jido.Signal(type="counter.picky", source="/t"))
        [letter] = await rt.stored_dead_letters()
        yield rt, server, letter.id
        # Still serving, still handling, and the dead letter is still there: nothing hostile changed anything.
        assert (await rt.get("c").call(add())).state.count == 2
        assert [d.id for d in await rt.stored_dead_letters()] == [letter.id]
        async with client(server) as http:
            assert (await http.get("/healthz")).status_code == 200


async def _session(http: httpx.AsyncClient, token: str) -> str:
    answer = await http.post(
        "/login", json={"token": token}, headers={"origin": str(http.base_url).rstrip("/")}
    )
    assert answer.status_code == 200
    csrf: str = answer.json()["csrf"]
    return csrf


class TestTokens:
    @pytest.mark.parametrize("path", [*GETS, "/api/live"])
    @pytest.mark.parametrize(
        "header",
        [None, "Bearer wrong", "Basic YWRtaW46YWRtaW4=", "Bearer x y", "bearer", "Bearer " + "x" * 8000],
    )
    async def test_bad_tokens(self, path: str, header: str | None) -> None:
        """No token, a wrong one, another scheme, an empty or huge one: 401 (or 431), on every endpoint."""
        async with served(tokens=TOKENS) as (_, server, _letter), client(server) as http:
            headers = {} if header is None else {"authorization": header}
            answer = await http.get(path, headers=headers)
            assert answer.status_code in (401, 431) if path != "/api/live" else answer.status_code >= 400

    @pytest.mark.parametrize("path", POSTS)
    async def test_viewer_may_not_change(self, path: str) -> None:
        """A token without admin may look, never change: 403."""
        async with served(tokens=TOKENS) as (_, server, letter), client(server, VIEWER) as http:
            answer = await http.post(path.replace("/1/", f"/{letter}/"), json={"agent": "c"})
            assert answer.status_code == 403 and answer.json() == {"error": "this needs an admin token"}

    async def test_login_bad_tokens(self) -> None:
        """A wrong token does not sign in; bad bodies are 400; a huge one 413."""
        async with served(tokens=TOKENS) as (_, server, _letter), client(server) as http:
            assert (await http.post("/login", json={"token": "nope"})).status_code == 401
            assert (await http.post("/login", data={"token": "nope"})).status_code == 401
            assert (await http.post("/login", json=["token"])).status_code == 401
            bad = await http.post("/login", content=b"{", headers={"content-type": "application/json"})
            assert bad.status_code == 400
            assert (await http.post("/login", content=b"\xff\xfe", headers={})).status_code == 400
            huge = await http.post("/login", content=b"t" * (MAX_BODY + 1))
            assert huge.status_code == 413
            cross = await http.post(
                "/login", json={"token": ADMIN}, headers={"origin": "http://evil.example"}
            )
            assert cross.status_code == 403


class TestBrowserGuards:
    @pytest.mark.parametrize("path", POSTS)
    async def test_csrf_missing_or_wrong(self, path: str) -> None:
        """A cookie session's change needs its CSRF token and the page's own Origin."""
        async with served(tokens=TOKENS) as (_, server, letter), client(server) as http:
            csrf = await _session(http, ADMIN)
            url = path.replace("/1/", f"/{letter}/")
            origin = server.url.rstrip("/")
            cases = [
                ({"origin": origin}, "missing or wrong CSRF token"),
                ({"origin": origin, "x-jido-csrf": csrf + "x"}, "missing or wrong CSRF token"),
                ({"origin": origin, "x-jido-csrf": b"\xe9"}, "missing or wrong CSRF token"),
                ({"x-jido-csrf": csrf}, "an Origin header is needed"),
                ({"origin": "http://evil.example", "x-jido-csrf": csrf}, "cross-origin request refused"),
                ({"origin": "null", "x-jido-csrf": csrf}, "cross-origin request refused"),
            ]
            for headers, error in cases:
                answer = await http.post(url, json={"agent": "c"}, headers=headers)
                assert (answer.status_code, answer.json()) == (403, {"error": error}), headers

    async def test_cross_origin_with_bearer(self) -> None:
        """Even with a bearer token, a request from another origin is refused."""
        async with served(tokens=TOKENS) as (_, server, letter), client(server, ADMIN) as http:
            answer = await http.post(
                f"/api/dead-letters/{letter}/discard", headers={"origin": "http://evil.example"}
            )
            assert answer.status_code == 403

    async def test_open_surface_still_guards_changes(self) -> None:
        """Without tokens (loopback), a change still needs the session's CSRF token and same origin."""
        async with served() as (_, server, letter), client(server) as http:
            answer = await http.post(
                f"/api/dead-letters/{letter}/discard", headers={"origin": "http://evil.example"}
            )
            assert answer.status_code == 403
            answer = await http.post(
                f"/api/dead-letters/{letter}/discard", headers={"origin": server.url.rstrip("/")}
            )
            assert answer.json() == {"error": "missing or wrong CSRF token"}

    @pytest.mark.parametrize("host", ["evil.example", "evil.example:80", "10.0.0.1", "", "[::1"])
    async def test_dns_rebinding(self, host: str) -> None:
        """On loopback, a Host header that is not a loopback name is refused (421) before anything else."""
        async with served() as (_, server, _letter), client(server) as http:
            for path in ["/", "/api/agents", "/metrics"]:
                answer = await http.get(path, headers={"host": host})
                assert answer.status_code in (400, 421), (path, host)


class TestBodies:
    async def test_bad_json_and_ids(self) -> None:
        """Bad JSON, non-objects, unknown or malformed ids: 400 or 404, nothing changes."""
        async with served(tokens=TOKENS) as (_, server, letter), client(server, ADMIN) as http:
            cases = [
                ("/api/restart", b"{", 400),
                ("/api/restart", b"[1]", 400),
                ("/api/restart", b'{"agent": 5}', 400),
                ("/api/restart", b'{"agent": ""}', 400),
                ("/api/restart", b"[" * 100_000, 413),
                ("/api/restart", b'{"agent": "nope"}', 404),
                ("/api/restart", b'{"agent": "c"}', 409),
                (f"/api/dead-letters/{letter}/redrive", b"nul", 400),
                ("/api/dead-letters/999/redrive", b"", 404),
                ("/api/dead-letters/-1/discard", b"", 404),
                ("/api/dead-letters/abc/discard", b"", 404),
                ("/api/dead-letters/99999999999999999999999/discard", b"", 404),
                ("/api/dead-letters/%00/discard", b"", 404),
            ]
            for path, body, status in cases:
                answer = await http.post(path, content=body, headers={"content-type": "application/json"})
                assert answer.status_code == status, (path, body[:20], answer.text)
                assert "error" in answer.json()

    async def test_huge_bodies_bounded(self) -> None:
        """A body past the bound is refused whether its length is declared or streamed in chunks."""
        async with served(tokens=TOKENS) as (_, server, _letter), client(server, ADMIN) as http:
            declared = await http.post("/api/restart", content=b" " * (MAX_BODY + 1))
            assert declared.status_code == 413
            # Chunked, no declared length: read through a raw socket, so the client cannot stop early.
            stream = await trio.open_tcp_stream("127.0.0.1", server.port)
            async with stream:
                head = (
                    "POST /api/restart HTTP/1.1\r\nHost: 127.0.0.1\r\nTransfer-Encoding: chunked\r\n"
                    f"Authorization: Bearer {ADMIN}\r\nConnection: close\r\n\r\n"
                )
                await stream.send_all(head.encode())
                with trio.move_on_after(10):  # a bound on a broken test, not a wait for something
                    for _ in range(100):  # 100 KiB, past the 16 KiB bound
                        try:
                            await stream.send_all(b"400\r\n" + b" " * 1024 + b"\r\n")
                        except (trio.BrokenResourceError, trio.ClosedResourceError):
                            break
                    reply = b""
                    while chunk := await stream.receive_some(65536):
                        reply += chunk
            assert reply.startswith(b"HTTP/1.1 413"), reply[:100]

    async def test_unknown_paths_and_methods(self) -> None:
        """Unknown paths are 404, wrong methods 405; unknown assets 404."""
        async with served() as (_, server, _letter), client(server) as http:
            assert (await http.get("/nope")).status_code == 404
            assert (await http.get("/static/../app.py")).status_code == 404
            assert (await http.get("/static/nope.js")).status_code == 404
            assert (await http.delete("/api/agents")).status_code == 405
            assert (await http.get("/api/restart")).status_code == 405
            assert (await http.get("/api/agent")).status_code == 400
            assert (await http.get("/api/trace")).status_code == 400
            assert (await http.get("/api/trace", params={"id": "x" * 2000})).status_code == 400


async def _handshake(port: int, headers: list[tuple[bytes, bytes]]) -> wsproto.events.Event:
    """The server's answer to a websocket handshake on /api/live (wsproto on a raw socket, which it closes)."""
    stream = await trio.open_tcp_stream("127.0.0.1", port)
    async with stream:
        ws = wsproto.WSConnection(wsproto.ConnectionType.CLIENT)
        request = wsproto.events.Request(host=f"127.0.0.1:{port}", target="/api/live", extra_headers=headers)
        await stream.send_all(ws.send(request))
        for _ in range(1000):  # bounded: reads until the answer
            data = await stream.receive_some(65536)
            ws.receive_data(data or None)
            for event in ws.events():
                return event
        raise AssertionError("no answer to the handshake")


class TestWebsocket:
    async def test_hostile_messages(self) -> None:
        """Bad JSON, non-objects, unknown ops and views, bad patterns: error messages, the page stays open."""
        async with served() as (_, server, _letter):
            url = server.url.replace("http", "ws") + "api/live"
            origin = [(b"origin", server.url.rstrip("/").encode())]
            async with trio_websocket.open_websocket_url(url, extra_headers=origin) as ws:
                assert json.loads(await ws.get_message())["kind"] == "hello"
                for text in [
                    "{",
                    "[]",
                    '"x"',
                    '{"op": "nope"}',
                    '{"op": "view", "view": "nope"}',
                    '{"op": "view", "view": "agent"}',
                    '{"op": "view", "view": "agents", "params": []}',
                    '{"op": "stream", "pattern": "a..b"}',
                    '{"op": "stream", "pattern": 5}',
                    "[" * 50_000,
                ]:
                    await ws.send_message(text)
                    while True:
                        message = json.loads(await ws.get_message())
                        if message["kind"] == "error":
                            break
                await ws.send_message('{"op": "view", "view": "agents", "params": {"limit": "x"}}')
                message = json.loads(await ws.get_message())
                while message["kind"] != "error":
                    message = json.loads(await ws.get_message())
                assert message["message"] == "limit: must be a whole number from 1 to 500, got 'x'"
                await ws.send_message('{"op": "view", "view": "agents", "params": {"limit": 5}}')
                while True:
                    message = json.loads(await ws.get_message())
                    if message["kind"] == "tick" and message["view"] == "agents":
                        assert message["data"]["rows"][0]["id"] == "c"
                        break

    async def test_oversized_message_and_cross_origin(self) -> None:
        """A message past the size bound closes that connection only; another origin is refused."""
        async with served() as (_, server, _letter):
            url = server.url.replace("http", "ws") + "api/live"
            refused = await _handshake(server.port, [(b"origin", b"http://evil.example")])
            assert isinstance(refused, wsproto.events.RejectConnection) and refused.status_code == 403
            origin = [(b"origin", server.url.rstrip("/").encode())]
            # wsproto on a raw socket: the server's close is seen whole, and nothing of a client library's
            # close handshake is left behind.
            stream = await trio.open_tcp_stream("127.0.0.1", server.port)
            async with stream:
                ws = wsproto.WSConnection(wsproto.ConnectionType.CLIENT)
                request = wsproto.events.Request(
                    host=f"127.0.0.1:{server.port}", target="/api/live", extra_headers=origin
                )
                await stream.send_all(ws.send(request))
                accepted = False
                for _ in range(1000):  # bounded: until the handshake is answered
                    ws.receive_data(await stream.receive_some(65536) or None)
                    if any(isinstance(e, wsproto.events.AcceptConnection) for e in ws.events()):
                        accepted = True
                        break
                assert accepted
                await stream.send_all(ws.send(wsproto.events.TextMessage(data="x" * (1 << 20))))
                closed = None
                for _ in range(10_000):  # bounded: frames until the close
                    data = await stream.receive_some(65536)
                    ws.receive_data(data or None)
                    found = [e for e in ws.events() if isinstance(e, wsproto.events.CloseConnection)]
                    if found or not data:
                        closed = found[0] if found else None
                        break
                assert closed is not None and closed.code == 1009
            async with trio_websocket.open_websocket_url(url, extra_headers=origin) as live:
                assert json.loads(await live.get_message())["kind"] == "hello"

    async def test_needs_token(self) -> None:
        """With tokens, the websocket needs a signed-in session or a bearer token."""
        async with served(tokens=TOKENS) as (_, server, _letter):
            url = server.url.replace("http", "ws") + "api/live"
            refused = await _handshake(server.port, [])
            assert isinstance(refused, wsproto.events.RejectConnection) and refused.status_code == 403
            bearer = [(b"authorization", f"Bearer {VIEWER}".encode())]
            async with trio_websocket.open_websocket_url(url, extra_headers=bearer) as ws:
                assert json.loads(await ws.get_message())["kind"] == "hello"


class TestLimits:
    async def test_live_pages_bounded(self, monkeypatch: pytest.MonkeyPatch) -> None:
        """Past the bound of live pages, another is closed with 1013 and the open ones go on."""
        monkeypatch.setattr("jido.ops.app.MAX_PAGES", 2)
        async with served() as (_, server, _letter):
            url = server.url.replace("http", "ws") + "api/live"
            origin = [(b"origin", server.url.rstrip("/").encode())]
            async with (
                trio_websocket.open_websocket_url(url, extra_headers=origin) as one,
                trio_websocket.open_websocket_url(url, extra_headers=origin) as two,
            ):
                assert json.loads(await one.get_message())["kind"] == "hello"
                assert json.loads(await two.get_message())["kind"] == "hello"
                # The third on a raw socket: it is accepted, then closed at once with 1013.
                stream = await trio.open_tcp_stream("127.0.0.1", server.port)
                async with stream:
                    ws = wsproto.WSConnection(wsproto.ConnectionType.CLIENT)
                    request = wsproto.events.Request(
                        host=f"127.0.0.1:{server.port}", target="/api/live", extra_headers=origin
                    )
                    await stream.send_all(ws.send(request))
                    closed = None
                    for _ in range(1000):  # bounded: frames until the close
                        data = await stream.receive_some(65536)
                        ws.receive_data(data or None)
                        found = [e for e in ws.events() if isinstance(e, wsproto.events.CloseConnection)]
                        if found or not data:
                            closed = found[0] if found else None
                            break
                    assert closed is not None and closed.code == 1013
                assert json.loads(await one.get_message())["kind"] == "tick"
