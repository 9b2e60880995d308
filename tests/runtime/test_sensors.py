"""Sensors run supervised and publish what they produce."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest
import trio
import trio.testing

import jido
from dsl import sensor


@sensor(every=10.0)
class Beat:
    source: str = "/beat"

    def sample(self) -> jido.Signal:
        return jido.Signal(type="beat.tick", source=self.source)


@sensor(cron="0 * * * *")
class Hourly:
    async def sample(self) -> list[jido.Signal]:
        return [jido.Signal(type="clock.hour", source="/clock")]


@sensor
class Burst:
    count: int = 3

    async def run(self, emit: Any) -> None:
        for n in range(self.count):
            await emit(jido.Signal(type="burst.item", source="/burst", data={"n": n}))


@sensor
class Flaky:
    async def run(self, emit: Any) -> None:
        await emit(jido.Signal(type="flaky.up", source="/flaky"))
        await trio.sleep(1)
        raise RuntimeError("sensor lost its connection")


class TestSensors:
    async def test_periodic(self, autojump_clock: trio.testing.MockClock) -> None:
        """A periodic sensor's samples are published every period."""
        async with jido.open_runtime() as rt, rt.listen("beat.*") as received:
            await rt.start_sensor(Beat)
            await trio.sleep(35)
            times = []
            while True:
                try:
                    received.receive_nowait()
                except trio.WouldBlock:
                    break
                times.append(trio.current_time())
            assert len(times) == 3

    async def test_cron(self, autojump_clock: trio.testing.MockClock) -> None:
        """A cron sensor samples on its schedule of the runtime's wall clock."""
        clock = jido.TrioClock(start=dt.datetime(2026, 1, 1, 10, 30, tzinfo=dt.UTC))
        async with jido.open_runtime(clock=clock) as rt, rt.listen("clock.*") as received:
            await rt.start_sensor(Hourly)
            signal = await received.receive()
            assert clock.now() == dt.datetime(2026, 1, 1, 11, 0, tzinfo=dt.UTC)
            assert signal.type == "clock.hour"

    async def test_loop(self) -> None:
        """A loop sensor publishes each signal it emits."""
        async with jido.open_runtime() as rt, rt.listen("burst.*") as received:
            await rt.start_sensor(Burst)
            got = [await received.receive() for _ in range(3)]
            assert [s.data["n"] for s in got] == [0, 1, 2]

    async def test_crashing_sensor_restarts(self, autojump_clock: trio.testing.MockClock) -> None:
        """A sensor that crashes is restarted by its supervisor."""
        async with jido.open_runtime(max_restarts=10, within=1.0) as rt, rt.listen("flaky.*") as received:
            await rt.start_sensor(Flaky)
            for _ in range(3):
                await received.receive()

    def test_bad_cron(self) -> None:
        """A sensor with an invalid cron expression is refused when declared."""
        with pytest.raises(
            jido.DefinitionError,
            match=r"^\S+:\d+: @sensor on Bad: sensor 'bad': invalid cron: .*minute field '61'",
        ):

            @sensor(cron="61 * * * *")
            class Bad:
                def sample(self) -> None:
                    return None
