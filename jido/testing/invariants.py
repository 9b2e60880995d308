"""An invariant checker for agent specs: random instruction sequences, with faults, against a predicate on state.

::

    def demand_in_range(state) -> bool:
        return 0 <= state.demand <= 100

    check_invariant(DemandTracker, demand_in_range)

Hypothesis draws sequences of steps. A step is one instruction for the agent (an action its routes run, params
drawn from the action's schema, see :func:`jido.testing.strategies.instructions`), sometimes with a fault on
its first attempt: the attempt raises, times out or starts late (:class:`~jido.testing.FailAction`,
:class:`~jido.testing.TimeoutAction`, :class:`~jido.testing.SlowAction`), so retry policies and error paths
run too. Each step goes through ``jido.cmd_async`` on trio's autojump clock (timeouts and backoffs cost no
real time), and the predicate is checked on the initial state and after every step.

A predicate fails by returning ``False`` or raising ``AssertionError``. The check then fails with
:class:`InvariantViolation` for the smallest sequence Hypothesis can find, whose message retells it step by
step: what each step did to the state, or why it failed, and which faults fired.
"""

from __future__ import annotations

# First, before Hypothesis: without it, this import says what to install.
import jido.testing._needs_hypothesis  # noqa: F401

# isort: split
from collections.abc import Callable, Iterable, Mapping, Sequence
from typing import Any

import attrs
import hypothesis
import trio
import trio.testing
from hypothesis import strategies as st

from jido.action.instruction import Instruction, normalize_instructions
from jido.agent.cmd import cmd_async
from jido.agent.directives import Error
from jido.agent.spec import Agent, AgentSpec
from jido.errors import ValidationError
from jido.testing.faults import FailAction, Fault, FaultInjector, FaultPlan, SlowAction, TimeoutAction
from jido.testing.strategies import FAULT_KINDS, _agent_spec, _route_actions, instructions

__all__ = ["InvariantViolation", "Step", "check_invariant", "steps"]


class InvariantViolation(AssertionError):
    """An agent's state broke an invariant; the message retells the steps that led there.

    Attributes:
        state: the state that broke it.
        steps: the steps run, up to the one that broke it.
    """

    def __init__(self, message: str, *, state: Any, steps: Sequence[Step]) -> None:
        super().__init__(message)
        self.state = state
        self.steps = tuple(steps)


def _describe_instruction(instruction: Any) -> str:
    if isinstance(instruction, Instruction):
        params = instruction.params
        shown = repr(params) if attrs.has(type(params)) else f"params={params!r}"
        return f"{instruction.action.name}: {shown}"
    return repr(instruction)


@attrs.frozen(repr=False)
class Step:
    """One step of a sequence: an instruction, and the fault that strikes its first attempt, if any."""

    instruction: Any
    fault: Fault | None = None

    def __repr__(self) -> str:
        fault = f", fault={self.fault!r}" if self.fault is not None else ""
        return f"Step({_describe_instruction(self.instruction)}{fault})"

    def _repr_pretty_(self, printer: Any, cycle: bool) -> None:
        """Hypothesis prints this short form in a failing example, not every field."""
        printer.text(repr(self))


def steps(
    agent: object,
    *,
    actions: Iterable[str] | None = None,
    params: Mapping[str, Mapping[str, st.SearchStrategy[Any]]] | None = None,
    faults: Sequence[str] = FAULT_KINDS,
    delays: Sequence[float] = (0.5, 60.0),
) -> st.SearchStrategy[Step]:
    """Steps for ``agent``: an instruction, and in about a third of them a fault on its first attempt.

    Args:
        agent: an ``@agent`` class, an :class:`~jido.AgentSpec` or an :class:`~jido.Agent`.
        actions: only these actions (by name).
        params: per action name, overrides for the params' fields (see ``from_schema``).
        faults: the fault kinds to draw, among ``"raise"``, ``"timeout"``, ``"slow"``; ``()`` for none.
        delays: the delays of slow faults.
    """
    spec = _agent_spec(agent)
    chosen = [a.name for a in _route_actions(spec, actions)]
    bad = [k for k in faults if k not in FAULT_KINDS]
    if bad:
        raise ValueError(f"faults must be among {', '.join(map(repr, FAULT_KINDS))}, got {list(faults)!r}")
    drawn = instructions(spec, actions=chosen, params=params)
    if not faults:
        return st.builds(Step, drawn)
    kinds = st.sampled_from(list(faults))
    faulted = st.integers(0, 2).map(
        lambda n: n == 2
    )  # strategies made once: Hypothesis caches their analysis
    delay = st.sampled_from(list(delays))

    @st.composite
    def step(draw: st.DrawFn) -> Step:
        instruction = draw(drawn)
        if not draw(faulted):
            return Step(instruction)
        [normalized] = normalize_instructions(instruction)
        name = normalized.action.name
        kind = draw(kinds)
        fault: Fault
        if kind == "raise":
            fault = FailAction(name, on={1})
        elif kind == "timeout":
            fault = TimeoutAction(name, on={1})
        else:
            fault = SlowAction(name, delay=draw(delay), on={1})
        return Step(instruction, fault)

    return step()


def _changes(before: Any, after: Any) -> str:
    if before is after or before == after:
        return "no change"
    if attrs.has(type(before)) and type(before) is type(after):
        shown = [
            f"{f.name} {getattr(before, f.name)!r} -> {getattr(after, f.name)!r}"
            for f in attrs.fields(type(before))
            if getattr(before, f.name) != getattr(after, f.name)
        ]
        return ", ".join(shown)
    return f"{before!r} -> {after!r}"


def _holds(invariant: Callable[[Any], object], state: Any) -> str | None:
    """None when the invariant holds for ``state``, else why not."""
    try:
        verdict = invariant(state)
    except AssertionError as exc:
        return str(exc) or "assertion failed"
    if verdict is False:
        return "returned False"
    return None


async def _play(agent: Agent, invariant: Callable[[Any], object], name: str, played: Sequence[Step]) -> None:
    __tracebackhide__ = True  # a violation is reported by its message: pytest shows none of our frames
    lines: list[str] = [f"  start: {agent.state!r}"]
    injector = FaultInjector()

    def violated(why: str, state: Any, upto: int) -> InvariantViolation:
        where = f"after step {upto} of {len(played)}" if upto else "in the initial state"
        message = "\n".join([f"invariant {name!r} violated {where}: {why}", *lines])
        if upto:
            message += f"\n  state: {state!r}"
        return InvariantViolation(message, state=state, steps=played[:upto])

    problem = _holds(invariant, agent.state)
    if problem is not None:
        raise violated(problem, agent.state, 0)
    with injector.install():
        for number, step in enumerate(played, start=1):
            injector.set_plan(FaultPlan([step.fault] if step.fault is not None else []))
            fired = len(injector.records)
            before = agent.state
            agent, directives = await cmd_async(agent, step.instruction)
            errors = [d for d in directives if isinstance(d, Error)]
            outcome = f"failed: {errors[0].error}" if errors else _changes(before, agent.state)
            struck = "" if len(injector.records) == fired else f" [{step.fault!r} struck]"
            lines.append(f"  {number}. {_describe_instruction(step.instruction)}{struck} -> {outcome}")
            problem = _holds(invariant, agent.state)
            if problem is not None:
                raise violated(problem, agent.state, number)


def _state_of(spec: AgentSpec, value: object) -> Any:
    """A drawn start: a state instance as it is, a mapping as overrides of the schema's defaults."""
    if isinstance(value, spec.state):
        return value
    if isinstance(value, Mapping):
        try:
            return spec.new("invariant-check", **value).state
        except ValidationError:
            hypothesis.reject()
    raise TypeError(
        f"initial= drew {value!r}: expected a {spec.state.__qualname__} or a mapping of its fields"
    )


def check_invariant(
    agent: object,
    invariant: Callable[[Any], object],
    *,
    name: str | None = None,
    actions: Iterable[str] | None = None,
    params: Mapping[str, Mapping[str, st.SearchStrategy[Any]]] | None = None,
    faults: Sequence[str] = FAULT_KINDS,
    initial: Mapping[str, Any] | st.SearchStrategy[Any] | None = None,
    max_steps: int = 10,
    settings: hypothesis.settings | None = None,
) -> None:
    """Check that ``invariant`` holds for ``agent``'s state after every step of any sequence, faults included.

    Args:
        agent: an ``@agent`` class, an :class:`~jido.AgentSpec` or an :class:`~jido.Agent` (its state is
            where every sequence starts).
        invariant: a predicate on the state: it fails by returning ``False`` or raising ``AssertionError``.
        name: the invariant's name in messages; the predicate's ``__name__`` by default.
        actions: only these actions (by name); every action the agent routes by default.
        params: per action name, strategies for some of its params' fields.
        faults: the fault kinds to inject (``"raise"``, ``"timeout"``, ``"slow"``); ``()`` for none.
        initial: state overrides for the initial agent, or a strategy of start states (state instances or
            mappings of overrides, such as ``from_schema(State, demand=st.integers(0, 100))``); drawn states
            the invariant does not hold for are skipped. Not with an Agent value.
        max_steps: the longest sequence.
        settings: Hypothesis settings; the active profile's by default. The explain phase is always left
            out: it would point at lines inside jido.

    Raises:
        InvariantViolation: for the smallest failing sequence found (Hypothesis notes the drawn steps too).
        DefinitionError: ``agent`` is not an agent, or names an action it does not route.
    """
    __tracebackhide__ = True  # see _play
    spec = _agent_spec(agent)
    if isinstance(agent, Agent) and initial is not None:
        raise ValueError("give the initial state either in the Agent value or as initial=, not both")
    if isinstance(max_steps, bool) or not isinstance(max_steps, int) or max_steps < 1:
        raise ValueError(f"max_steps must be an int >= 1, got {max_steps!r}")
    base = agent if isinstance(agent, Agent) else spec.new("invariant-check")
    label = name if name is not None else getattr(invariant, "__name__", repr(invariant))
    strategy = st.lists(steps(spec, actions=actions, params=params, faults=faults), max_size=max_steps)
    drawn: dict[str, st.SearchStrategy[Any]] = {"steps": strategy}
    if isinstance(initial, st.SearchStrategy):
        drawn = {"start": initial.map(lambda value: _state_of(spec, value)), **drawn}
    elif initial is not None:
        base = spec.new("invariant-check", **dict(initial))

    def play(agent: Agent, steps: list[Step]) -> None:
        __tracebackhide__ = True
        trio.run(_play, agent, invariant, label, steps, clock=trio.testing.MockClock(autojump_threshold=0))

    def run_steps(steps: list[Step]) -> None:
        __tracebackhide__ = True
        play(base, steps)

    def run_steps_from(start: Any, steps: list[Step]) -> None:
        __tracebackhide__ = True
        # A drawn start the invariant does not hold for is no place to start from.
        hypothesis.assume(_holds(invariant, start) is None)
        play(attrs.evolve(base, state=start), steps)

    test = run_steps_from if "start" in drawn else run_steps
    test.__name__ = test.__qualname__ = f"check_{spec.name}"
    # The explain phase would point at lines inside jido, not at anything of the user's.
    chosen = settings if settings is not None else hypothesis.settings()
    chosen = hypothesis.settings(
        chosen, phases=[p for p in chosen.phases if p is not hypothesis.Phase.explain]
    )
    try:
        chosen(hypothesis.given(**drawn)(test))()
    except InvariantViolation as exc:
        # Its message tells the whole story; the frames it came through (Hypothesis's and ours, one of them
        # in a module Hypothesis generates, which __tracebackhide__ cannot mark) would only bury it.
        raise exc.with_traceback(None) from None
