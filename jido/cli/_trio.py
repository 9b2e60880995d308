"""Running a command's async body under ``trio.run``: Ctrl-C as a clean stop, errors unwrapped from groups."""

from __future__ import annotations

import signal
import threading
from collections.abc import Awaitable, Callable
from typing import Any

import trio

from .errors import single_error

__all__ = ["run_command"]


async def _stop_on_signal(cancel_scope: trio.CancelScope, task_status: trio.TaskStatus[None]) -> None:
    with trio.open_signal_receiver(signal.SIGINT, signal.SIGTERM) as signals:
        task_status.started()
        async for _ in signals:
            cancel_scope.cancel()
            return


def run_command(body: Callable[[], Awaitable[Any]], *, until_interrupted: bool = False) -> None:
    """Run ``body()`` under trio; raise the one error it failed with, unwrapped from exception groups.

    Args:
        body: the command's async body.
        until_interrupted: Ctrl-C (SIGINT) or SIGTERM cancels ``body`` and the command ends normally, after
            ``body``'s cleanup (the runtime's shutdown, the connection's close) has run. Signal handlers can
            only be installed from the main thread; elsewhere (click's test runner in a worker thread) Ctrl-C
            keeps its default behaviour.
    """

    async def main() -> None:
        async with trio.open_nursery() as nursery:
            if until_interrupted and threading.current_thread() is threading.main_thread():
                await nursery.start(_stop_on_signal, nursery.cancel_scope)
            await body()
            nursery.cancel_scope.cancel()

    try:
        trio.run(main)
    except BaseExceptionGroup as group:
        error = single_error(group)
        if error is group:
            raise
        raise error from error.__cause__
