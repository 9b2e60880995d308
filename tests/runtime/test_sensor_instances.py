"""A configured sensor instance runs with its own fields, not its class's defaults."""

from __future__ import annotations

import pytest
import trio
import trio.testing

import jido
from dsl import child, sensor, supervisor
from jido.errors import DefinitionError
from jido.runtime.sensor_spec import sensor_spec_of


@sensor(every=10.0)
class Heart:
    label: str = "default"

    def sample(self) -> jido.Signal:
        return jido.Signal(type="heart.beat", source=f"/{self.label}")


class TestSpecOfInstance:
    def test_instance_carries_its_config(self) -> None:
        """sensor_spec_of(Heart(label=...)) runs that instance; of the class, the defaults."""
        configured = sensor_spec_of(Heart(label="custom"))
        assert configured is not None
        assert configured.new_config() == Heart(label="custom")
        plain = sensor_spec_of(Heart)
        assert plain is not None
        assert plain.instance is None
        assert plain.new_config() == Heart()

    def test_instance_of_another_class(self) -> None:
        """A spec refuses an instance that is not of its config class."""
        spec = sensor_spec_of(Heart)
        assert spec is not None
        with pytest.raises(
            DefinitionError, match=r"^sensor 'heart': instance must be a Heart, got 'custom'$"
        ):
            jido.SensorSpec(name=spec.name, config=Heart, sample=spec.sample, every=10.0, instance="custom")


class TestRunInstance:
    async def test_start_sensor(self, autojump_clock: trio.testing.MockClock) -> None:
        """start_sensor(Heart(label="custom")) samples with label "custom"."""
        async with jido.open_runtime() as rt, rt.listen("heart.*") as received:
            await rt.start_sensor(Heart(label="custom"))
            signal = await received.receive()
            assert signal.source == "/custom"

    async def test_supervisor_child(self, autojump_clock: trio.testing.MockClock) -> None:
        """child(Heart(label=...)) runs under its supervisor with that label."""

        @supervisor
        class Vitals:
            heart = child(Heart(label="vitals"))

        async with jido.open_runtime() as rt, rt.listen("heart.*") as received:
            await rt.start_supervisor(Vitals)
            signal = await received.receive()
            assert signal.source == "/vitals"
