"""A runtime process for the SIGKILL tests: a journal and a state store on disk, an agent that records every
bus signal it applies, and a publisher that numbers signals by their offset until ``total`` are published.

Run as ``python -m tests.runtime.durable_worker DIR TOTAL``; prints ``published N`` after each publish and
``final [...]`` (the numbers the agent applied, in order) once the agent has applied the last one.
"""

from __future__ import annotations

import json
import pathlib
import sys
from typing import Any

import attrs
import trio

from dsl import action, agent, route
from jido.action.spec import ActionContext
from jido.bus.sqlite import SQLiteJournal
from jido.runtime.runtime import open_runtime
from jido.signal import Signal
from jido.store import SQLiteStateStore


@action
class Append:
    n: int

    def run(self, ctx: ActionContext) -> dict[str, Any]:
        return {"seen": [*ctx.state.seen, self.n]}


@agent(subscribe=["tally.*"])
@route("tally.add", Append)
class Tally:
    seen: list[int] = attrs.field(factory=list)


async def main(folder: pathlib.Path, total: int) -> None:
    journal = SQLiteJournal(folder / "journal.db")
    store = SQLiteStateStore(folder / "state.db")
    async with open_runtime(journal=journal, store=store) as rt:
        ref = await rt.start_agent(Tally, id="tally")
        published = await journal.last_offset()
        while published < total:
            [record] = await rt.bus.publish(
                Signal(type="tally.add", source="/worker", data={"n": published + 1})
            )
            published = record.offset
            print("published", published, flush=True)
        await ref.wait_state(lambda state: bool(state.seen) and state.seen[-1] >= total)
        print("final", json.dumps(ref.state.seen), flush=True)


if __name__ == "__main__":
    trio.run(main, pathlib.Path(sys.argv[1]), int(sys.argv[2]))
