"""What the Redis backends share: opening a client, naming the server safely, and turning Redis failures into
jido's errors.

Lives below :mod:`jido.bus` and :mod:`jido.store` (both sit on it, neither on the other). ``coredis`` is an
optional dependency (the ``redis`` extra): importing this module without it raises an ImportError that says
which extra to install.

Errors, in the words of :mod:`jido.errors`: a server that cannot be reached, or stops answering, is
:class:`RedisUnavailableError` (a :class:`~jido.errors.BrokenError`: it broke under you); a key of ours that
holds another type, or data we cannot read, is a plain :class:`~jido.errors.BrokenError` naming the key, and
nothing is overwritten. A password in a URL is never shown: messages carry :func:`redact_url`'s form.
"""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator, Awaitable
from typing import Any, Final, TypeVar

import trio

from jido._urls import redact_url as redact_url  # where the CLI, without coredis, finds it too
from jido.errors import BrokenError

try:
    import anyio  # coredis's own dependency: its connections run on anyio
    import coredis
    import coredis.exceptions
    import coredis.retry
except ImportError as exc:  # pragma: no cover - the extra is installed wherever the tests run
    raise ImportError("the Redis backends need coredis: pip install 'jido[redis]'") from exc

__all__ = [
    "DEFAULT_COMMAND_TIMEOUT",
    "DEFAULT_CONNECT_TIMEOUT",
    "RedisClient",
    "RedisUnavailableError",
    "check_namespace",
    "open_redis",
    "redact_url",
]

T = TypeVar("T")

RedisClient = coredis.Redis[bytes]
"""The client type the backends take: responses as bytes (we decode what we stored, and can tell corrupt
bytes from text)."""

DEFAULT_CONNECT_TIMEOUT: Final = 5.0
"""Seconds to wait for a connection to the server before giving up on it."""

DEFAULT_COMMAND_TIMEOUT: Final = 10.0
"""Seconds a backend waits for one answer before it calls the server unavailable (a stopped or partitioned
server accepts the bytes and never answers)."""


_SCHEMES: Final = frozenset({"redis", "rediss", "unix"})


class RedisUnavailableError(BrokenError):
    """The Redis server could not be reached, or stopped answering; what the call did there is unknown
    for a write (it may have been applied before the connection dropped).

    Attributes:
        url: the server's URL, its password replaced by ``***``.
    """

    def __init__(self, url: str, problem: str) -> None:
        super().__init__(f"Redis at {url} is unavailable: {problem}")
        self.url = url

    def __reduce__(self) -> tuple[type[RedisUnavailableError], tuple[str, str]]:
        return (type(self), (self.url, str(self).split(": ", 1)[1]))


def check_namespace(value: object) -> str:
    """Return ``value`` if it can name a namespace: a non-empty str without braces (it becomes a Redis
    Cluster hash tag, ``{namespace}``, so that every key of one journal or store lives in one slot and a Lua
    script may touch them all)."""
    if not isinstance(value, str):
        raise TypeError(f"namespace must be a str, got {value!r}")
    if not value or "{" in value or "}" in value:
        raise ValueError(f"namespace must be a non-empty str without braces, got {value!r}")
    return value


def _problem(exc: BaseException) -> str:
    text = str(exc)
    return f"{type(exc).__name__}: {text}" if text else type(exc).__name__


class Guard:
    """Runs one backend's Redis calls under its timeout and translates what goes wrong."""

    __slots__ = ("timeout", "url")

    def __init__(self, url: str, timeout: float) -> None:
        self.url = url
        self.timeout = timeout

    async def __call__(self, request: Awaitable[T], *, extra: float = 0.0) -> T:
        """Await ``request``; a lost or silent server raises :class:`RedisUnavailableError`.

        ``extra`` seconds are added to the timeout for a command that blocks on the server on purpose.
        """
        try:
            with trio.fail_after(self.timeout + extra):
                return await request
        except trio.TooSlowError:
            raise RedisUnavailableError(self.url, f"no answer within {self.timeout:g} s") from None
        except (coredis.exceptions.ConnectionError, TimeoutError, OSError) as exc:
            raise RedisUnavailableError(self.url, _problem(exc)) from exc
        except (anyio.ClosedResourceError, anyio.BrokenResourceError):
            # The client's connection tasks were cancelled under us (the scope around the client is being
            # cancelled, as on Ctrl-C): a cleanup command finds its connection gone.
            raise RedisUnavailableError(self.url, "the connection was closed") from None


class _TCPConnection(coredis.TCPConnection):
    """coredis's TCP connection, closing its buffers when the connection attempt fails.

    coredis 6.9 makes a connection's memory streams when the object is made and closes them only once the
    socket is open, so every failed attempt (a server down, a reconnect loop) leaks them, and each leak is a
    ResourceWarning when the object is collected. Closing them here, on failure only, changes nothing else.
    """

    async def _connect(self) -> Any:
        try:
            return await super()._connect()
        except BaseException:
            for stream in (
                self._push_message_buffer_in,
                self._push_message_buffer_out,
                self._streamed_message_buffer_in,
                self._streamed_message_buffer_out,
                self._write_buffer_in,
                self._write_buffer_out,
            ):
                stream.close()
            raise


def unwrap(group: BaseExceptionGroup[Any]) -> BaseException:
    """The one exception inside nested single-member groups, or the group itself."""
    found: BaseException = group
    while isinstance(found, BaseExceptionGroup) and len(found.exceptions) == 1:
        found = found.exceptions[0]
    return found


@contextlib.asynccontextmanager
async def open_redis(
    url: str, *, connect_timeout: float = DEFAULT_CONNECT_TIMEOUT, **options: Any
) -> AsyncIterator[RedisClient]:
    """A connected ``coredis`` client for ``url``, checked with a PING before it is handed out.

    Args:
        url: ``redis://[user:password@]host:port/db`` (or ``rediss://``, ``unix://``).
        connect_timeout: seconds to wait for the server.
        options: passed to ``coredis.Redis.from_url``.

    Raises:
        RedisUnavailableError: the server could not be reached (the message names the URL, without its
            password).
        ValueError: ``url`` is not a Redis URL.
    """
    shown = redact_url(url)
    if not isinstance(url, str):
        raise TypeError(f"url must be a str, got {type(url).__name__}")
    scheme = url.partition("://")[0].lower() if "://" in url else ""
    if scheme not in _SCHEMES:
        raise ValueError(f"not a Redis URL: {shown} (it must start with redis://, rediss:// or unix://)")
    try:
        # No retries inside coredis: a script whose connection dropped before the answer may have been
        # applied, and sending it again could apply it twice. The caller sees RedisUnavailableError and
        # decides (the runtime re-reads state before it trusts it; the bus redelivers).
        options.setdefault("retry_policy", coredis.retry.NoRetryPolicy())
        client: RedisClient = coredis.Redis.from_url(
            url, decode_responses=False, connect_timeout=connect_timeout, **options
        )
    except ValueError as exc:
        raise ValueError(f"not a Redis URL: {shown} ({exc})") from None
    pool = client.connection_pool
    if pool.connection_class is coredis.TCPConnection:
        pool.connection_class = _TCPConnection
    inner: BaseException | None = None
    try:
        async with client:
            try:
                with trio.fail_after(connect_timeout):
                    await client.ping()
            except trio.TooSlowError:
                raise RedisUnavailableError(shown, f"no answer within {connect_timeout:g} s") from None
            except (coredis.exceptions.ConnectionError, TimeoutError, OSError) as exc:
                raise RedisUnavailableError(shown, _problem(exc)) from None
            except coredis.exceptions.AuthenticationError as exc:
                raise RedisUnavailableError(shown, _problem(exc)) from None
            yield client
    except BaseExceptionGroup as group:
        # coredis keeps its connections in an anyio task group, which wraps whatever leaves the body (the
        # caller's own errors included) in an ExceptionGroup: give the caller back the one it raised.
        inner = unwrap(group)
        if inner is group:
            raise
    if inner is not None:
        raise inner
