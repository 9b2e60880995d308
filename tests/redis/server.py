"""A real redis-server for the tests: started on a free loopback port, nothing kept on disk, stopped at the end.

Not a conftest: test modules that talk to Redis import the fixtures by name (``X as X``), like the journal and
store helpers. The session's server is shared by every module that imports :func:`redis_server` (started by the
first, stopped when the last fixture using it ends); each test gets its own namespace on it, so tests never see
each other's keys. Tests that stop, kill or pause a server take a :func:`private_redis` of their own.

Without a ``redis-server`` binary the Redis tests skip, saying why, unless ``JIDO_REQUIRE_REDIS=1`` (CI sets
it), which makes them fail. The shared server at 127.0.0.1:6379 is never used.
"""

from __future__ import annotations

import contextlib
import ctypes
import itertools
import os
import selectors
import shutil
import signal
import socket
import subprocess
import sys
import threading
from collections.abc import AsyncIterator, Iterator
from typing import IO, Final

import pytest

from jido._redis import RedisClient, open_redis

READY: Final = b"Ready to accept connections"
_PR_SET_PDEATHSIG: Final = 1
_STARTUP_READS: Final = 500  # redis-server prints a few dozen lines before it is ready
_READ_WAIT: Final = 30.0  # seconds for more start-up output: a safety net, never an assertion


def redis_binary() -> str:
    """The redis-server binary, or skip (fail under ``JIDO_REQUIRE_REDIS=1``) saying why."""
    found = shutil.which("redis-server")
    if found is None:
        reason = "redis-server not found on PATH (Debian: apt-get install redis-server)"
        if os.environ.get("JIDO_REQUIRE_REDIS") == "1":
            pytest.fail(f"{reason}; JIDO_REQUIRE_REDIS=1 requires the Redis tests to run")
        pytest.skip(reason)
    return found


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


# Looked up once here, not in the forked child (which must not dlopen: another thread may hold its lock).
_prctl = getattr(ctypes.CDLL(None, use_errno=True), "prctl", None) if sys.platform == "linux" else None


def _die_with_parent() -> None:
    """In the child, before exec: ask Linux to SIGKILL the server when the test process dies, so that a
    test run killed from outside (a timeout, Ctrl-C twice) leaves no server behind."""
    if _prctl is not None:
        _prctl(_PR_SET_PDEATHSIG, signal.SIGKILL)


def _drain(stream: IO[bytes]) -> None:
    with stream, contextlib.suppress(ValueError, OSError):
        for _ in iter(stream.readline, b""):
            pass


class RedisServer:
    """One redis-server process on 127.0.0.1, that a test may stop, kill, pause and start again."""

    def __init__(self, binary: str) -> None:
        self.binary = binary
        self.port = 0
        self.process: subprocess.Popen[bytes] | None = None
        self._drainer: threading.Thread | None = None

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"

    def start(self) -> None:
        """Start on a free port (or on the port it had, when started again); return once it accepts."""
        attempts = 1 if self.port else 5
        for _ in range(attempts):
            port = self.port or _free_port()
            if self._launch(port):
                self.port = port
                return
        raise RuntimeError(f"redis-server did not start on 127.0.0.1 (tried {attempts} ports)")

    def _launch(self, port: int) -> bool:
        process = subprocess.Popen(
            [
                self.binary,
                "--port",
                str(port),
                "--bind",
                "127.0.0.1",
                "--save",
                "",
                "--appendonly",
                "no",
                "--protected-mode",
                "yes",
            ],
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            # Only a prctl call runs in the child between fork and exec (no allocation, no lock).
            preexec_fn=_die_with_parent if _prctl is not None else None,
        )
        assert process.stdout is not None
        # Raw reads, not readline(): a buffered reader may hold the "ready" line in its buffer while
        # select() waits on an empty pipe.
        seen = b""
        with selectors.DefaultSelector() as selector:
            selector.register(process.stdout, selectors.EVENT_READ)
            for _ in range(_STARTUP_READS):
                if not selector.select(_READ_WAIT):
                    break
                chunk = os.read(process.stdout.fileno(), 65536)
                if not chunk:  # it exited: the port was taken, most likely
                    break
                seen += chunk
                if READY in seen:
                    # Drain its log from now on, so that a full pipe never blocks the server.
                    self._drainer = threading.Thread(target=_drain, args=(process.stdout,), daemon=True)
                    self._drainer.start()
                    self.process = process
                    return True
        process.kill()
        process.wait()
        process.stdout.close()
        return False

    def stop(self) -> None:
        """Stop the server (SIGKILL: nothing is kept anyway) and wait for it to exit."""
        if self.process is not None:
            if self.process.poll() is None:
                self.process.send_signal(signal.SIGCONT)
                self.process.kill()
            self.process.wait()
            self.process = None
        if self._drainer is not None:
            self._drainer.join()  # it closes the pipe once the server's end is gone
            self._drainer = None

    def pause(self) -> None:
        """SIGSTOP: the server keeps its connections and answers nothing."""
        assert self.process is not None
        self.process.send_signal(signal.SIGSTOP)

    def resume(self) -> None:
        """SIGCONT after :meth:`pause`."""
        assert self.process is not None
        self.process.send_signal(signal.SIGCONT)


_shared: RedisServer | None = None
_users = 0


@pytest.fixture(scope="session")
def redis_server() -> Iterator[RedisServer]:
    """The session's redis-server (one for the whole run, however many modules import this fixture)."""
    global _shared, _users
    binary = redis_binary()
    if _shared is None:
        server = RedisServer(binary)
        server.start()
        _shared = server
    _users += 1
    try:
        yield _shared
    finally:
        _users -= 1
        if _users == 0 and _shared is not None:
            _shared.stop()
            _shared = None


@pytest.fixture
def private_redis() -> Iterator[RedisServer]:
    """A redis-server of the test's own, for tests that stop, kill or pause it."""
    server = RedisServer(redis_binary())
    server.start()
    try:
        yield server
    finally:
        server.stop()


_namespaces = itertools.count(1)


@pytest.fixture
def redis_namespace() -> str:
    """A namespace no other test of this run uses (tests share the server, never their keys)."""
    return f"test-{os.getpid()}-{next(_namespaces)}"


@pytest.fixture
async def redis_client(redis_server: RedisServer) -> AsyncIterator[RedisClient]:
    """A client of the session's server, open for the test."""
    async with open_redis(redis_server.url) as client:
        yield client
