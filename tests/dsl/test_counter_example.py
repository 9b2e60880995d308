"""examples/counter.py reproduces the published Counter expectations."""

from __future__ import annotations

from examples.counter import Counter, Decrement, Increment, Reset
from jido.agent.cmd import cmd
from jido.agent.directives import Error


def new() -> object:
    return Counter.new()  # type: ignore[attr-defined]


class TestCounter:
    def test_new_is_zero(self) -> None:
        """A new counter starts at 0."""
        assert new().state.count == 0  # type: ignore[attr-defined]

    def test_increment_default(self) -> None:
        """Increment without params adds 1."""
        agent, directives = cmd(new(), Increment())  # type: ignore[arg-type]
        assert agent.state.count == 1
        assert directives == []

    def test_increment_by_five(self) -> None:
        """Increment by 5 gives 5."""
        agent, _ = cmd(new(), Increment(by=5))  # type: ignore[arg-type]
        assert agent.state.count == 5

    def test_three_then_two(self) -> None:
        """+3 then +2 gives 5."""
        agent, directives = cmd(new(), [Increment(by=3), Increment(by=2)])  # type: ignore[arg-type]
        assert agent.state.count == 5
        assert directives == []

    def test_five_then_minus_one(self) -> None:
        """+5 then -1 gives 4."""
        agent, _ = cmd(new(), [Increment(by=5), Decrement()])  # type: ignore[arg-type]
        assert agent.state.count == 4

    def test_negative_allowed(self) -> None:
        """-3 from 0 gives -3."""
        agent, _ = cmd(new(), Decrement(by=3))  # type: ignore[arg-type]
        assert agent.state.count == -3

    def test_reset(self) -> None:
        """+42 then reset gives 0."""
        agent, directives = cmd(new(), [Increment(by=42), Reset()])  # type: ignore[arg-type]
        assert agent.state.count == 0
        assert directives == []

    def test_invalid_by(self) -> None:
        """An invalid `by` leaves the agent unchanged and yields an Error naming $.by."""
        start = Counter.new(count=3)  # type: ignore[attr-defined]
        agent, directives = cmd(start, (Increment, {"by": "not_a_number"}))
        assert agent == start
        [directive] = directives
        assert isinstance(directive, Error)
        assert str(directive.error) == 'invalid increment params:\n$.by: expected int, got "not_a_number"'

    def test_state_is_a_mapping(self) -> None:
        """The counter's state reads as a mapping too."""
        assert dict(new().state) == {"count": 0}  # type: ignore[attr-defined]
