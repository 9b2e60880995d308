"""Plans: actions wired into a DAG by their dependencies, run phase by phase, each phase concurrently.

::

    plan = Plan()
    plan.add("fetch", Fetch, {"url": url})
    plan.add("parse", Parse, depends_on="fetch")
    plan.add("store", Store, {"table": "pages"}, depends_on=["parse"])
    result = await run_plan(plan)
    result["store"].value

Rules decided here:

* **Phases.** A step runs in the phase after the last of its dependencies (:meth:`Plan.phases`, topological
  layers in the order steps were added). All steps of a phase run concurrently, in one trio nursery.
* **Data flow.** A step's params are the run's ``input``, then the result mappings of its *direct*
  dependencies merged in the order of ``depends_on`` (a later dependency wins on a shared key), with the
  step's own params on top. Keys from
  dependencies that are not fields of the step's params class are dropped (``allow_extra`` semantics), so an
  upstream action may return more than a downstream one takes; the step's own params stay strict. A step whose
  params are given as an instance of its params class runs with that instance as is.
* **Failure.** The first step that fails cancels the rest of its phase, and :func:`run_plan` raises an
  :class:`~jido.errors.ActionError` naming the step, with the step's error as ``__cause__``; steps of later
  phases do not run. When several steps of a phase failed before the cancellation reached them, the error
  names the one added first and lists the others in its notes, so the report does not depend on scheduling.
"""

from __future__ import annotations

import difflib
from collections.abc import Iterable, Iterator, Mapping
from typing import Any

import attrs
import trio

from jido.action.exec import execute
from jido.action.instruction import Instruction
from jido.action.result import ActionResult
from jido.action.spec import ActionContext, ActionSpec, action_spec_of
from jido.errors import ActionError, DefinitionError, JidoError

__all__ = ["Plan", "PlanResult", "PlanStep", "run_plan"]


@attrs.frozen
class PlanStep:
    """One step of a plan.

    Attributes:
        name: unique within the plan.
        action: the action the step runs.
        params: a mapping (merged over the dependencies' results) or an instance of the params class.
        depends_on: names of the steps whose results this one needs, in merge order.
    """

    name: str
    action: ActionSpec
    params: Any = attrs.field(factory=dict)
    depends_on: tuple[str, ...] = ()


@attrs.define(eq=False)
class Plan:
    """A DAG of action steps, built with :meth:`add` and run with :func:`run_plan`."""

    _steps: dict[str, PlanStep] = attrs.field(factory=dict, init=False)

    def __repr__(self) -> str:
        return f"<Plan steps={list(self._steps)!r}>"

    @property
    def steps(self) -> tuple[PlanStep, ...]:
        """The steps in the order they were added."""
        return tuple(self._steps.values())

    def __len__(self) -> int:
        return len(self._steps)

    def add(
        self, name: str, action: object, params: object = None, depends_on: str | Iterable[str] = ()
    ) -> Plan:
        """Add a step; returns the plan so that calls chain.

        Dependencies may name steps added later; :meth:`validate` checks them.

        Args:
            name: the step's name, unique within the plan.
            action: an :class:`~jido.action.spec.ActionSpec`, an ``@action`` class or an instance of one (then
                the instance is the params unless ``params`` is given).
            params: a mapping or an instance of the action's params class; none means defaults.
            depends_on: one step name, or several.

        Raises:
            DefinitionError: a bad or duplicate name, something that is not an action, params that are
                neither a mapping nor an instance of the params class, or a dependency that is not a name.
        """
        if not isinstance(name, str) or not name:
            raise DefinitionError(f"plan step name must be a non-empty string, got {name!r}")
        if name in self._steps:
            raise DefinitionError(f"plan already has a step named {name!r}")
        spec = action_spec_of(action)
        if spec is None:
            raise DefinitionError(f"plan step {name!r}: {action!r} is not an action")
        if params is None:
            params = {} if isinstance(action, ActionSpec | type) else action
        if not isinstance(params, (Mapping, spec.params)):
            raise DefinitionError(
                f"plan step {name!r}: params must be a mapping or a {spec.params.__qualname__}, "
                f"got {type(params).__name__}"
            )
        deps = (depends_on,) if isinstance(depends_on, str) else tuple(depends_on)
        for dep in deps:
            if not isinstance(dep, str):
                raise DefinitionError(f"plan step {name!r}: depends_on takes step names, got {dep!r}")
        self._steps[name] = PlanStep(name, spec, params, tuple(dict.fromkeys(deps)))
        return self

    def validate(self) -> None:
        """Check that every dependency names a step and that the steps form no cycle.

        Raises:
            DefinitionError: naming the step and its unknown dependency, or the steps of a cycle.
        """
        self.phases()

    def phases(self) -> tuple[tuple[str, ...], ...]:
        """The steps in topological layers: each runs in the phase after the last of its dependencies.

        Raises:
            DefinitionError: as :meth:`validate`.
        """
        for step in self._steps.values():
            for dep in step.depends_on:
                if dep not in self._steps:
                    close = difflib.get_close_matches(dep, list(self._steps), n=1)
                    hint = f" (did you mean {close[0]!r}?)" if close else ""
                    raise DefinitionError(f"plan step {step.name!r} depends on unknown step {dep!r}{hint}")
        placed: dict[str, int] = {}
        phases: list[tuple[str, ...]] = []
        pending = list(self._steps.values())
        while pending:
            ready = [s.name for s in pending if all(d in placed for d in s.depends_on)]
            if not ready:
                raise DefinitionError(f"plan steps form a cycle: {_cycle(pending)}")
            for name in ready:
                placed[name] = len(phases)
            phases.append(tuple(ready))
            pending = [s for s in pending if s.name not in placed]
        return tuple(phases)


def _cycle(pending: list[PlanStep]) -> str:
    """Show one cycle among steps that could not be placed: each has a dependency among them."""
    by_name = {s.name: s for s in pending}
    path: list[str] = []
    name = pending[0].name
    while name not in path:
        path.append(name)
        name = next(d for d in by_name[name].depends_on if d in by_name)
    loop = [*path[path.index(name) :], name]
    return " -> ".join(repr(n) for n in loop)


@attrs.frozen
class PlanResult:
    """What a plan produced: each step's :class:`~jido.action.result.ActionResult` by step name.

    Attributes:
        results: the results by step name, in the order the steps finished.
        phases: the phases the plan ran in.
    """

    results: Mapping[str, ActionResult]
    phases: tuple[tuple[str, ...], ...]

    def __getitem__(self, step: str) -> ActionResult:
        try:
            return self.results[step]
        except KeyError:
            raise KeyError(f"the plan has no step named {step!r}") from None

    def __contains__(self, step: object) -> bool:
        return step in self.results

    def __iter__(self) -> Iterator[str]:
        return iter(self.results)

    def __len__(self) -> int:
        return len(self.results)


def _step_params(step: PlanStep, results: Mapping[str, ActionResult], run_input: Mapping[str, Any]) -> Any:
    if not (step.depends_on or run_input) or not isinstance(step.params, Mapping):
        return step.params
    fields = attrs.fields(step.action.params)
    known = {a.name for a in fields} | {a.alias for a in fields if a.alias}
    merged: dict[str, Any] = {k: v for k, v in run_input.items() if k in known}
    for dep in step.depends_on:
        merged.update((k, v) for k, v in results[dep].value.items() if k in known)
    merged.update(step.params)
    return merged


async def run_plan(
    plan: Plan,
    *,
    input: Mapping[str, Any] | None = None,
    context: Mapping[str, Any] | None = None,
    state: Any = None,
) -> PlanResult:
    """Run ``plan`` phase by phase; the steps of one phase run concurrently.

    Args:
        plan: the plan.
        input: run-level params offered to every step, under its dependencies' results and its own params
            (only the keys its params class has are taken).
        context: free-form data every step sees as ``ctx.data``.
        state: what every step sees as ``ctx.state``.

    Returns:
        Each step's result by name.

    Raises:
        TypeError: ``plan`` is not a :class:`Plan` or ``context`` is not a mapping.
        DefinitionError: the plan has an unknown dependency or a cycle (nothing ran).
        ActionError: ``plan step 'x' failed: ...``, with the step's error as ``__cause__``.
    """
    if not isinstance(plan, Plan):
        raise TypeError(f"run_plan expects a Plan, got {type(plan).__name__}")
    if context is not None and not isinstance(context, Mapping):
        raise TypeError(f"context must be a mapping, got {type(context).__name__}")
    if input is not None and not isinstance(input, Mapping):
        raise TypeError(f"input must be a mapping, got {type(input).__name__}")
    phases = plan.phases()
    ctx = ActionContext(state=state)
    steps = {s.name: s for s in plan.steps}
    results: dict[str, ActionResult] = {}
    for phase in phases:
        failures: list[tuple[PlanStep, Exception]] = []
        async with trio.open_nursery() as nursery:
            for name in phase:
                step = steps[name]
                instruction = Instruction(
                    step.action, _step_params(step, results, input or {}), context or {}
                )
                nursery.start_soon(_run_step, step, instruction, ctx, results, failures, nursery.cancel_scope)
        if failures:
            # Report in the order the steps were added, not the order trio happened to schedule them in.
            failures.sort(key=lambda failure: phase.index(failure[0].name))
            raise _step_failed(*failures)
    return PlanResult(results, phases)


async def _run_step(
    step: PlanStep,
    instruction: Instruction,
    ctx: ActionContext,
    results: dict[str, ActionResult],
    failures: list[tuple[PlanStep, Exception]],
    phase_scope: trio.CancelScope,
) -> None:
    try:
        results[step.name] = await execute(instruction, ctx)
    except Exception as exc:  # reported by run_plan as the plan's failure, with this as its cause
        failures.append((step, exc))
        phase_scope.cancel()


def _describe(exc: Exception) -> str:
    return str(exc) if isinstance(exc, JidoError) else repr(exc)


def _step_failed(first: tuple[PlanStep, Exception], *others: tuple[PlanStep, Exception]) -> ActionError:
    step, exc = first
    if isinstance(exc, ActionError):
        error = ActionError(
            f"plan step {step.name!r} failed: {_describe(exc)}",
            action=step.action.name,
            attempts=exc.attempts,
            retryable=exc.retryable,
            compensated=exc.compensated,
            compensation_error=exc.compensation_error,
        )
    else:  # invalid params: the action never ran
        error = ActionError(
            f"plan step {step.name!r} failed: {_describe(exc)}", action=step.action.name, attempts=0
        )
    error.__cause__ = exc
    for other, other_exc in others:
        error.add_note(f"plan step {other.name!r} failed too: {_describe(other_exc)}")
    return error
