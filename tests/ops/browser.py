"""Real headless Chromium (Debian's ``chromium``) driven by Playwright's sync API, beside a runtime whose
trio loop runs in its own thread (Playwright's sync API must not run inside a trio loop's thread).

Without a Chromium binary (or without Playwright) the browser tests skip, saying why, unless
``JIDO_REQUIRE_BROWSER=1`` (CI sets it): then they fail. Screenshots go to ``JIDO_SCREENSHOTS`` when set
(``docs/images/ops`` is made that way), else to the test's temporary folder.
"""

from __future__ import annotations

import os
import pathlib
import queue
import shutil
import threading
from collections.abc import Awaitable, Callable, Iterator
from contextlib import contextmanager
from functools import partial
from typing import Any, TypeVar

import pytest
import trio

import jido
from jido.gateway import Gateway, serve_gateway
from jido.ops import OpsServer, OpsToken, serve_ops
from jido.runtime.runtime import Runtime

T = TypeVar("T")

CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--no-first-run",
]


def chromium_path() -> str:
    """The Chromium binary, or skip (fail under ``JIDO_REQUIRE_BROWSER=1``) saying why."""
    # Debian's package first: the machines have no internet, so Playwright's own browser download may be absent.
    found = "/usr/bin/chromium" if os.path.exists("/usr/bin/chromium") else shutil.which("chromium")
    reason = None
    if found is None:
        reason = "no chromium binary on PATH (apt-get install chromium)"
    else:
        try:
            import playwright.sync_api  # noqa: F401
        except ImportError:
            reason = "playwright is not installed (pip install -e '.[test]')"
    if reason is not None:
        if os.environ.get("JIDO_REQUIRE_BROWSER") == "1":
            pytest.fail(f"{reason}; JIDO_REQUIRE_BROWSER=1 requires the browser tests to run")
        pytest.skip(reason)
    assert found is not None
    return found


class Live:
    """A runtime, its gateway and its operations surface, served by a trio loop in another thread."""

    def __init__(self, runtime: Runtime, server: OpsServer, gateway: Gateway, token: trio.lowlevel.TrioToken):
        self.runtime = runtime
        self.server = server
        self.gateway = gateway
        self._token = token

    def run(self, fn: Callable[..., Awaitable[T]], *args: Any) -> T:
        """``await fn(*args)`` in the runtime's trio loop; its result (or exception) here."""
        return trio.from_thread.run(fn, *args, trio_token=self._token)


@contextmanager
def live_runtime(
    setup: Callable[[Runtime], Awaitable[None]],
    *,
    tokens: dict[str, OpsToken] | None = None,
    interval: float = 0.2,
    **runtime_options: Any,
) -> Iterator[Live]:
    """Serve a runtime (``setup`` starts its agents) in a thread, for the block."""
    ready: queue.Queue[Live | BaseException] = queue.Queue()
    stop = threading.Event()
    stopper: list[trio.Event] = []

    async def main() -> None:
        try:
            async with jido.open_runtime(**runtime_options) as rt, trio.open_nursery() as nursery:
                await setup(rt)
                gateway_tokens = None
                if tokens is not None:
                    from jido.gateway import TokenPolicy

                    gateway_tokens = {t: TokenPolicy() for t in tokens}
                gateway = await nursery.start(
                    partial(serve_gateway, rt, "127.0.0.1", 0, tokens=gateway_tokens)
                )
                server = await nursery.start(
                    partial(serve_ops, rt, tokens=tokens, gateway=gateway, interval=interval)
                )
                done = trio.Event()
                stopper.append(done)
                ready.put(Live(rt, server, gateway, trio.lowlevel.current_trio_token()))
                await done.wait()
                nursery.cancel_scope.cancel()
        except BaseException as exc:
            ready.put(exc)
            raise

    thread = threading.Thread(target=trio.run, args=(main,), daemon=True)
    thread.start()
    got = ready.get(timeout=30)
    if isinstance(got, BaseException):
        raise got
    try:
        yield got
    finally:
        stop.set()
        trio.from_thread.run_sync(stopper[0].set, trio_token=got._token)
        thread.join(timeout=30)


def screenshot_dir(tmp_path: pathlib.Path) -> pathlib.Path:
    chosen = os.environ.get("JIDO_SCREENSHOTS")
    folder = pathlib.Path(chosen) if chosen else tmp_path / "screenshots"
    folder.mkdir(parents=True, exist_ok=True)
    return folder
