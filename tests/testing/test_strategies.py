"""jido.testing.strategies: what each strategy draws is what it promises."""

from __future__ import annotations

import datetime as dt
import enum
import json
from typing import Any, Literal

import attrs
import pytest
from hypothesis import find, given
from hypothesis import strategies as st

import jido
from examples.demand_tracker import Boost, DemandTracker
from jido.convert import structure, unstructure
from jido.errors import DefinitionError, SignalError
from jido.signal.pattern import matches, parse_pattern
from jido.signal.signal import TYPE_PATTERN
from jido.testing import (
    CrashAgent,
    DelayDelivery,
    DropDelivery,
    FailAction,
    FailJournalWrite,
    FaultPlan,
    SlowAction,
    TimeoutAction,
)
from jido.testing import strategies as jst
from tests.runtime.agents import Counter

# A tiny alphabet, so that drawn types and patterns meet often.
SEGMENTS = ["a", "b"]


class Color(enum.Enum):
    RED = "red"
    GREEN = "green"


@attrs.frozen
class Point:
    x: int
    y: int = 0


@attrs.frozen
class Shape:
    name: str
    kind: Literal["circle", "square"]
    color: Color
    center: Point
    corners: list[Point] = attrs.field(factory=list)
    tags: dict[str, int] = attrs.field(factory=dict)
    scale: float | None = None
    pair: tuple[int, str] = (0, "")
    ids: tuple[int, ...] = ()
    labels: frozenset[str] = frozenset()
    meta: Any = None
    created: dt.datetime | None = None


@attrs.frozen
class Origin:
    count: int = 0


MOVE = jido.ActionSpec(name="move", run=lambda params, ctx: None, params=Point)
PLAIN = jido.AgentSpec(name="plain", state=Origin, routes=[jido.RouteSpec("p", MOVE)])


class Opaque:
    def __init__(self, secret: object) -> None:
        self.secret = secret


@attrs.frozen
class Holder:
    thing: Opaque


def _positive(_: object, attribute: attrs.Attribute[int], value: int) -> None:
    if value <= 0:
        raise ValueError(f"{attribute.name} must be positive")


@attrs.frozen
class Positive:
    n: int = attrs.field(validator=_positive)


class TestSignals:
    @given(jst.signals())
    def test_valid_and_round_trips(self, signal: jido.Signal) -> None:
        """Drawn signals are valid and survive a JSON round trip."""
        assert jido.Signal.from_json(signal.to_json()) == signal

    @given(jst.signals(types=st.just("order.placed"), data=st.none(), extensions=False))
    def test_parts_chosen(self, signal: jido.Signal) -> None:
        """types, data and extensions can be fixed."""
        assert (signal.type, signal.data, dict(signal.extensions)) == ("order.placed", None, {})

    @given(jst.invalid_signal_dicts())
    def test_invalid_dicts_refused(self, value: Any) -> None:
        """Every drawn invalid dict is refused with a SignalError."""
        with pytest.raises(SignalError):
            jido.Signal.from_dict(value)

    @given(jst.invalid_signal_json())
    def test_invalid_json_refused(self, text: str) -> None:
        """Every drawn invalid text is refused with a SignalError."""
        with pytest.raises(SignalError):
            jido.Signal.from_json(text)

    @given(jst.json_values())
    def test_json_values_are_json(self, value: Any) -> None:
        """Drawn JSON values survive json.dumps/loads."""
        assert json.loads(json.dumps(value)) == value


class TestTypesAndPatterns:
    @given(jst.signal_types())
    def test_types_follow_the_type_rule(self, signal_type: str) -> None:
        """Drawn types match the one type rule."""
        assert TYPE_PATTERN.match(signal_type)

    @given(jst.router_patterns(segments=SEGMENTS), jst.signal_types(segments=SEGMENTS))
    def test_patterns_parse(self, pattern: str, signal_type: str) -> None:
        """Drawn patterns are valid router patterns, and can be matched against drawn types."""
        parse_pattern(pattern)
        assert set(signal_type.split(".")) <= set(SEGMENTS)
        matches(pattern, signal_type)

    def test_patterns_meet_types(self) -> None:
        """With a small alphabet, drawn patterns match drawn types often enough to be useful."""
        hits: list[bool] = []

        @given(jst.router_patterns(segments=SEGMENTS), jst.signal_types(segments=SEGMENTS))
        def check(pattern: str, signal_type: str) -> None:
            hits.append(matches(pattern, signal_type))

        check()
        assert 0 < sum(hits) < len(hits)

    @pytest.mark.parametrize("segments", [[], ["a.b"], ["a b"], "ab"])
    def test_bad_segments(self, segments: Any) -> None:
        """Segments are checked."""
        with pytest.raises(ValueError, match=r"^segments must "):
            jst.signal_types(segments=segments)

    def test_bad_max_segments(self) -> None:
        """max_segments is an int >= 1."""
        with pytest.raises(ValueError, match=r"^max_segments must be an int >= 1, got 0$"):
            jst.router_patterns(max_segments=0)


class TestFromSchema:
    @given(jst.from_schema(Shape))
    def test_values_fit_the_schema_strictly(self, shape: Shape) -> None:
        """Drawn values survive the strict converter unchanged: every field has its declared type."""
        assert structure(unstructure(shape), Shape) == shape
        assert isinstance(shape.center, Point)
        assert all(isinstance(c, Point) for c in shape.corners)
        assert shape.kind in ("circle", "square")
        assert isinstance(shape.color, Color)

    @given(jst.from_schema(Positive))
    def test_validators_respected(self, value: Positive) -> None:
        """Values the class's validators refuse are never drawn."""
        assert value.n > 0

    @given(jst.from_schema(Point, x=st.just(7)))
    def test_overrides(self, point: Point) -> None:
        """An override replaces a field's strategy."""
        assert point.x == 7

    @given(jst.from_schema(DemandTracker))
    def test_agent_state(self, state: Any) -> None:
        """An agent's state class (with its mapping mixin) is drawn like any attrs class."""
        spec = DemandTracker.__jido_spec__  # type: ignore[attr-defined]
        assert structure(unstructure(state), spec.state) == state

    def test_defaults_drawn(self) -> None:
        """A field with a default keeps it in some drawn values."""
        seen: list[int] = []

        @given(jst.from_schema(Point))
        def check(point: Point) -> None:
            seen.append(point.y)

        check()
        assert 0 in seen and any(y != 0 for y in seen)

    def test_not_attrs(self) -> None:
        """Only attrs classes have a schema."""
        with pytest.raises(DefinitionError, match=r"^from_schema expects an attrs class, got <class 'int'>$"):
            jst.from_schema(int)

    def test_unknown_override(self) -> None:
        """An override must name a field."""
        with pytest.raises(DefinitionError, match=r"^from_schema\(Point\): no field named 'z'$"):
            jst.from_schema(Point, z=st.just(1))

    def test_type_without_rule(self) -> None:
        """A field type nothing can build is named, with what to do."""
        with pytest.raises(
            DefinitionError,
            match=r"^Holder.thing: cannot derive values of type <class '.*Opaque'>: pass a strategy for it as an override$",
        ):
            jst.from_schema(Holder)


class TestInstructions:
    @given(jst.instruction_sequences(DemandTracker, max_size=5))
    def test_instructions_run(self, instructions: list[Any]) -> None:
        """Drawn instructions are accepted by cmd and fail only by the action's own rules."""
        agent = DemandTracker.new()  # type: ignore[attr-defined]
        agent, _ = jido.cmd(agent, instructions)
        assert 0 <= agent.state.demand <= 100

    @given(jst.instructions(DemandTracker, actions=["boost"], params={"boost": {"amount": st.just(3)}}))
    def test_chosen_actions_and_params(self, instruction: Any) -> None:
        """actions= and params= narrow what is drawn; a decorated action class is its own instruction."""
        assert instruction == Boost(amount=3)

    @given(jst.instructions(PLAIN))
    def test_plain_specs_give_instructions(self, instruction: Any) -> None:
        """An action whose params class is not its own class is drawn as an Instruction."""
        assert isinstance(instruction, jido.Instruction)
        assert isinstance(instruction.params, Point)

    def test_unknown_action(self) -> None:
        """An action the agent does not route is refused, with the ones it does."""
        with pytest.raises(
            DefinitionError,
            match=r"^agent 'demand_tracker' routes no action named 'nope' \(it routes: 'boost', 'cool', 'decay', 'heartbeat', 'cleanup'\)$",
        ):
            jst.instructions(DemandTracker, actions=["nope"])

    def test_not_an_agent(self) -> None:
        """Only agents have instructions."""
        with pytest.raises(DefinitionError, match=r"^3 is not an agent"):
            jst.instructions(3)

    @given(jst.signals_for(Counter))
    def test_signals_for_are_routed(self, signal: jido.Signal) -> None:
        """Drawn signals for an agent match at least one of its routes."""
        spec = Counter.__jido_spec__  # type: ignore[attr-defined]
        assert spec.instructions_for(signal)


class TestFaults:
    @given(jst.action_faults(["a", "b"]))
    def test_action_faults(self, fault: Any) -> None:
        """Action faults strike the given actions on chosen calls."""
        assert isinstance(fault, FailAction | TimeoutAction | SlowAction)
        assert fault.action in ("a", "b")
        assert fault.on and all(1 <= n <= 5 for n in fault.on)

    @given(jst.fault_plans(["a"], agents=["t"], kinds=["raise"]))
    def test_fault_plans(self, plan: FaultPlan) -> None:
        """Plans hold up to max_faults of the chosen kinds."""
        assert len(plan.faults) <= 3
        assert all(isinstance(f, FailAction | CrashAgent) for f in plan.faults)

    @given(jst.fault_plans(deliveries=["order.*"], journal=True, max_faults=4))
    def test_bus_fault_plans(self, plan: FaultPlan) -> None:
        """Delivery and journal faults are drawn when asked for."""
        assert len(plan.faults) <= 4
        for fault in plan.faults:
            assert isinstance(fault, DropDelivery | DelayDelivery | FailJournalWrite)
            assert fault.on and all(1 <= n <= 5 for n in fault.on)
            if not isinstance(fault, FailJournalWrite):
                assert fault.pattern == "order.*"

    def test_every_fault_kind_is_drawn(self) -> None:
        """Each delivery fault kind can come out of delivery_faults."""
        strategy = jst.delivery_faults(["a.*"], subscription="s")
        for kind in (DropDelivery, DelayDelivery):
            fault = find(strategy, lambda f, kind=kind: isinstance(f, kind))  # type: ignore[misc]
            assert isinstance(fault, DropDelivery | DelayDelivery)
            assert (fault.pattern, fault.subscription) == ("a.*", "s")

    def test_bad_arguments(self) -> None:
        """Kinds and targets are checked."""
        with pytest.raises(
            ValueError, match=r"^patterns must be a non-empty list of router patterns, got \[\]$"
        ):
            jst.delivery_faults([])
        with pytest.raises(
            ValueError, match=r"^kinds must be among 'raise', 'timeout', 'slow', got \['explode'\]$"
        ):
            jst.action_faults(["a"], kinds=["explode"])
        with pytest.raises(ValueError, match=r"^actions must be a non-empty list of action names, got 'a'$"):
            jst.action_faults("a")
        with pytest.raises(
            ValueError,
            match=r"^fault_plans needs action names, agent ids, delivery patterns or journal=True$",
        ):
            jst.fault_plans()
