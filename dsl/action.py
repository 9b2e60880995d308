"""``@action``: a class whose annotated fields are the params and whose ``run(self, ctx)`` does the work."""

from __future__ import annotations

import inspect
import math
from collections.abc import Callable, Mapping
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
    resolve_annotation,
    snake_case,
)
from jido.action.spec import DEFAULT_TIMEOUT, ActionSpec, RetryPolicy
from jido.convert import describe_value
from jido.errors import DefinitionError, ValidationError

__all__ = ["action"]

T = TypeVar("T", bound=type)

_OPTIONS = (
    "name",
    "description",
    "timeout",
    "retries",
    "backoff",
    "retry",
    "compensation_timeout",
    "allow_extra",
    "output",
    "category",
    "tags",
)
_RESERVED_PARAMS = frozenset({"run", "compensate"})

_SCALARS: dict[Any, tuple[type, ...]] = {int: (int,), float: (int, float), str: (str,), bool: (bool,)}


def _strict_scalar(expected: Any) -> Callable[[Any, attrs.Attribute[Any], Any], None]:
    accepted = _SCALARS[expected]

    def check(_: Any, attribute: attrs.Attribute[Any], value: Any) -> None:
        # Constructing params in code (``Increment(by="3")``) is held to the same rule as parsing them.
        if (isinstance(value, bool) and expected is not bool) or not isinstance(value, accepted):
            raise ValidationError.at(
                f"$.{attribute.name}", f"expected {expected.__name__}, got {describe_value(value)}"
            )

    return check


def _scalar_validators(
    localns: Mapping[str, Any],
) -> Callable[[type, list[attrs.Attribute[Any]]], list[attrs.Attribute[Any]]]:
    def transform(cls: type, fields: list[attrs.Attribute[Any]]) -> list[attrs.Attribute[Any]]:
        out = []
        for field in fields:
            annotation = resolve_annotation(cls, field.type, localns)
            if annotation in _SCALARS:
                check = _strict_scalar(annotation)
                validator = (
                    check if field.validator is None else attrs.validators.and_(field.validator, check)
                )
                field = field.evolve(validator=validator)
            out.append(field)
        return out

    return transform


def _check_signature(problems: Problems, member: str, func: object, expected: tuple[str, ...]) -> None:
    shown = f"({', '.join(expected)})"
    if not callable(func):
        problems.add(member, f"must be a method taking {shown}, got {type(func).__name__}")
        return
    if isinstance(func, staticmethod | classmethod):
        problems.add(member, f"must be a plain method taking {shown}, not a {type(func).__name__}")
        return
    parameters = list(inspect.signature(func).parameters.values())
    positional = [
        p
        for p in parameters
        if p.kind in (p.POSITIONAL_ONLY, p.POSITIONAL_OR_KEYWORD) and p.default is p.empty
    ]
    required_kw = [p for p in parameters if p.kind is p.KEYWORD_ONLY and p.default is p.empty]
    if len(positional) != len(expected) or required_kw:
        got = ", ".join(p.name for p in parameters)
        problems.add(member, f"must take {shown}, got ({got})")


def _retry_policy(retries: int | None, backoff: float | None, retry: RetryPolicy | None) -> RetryPolicy:
    if retry is not None:
        if retries is not None or backoff is not None:
            raise DefinitionError(
                "@action: conflicting options: give retry=RetryPolicy(...) or retries/backoff"
            )
        if not isinstance(retry, RetryPolicy):
            raise DefinitionError(f"@action(retry=...): expected a RetryPolicy, got {retry!r}")
        return retry
    if retries is None:
        if backoff is not None:
            raise DefinitionError("@action(backoff=...): backoff needs retries=N")
        return RetryPolicy()
    if isinstance(retries, bool) or not isinstance(retries, int) or retries < 0:
        raise DefinitionError(f"@action(retries=...): expected an int >= 0, got {retries!r}")
    return RetryPolicy(max_attempts=retries + 1, backoff=0.25 if backoff is None else backoff)


def _compile(
    cls: type,
    localns: dict[str, Any],
    *,
    name: str | None,
    description: str | None,
    timeout: float,
    retry: RetryPolicy,
    compensation_timeout: float,
    allow_extra: bool,
    output: type | None,
    category: str | None,
    tags: tuple[str, ...],
) -> type:
    if not isinstance(cls, type):
        raise DefinitionError(f"@action decorates a class, got {cls!r}")
    problems = Problems(cls, "action")
    annotations = own_annotations(cls)
    for field in annotations:
        if field in _RESERVED_PARAMS:
            problems.add(field, f"a parameter may not be named {field!r}: it is the action's own method")
    run = cls.__dict__.get("run")
    if run is None:
        problems.add(None, "an action needs a `run(self, ctx)` method")
    elif "run" not in annotations:
        _check_signature(problems, "run", run, ("self", "ctx"))
    compensate = cls.__dict__.get("compensate")
    if compensate is not None and "compensate" not in annotations:
        _check_signature(problems, "compensate", compensate, ("self", "ctx", "error"))
    problems.raise_if_any()
    frozen = make_frozen(cls, localns, problems, field_transformer=_scalar_validators(localns))
    problems.raise_if_any()
    assert frozen is not None
    check_defaults(frozen, problems)
    problems.raise_if_any()
    doc = inspect.getdoc(cls) if cls.__doc__ else None
    try:
        spec = ActionSpec(
            name=name if name is not None else snake_case(cls.__name__),
            run=frozen.run,  # type: ignore[attr-defined]
            params=frozen,
            description=description if description is not None else (doc or "").split("\n")[0],
            output=output,
            compensate=getattr(frozen, "compensate", None),
            timeout=timeout,
            retry=retry,
            compensation_timeout=compensation_timeout,
            allow_extra=allow_extra,
            category=category,
            tags=tuple(tags),
        )
    except DefinitionError as exc:
        raise DefinitionError(f"@action on {display_name(cls)}: {exc}") from None
    attach(frozen, spec)
    return frozen


@overload
def action(cls: T, /) -> T: ...


@overload
def action(
    *,
    name: str | None = None,
    description: str | None = None,
    timeout: float = DEFAULT_TIMEOUT,
    retries: int | None = None,
    backoff: float | None = None,
    retry: RetryPolicy | None = None,
    compensation_timeout: float = 5.0,
    allow_extra: bool = False,
    output: type | None = None,
    category: str | None = None,
    tags: tuple[str, ...] = (),
) -> Callable[[T], T]: ...


@reports_user_site
@dataclass_transform(frozen_default=True, field_specifiers=(attrs.field, attrs.Factory))
def action(
    cls: Any = None,
    /,
    *,
    name: str | None = None,
    description: str | None = None,
    timeout: float = DEFAULT_TIMEOUT,
    retries: int | None = None,
    backoff: float | None = None,
    retry: RetryPolicy | None = None,
    compensation_timeout: float = 5.0,
    allow_extra: bool = False,
    output: type | None = None,
    category: str | None = None,
    tags: tuple[str, ...] = (),
    **unknown: Never,
) -> Any:
    """Declare an action: annotated fields are its params (validated strictly), ``run(self, ctx)`` its work.

    The class stays a normal, typed, frozen class: ``Increment(by=2)`` is both its params and an instruction
    that ``jido.cmd`` accepts. ``run`` may be sync or async; an optional ``compensate(self, ctx, error)`` undoes
    what a failed run left behind. Works bare (``@action``) or with options.

    Args:
        name: stable name; defaults to the class name in snake_case.
        description: one line for humans and LLM tools; defaults to the docstring's first line.
        timeout: seconds per attempt (``math.inf`` for none).
        retries: extra attempts for failures classified retryable (0 by default).
        backoff: seconds before the first retry (doubling after), with ``retries``.
        retry: a full :class:`~jido.RetryPolicy` instead of ``retries``/``backoff``.
        compensation_timeout: seconds ``compensate`` may take.
        allow_extra: drop unknown param keys instead of rejecting them.
        output: attrs class the returned mapping must fit.
        category: free-form grouping.
        tags: free-form labels.

    Raises:
        DefinitionError: at class definition, naming ``Class.member`` and the rule broken.
    """
    check_unknown_options("action", unknown, _OPTIONS)
    if not isinstance(timeout, int | float) or isinstance(timeout, bool) or not timeout > 0:
        raise DefinitionError(f"@action(timeout=...): expected a positive number of seconds, got {timeout!r}")
    if math.isnan(timeout):
        raise DefinitionError("@action(timeout=...): expected a positive number of seconds, got nan")
    policy = _retry_policy(retries, backoff, retry)
    if output is not None and not (isinstance(output, type) and attrs.has(output)):
        raise DefinitionError(f"@action(output=...): expected an attrs class, got {output!r}")
    options: dict[str, Any] = {
        "name": name,
        "description": description,
        "timeout": timeout,
        "retry": policy,
        "compensation_timeout": compensation_timeout,
        "allow_extra": allow_extra,
        "output": output,
        "category": category,
        "tags": tags,
    }
    localns = caller_namespace()
    return bare_or_called(cls, lambda target: _compile(target, localns, **options))
