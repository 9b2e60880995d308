"""Machinery the decorators share: naming, option checks with hints, collecting problems, building attrs classes."""

from __future__ import annotations

import difflib
import functools
import inspect
import os
import re
import sys
import types
from collections.abc import Callable, Iterable, Mapping
from typing import Any, TypeVar, cast

import attrs

from jido._spec_attr import SPEC_ATTR
from jido.convert import converter, describe_value, is_json_type, structure, unstructure
from jido.errors import ROOT_PATH, DefinitionError, ValidationError
from jido.signal.serialization import dumps, loads

_CAMEL = re.compile(r"(?<=[a-z0-9])(?=[A-Z])|(?<=[A-Z])(?=[A-Z][a-z])")


def display_name(cls: type) -> str:
    """The name a user calls the class by: its qualified name after any ``<locals>`` part (``Outer.Inner``)."""
    return cls.__qualname__.rsplit("<locals>.", 1)[-1]


def snake_case(name: str) -> str:
    """``ContentOps`` -> ``content_ops``, ``HTTPFetch`` -> ``http_fetch``."""
    return _CAMEL.sub("_", name).lower()


def hint(word: str, choices: Iterable[str]) -> str:
    """``"; did you mean 'x'?"`` when a choice is close to ``word``, else ``""``."""
    close = difflib.get_close_matches(word, list(choices), n=1, cutoff=0.6)
    return f"; did you mean {close[0]!r}?" if close else ""


def check_unknown_options(decorator: str, unknown: Mapping[str, Any], known: Iterable[str]) -> None:
    """Raise for options the decorator does not take, with a "did you mean" hint."""
    if not unknown:
        return
    known = sorted(known)
    name = sorted(unknown)[0]
    raise DefinitionError(
        f"@{decorator}({name}=...): unknown option {name!r}{hint(name, known)} (options: {', '.join(known)})"
    )


class Problems:
    """Problems found across a class's members, raised together so a user fixes them in one pass."""

    def __init__(self, cls: type, kind: str) -> None:
        self.name = display_name(cls)
        self.kind = kind
        self.lines: list[str] = []

    def add(self, member: str | None, message: str) -> None:
        where = f"{self.name}.{member}" if member else self.name
        self.lines.append(f"{where}: {message}")

    def raise_if_any(self) -> None:
        if len(self.lines) == 1:
            raise DefinitionError(self.lines[0])
        if self.lines:
            listed = "\n".join(f"- {line}" for line in self.lines)
            raise DefinitionError(
                f"{self.name} is not a valid {self.kind} ({len(self.lines)} problems):\n{listed}"
            )


def user_frame() -> types.FrameType | None:
    """The innermost frame outside the ``dsl`` package: where the user wrote the decorator being applied."""
    frame: types.FrameType | None = sys._getframe(1)
    while frame is not None and frame.f_globals.get("__name__", "").partition(".")[0] == "dsl":
        frame = frame.f_back
    return frame


def caller_namespace() -> dict[str, Any]:
    """The local names where the decorated class was written, to resolve its string annotations."""
    frame = user_frame()
    return dict(frame.f_locals) if frame is not None else {}


F = TypeVar("F", bound=Callable[..., Any])


def reports_user_site(decorator: F) -> F:
    """Make a public decorator's DefinitionError name the user's file, line and class, and end at their code.

    The message is prefixed with where the decorator was applied (``app/agents.py:12: ``, the path relative
    to the current folder when it is inside it) and, unless the message already names it, the class
    (``in class Counter: ``): that is what a reader needs first, wherever the message is shown (a traceback,
    ``jido run``'s one line, a log). The traceback is cut so that it ends with the user's line and one frame
    of ours, whose shown source line says so, and pytest hides that frame too. The decorator a called form
    returns (``@agent(...)``, ``@route(...)``) is wrapped the same way.
    """
    return _reporting(decorator, on_class=True)


def reports_call_site(function: F) -> F:
    """As :func:`reports_user_site`, for a declaration that is called, not applied to a class (``child(...)``)."""
    return _reporting(function, on_class=False)


def _reporting(decorator: F, *, on_class: bool) -> F:
    @functools.wraps(decorator)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        __tracebackhide__ = True  # pytest: the user's line is the last one shown
        try:
            result = decorator(*args, **kwargs)
        except DefinitionError as exc:
            # Applied to a class, the first argument is the class being defined (for @agent(...) and
            # @route(...), the decorator they return is wrapped too, and applied to it).
            cls = args[0] if on_class and args and isinstance(args[0], type) else None
            locate(exc, user_frame(), cls)
            raise exc.with_traceback(None) from None  # the definition in the frame above is what is wrong
        if callable(result) and not isinstance(result, type):
            return _reporting(result, on_class=True)
        return result

    return cast(F, wrapper)


_LOCATED = "__jido_located__"


def locate(exc: DefinitionError, frame: types.FrameType | None, cls: type | None) -> None:
    """Prefix ``exc``'s message with ``file:line: `` of ``frame`` and, when not already named, the class.

    Done once: an error passing through several of our decorators keeps the innermost user site.
    """
    if (
        frame is None
        or getattr(exc, _LOCATED, False)
        or len(exc.args) != 1
        or not isinstance(exc.args[0], str)
    ):
        return
    message: str = exc.args[0]
    where = f"{shown_path(frame.f_code.co_filename)}:{frame.f_lineno}: "
    if cls is not None:
        name = display_name(cls)
        if not re.search(rf"(?<![\w.]){re.escape(name)}\b", message.partition("\n")[0]):
            where += f"in class {name}: "
    exc.args = (where + message,)
    setattr(exc, _LOCATED, True)


def shown_path(filename: str) -> str:
    """``filename`` relative to the current folder when it is inside it (as pytest shows paths), else as is."""
    try:
        relative = os.path.relpath(filename)
    except ValueError:  # another drive (Windows)
        return filename
    return filename if relative.startswith(os.pardir) else relative


def resolve_annotation(cls: type, annotation: Any, localns: Mapping[str, Any]) -> Any:
    """``annotation`` evaluated if it is a string (``from __future__ import annotations``); None if it cannot be."""
    if not isinstance(annotation, str):
        return annotation
    module = sys.modules.get(cls.__module__)
    try:
        return eval(annotation, dict(vars(module)) if module else {}, dict(localns))
    except Exception:  # an unresolvable annotation is reported later by attrs.resolve_types
        return None


def own_annotations(cls: type) -> dict[str, Any]:
    return dict(inspect.get_annotations(cls))


def rebuild(cls: type, *, bases: tuple[type, ...] = (), drop: Iterable[str] = ()) -> type:
    """A copy of ``cls`` with extra ``bases`` mixed in and some attributes dropped (temporary markers)."""
    dropped = {"__dict__", "__weakref__", *drop}
    namespace = {k: v for k, v in cls.__dict__.items() if k not in dropped}
    own_bases = tuple(b for b in cls.__bases__ if b is not object)
    # A base the class already inherits (StateMapping through AgentState) is not added again.
    extra = (b for b in bases if not any(issubclass(own, b) for own in own_bases))
    new_bases = (*own_bases, *extra) or (object,)
    return type(cls)(cls.__name__, new_bases, namespace)


def make_frozen(
    cls: type,
    localns: Mapping[str, Any],
    problems: Problems,
    field_transformer: Callable[[type, list[attrs.Attribute[Any]]], list[attrs.Attribute[Any]]] | None = None,
) -> type | None:
    """``attrs.frozen`` over ``cls`` with annotations resolved; None (and problems noted) when that fails."""
    try:
        frozen = attrs.frozen(cls, field_transformer=field_transformer)
    except (ValueError, TypeError) as exc:  # e.g. a field without default after one with a default
        problems.add(None, f"its fields do not form a valid attrs class: {exc}")
        return None
    try:
        # Without globalns, each class in the MRO is resolved in its own module; the caller's locals add the
        # names a class defined inside a function can see.
        attrs.resolve_types(frozen, localns=dict(localns))
    except NameError as exc:
        problems.add(None, f"cannot resolve a field annotation ({exc}): define the type before the class")
        return None
    return frozen


def bare_or_called(cls: Any, compile_class: Callable[[Any], Any]) -> Any:
    """Support both ``@decorator`` and ``@decorator(...)``: compile ``cls`` now, or return the decorator."""
    if cls is not None:
        return compile_class(cls)
    return compile_class


def attach(cls: type, spec: object) -> None:
    setattr(cls, SPEC_ATTR, spec)


def _type_label(tp: Any) -> str:
    label = tp.__qualname__ if isinstance(tp, type) else str(tp).replace("typing.", "")
    return f"{'an' if label[:1] in 'aeiou' else 'a'} {label}"


def _shown(value: object) -> str:
    """A default as the user wrote it: JSON-like values as JSON (``"zero"``), anything else by its repr."""
    try:
        dumps(value)
    except (ValueError, TypeError, RecursionError):
        shown = repr(value)
        return shown if len(shown) <= 60 else shown[:57] + "..."
    return describe_value(value)


def default_problem(tp: Any, value: object, *, json_state: bool) -> str | None:
    """Why the default ``value`` does not fit the annotation ``tp``, or None.

    The strict converter is the judge, as for data that comes in later: a default it would refuse from a
    signal is refused here, when the class is defined, instead of on first use. Types it does not check
    strictly (classes of the user's own, callables) are left alone unless ``json_state``.

    Args:
        json_state: the value is agent state, which crosses the gateway and is stored as JSON text: it must
            also come back from JSON as itself.
    """
    if is_json_type(tp):
        try:
            # Unstructured first: a default may be written as the typed value (an attrs instance, a
            # datetime, an enum member) or as the JSON a signal would carry for it.
            structure(unstructure(value), tp)
        except ValidationError as exc:
            nested = [e for e in exc.errors if e.path != ROOT_PATH]
            detail = f" ({nested[0]})" if nested else ""
            return f"default {_shown(value)} is not {_type_label(tp)}{detail}"
    if not json_state:
        return None
    try:
        back = converter.structure(loads(dumps(unstructure(value)), max_bytes=None), tp)
    except Exception:  # not JSON at all (an object, a set, NaN written as null): any failure says the same
        back = _NOT_BACK
    if back != value:
        return f"default {_shown(value)} does not round-trip through JSON (state is sent and stored as JSON)"
    return None


_NOT_BACK: Any = object()


def check_defaults(cls: type, problems: Problems, *, json_state: bool = False) -> None:
    """Note each field of the attrs class ``cls`` whose default does not fit its annotation."""
    for field in attrs.fields(cls):
        default = field.default
        if isinstance(default, attrs.Factory):  # type: ignore[arg-type]  # attrs types Factory as a function
            if default.takes_self:
                continue  # it needs the other fields: checked when an instance is made
            default = default.factory()
        if default is attrs.NOTHING or field.type is None:
            continue
        problem = default_problem(field.type, default, json_state=json_state)
        if problem is not None:
            problems.add(field.name, problem)
