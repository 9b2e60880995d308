"""The operations surface's HTTP routes (a Starlette app): pages, JSON API, websocket, metrics, health.

====================================  ==========================================================================
route                                 what
====================================  ==========================================================================
``GET /healthz``                      200 while the process serves (no token needed)
``GET /readyz``                       200 when the runtime runs and its journal takes a write, else 503
``GET /metrics``                      Prometheus text format (a token, when the surface has tokens)
``GET /``                             the dashboard (one page; it signs in when needed)
``POST /login``, ``POST /logout``     a browser session from a token (form field or JSON ``token``)
``GET /api/session``                  who you are, whether you are admin, the session's CSRF token
``GET /api/overview``                 header counts and the chart history
``GET /api/agents``                   a page of agents (``q``, ``status``, ``sort``, ``desc``, ``offset``,
                                      ``limit``): live ones sorted, then hibernated ones, oldest first
``GET /api/agent?id=``                one agent: state, routes, schedules, recent events (a hibernated one:
                                      class, pending work, stored state)
``GET /api/tree``                     the supervision tree
``GET /api/dead-letters``             the newest dead letters (``limit``)
``GET /api/dead-letters/{id}``        one, with its signal
``POST /api/dead-letters/{id}/redrive``, ``.../discard``: admin
``POST /api/restart``, ``/api/wake``  restart a failed agent, wake a hibernated one (``{"agent": id}``): admin
``GET /api/bus``                      offsets, retention, subscriptions with lag
``GET /api/trace?id=``                a signal's causes and effects
``WS /api/live``                      live updates (see :mod:`jido.ops.live`)
====================================  ==========================================================================

Every answer is JSON (or the page, or metrics); a bad request is answered with a 4xx and a JSON
``{"error": ...}`` (naming the parameter at fault) and changes nothing. Bodies are read up to :data:`MAX_BODY`
bytes, no further, and must arrive within :data:`BODY_TIMEOUT` seconds.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Awaitable, Callable
from contextlib import aclosing
from importlib import resources
from typing import TYPE_CHECKING, Any, Final
from urllib.parse import parse_qs

import attrs
import trio
from starlette.applications import Starlette
from starlette.requests import HTTPConnection, Request
from starlette.responses import JSONResponse, RedirectResponse, Response
from starlette.routing import Route, WebSocketRoute
from starlette.websockets import WebSocket

from jido.errors import JidoError
from jido.ops import actions, views
from jido.ops.access import COOKIE, CSRF_HEADER, Access, Principal, host_is_loopback
from jido.ops.feed import MAX_PAGES, Feed
from jido.ops.live import LiveClient
from jido.ops.metrics import CONTENT_TYPE, Metrics, Snapshot
from jido.ops.sleepers import Sleepers, hibernated_detail

if TYPE_CHECKING:
    from jido.gateway.server import Gateway
    from jido.runtime.runtime import Runtime

__all__ = ["BODY_TIMEOUT", "MAX_BODY", "READY_CHECKPOINT", "OpsState", "build_app"]

logger = logging.getLogger("jido.ops")

MAX_BODY: Final = 16 * 1024
"""Bytes of a request body read at most: every body the surface takes is a small form or JSON object."""
READY_CHECKPOINT: Final = "jido.ops.readyz"
"""The checkpoint ``/readyz`` writes to prove the journal takes writes (offset 0: it never moves)."""
READY_TIMEOUT: Final = 2.0
BODY_TIMEOUT: Final = 10.0
"""Seconds a request's body may take to arrive."""
MAX_ID: Final = 1024
"""Characters of an agent's or a signal's id in a request, at most."""
MAX_LETTERS_LISTED: Final = 500
_SECURITY_HEADERS: Final = {
    "x-content-type-options": "nosniff",
    "x-frame-options": "DENY",
    "referrer-policy": "no-referrer",
    "cache-control": "no-store",
}
_PAGE_CSP: Final = (
    "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; connect-src 'self'; "
    "base-uri 'none'; form-action 'self'; frame-ancestors 'none'"
)


class BadRequest(Exception):
    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status = status
        self.message = message


@attrs.define(eq=False)
class OpsState:
    """What the routes serve: the runtime and what watches it."""

    runtime: Runtime
    access: Access
    feed: Feed
    metrics: Metrics
    gateway: Gateway | None = None
    loopback: bool = True
    ready: bool = True
    sleepers: Sleepers = attrs.field(
        default=attrs.Factory(lambda self: Sleepers(self.runtime), takes_self=True)
    )


def _asset(name: str) -> bytes:
    return resources.files("jido.ops").joinpath("static", name).read_bytes()


def _error(status: int, message: str) -> JSONResponse:
    return JSONResponse({"error": message}, status_code=status, headers=_SECURITY_HEADERS)


def _ok(data: Any, status: int = 200) -> JSONResponse:
    return JSONResponse(data, status_code=status, headers=_SECURITY_HEADERS)


def _hostname(host_header: str) -> str:
    if host_header.startswith("["):
        return host_header[: host_header.find("]") + 1]
    return host_header.rsplit(":", 1)[0] if host_header.count(":") == 1 else host_header


def _same_origin(conn: HTTPConnection) -> bool | None:
    """Whether the request's ``Origin`` is the page's own (None when it sent none)."""
    origin = conn.headers.get("origin")
    if origin is None:
        return None
    host = conn.headers.get("host", "")
    return origin in (f"http://{host}", f"https://{host}")


def build_app(state: OpsState) -> Starlette:
    """The Starlette app of the operations surface over ``state``."""
    runtime = state.runtime
    access = state.access
    page = _asset("index.html")
    assets = {
        "app.js": (_asset("app.js"), "text/javascript; charset=utf-8"),
        "app.css": (_asset("app.css"), "text/css; charset=utf-8"),
    }

    def host_ok(conn: HTTPConnection) -> bool:
        # DNS rebinding: a page of another name resolved to 127.0.0.1 would otherwise be same-origin with us.
        return not state.loopback or host_is_loopback(_hostname(conn.headers.get("host", "")))

    def principal(conn: HTTPConnection) -> Principal | None:
        header = conn.headers.get("authorization")
        if header is not None:
            scheme, _, token = header.partition(" ")
            if scheme.lower() != "bearer" or not token.strip():
                return None
            return access.authenticate(token.strip())
        cookie = conn.cookies.get(COOKIE)
        if cookie is not None:
            found = access.session(cookie)
            if found is not None:
                return found
        return access.authenticate("") if access.open else None

    def guarded(
        handler: Callable[[Request, Principal], Awaitable[Response]],
        *,
        auth: bool = True,
        change: bool = False,
    ) -> Callable[[Request], Awaitable[Response]]:
        async def endpoint(request: Request) -> Response:
            if not host_ok(request):
                return _error(421, "this server answers to loopback host names only")
            who = principal(request) if auth else Principal("anonymous", admin=False)
            if who is None:
                return _error(401, "a valid token is needed (Authorization: Bearer, or sign in)")
            if change:
                refusal = _check_change(request, who)
                if refusal is not None:
                    return refusal
            try:
                return await handler(request, who)
            except BadRequest as exc:
                return _error(exc.status, exc.message)
            except views.QueryError as exc:
                return _error(400, exc.message)
            except actions.ActionRefused as exc:
                return _error(exc.status, exc.message)

        return endpoint

    def _check_change(request: Request, who: Principal) -> Response | None:
        same = _same_origin(request)
        if same is False:
            return _error(403, "cross-origin request refused")
        if request.headers.get("authorization") is None:
            # A cookie travels by itself: only the page's own script, which knows the CSRF token, may act.
            if same is None:
                return _error(403, "an Origin header is needed")
            if not Access.csrf_ok(who, request.headers.get(CSRF_HEADER)):
                return _error(403, "missing or wrong CSRF token")
        if not who.admin:
            return _error(403, "this needs an admin token")
        return None

    async def read_body(request: Request) -> bytes:
        length = request.headers.get("content-length")
        if length is not None:
            try:
                declared = int(length)
            except ValueError:
                raise BadRequest(400, "bad Content-Length") from None
            if declared > MAX_BODY:
                raise BadRequest(413, f"the body may be at most {MAX_BODY} bytes")
        body = bytearray()
        # A client that declares a body and sends it slowly, or never, would hold the request open for as
        # long as it likes: the body must arrive within BODY_TIMEOUT.
        with trio.move_on_after(BODY_TIMEOUT) as waited:
            async with aclosing(request.stream()) as stream:
                async for chunk in stream:
                    body += chunk
                    if len(body) > MAX_BODY:
                        raise BadRequest(413, f"the body may be at most {MAX_BODY} bytes")
        if waited.cancelled_caught:
            raise BadRequest(408, f"the body did not arrive within {BODY_TIMEOUT:g} s")
        return bytes(body)

    async def json_body(request: Request) -> dict[str, Any]:
        body = await read_body(request)
        if not body.strip():
            return {}
        try:
            value = json.loads(body)
        except (ValueError, RecursionError):
            raise BadRequest(400, "the body is not JSON") from None
        if not isinstance(value, dict):
            raise BadRequest(400, "the body must be a JSON object")
        return value

    # -- health and metrics --------------------------------------------------------------------------------------
    async def healthz(request: Request, who: Principal) -> Response:
        return _ok({"status": "ok"})

    async def readyz(request: Request, who: Principal) -> Response:
        problems: list[str] = []
        if not state.ready:
            problems.append("the runtime is not started")
        elif not runtime.running:
            problems.append("the runtime is closed")
        with trio.move_on_after(READY_TIMEOUT) as scope:
            try:
                await runtime.bus.journal.set_checkpoint(READY_CHECKPOINT, 0)
            except Exception as exc:  # any failure of the journal means: not ready
                problems.append(f"journal: {type(exc).__name__}: {exc}")
        if scope.cancelled_caught:
            problems.append(f"journal: no answer within {READY_TIMEOUT:g}s")
        if problems:
            return _ok({"status": "unavailable", "problems": problems}, status=503)
        return _ok({"status": "ready"})

    async def metrics(request: Request, who: Principal) -> Response:
        try:
            bus = await runtime.bus.statistics()
        except JidoError as exc:
            return _error(503, f"the bus is closed: {exc}")
        snapshot = Snapshot(
            runtime.statistics(),
            bus,
            state.feed.recorder.totals(),
            state.gateway.statistics() if state.gateway is not None else None,
        )
        return Response(state.metrics.render(snapshot), media_type=CONTENT_TYPE)

    # -- the page ------------------------------------------------------------------------------------------------
    async def index(request: Request, who: Principal) -> Response:
        return Response(
            page,
            media_type="text/html; charset=utf-8",
            headers={**_SECURITY_HEADERS, "content-security-policy": _PAGE_CSP},
        )

    async def static(request: Request, who: Principal) -> Response:
        found = assets.get(request.path_params["name"])
        if found is None:
            return _error(404, "no such asset")
        return Response(found[0], media_type=found[1], headers={"x-content-type-options": "nosniff"})

    async def login(request: Request, who: Principal) -> Response:
        if _same_origin(request) is False:
            return _error(403, "cross-origin request refused")
        body = await read_body(request)
        token = ""
        if request.headers.get("content-type", "").startswith("application/json"):
            try:
                value = json.loads(body) if body.strip() else {}
            except (ValueError, RecursionError):
                raise BadRequest(400, "the body is not JSON") from None
            if isinstance(value, dict) and isinstance(value.get("token"), str):
                token = value["token"]
        else:
            try:
                fields = parse_qs(body.decode("utf-8"), max_num_fields=10)
            except (UnicodeDecodeError, ValueError):
                raise BadRequest(400, "the body is not a form") from None
            token = (fields.get("token") or [""])[0]
        found = access.authenticate(token.strip()) if token.strip() or access.open else None
        if found is None:
            return _error(401, "unknown token")
        session = access.login(found)
        response = _ok({"name": session.name, "admin": session.admin, "csrf": session.csrf})
        assert session.session is not None
        response.set_cookie(COOKIE, session.session, httponly=True, samesite="strict", path="/")
        return response

    async def logout(request: Request, who: Principal) -> Response:
        if _same_origin(request) is False:
            return _error(403, "cross-origin request refused")
        cookie = request.cookies.get(COOKIE)
        if cookie is not None:
            access.logout(cookie)
        response = RedirectResponse("/", status_code=303)
        response.delete_cookie(COOKIE, path="/")
        return response

    async def session(request: Request, who: Principal) -> Response:
        if who.session is None and request.headers.get("authorization") is None and access.open:
            # Without tokens the page still needs a session: it carries the CSRF token of its changes.
            who = access.login(who)
            response = _ok({"name": who.name, "admin": who.admin, "csrf": who.csrf, "open": True})
            assert who.session is not None
            response.set_cookie(COOKIE, who.session, httponly=True, samesite="strict", path="/")
            return response
        return _ok({"name": who.name, "admin": who.admin, "csrf": who.csrf, "open": access.open})

    # -- reading -------------------------------------------------------------------------------------------------
    async def overview(request: Request, who: Principal) -> Response:
        return _ok({"overview": views.overview(runtime.statistics()), "chart": list(state.feed.points)})

    async def agents(request: Request, who: Principal) -> Response:
        query = views.AgentQuery.parse(request.query_params)
        return _ok(views.agents_page(runtime, query, state.sleepers))

    async def agent(request: Request, who: Principal) -> Response:
        agent_id = agent_param(request)
        ref = runtime.whereis(agent_id)
        if ref is not None:
            return _ok(views.agent_detail(runtime, ref))
        failed = runtime.failed_agents().get(agent_id)
        if failed is not None:
            return _ok({"id": agent_id, "status": "failed", "reason": failed.reason})
        asleep = await hibernated_detail(runtime, state.sleepers, agent_id)
        if asleep is not None:
            return _ok(asleep)
        return _error(404, f"no agent with id {agent_id[:200]!r}")

    async def tree(request: Request, who: Principal) -> Response:
        return _ok(views.supervision_tree(runtime.root_supervisor))

    def agent_param(request: Request) -> str:
        agent_id = request.query_params.get("id", "")
        if not agent_id or len(agent_id) > MAX_ID:
            raise BadRequest(400, f"id: give the agent's id (at most {MAX_ID} characters): /api/agent?id=...")
        return agent_id

    def letter_id(request: Request) -> int:
        text = request.path_params["letter"]
        if not text.isdigit() or len(text) > 18:
            raise BadRequest(404, f"no dead letter with id {text[:40]!r}")
        return int(text)

    async def dead_letters(request: Request, who: Principal) -> Response:
        limit = views.query_int(request.query_params, "limit", 200, 1, MAX_LETTERS_LISTED)
        letters = await runtime.stored_dead_letters(limit=10_000)
        newest = letters[-limit:][::-1]
        return _ok({"total": len(letters), "letters": [views.dead_letter_json(d) for d in newest]})

    async def dead_letter(request: Request, who: Principal) -> Response:
        found = await actions.find_letter(runtime, letter_id(request))
        if found is None:
            return _error(404, f"no dead letter with id {request.path_params['letter']}")
        return _ok(views.dead_letter_json(found, full=True))

    async def bus(request: Request, who: Principal) -> Response:
        return _ok(await views.bus_view(runtime))

    async def trace(request: Request, who: Principal) -> Response:
        signal_id = request.query_params.get("id", "")
        if not signal_id or len(signal_id) > MAX_ID:
            return _error(400, f"id: give the signal's id (at most {MAX_ID} characters): /api/trace?id=...")
        found = await views.trace(runtime, signal_id)
        if found is None:
            return _error(404, f"the journal holds no signal with id {signal_id[:200]!r}")
        return _ok(found)

    # -- changing ------------------------------------------------------------------------------------------------
    async def redrive(request: Request, who: Principal) -> Response:
        await json_body(request)
        return _ok(await actions.redrive(runtime, letter_id(request), who.name))

    async def discard(request: Request, who: Principal) -> Response:
        await json_body(request)
        return _ok(await actions.discard(runtime, letter_id(request), who.name))

    async def restart(request: Request, who: Principal) -> Response:
        body = await json_body(request)
        agent_id = body.get("agent")
        if not isinstance(agent_id, str) or not agent_id or len(agent_id) > MAX_ID:
            raise BadRequest(
                400, f'agent: give the agent\'s id (at most {MAX_ID} characters): {{"agent": "..."}}'
            )
        return _ok(await actions.restart(runtime, agent_id, who.name))

    async def wake(request: Request, who: Principal) -> Response:
        body = await json_body(request)
        agent_id = body.get("agent")
        if not isinstance(agent_id, str) or not agent_id or len(agent_id) > MAX_ID:
            raise BadRequest(
                400, f'agent: give the agent\'s id (at most {MAX_ID} characters): {{"agent": "..."}}'
            )
        return _ok(await actions.wake(runtime, agent_id, who.name))

    # -- live ----------------------------------------------------------------------------------------------------
    async def live(websocket: WebSocket) -> None:
        if not host_ok(websocket) or _same_origin(websocket) is False:
            await websocket.close(code=4403)
            return
        if principal(websocket) is None:
            await websocket.close(code=4401)
            return
        feed = state.feed
        await websocket.accept()
        if feed.pages >= MAX_PAGES:
            await websocket.close(code=1013, reason="too many dashboard pages open")
            return
        feed.pages += 1
        try:
            client = LiveClient(
                websocket,
                runtime,
                feed,
                lambda: views.supervision_tree(runtime.root_supervisor),
                state.sleepers,
            )
            await client.run()
        finally:
            feed.pages -= 1

    def get(path: str, handler: Callable[[Request, Principal], Awaitable[Response]], **kw: bool) -> Route:
        return Route(path, guarded(handler, **kw), methods=["GET"])

    def post(path: str, handler: Callable[[Request, Principal], Awaitable[Response]], **kw: bool) -> Route:
        return Route(path, guarded(handler, **kw), methods=["POST"])

    routes = [
        get("/healthz", healthz, auth=False),
        get("/readyz", readyz, auth=False),
        get("/metrics", metrics),
        get("/", index, auth=False),
        get("/static/{name}", static, auth=False),
        post("/login", login, auth=False),
        post("/logout", logout, auth=False),
        get("/api/session", session),
        get("/api/overview", overview),
        get("/api/agents", agents),
        get("/api/agent", agent),
        get("/api/tree", tree),
        get("/api/dead-letters", dead_letters),
        get("/api/dead-letters/{letter}", dead_letter),
        post("/api/dead-letters/{letter}/redrive", redrive, change=True),
        post("/api/dead-letters/{letter}/discard", discard, change=True),
        post("/api/restart", restart, change=True),
        post("/api/wake", wake, change=True),
        get("/api/bus", bus),
        get("/api/trace", trace),
        WebSocketRoute("/api/live", live),
    ]
    return Starlette(routes=routes)
