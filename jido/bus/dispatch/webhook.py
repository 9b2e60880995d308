"""The webhook adapter: the HTTP adapter plus headers that let the receiver check who sent the request.

Each request carries three headers:

``x-jido-timestamp``
    the time of sending, in whole Unix seconds;
``x-jido-signature``
    ``sha256=`` and the hex HMAC-SHA256, keyed with the shared secret, of ``<timestamp>.<body>`` (the
    timestamp's digits, a dot, then the body bytes exactly as received);
``x-jido-event``
    the signal's type, or what ``event_type_map`` maps it to.

Signing the timestamp with the body lets a receiver refuse a request replayed later. A receiver written in
Python checks a request with :func:`verify_webhook_signature`::

    ok = verify_webhook_signature(
        SECRET,
        request.headers.get("x-jido-timestamp"),
        await request.body(),                      # the raw bytes, before any JSON parsing
        request.headers.get("x-jido-signature"),
        now=time.time(),
    )
    if not ok:
        return Response(status_code=401)           # a 4xx is not retried by the sender

In another language: compute the HMAC over the same bytes, compare in constant time, and refuse timestamps
more than a few minutes away from your clock.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import hmac
import math
import ssl
from collections.abc import Mapping
from typing import ClassVar, Final, Literal, final

import attrs

from jido.bus.dispatch.base import (
    checked,
    expect_choice,
    expect_headers,
    expect_seconds,
    frozen_mapping,
    header_value_problem,
    show_header_names,
)
from jido.bus.dispatch.http import (
    HTTP_METHODS,
    HTTP_RESERVED_HEADERS,
    Connections,
    HttpBase,
    expect_ssl_context,
    expect_url,
)
from jido.clock import Clock, SystemClock
from jido.convert import describe_value
from jido.signal import Signal

__all__ = [
    "DEFAULT_TOLERANCE",
    "EVENT_HEADER",
    "SIGNATURE_HEADER",
    "TIMESTAMP_HEADER",
    "WebhookAdapter",
    "sign_webhook",
    "verify_webhook_signature",
]

TIMESTAMP_HEADER: Final = "x-jido-timestamp"
SIGNATURE_HEADER: Final = "x-jido-signature"
EVENT_HEADER: Final = "x-jido-event"
DEFAULT_TOLERANCE: Final = 300.0
"""Seconds a receiver accepts between a request's timestamp and its own clock, either way."""

_PREFIX: Final = "sha256="
WEBHOOK_RESERVED_HEADERS: Final = HTTP_RESERVED_HEADERS | {TIMESTAMP_HEADER, SIGNATURE_HEADER, EVENT_HEADER}


def _secret_bytes(secret: str | bytes) -> bytes:
    return secret.encode() if isinstance(secret, str) else bytes(secret)


def sign_webhook(secret: str | bytes, timestamp: int, body: bytes) -> str:
    """The ``x-jido-signature`` value for ``body`` sent at ``timestamp``: ``sha256=<hex>``.

    Args:
        secret: the shared secret (a str is encoded as UTF-8).
        timestamp: Unix seconds.
        body: the request body, exactly as sent.
    """
    digest = hmac.new(_secret_bytes(secret), f"{timestamp}.".encode() + body, hashlib.sha256).hexdigest()
    return _PREFIX + digest


def _expect_secret(value: object) -> str | None:
    if not isinstance(value, str | bytes):
        return f"expected a str or bytes, got {describe_value(value)}"
    if not value:
        return "expected a non-empty secret"
    return None


def _expect_event_type_map(value: object) -> str | None:
    if not isinstance(value, Mapping):
        return f"expected an object of signal types to event names, got {describe_value(value)}"
    for key, item in value.items():
        if not isinstance(key, str) or not key:
            return f"expected signal types as keys, got {describe_value(key)}"
        problem = header_value_problem(item) or (None if item else "expected a non-empty str")
        if problem is not None:
            return f"event name for {key!r}: {problem}"
    return None


def _expect_clock(value: object) -> str | None:
    return None if isinstance(value, Clock) else f"expected a Clock (with now()), got {describe_value(value)}"


@final
@attrs.frozen(kw_only=True, eq=False)
class WebhookAdapter(HttpBase):
    """Sends each signal like :class:`~jido.bus.dispatch.http.HttpAdapter`, signed (see the module docstring).

    Args:
        url, method, headers, timeout, ssl_context: as for the HTTP adapter; ``headers`` may not set the
            ``x-jido-*`` headers either.
        secret: the shared secret, a non-empty str (UTF-8) or bytes; hidden from the repr.
        event_type_map: signal type -> value of ``x-jido-event``; types not in it are sent as they are.
        clock: gives the timestamp (default: the system clock).
    """

    name: ClassVar[str] = "webhook"

    url: str = attrs.field(metadata=checked(expect_url))
    secret: str | bytes = attrs.field(repr=False, metadata=checked(_expect_secret))
    method: Literal["post", "put", "patch"] = attrs.field(
        default="post", metadata=checked(expect_choice(HTTP_METHODS))
    )
    headers: Mapping[str, str] = attrs.field(
        factory=dict,
        converter=frozen_mapping,
        repr=show_header_names,
        metadata=checked(expect_headers(WEBHOOK_RESERVED_HEADERS)),
    )
    event_type_map: Mapping[str, str] = attrs.field(
        factory=dict, converter=frozen_mapping, metadata=checked(_expect_event_type_map)
    )
    timeout: float = attrs.field(default=5.0, metadata=checked(expect_seconds))
    ssl_context: ssl.SSLContext | None = attrs.field(default=None, metadata=checked(expect_ssl_context))
    clock: Clock = attrs.field(factory=SystemClock, metadata=checked(_expect_clock))
    _connections: Connections = attrs.field(init=False, factory=Connections, repr=False)

    async def deliver(self, signal: Signal) -> None:
        """Send ``signal`` once, signed.

        Raises:
            DispatchError: as for the HTTP adapter.
            ClosedError: the adapter was closed.
        """
        body = signal.to_json().encode()
        timestamp = math.floor(self.clock.now().timestamp())
        await self._send(
            body,
            {
                TIMESTAMP_HEADER: str(timestamp),
                SIGNATURE_HEADER: sign_webhook(self.secret, timestamp, body),
                EVENT_HEADER: self.event_type_map.get(signal.type, signal.type),
            },
        )


def verify_webhook_signature(
    secret: str | bytes,
    timestamp: str | int | None,
    body: bytes | str,
    signature: str | None,
    *,
    now: float | dt.datetime,
    tolerance: float = DEFAULT_TOLERANCE,
) -> bool:
    """Whether a webhook request is authentic and fresh: for receivers of :class:`WebhookAdapter` requests.

    The comparison takes the same time whatever the signature, so that it leaks nothing about the expected
    one. Missing or malformed headers make it ``False``, never an exception.

    Args:
        secret: the shared secret, as given to the adapter.
        timestamp: the ``x-jido-timestamp`` header (``None`` when missing).
        body: the raw request body (a str is encoded as UTF-8).
        signature: the ``x-jido-signature`` header (``None`` when missing).
        now: the receiver's time: Unix seconds (``time.time()``) or a timezone-aware datetime.
        tolerance: seconds the timestamp may be away from ``now``, either way (default 300).

    Raises:
        ValueError: ``secret`` is empty, ``tolerance`` is not a positive number, or ``now`` is a naive
            datetime.
        TypeError: ``secret``, ``body`` or ``now`` has the wrong type.
    """
    if not isinstance(secret, str | bytes):
        raise TypeError(f"secret must be str or bytes, got {type(secret).__name__}")
    if not secret:
        raise ValueError("secret must not be empty")
    if not isinstance(body, bytes | str):
        raise TypeError(f"body must be bytes or str, got {type(body).__name__}")
    if isinstance(tolerance, bool) or not isinstance(tolerance, int | float) or not 0 < tolerance < math.inf:
        raise ValueError(f"tolerance must be a positive number of seconds, got {tolerance!r}")
    if isinstance(now, dt.datetime):
        if now.utcoffset() is None:
            raise ValueError(f"now must be timezone-aware, got naive {now.isoformat()}")
        now_seconds = now.timestamp()
    elif isinstance(now, int | float) and not isinstance(now, bool):
        now_seconds = float(now)
    else:
        raise TypeError(f"now must be Unix seconds or a datetime, got {type(now).__name__}")

    if isinstance(timestamp, bool):
        return False
    if isinstance(timestamp, str):
        if not (timestamp.isascii() and timestamp.isdigit()):
            return False
        timestamp = int(timestamp)
    if not isinstance(timestamp, int) or abs(now_seconds - timestamp) > tolerance:
        return False
    if not isinstance(signature, str) or not signature.isascii():
        return False
    raw = body.encode() if isinstance(body, str) else body
    expected = sign_webhook(secret, timestamp, raw)
    return hmac.compare_digest(expected.encode(), signature.encode())
