"""Exactly once across SIGKILL: a runtime process with a SQLite journal and state store, killed at random
points while it publishes and its agent applies a stream of bus signals, restarted each time; in the end the
agent has applied every published signal exactly once, in order."""

from __future__ import annotations

import json
import os
import pathlib
import random
import subprocess
import sys

import trio

ROOT = pathlib.Path(__file__).parent.parent.parent
TOTAL = 150
KILLS = 6


class Worker:
    """A worker process whose stdout is read line by line."""

    def __init__(self, process: trio.Process) -> None:
        self.process = process
        self.pending = b""

    async def line(self) -> str | None:
        assert self.process.stdout is not None
        while b"\n" not in self.pending:
            chunk = await self.process.stdout.receive_some()
            if not chunk:
                return None
            self.pending += chunk
        line, _, self.pending = self.pending.partition(b"\n")
        return line.decode()


async def run_worker(folder: pathlib.Path, kill_after: int | None) -> list[int] | None:
    """Run one worker; SIGKILL it once it has published ``kill_after`` more signals (None: let it finish).
    Returns what it reported as final, if it got that far."""
    process = await trio.lowlevel.open_process(
        [sys.executable, "-m", "tests.runtime.durable_worker", str(folder), str(TOTAL)],
        stdout=subprocess.PIPE,
        cwd=ROOT,
        env={**os.environ},
    )
    worker = Worker(process)
    try:
        seen = 0
        while (line := await worker.line()) is not None:
            if line.startswith("final "):
                final: list[int] = json.loads(line.removeprefix("final "))
                return final
            seen += 1
            if kill_after is not None and seen >= kill_after:
                process.kill()
                return None
        return None
    finally:
        if process.returncode is None:
            process.kill()
        with trio.CancelScope(shield=True):
            await process.wait()
            if process.stdout is not None:
                await process.stdout.aclose()


async def test_every_published_signal_applied_once(tmp_path: pathlib.Path) -> None:
    """Killed with SIGKILL six times at random points and restarted: the agent's record of what it applied
    equals every published signal, once each, in order."""
    rng = random.Random(20261204)
    with trio.fail_after(120):
        for _ in range(KILLS):
            await run_worker(tmp_path, kill_after=rng.randint(1, TOTAL // KILLS))
        final = await run_worker(tmp_path, kill_after=None)
    assert final == list(range(1, TOTAL + 1))
