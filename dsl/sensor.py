"""``@sensor``: a class that produces signals, in a loop of its own or by periodic samples."""

from __future__ import annotations

import inspect
from collections.abc import Callable
from typing import Any, Never, TypeVar, dataclass_transform, overload

import attrs

from dsl._build import (
    Problems,
    attach,
    bare_or_called,
    caller_namespace,
    check_defaults,
    check_unknown_options,
    display_name,
    make_frozen,
    own_annotations,
    reports_user_site,
    snake_case,
)
from jido.errors import DefinitionError
from jido.runtime.sensor_spec import SensorSpec

__all__ = ["sensor"]

T = TypeVar("T", bound=type)
_OPTIONS = ("name", "description", "every", "cron", "tz")


def _compile(
    cls: type,
    localns: dict[str, Any],
    *,
    name: str | None,
    description: str | None,
    every: float | None,
    cron: str | None,
    tz: str,
) -> type:
    if not isinstance(cls, type):
        raise DefinitionError(f"@sensor decorates a class, got {cls!r}")
    problems = Problems(cls, "sensor")
    run = cls.__dict__.get("run")
    sample = cls.__dict__.get("sample")
    periodic = every is not None or cron is not None
    if periodic:
        if sample is None:
            problems.add(
                None, "a sensor with every= or cron= needs a `sample(self)` method returning signals"
            )
        if run is not None:
            problems.add("run", "a periodic sensor defines sample(self), not run: remove one")
    elif run is None:
        problems.add(None, "a sensor needs `async def run(self, emit)`, or sample(self) with every= or cron=")
    elif not inspect.iscoroutinefunction(run):
        problems.add("run", "must be `async def run(self, emit)`")
    elif len(inspect.signature(run).parameters) != 2:
        problems.add("run", "must take (self, emit)")
    if sample is not None and (not callable(sample) or len(inspect.signature(sample).parameters) != 1):
        problems.add("sample", "must take (self)")
    for field in own_annotations(cls):
        if field in ("run", "sample"):
            problems.add(field, f"a config field may not be named {field!r}")
    problems.raise_if_any()
    frozen = make_frozen(cls, localns, problems)
    problems.raise_if_any()
    assert frozen is not None
    check_defaults(frozen, problems)
    problems.raise_if_any()
    try:
        spec = SensorSpec(
            name=name if name is not None else snake_case(cls.__name__),
            config=frozen,
            run=getattr(frozen, "run", None) if not periodic else None,
            sample=getattr(frozen, "sample", None) if periodic else None,
            every=every,
            cron=cron,
            tz=tz,
            description=description
            if description is not None
            else (cls.__doc__ or "").strip().split("\n")[0],
        )
    except (DefinitionError, ValueError) as exc:
        raise DefinitionError(f"@sensor on {display_name(cls)}: {exc}") from None
    attach(frozen, spec)
    return frozen


@overload
def sensor(cls: T, /) -> T: ...


@overload
def sensor(
    *,
    name: str | None = None,
    description: str | None = None,
    every: float | None = None,
    cron: str | None = None,
    tz: str = "UTC",
) -> Callable[[T], T]: ...


@reports_user_site
@dataclass_transform(frozen_default=True, field_specifiers=(attrs.field, attrs.Factory))
def sensor(
    cls: Any = None,
    /,
    *,
    name: str | None = None,
    description: str | None = None,
    every: float | None = None,
    cron: str | None = None,
    tz: str = "UTC",
    **unknown: Never,
) -> Any:
    """Declare a sensor: annotated fields are its config; it emits signals into the runtime.

    Either ``async def run(self, emit)`` loops and calls ``await emit(signal)``, or ``sample(self)`` (sync or
    async) is called every ``every`` seconds or on the ``cron`` schedule and returns a signal, a list of them,
    or None. Attach sensors to a supervisor with ``child(MySensor)``.

    Raises:
        DefinitionError: at class definition.
    """
    check_unknown_options("sensor", unknown, _OPTIONS)
    if every is not None and cron is not None:
        raise DefinitionError("@sensor: conflicting options every and cron: give one")
    options: dict[str, Any] = {
        "name": name,
        "description": description,
        "every": every,
        "cron": cron,
        "tz": tz,
    }
    localns = caller_namespace()
    return bare_or_called(cls, lambda target: _compile(target, localns, **options))
