"""The gateway's wire protocol: JSON frames, their validation, error codes and close codes.

Both ends use this module: the server parses client frames with :func:`parse_request` (every problem becomes a
:class:`FrameError` that the server answers with an error frame), and the client turns error frames into
:class:`GatewayError`. ``docs/gateway-protocol.md`` describes the same protocol for clients in other
languages.
"""

from __future__ import annotations

import difflib
import json
import re
from collections.abc import Mapping
from typing import Any, Final, Literal, TypeAlias

import attrs

from jido.convert import describe_value
from jido.errors import FieldError, JidoError, SignalError, ValidationError
from jido.signal import Signal
from jido.signal.pattern import parse_pattern
from jido.signal.serialization import dumps, loads

__all__ = [
    "CLOSE_GOING_AWAY",
    "CLOSE_INTERNAL_ERROR",
    "CLOSE_SLOW_CONSUMER",
    "CLOSE_TOO_LARGE",
    "CLOSE_UNAUTHORIZED",
    "ERROR_CODES",
    "MAX_CALL_TIMEOUT",
    "OPS",
    "AckRequest",
    "AuthRequest",
    "CallRequest",
    "FrameError",
    "GatewayError",
    "InspectRequest",
    "PingRequest",
    "PublishRequest",
    "Request",
    "StartFrom",
    "SubscribeRequest",
    "UnsubscribeRequest",
    "error_frame",
    "parse_request",
    "result_frame",
]

OPS: Final = ("auth", "subscribe", "unsubscribe", "ack", "publish", "call", "inspect", "restart", "ping")
"""The operations a client may send, in the order the protocol document lists them."""

ERROR_CODES: Final = (
    "bad_json",
    "bad_frame",
    "unknown_op",
    "invalid_signal",
    "unauthorized",
    "forbidden",
    "not_found",
    "conflict",
    "no_route",
    "rejected",
    "invalid_params",
    "action_failed",
    "timeout",
    "too_large",
    "unavailable",
    "internal",
)
"""Every ``code`` an error frame may carry."""

CLOSE_GOING_AWAY: Final = 1001
"""Close code: the server is shutting down (clients reconnect with backoff)."""
CLOSE_TOO_LARGE: Final = 1009
"""Close code sent by the websocket layer for a message beyond 4x ``max_frame_bytes`` characters (smaller
oversized frames get a ``too_large`` error frame instead)."""
CLOSE_INTERNAL_ERROR: Final = 1011
"""Close code: the peer did not answer a heartbeat ping in time, or a bug in the server ended the
connection."""
CLOSE_UNAUTHORIZED: Final = 4001
"""Close code: no valid ``auth`` frame first (wrong token, another op first, or none within the timeout)."""
CLOSE_SLOW_CONSUMER: Final = 4008
"""Close code: the connection's send queue overflowed; reconnect and resume from the last offset received."""

MAX_CALL_TIMEOUT: Final = 300.0
"""The longest ``timeout`` a ``call`` frame may ask for, in seconds."""

_MAX_ID_CHARS: Final = 256
_DURABLE_NAME: Final = re.compile(r"\A[A-Za-z0-9_.:-]{1,128}\Z")
# Lone surrogates only enter a frame through a \\uD800-\\uDFFF escape (wsproto refuses text frames that are
# not UTF-8, and the JSON reader refuses such bytes): frames without one skip the walk over every string.
_SURROGATE_ESCAPE: Final = re.compile(rb"\\u[dD][89a-fA-F]")
_PLAIN_NAME: Final = re.compile(r"\A[A-Za-z_][A-Za-z0-9_]*\Z")
_LEADING_ID: Final = re.compile(
    rb'\s*\{\s*(?:"op"\s*:\s*"[a-z_]{1,20}"\s*,\s*)?"id"\s*:\s*"([ -!#-\[\]-~]{1,256})"'
)

# What an error frame repeats of a frame is bounded, so that an answer is never much larger than its request
# (a signal with 50,000 bad extension names was answered with 11 MB): at most this many problems are listed,
# each path and message at most this many characters, and at most this many unknown member names.
_MAX_PROBLEMS: Final = 20
_MAX_ECHO: Final = 1000
_MAX_NAMES: Final = 10

StartFrom: TypeAlias = int | Literal["beginning", "latest"]


def _clip(text: str, limit: int = _MAX_ECHO) -> str:
    return text if len(text) <= limit else f"{text[:limit]}... ({len(text)} characters)"


class GatewayError(JidoError):
    """The gateway answered a request with an error frame, or the client could not reach it.

    Attributes:
        code: one of :data:`ERROR_CODES`, or, raised by the client itself: ``"unavailable"`` (cannot connect,
            or the handshake was refused for another reason than the token), ``"unauthorized"`` (the token was
            refused at the handshake, HTTP 401), ``"connection_lost"`` (the connection dropped before the
            answer came: the request may or may not have been carried out; or it dropped and ``reconnect``
            is off).
        message: what went wrong, one line (several for validation problems, one per ``$.path``).
        details: extra structured information (``{"errors": [...]}`` for validation problems), or ``{}``.
    """

    def __init__(self, code: str, message: str, *, details: Mapping[str, Any] | None = None) -> None:
        super().__init__(message)
        self.code = code
        self.message = message
        self.details: Mapping[str, Any] = details or {}

    def __repr__(self) -> str:
        return f"GatewayError({self.code!r}, {self.message!r})"


class FrameError(Exception):
    """A client frame the server answers with an error frame (internal to the gateway)."""

    def __init__(
        self,
        code: str,
        message: str,
        *,
        request_id: str | None = None,
        details: Mapping[str, Any] | None = None,
    ) -> None:
        super().__init__(message)
        self.code = code
        self.message = message
        self.request_id = request_id
        self.details: Mapping[str, Any] = details or {}

    @classmethod
    def invalid(cls, code: str, errors: list[FieldError], request_id: str | None) -> FrameError:
        """An error listing ``$.path: problem`` lines, in ``message`` and in ``details.errors`` (the first
        few, each clipped, and a last line saying how many more there were)."""
        if len(errors) > _MAX_PROBLEMS or any(
            len(e.path) > _MAX_ECHO or len(e.message) > _MAX_ECHO for e in errors
        ):
            shown = [FieldError(_clip(e.path), _clip(e.message)) for e in errors[:_MAX_PROBLEMS]]
            if len(errors) > _MAX_PROBLEMS:
                shown.append(FieldError("$", f"{len(errors) - _MAX_PROBLEMS} more problems not shown"))
            errors = shown
        return cls(
            code,
            "\n".join(str(e) for e in errors),
            request_id=request_id,
            details={"errors": [{"path": e.path, "message": e.message} for e in errors]},
        )


# -- requests ----------------------------------------------------------------------------------------------


@attrs.frozen
class AuthRequest:
    id: str
    token: str


@attrs.frozen
class SubscribeRequest:
    id: str
    pattern: str
    start: StartFrom | None = None
    durable: str | None = None


@attrs.frozen
class UnsubscribeRequest:
    id: str
    subscription: str
    forget: bool = False


@attrs.frozen
class AckRequest:
    id: str
    subscription: str
    offset: int


@attrs.frozen
class PublishRequest:
    id: str
    signal: Signal


@attrs.frozen
class CallRequest:
    id: str
    agent: str
    signal: Signal
    timeout: float = 5.0
    idempotent: bool = False


@attrs.frozen
class InspectRequest:
    id: str


@attrs.frozen
class RestartRequest:
    id: str
    agent: str


@attrs.frozen
class PingRequest:
    id: str


Request: TypeAlias = (
    AuthRequest
    | SubscribeRequest
    | UnsubscribeRequest
    | AckRequest
    | PublishRequest
    | CallRequest
    | InspectRequest
    | RestartRequest
    | PingRequest
)

# The members each op takes besides "op" and "id": name -> required.
_FIELDS: Final[dict[str, dict[str, bool]]] = {
    "auth": {"token": True},
    "subscribe": {"pattern": True, "from": False, "durable": False},
    "unsubscribe": {"subscription": True, "forget": False},
    "ack": {"subscription": True, "offset": True},
    "publish": {"signal": True},
    "call": {"agent": True, "signal": True, "timeout": False, "idempotent": False},
    "inspect": {},
    "restart": {"agent": True},
    "ping": {},
}


def _got(value: object) -> str:
    if isinstance(value, Mapping):
        return "object"
    if isinstance(value, list):
        return "array"
    return describe_value(value)


class _Checker:
    """Collects ``$.path: problem`` lines while reading one frame's members."""

    def __init__(self, frame: Mapping[str, Any]) -> None:
        self.frame = frame
        self.errors: list[FieldError] = []

    def fail(self, name: str, message: str) -> None:
        self.errors.append(FieldError(f"$.{name}", message))

    def text(self, name: str, *, limit: int = 10_000) -> str:
        value = self.frame.get(name)
        if not isinstance(value, str):
            self.fail(name, f"expected str, got {_got(value)}")
            return ""
        if not value:
            self.fail(name, "must not be empty")
        elif len(value) > limit:
            self.fail(name, f"longer than {limit} characters")
        return value

    def offset(self, name: str) -> int:
        value = self.frame.get(name)
        if isinstance(value, bool) or not isinstance(value, int) or value < 1:
            self.fail(name, f"expected int >= 1, got {_got(value)}")
            return 0
        return value


def _request_id(frame: Mapping[str, Any]) -> tuple[str | None, FieldError | None]:
    if "id" not in frame:
        return None, FieldError("$.id", "required field missing")
    value = frame["id"]
    if not isinstance(value, str):
        return None, FieldError("$.id", f"expected str, got {_got(value)}")
    if not value or len(value) > _MAX_ID_CHARS:
        return None, FieldError("$.id", f"expected 1 to {_MAX_ID_CHARS} characters, got {len(value)}")
    return value, None


def _signal(check: _Checker, request_id: str) -> Signal | None:
    try:
        return Signal.from_dict(check.frame["signal"])
    except SignalError as exc:
        if check.errors:  # report the frame's own problems first; the signal is checked once they are fixed
            return None
        raise FrameError.invalid(
            "invalid_signal", list(exc.prefixed("$.signal").errors), request_id
        ) from None


def parse_request(message: str | bytes, *, max_bytes: int) -> Request:
    """Read one client frame.

    Args:
        message: the websocket message (text, or UTF-8 JSON bytes).
        max_bytes: the largest frame accepted, in UTF-8 bytes.

    Raises:
        FrameError: the frame is too large, not JSON, not an object, has an unknown op, a missing or ill-typed
            member (each named by ``$.path``), or an invalid signal. ``request_id`` is the frame's ``id`` when
            it could be read.
    """
    raw = message.encode("utf-8", "surrogatepass") if isinstance(message, str) else message
    if len(raw) > max_bytes:
        # Not read as JSON; its id is echoed when the frame starts with it (after "op"), as clients write.
        head = _LEADING_ID.match(raw[:1024])
        raise FrameError(
            "too_large",
            f"frame is {len(raw)} bytes, over the limit of {max_bytes}",
            request_id=head.group(1).decode() if head else None,
        )
    try:
        frame = loads(raw, max_bytes=None)
    except SignalError as exc:
        raise _unreadable(raw, exc.errors[0].message) from None
    if _SURROGATE_ESCAPE.search(raw):
        problem = _lone_surrogate(frame)
        if problem is not None:
            # The id is echoed only when it is itself valid text: an answer must be valid UTF-8 to be sent.
            request_id = frame.get("id") if isinstance(frame, dict) else None
            if not isinstance(request_id, str) or _lone_surrogate(request_id) is not None:
                request_id = None
            raise FrameError.invalid("bad_frame", [problem], request_id)
    if not isinstance(frame, dict):
        raise FrameError.invalid("bad_frame", [FieldError("$", f"expected object, got {_got(frame)}")], None)
    request_id, id_error = _request_id(frame)
    op = frame.get("op")
    if "op" not in frame:
        op_error: FieldError | None = FieldError("$.op", "required field missing")
    elif not isinstance(op, str):
        op_error = FieldError("$.op", f"expected str, got {_got(op)}")
    else:
        op_error = None
    errors = [e for e in (op_error, id_error) if e is not None]
    if errors:
        raise FrameError.invalid("bad_frame", errors, request_id)
    assert isinstance(op, str)
    assert request_id is not None
    fields = _FIELDS.get(op)
    if fields is None:
        shown = _clip(op, 64)
        close = difflib.get_close_matches(shown, OPS, n=1, cutoff=0.6)
        hint = f" (did you mean {close[0]!r}?)" if close else f" (expected one of: {', '.join(OPS)})"
        raise FrameError(
            "unknown_op",
            f"unknown op {shown!r}{hint}",
            request_id=request_id,
            details={"op": shown, "ops": list(OPS)},
        )
    check = _Checker(frame)
    unknown = sorted(k for k in frame if k not in fields and k not in ("op", "id"))
    if unknown:
        names = ", ".join(_clip(name, 64) for name in unknown[:_MAX_NAMES])
        more = f" ({len(unknown)} in all)" if len(unknown) > _MAX_NAMES else ""
        check.errors.append(FieldError("$", f"unknown field(s): {names}{more}"))
    for name, required in fields.items():
        if required and name not in frame:
            check.fail(name, "required field missing")
    request = _build(op, check, request_id)
    if check.errors:
        raise FrameError.invalid("bad_frame", check.errors, request_id)
    assert request is not None
    return request


def _unreadable(raw: bytes, message: str) -> FrameError:
    """What answers a frame the JSON reader refused: ``bad_json`` for text that is not JSON; ``bad_frame``
    for JSON the gateway will not read (bytes that are not UTF-8, nesting deeper than the reader goes)."""
    try:
        raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        return FrameError.invalid("bad_frame", [FieldError("$", f"not UTF-8 at byte {exc.start}")], None)
    if "nested too deeply" in message:  # jido.signal.serialization's words for the reader's recursion limit
        return FrameError.invalid("bad_frame", [FieldError("$", "nested too deeply")], None)
    return FrameError("bad_json", message)


def _text_problem(text: str) -> str | None:
    if text.isascii():
        return None
    try:
        text.encode("utf-8")
    except UnicodeEncodeError as exc:
        return f"has a lone surrogate at index {exc.start}, which is not valid Unicode"
    return None


def _member_path(path: str, name: str) -> str:
    return f"{path}.{name}" if _PLAIN_NAME.match(name) else f"{path}[{json.dumps(name)}]"


def _lone_surrogate(value: object) -> FieldError | None:
    """The first string (member names included) of a JSON value that holds a lone surrogate: JSON escapes can
    spell one, but no UTF-8 text can carry it, so no answer could echo it. Walked without recursion: the value
    may be nested as deeply as the JSON reader allows."""
    pending: list[tuple[object, str]] = [(value, "$")]
    while pending:
        item, path = pending.pop()
        if isinstance(item, str):
            problem = _text_problem(item)
            if problem is not None:
                return FieldError(path, problem)
        elif isinstance(item, dict):
            for name, member in item.items():
                problem = _text_problem(name)
                if problem is not None:
                    return FieldError(path, f"a member name {problem}")
                pending.append((member, _member_path(path, name)))
        elif isinstance(item, list):
            pending.extend((member, f"{path}[{index}]") for index, member in enumerate(item))
    return None


def _build(op: str, check: _Checker, request_id: str) -> Request | None:
    frame = check.frame
    present = {name for name, value in frame.items() if value is not None}
    if op == "auth":
        token = check.text("token") if "token" in frame else ""
        return AuthRequest(request_id, token)
    if op == "subscribe":
        pattern = ""
        if "pattern" in frame:
            pattern = check.text("pattern", limit=1000)
            if pattern:
                try:
                    parse_pattern(pattern)
                except ValidationError as exc:
                    check.errors.extend(exc.errors)
        start: StartFrom | None = None
        if "from" in present:
            value = frame["from"]
            if value in ("beginning", "latest") or (
                isinstance(value, int) and not isinstance(value, bool) and value >= 1
            ):
                start = value
            else:
                check.fail("from", f"expected int >= 1, 'beginning' or 'latest', got {_got(value)}")
        durable = None
        if "durable" in present:
            durable = check.text("durable", limit=128)
            if durable and not _DURABLE_NAME.match(durable):
                check.fail("durable", f"expected 1 to 128 of [A-Za-z0-9_.:-], got {_got(durable)}")
        return SubscribeRequest(request_id, pattern, start, durable)
    if op == "unsubscribe":
        subscription = check.text("subscription") if "subscription" in frame else ""
        forget = False
        if "forget" in present:
            value = frame["forget"]
            if isinstance(value, bool):
                forget = value
            else:
                check.fail("forget", f"expected bool, got {_got(value)}")
        return UnsubscribeRequest(request_id, subscription, forget)
    if op == "ack":
        subscription = check.text("subscription") if "subscription" in frame else ""
        offset = check.offset("offset") if "offset" in frame else 0
        return AckRequest(request_id, subscription, offset)
    if op == "publish":
        signal = _signal(check, request_id) if "signal" in frame else None
        return None if signal is None else PublishRequest(request_id, signal)
    if op == "call":
        agent = check.text("agent", limit=1000) if "agent" in frame else ""
        timeout = 5.0
        if "timeout" in present:
            value = frame["timeout"]
            if (
                isinstance(value, bool)
                or not isinstance(value, int | float)
                or not 0 < value <= MAX_CALL_TIMEOUT
            ):
                check.fail(
                    "timeout", f"expected a number of seconds in (0, {MAX_CALL_TIMEOUT:g}], got {_got(value)}"
                )
            else:
                timeout = float(value)
        idempotent = False
        if "idempotent" in present:
            value = frame["idempotent"]
            if isinstance(value, bool):
                idempotent = value
            else:
                check.fail("idempotent", f"expected bool, got {_got(value)}")
        signal = _signal(check, request_id) if "signal" in frame else None
        return None if signal is None else CallRequest(request_id, agent, signal, timeout, idempotent)
    if op == "inspect":
        return InspectRequest(request_id)
    if op == "restart":
        return RestartRequest(request_id, check.text("agent", limit=1000) if "agent" in frame else "")
    return PingRequest(request_id)


# -- frames the server sends -------------------------------------------------------------------------------


def _frame_text(frame: Mapping[str, Any]) -> str:
    """JSON text that can always be sent: a lone surrogate (from an agent's state, an exception's message)
    cannot be encoded as UTF-8, so such a frame is written with ``\\u`` escapes instead of failing the send."""
    text = dumps(frame)
    if _text_problem(text) is not None:
        text = json.dumps(frame, ensure_ascii=True, separators=(",", ":"), allow_nan=False)
    return text


def result_frame(request_id: str, result: Mapping[str, Any]) -> str:
    """``{"op":"result","id":...,"result":{...}}`` as JSON text.

    Raises:
        ValueError: ``result`` is not JSON (such as an agent state holding a set).
    """
    return _frame_text({"op": "result", "id": request_id, "result": result})


def error_frame(
    request_id: str | None, code: str, message: str, details: Mapping[str, Any] | None = None
) -> str:
    """``{"op":"error","id":...,"code":...,"message":...,"details":{...}}`` as JSON text (``details`` only
    when there are some)."""
    frame: dict[str, Any] = {"op": "error", "id": request_id, "code": code, "message": message}
    if details:
        frame["details"] = details
    return _frame_text(frame)
