"""The HTTP adapter: each signal as one CloudEvents structured-mode JSON request, with httpx.

httpx is an optional dependency (``pip install 'jido[http]'``); it runs on trio natively. It is imported when
an HTTP or webhook adapter is made, so that ``import jido`` works without it.

One delivery is one attempt: the bus owns retries. A failure is classified for it:

====================================================  ============
outcome                                               retryable?
====================================================  ============
2xx                                                   delivered
no connection, connection lost, no answer in time     yes
408, 425, 429, any 5xx                                yes (``Retry-After`` seconds kept in ``retry_after``)
any other status (3xx are not followed, 4xx)          no
====================================================  ============
"""

from __future__ import annotations

import ssl
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any, ClassVar, Final, Literal, final
from urllib.parse import urlsplit, urlunsplit

import attrs
import trio

from jido.bus.dispatch.base import (
    AdapterBase,
    DispatchError,
    checked,
    expect_choice,
    expect_headers,
    expect_seconds,
    frozen_mapping,
    show_header_names,
)
from jido.convert import describe_value
from jido.errors import ClosedError
from jido.signal import Signal

if TYPE_CHECKING:
    import httpx

__all__ = ["CLOUDEVENTS_CONTENT_TYPE", "HttpAdapter"]

CLOUDEVENTS_CONTENT_TYPE: Final = "application/cloudevents+json; charset=utf-8"
"""The content type of a CloudEvents structured-mode JSON body."""

HTTP_METHODS: Final = ("post", "put", "patch")
RETRYABLE_STATUSES: Final = frozenset({408, 425, 429})
HTTP_RESERVED_HEADERS: Final = frozenset({"content-type", "content-length", "host", "transfer-encoding"})

# A receiver's answer is read (to keep its connection reusable) up to this size, then the connection is dropped.
_MAX_DRAINED: Final = 64 * 1024


def _import_httpx() -> Any:
    try:
        import httpx
    except ModuleNotFoundError as exc:
        raise ModuleNotFoundError(
            "the http and webhook dispatch adapters need httpx: pip install 'jido[http]'", name="httpx"
        ) from exc
    return httpx


def expect_url(value: object) -> str | None:
    problem = f"expected an http or https URL, got {describe_value(value)}"
    if not isinstance(value, str) or any(c.isspace() or not c.isprintable() for c in value):
        return problem
    try:
        parts = urlsplit(value)
        parts.port  # noqa: B018 - reading it checks it: a port that is not a number raises ValueError
    except ValueError:
        return problem
    if parts.scheme not in ("http", "https") or not parts.hostname:
        return problem
    return None


def expect_ssl_context(value: object) -> str | None:
    if value is None:
        return None
    if not isinstance(value, ssl.SSLContext):
        return f"expected an ssl.SSLContext or null, got {describe_value(value)}"
    if value.verify_mode != ssl.CERT_REQUIRED or not value.check_hostname:
        return "certificate verification must stay on (verify_mode CERT_REQUIRED and check_hostname True)"
    return None


def shown_url(url: str) -> str:
    """``url`` without user name and password, for messages."""
    parts = urlsplit(url)
    if "@" not in parts.netloc:
        return url
    return urlunsplit(parts._replace(netloc=parts.netloc.rpartition("@")[2]))


def _retry_after(response: httpx.Response) -> float | None:
    value = response.headers.get("retry-after", "").strip()
    return float(value) if value.isascii() and value.isdigit() else None


class Connections:
    """The adapter's httpx client, made at the first delivery and closed by ``aclose``."""

    __slots__ = ("client", "closed")

    def __init__(self) -> None:
        self.client: httpx.AsyncClient | None = None
        self.closed = False


class HttpBase(AdapterBase):
    """What the HTTP and webhook adapters share: options, the client, one request and its classification."""

    __slots__ = ()

    url: str
    method: str
    headers: Mapping[str, str]
    timeout: float
    ssl_context: ssl.SSLContext | None
    _connections: Connections

    def __attrs_post_init__(self) -> None:
        super().__attrs_post_init__()
        _import_httpx()

    def _client(self) -> httpx.AsyncClient:
        connections = self._connections
        if connections.closed:
            raise ClosedError(f"the {self.name} adapter for {shown_url(self.url)!r} is closed")
        if connections.client is None:
            httpx_module = _import_httpx()
            # Certificates are always verified: only a verifying SSLContext is accepted as an option.
            # The timeout is the trio deadline around the whole request, so httpx's own are off.
            connections.client = httpx_module.AsyncClient(
                verify=self.ssl_context if self.ssl_context is not None else True,
                timeout=None,
                follow_redirects=False,
            )
        return connections.client

    async def _send(self, body: bytes, headers: Mapping[str, str]) -> None:
        httpx_module = _import_httpx()
        client = self._client()
        method = self.method.upper()
        where = f"{method} {shown_url(self.url)!r}"
        all_headers = {**self.headers, **headers, "content-type": CLOUDEVENTS_CONTENT_TYPE}
        response: httpx.Response | None = None
        try:
            with trio.move_on_after(self.timeout):
                async with client.stream(method, self.url, content=body, headers=all_headers) as response:
                    drained = 0
                    async for chunk in response.aiter_raw():
                        drained += len(chunk)
                        if drained > _MAX_DRAINED:
                            break
        except httpx_module.TransportError as exc:
            if response is None:
                raise DispatchError(
                    f"{where} failed: {type(exc).__name__}: {exc}", adapter=self.name, retryable=True
                ) from exc
        # Once the status line is in, it decides: losing the connection or running out of time while
        # reading the rest of the answer changes nothing.
        if response is None:  # only the time limit ends a request without a response or an exception
            raise DispatchError(
                f"{where} got no answer within {self.timeout:g}s", adapter=self.name, retryable=True
            )
        status = response.status_code
        if 200 <= status < 300:
            return
        retryable = status >= 500 or status in RETRYABLE_STATUSES
        raise DispatchError(
            f"{where} answered {status} {httpx_module.codes.get_reason_phrase(status)}".rstrip(),
            adapter=self.name,
            retryable=retryable,
            retry_after=_retry_after(response) if retryable else None,
        )

    async def aclose(self) -> None:
        """Close the connections; idempotent. Deliveries after this raise :class:`~jido.errors.ClosedError`."""
        connections = self._connections
        connections.closed = True
        client, connections.client = connections.client, None
        if client is not None:
            await client.aclose()


@final
@attrs.frozen(kw_only=True, eq=False)
class HttpAdapter(HttpBase):
    """Sends each signal as a CloudEvents structured-mode JSON request (``signal.to_json()``, UTF-8, with
    content type ``application/cloudevents+json; charset=utf-8``), one attempt per delivery.

    TLS certificates are always verified. Call :meth:`aclose` when done (the bus does it for the adapters it
    was given) to close the pooled connections.

    Args:
        url: an ``http`` or ``https`` URL.
        method: ``"post"`` (default), ``"put"`` or ``"patch"``.
        headers: extra request headers (not ``content-type``, ``content-length``, ``host`` or
            ``transfer-encoding``, which the adapter sets). Their values are hidden from the repr.
        timeout: seconds for the whole request, from connecting to the end of the answer (default 5).
        ssl_context: for a private certificate authority: an ``ssl.SSLContext`` that verifies certificates
            and host names (``ssl.create_default_context(cafile=...)``); others are refused.
    """

    name: ClassVar[str] = "http"

    url: str = attrs.field(metadata=checked(expect_url))
    method: Literal["post", "put", "patch"] = attrs.field(
        default="post", metadata=checked(expect_choice(HTTP_METHODS))
    )
    headers: Mapping[str, str] = attrs.field(
        factory=dict,
        converter=frozen_mapping,
        repr=show_header_names,
        metadata=checked(expect_headers(HTTP_RESERVED_HEADERS)),
    )
    timeout: float = attrs.field(default=5.0, metadata=checked(expect_seconds))
    ssl_context: ssl.SSLContext | None = attrs.field(default=None, metadata=checked(expect_ssl_context))
    _connections: Connections = attrs.field(init=False, factory=Connections, repr=False)

    async def deliver(self, signal: Signal) -> None:
        """Send ``signal`` once.

        Raises:
            DispatchError: see the module docstring for which failures are retryable.
            ClosedError: the adapter was closed.
        """
        await self._send(signal.to_json().encode(), {})
