"""@supervisor with child(), @sensor, and spec_of."""

from __future__ import annotations

from typing import Any

import pytest

from dsl import NotDecoratedError, agent, child, sensor, spec_of, supervisor
from jido.errors import DefinitionError
from jido.runtime.sensor_spec import SensorSpec
from jido.runtime.supervisor_spec import ChildSpec, SupervisorSpec
from jido.signal import Signal


@agent
class Worker:
    done: int = 0


@agent
class Orchestrator:
    runs: int = 0


@sensor(every=5.0)
class Heartbeat:
    source: str = "/heartbeat"

    def sample(self) -> Signal:
        return Signal(type="heartbeat.tick", source=self.source)


class TestSupervisor:
    def test_children_in_order(self) -> None:
        """Members become children in the order written, with default ids."""

        @supervisor(strategy="one_for_all", max_restarts=3, within=5.0)
        class ContentOps:
            orchestrator = child(Orchestrator, id="content_ops.orchestrator")
            workers = child(Worker, replicas=4, restart="transient")
            beat = child(Heartbeat)

        spec = spec_of(ContentOps)
        assert isinstance(spec, SupervisorSpec)
        assert spec.strategy == "one_for_all"
        assert [(c.name, c.id, c.replicas, c.restart) for c in spec.children] == [
            ("orchestrator", "content_ops.orchestrator", 1, "permanent"),
            ("workers", "content_ops.workers", 4, "transient"),
            ("beat", "content_ops.beat", 1, "permanent"),
        ]
        assert isinstance(ContentOps.workers, ChildSpec)

    def test_nested(self) -> None:
        """A supervisor can supervise another supervisor."""

        @supervisor
        class Inner:
            w = child(Worker)

        @supervisor(strategy="rest_for_one")
        class Outer:
            inner = child(Inner)
            o = child(Orchestrator, state={"runs": 2})

        spec = spec_of(Outer)
        assert isinstance(spec, SupervisorSpec)
        assert spec.children[0].target == spec_of(Inner)
        assert spec.children[1].state == {"runs": 2}

    def test_child_not_runnable(self) -> None:
        """A child that is not an agent, sensor or supervisor is refused, naming the member."""
        with pytest.raises(
            DefinitionError,
            match=r"^\S+:\d+: Bad\.thing: dict is not an @agent, @sensor or @supervisor class$",
        ):

            @supervisor
            class Bad:
                thing = child(dict)

    def test_fields_are_not_children(self) -> None:
        """An annotated field on a supervisor is refused with the fix."""
        with pytest.raises(
            DefinitionError,
            match=r"^\S+:\d+: Bad\.x: a supervisor has children, not fields: write `x = child\(\.\.\.\)`$",
        ):

            @supervisor
            class Bad:
                x: int = 0

    def test_no_children(self) -> None:
        """A supervisor without children is refused."""
        with pytest.raises(
            DefinitionError,
            match=r"^\S+:\d+: Empty: a supervisor needs at least one `name = child\(\.\.\.\)` member$",
        ):

            @supervisor
            class Empty:
                pass

    def test_bad_strategy(self) -> None:
        """An unknown strategy is refused at once."""
        with pytest.raises(
            DefinitionError,
            match=r"^\S+:\d+: @supervisor\(strategy=\.\.\.\): expected one of one_for_one, one_for_all, rest_for_one, got 'all'$",
        ):
            supervisor(strategy="all")  # type: ignore[arg-type]

    def test_bad_intensity(self) -> None:
        """A negative max_restarts is refused."""
        with pytest.raises(
            DefinitionError,
            match=r"^\S+:\d+: @supervisor on Bad: supervisor 'bad': max_restarts must be an int >= 0$",
        ):

            @supervisor(max_restarts=-1)
            class Bad:
                w = child(Worker)

    def test_unknown_option(self) -> None:
        """An unknown option gets a hint."""
        with pytest.raises(
            DefinitionError,
            match=r"^\S+:\d+: @supervisor\(max_restart=\.\.\.\): unknown option 'max_restart'; did you mean 'max_restarts'\?",
        ):
            supervisor(max_restart=1)  # type: ignore[call-arg]

    @pytest.mark.parametrize(
        ("kwargs", "message"),
        [
            ({"replicas": 0}, r"^\S+:\d+: child\(replicas=\.\.\.\): expected an int >= 1, got 0$"),
            (
                {"restart": "sometimes"},
                r"^\S+:\d+: child\(restart=\.\.\.\): expected one of permanent, transient, temporary, got 'sometimes'$",
            ),
            ({"id": ""}, r"^\S+:\d+: child\(id=\.\.\.\): expected a non-empty string, got ''$"),
            ({"state": [1]}, r"^\S+:\d+: child\(state=\.\.\.\): expected a mapping, got \[1\]$"),
        ],
    )
    def test_child_arguments(self, kwargs: dict[str, Any], message: str) -> None:
        """child() checks its own arguments at once."""
        with pytest.raises(DefinitionError, match=message):
            child(Worker, **kwargs)

    def test_state_on_sensor_child(self) -> None:
        """state applies to agent children only."""
        with pytest.raises(
            DefinitionError, match=r"^\S+:\d+: Bad\.beat: child 'beat': state applies to agent children only$"
        ):

            @supervisor
            class Bad:
                beat = child(Heartbeat, state={"x": 1})


class TestSensor:
    def test_periodic(self) -> None:
        """A periodic sensor compiles with its sample method and config."""
        spec = spec_of(Heartbeat)
        assert isinstance(spec, SensorSpec)
        assert (spec.every, spec.cron, spec.run) == (5.0, None, None)
        assert spec.sample is Heartbeat.sample

    def test_loop(self) -> None:
        """A loop sensor compiles with its async run."""

        @sensor
        class Ticker:
            async def run(self, emit: Any) -> None:
                await emit(Signal(type="t.tick", source="/t"))

        spec = spec_of(Ticker)
        assert isinstance(spec, SensorSpec) and spec.run is Ticker.run

    def test_loop_must_be_async(self) -> None:
        """A loop sensor's run must be async."""
        with pytest.raises(
            DefinitionError, match=r"^\S+:\d+: Bad\.run: must be `async def run\(self, emit\)`$"
        ):

            @sensor
            class Bad:
                def run(self, emit: Any) -> None:
                    return None

    def test_periodic_needs_sample(self) -> None:
        """every= without sample is refused."""
        with pytest.raises(
            DefinitionError,
            match=r"^\S+:\d+: Bad: a sensor with every= or cron= needs a `sample\(self\)` method",
        ):

            @sensor(every=1.0)
            class Bad:
                pass

    def test_nothing_to_run(self) -> None:
        """A sensor with neither run nor sample is refused."""
        with pytest.raises(
            DefinitionError, match=r"^\S+:\d+: Bad: a sensor needs `async def run\(self, emit\)`"
        ):

            @sensor
            class Bad:
                pass

    def test_every_and_cron_conflict(self) -> None:
        """every and cron together conflict."""
        with pytest.raises(
            DefinitionError, match=r"^\S+:\d+: @sensor: conflicting options every and cron: give one$"
        ):
            sensor(every=1.0, cron="* * * * *")

    def test_bad_every(self) -> None:
        """every must be positive."""
        with pytest.raises(
            DefinitionError,
            match=r"^\S+:\d+: @sensor on Bad: sensor 'bad': every must be a positive number of seconds$",
        ):

            @sensor(every=-1.0)
            class Bad:
                def sample(self) -> None:
                    return None


class TestSpecOf:
    def test_not_decorated(self) -> None:
        """spec_of a plain class says what to do."""

        class Plain:
            pass

        with pytest.raises(
            NotDecoratedError,
            match=r"^Plain is not a jido class: decorate it with @action, @agent, @sensor or @supervisor$",
        ):
            spec_of(Plain)

    def test_instance(self) -> None:
        """spec_of an instance reads its class's spec."""
        assert spec_of(Worker(done=1)) is spec_of(Worker)  # type: ignore[call-arg]
