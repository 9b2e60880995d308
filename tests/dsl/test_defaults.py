"""Defaults are checked against their annotations when the class is defined, by the strict converter."""

from __future__ import annotations

import datetime as dt
import enum
import math
from typing import Any

import attrs
import pytest

import jido
from dsl import action, agent, sensor
from jido.errors import DefinitionError


class Color(enum.Enum):
    RED = "red"


@attrs.frozen
class Point:
    x: int
    y: int


class TestAgentState:
    def test_wrong_scalar(self) -> None:
        """A str default for an int field names Class.field, the type and the value."""
        with pytest.raises(DefinitionError, match=r'^\S+:\d+: Counter\.x: default "zero" is not an int$'):

            @agent
            class Counter:
                x: int = "zero"  # type: ignore[assignment]

    def test_bool_is_not_an_int(self) -> None:
        """No silent coercion: True is not an int default, as it is not an int in a signal."""
        with pytest.raises(DefinitionError, match=r"^\S+:\d+: Counter\.x: default true is not an int$"):

            @agent
            class Counter:
                x: int = True

    def test_nested_item(self) -> None:
        """A wrong item inside a container default says where, by its $.path."""
        with pytest.raises(
            DefinitionError,
            match=r'^\S+:\d+: Counter\.xs: default \[1, "a"\] is not a list\[int\] \(\$\[1\]: expected int, got "a"\)$',
        ):

            @agent
            class Counter:
                xs: list[int] = attrs.field(factory=lambda: [1, "a"])

    def test_not_json(self) -> None:
        """An object() default of an `object` field cannot cross the gateway: refused at definition."""
        with pytest.raises(
            DefinitionError,
            match=r"^\S+:\d+: Counter\.x: default <object object at 0x[0-9a-f]+> does not round-trip through JSON "
            r"\(state is sent and stored as JSON\)$",
        ):

            @agent
            class Counter:
                x: object = object()

    def test_nan(self) -> None:
        """NaN fits a float but is not JSON."""
        with pytest.raises(
            DefinitionError, match=r"^\S+:\d+: Counter\.x: default NaN does not round-trip through JSON"
        ):

            @agent
            class Counter:
                x: float = math.nan

    def test_problems_listed_together(self) -> None:
        """Two bad defaults are reported in one error."""
        with pytest.raises(
            DefinitionError, match=r"^\S+:\d+: Counter is not a valid agent \(2 problems\):\n"
        ) as info:

            @agent
            class Counter:
                x: int = "zero"  # type: ignore[assignment]
                y: str = 3  # type: ignore[assignment]

        assert str(info.value).splitlines()[1:] == [
            '- Counter.x: default "zero" is not an int',
            "- Counter.y: default 3 is not a str",
        ]

    def test_typed_defaults_accepted(self) -> None:
        """Defaults written as typed values (tuple, int for float, attrs, enum, datetime, Any) are fine."""
        moment = dt.datetime(2026, 1, 1, tzinfo=dt.UTC)

        @agent
        class Rich:
            pair: tuple[int, ...] = (1, 2)
            ratio: float = 1
            point: Point = Point(1, 2)
            color: Color = Color.RED
            when: dt.datetime = moment
            extra: dict[str, Any] = attrs.field(factory=lambda: {"a": [1, None]})
            maybe: int | None = None

        assert Rich.new().state.point == Point(1, 2)


class TestActionParams:
    def test_wrong_scalar(self) -> None:
        """A param default that its own validator would refuse is refused at definition."""
        with pytest.raises(DefinitionError, match=r'^\S+:\d+: Add\.by: default "3" is not an int$'):

            @action
            class Add:
                by: int = "3"  # type: ignore[assignment]

                def run(self, ctx: jido.ActionContext) -> dict[str, Any]:
                    return {}

    def test_non_json_param_type_left_alone(self) -> None:
        """A param of a type the converter does not check (a callable) keeps its default unchecked."""

        @action
        class Apply:
            fn: Any = print

            def run(self, ctx: jido.ActionContext) -> dict[str, Any]:
                return {}

        assert Apply().fn is print


class TestSensorConfig:
    def test_wrong_scalar(self) -> None:
        """A sensor config default is checked like a param default."""
        with pytest.raises(DefinitionError, match=r"^\S+:\d+: Heart\.label: default 3 is not a str$"):

            @sensor(every=1.0)
            class Heart:
                label: str = 3  # type: ignore[assignment]

                def sample(self) -> None:
                    return None
