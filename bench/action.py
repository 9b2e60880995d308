"""Per-call overhead of running an action, against calling its plain function, in the same run.

The action is trivial (adds two ints) with a 2-field params class. Params are given either as a dict (strict
validation included) or as an instance (validation skipped). The Instruction is built once and reused, so the
figures are the engine's own cost. ``execute`` is awaited inside one ``trio.run`` loop, for the same sync
action and for an async one (which runs in a trio cancel scope for its timeout). Each figure is the best of
REPEATS runs.

Run: ``python bench/action.py``
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

import attrs
import trio

from jido.action.exec import execute, execute_sync
from jido.action.instruction import Instruction
from jido.action.spec import ActionContext, ActionSpec

REPEATS = 5
CALLS = 20_000


@attrs.frozen
class Add:
    a: int
    b: int


def add(params: Add, ctx: ActionContext) -> dict[str, Any]:
    return {"total": params.a + params.b}


async def add_async(params: Add, ctx: ActionContext) -> dict[str, Any]:
    return {"total": params.a + params.b}


SPEC = ActionSpec(name="add", run=add, params=Add)
ASYNC_SPEC = ActionSpec(name="add_async", run=add_async, params=Add)
CTX = ActionContext()
RAW = {"a": 1, "b": 2}
AS_DICT = Instruction(SPEC, RAW)
AS_INSTANCE = Instruction(SPEC, Add(1, 2))
ASYNC_AS_INSTANCE = Instruction(ASYNC_SPEC, Add(1, 2))
ASYNC_NO_TIMEOUT = Instruction(ASYNC_SPEC, Add(1, 2), timeout=float("inf"))


def measure_sync(call: Callable[[], object]) -> float:
    """Best calls per second over REPEATS runs of CALLS calls (the least disturbed by other processes)."""
    rates = []
    for _ in range(REPEATS):
        start = time.perf_counter()
        for _ in range(CALLS):
            call()
        rates.append(CALLS / (time.perf_counter() - start))
    return max(rates)


async def measure_async(instruction: Instruction) -> float:
    rates = []
    for _ in range(REPEATS):
        start = time.perf_counter()
        for _ in range(CALLS):
            await execute(instruction, CTX)
        rates.append(CALLS / (time.perf_counter() - start))
    return max(rates)


async def measure_plain_in_loop() -> float:
    params = Add(1, 2)
    rates = []
    for _ in range(REPEATS):
        start = time.perf_counter()
        for _ in range(CALLS):
            add(params, CTX)
        rates.append(CALLS / (time.perf_counter() - start))
    return max(rates)


def main() -> None:
    params = Add(1, 2)
    rows: list[tuple[str, float]] = []
    plain = measure_sync(lambda: add(params, CTX))
    rows.append(("plain function call (baseline)", plain))
    rows.append(("plain call + Add(**dict) construction", measure_sync(lambda: add(Add(**RAW), CTX))))
    rows.append(("execute_sync, params as dict", measure_sync(lambda: execute_sync(AS_DICT, CTX))))
    rows.append(("execute_sync, params as instance", measure_sync(lambda: execute_sync(AS_INSTANCE, CTX))))

    async def under_trio() -> None:
        rows.append(("plain function call inside trio.run", await measure_plain_in_loop()))
        rows.append(("await execute, params as dict", await measure_async(AS_DICT)))
        rows.append(("await execute, params as instance", await measure_async(AS_INSTANCE)))
        rows.append(("await execute, async action, instance", await measure_async(ASYNC_AS_INSTANCE)))
        rows.append(("  same, timeout=inf (no cancel scope)", await measure_async(ASYNC_NO_TIMEOUT)))

    trio.run(under_trio)
    print(f"{'case':<42} {'calls/s':>12} {'us/call':>9} {'x baseline':>11}")
    for name, rate in rows:
        print(f"{name:<42} {rate:>12,.0f} {1e6 / rate:>9.2f} {plain / rate:>11.1f}")


if __name__ == "__main__":
    main()
