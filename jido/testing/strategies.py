"""Hypothesis strategies for jido: signals (valid and not), signal types and router patterns, values of any attrs
schema, instructions for an agent, and fault plans.

Import it the way Hypothesis' own module is usually imported::

    from jido.testing import strategies as jst

    @given(jst.signals(types=jst.signal_types(segments=["order", "item", "added"])))
    def test_round_trip(signal): ...

Every strategy here shrinks toward small, readable values: short types, empty data, schema defaults, no faults.
"""

from __future__ import annotations

# First, before Hypothesis: without it, this import says what to install.
import jido.testing._needs_hypothesis  # noqa: F401

# isort: split
import datetime as dt
import enum
import itertools
import json
import math
import string
import types
import typing
from collections.abc import Callable, Iterable, Mapping, Sequence
from typing import Any, Final, Literal, TypeVar

import attrs
from hypothesis import reject
from hypothesis import strategies as st

from jido.action.instruction import Instruction
from jido.action.spec import ActionSpec, NoParams, action_spec_of
from jido.agent.spec import AgentSpec, agent_spec_of
from jido.convert import unstructure
from jido.errors import DefinitionError, ValidationError
from jido.signal.signal import CORE_ATTRIBUTES, Signal
from jido.testing.faults import (
    CrashAgent,
    DelayDelivery,
    DropDelivery,
    FailAction,
    FailJournalWrite,
    Fault,
    FaultPlan,
    SlowAction,
    TimeoutAction,
)

__all__ = [
    "FAULT_KINDS",
    "action_faults",
    "delivery_faults",
    "fault_plans",
    "from_schema",
    "instruction_sequences",
    "instructions",
    "invalid_signal_dicts",
    "invalid_signal_json",
    "json_values",
    "router_patterns",
    "signal_types",
    "signals",
    "signals_for",
]

T = TypeVar("T")

FAULT_KINDS: Final = ("raise", "timeout", "slow")
"""The kinds of action fault :func:`action_faults` draws: :class:`FailAction`, :class:`TimeoutAction`,
:class:`SlowAction`."""

_SEGMENT_CHARS: Final = string.ascii_letters + string.digits + "_-"
_EXTENSION_CHARS: Final = string.ascii_lowercase + string.digits
_WELL_KNOWN: Final = frozenset({"correlationid", "causationid", "traceparent", "tracestate"})

# Valid Unicode text: lone surrogates cannot be written as UTF-8, and signals refuse them.
_TEXT: Final = st.text(st.characters(codec="utf-8"), max_size=12)
_NON_EMPTY_TEXT: Final = st.text(st.characters(codec="utf-8"), min_size=1, max_size=12)
_SOURCES: Final = st.text(
    string.ascii_letters + string.digits + "-._~:/?#[]@!$&'()*+,;=", min_size=1, max_size=24
)
_TIMES: Final = st.datetimes(
    min_value=dt.datetime(1, 1, 2),
    max_value=dt.datetime(9999, 12, 30),
    timezones=st.integers(min_value=-1439, max_value=1439).map(
        lambda minutes: dt.timezone(dt.timedelta(minutes=minutes))
    ),
)


# -- JSON, types and patterns --------------------------------------------------------------------------------


def json_values(*, max_leaves: int = 10) -> st.SearchStrategy[Any]:
    """Any JSON value: null, booleans, integers, finite floats, valid Unicode text, arrays and objects."""
    scalars = (
        st.none()
        | st.booleans()
        | st.integers(min_value=-(2**63), max_value=2**63 - 1)
        | st.floats(allow_nan=False, allow_infinity=False)
        | _TEXT
    )
    return st.recursive(
        scalars,
        lambda children: st.lists(children, max_size=4) | st.dictionaries(_TEXT, children, max_size=4),
        max_leaves=max_leaves,
    )


def _segment_strategy(segments: Sequence[str] | st.SearchStrategy[str] | None) -> st.SearchStrategy[str]:
    if segments is None:
        return st.text(_SEGMENT_CHARS, min_size=1, max_size=8)
    if isinstance(segments, st.SearchStrategy):
        return segments
    if isinstance(segments, str) or not segments:
        raise ValueError(f"segments must be a non-empty list of type segments, got {segments!r}")
    bad = [s for s in segments if not isinstance(s, str) or not s or set(s) - set(_SEGMENT_CHARS)]
    if bad:
        raise ValueError(f"segments must use letters, digits, '_' and '-', got {bad[0]!r}")
    return st.sampled_from(list(segments))


def signal_types(
    *, segments: Sequence[str] | st.SearchStrategy[str] | None = None, max_segments: int = 4
) -> st.SearchStrategy[str]:
    """Valid signal types: 1 to ``max_segments`` segments joined by dots.

    Args:
        segments: the segments to draw from (a small list makes types and patterns meet), or a strategy of
            segments; any valid segment when omitted.
        max_segments: the most segments in one type.
    """
    if isinstance(max_segments, bool) or not isinstance(max_segments, int) or max_segments < 1:
        raise ValueError(f"max_segments must be an int >= 1, got {max_segments!r}")
    return st.lists(_segment_strategy(segments), min_size=1, max_size=max_segments).map(".".join)


def _no_double_double_star(parts: list[str]) -> bool:
    return all(not (a == b == "**") for a, b in itertools.pairwise(parts))


def router_patterns(
    *, segments: Sequence[str] | st.SearchStrategy[str] | None = None, max_segments: int = 4
) -> st.SearchStrategy[str]:
    """Valid router patterns: literal segments, ``*`` and ``**`` (never ``**`` twice in a row)."""
    if isinstance(max_segments, bool) or not isinstance(max_segments, int) or max_segments < 1:
        raise ValueError(f"max_segments must be an int >= 1, got {max_segments!r}")
    part = _segment_strategy(segments) | st.sampled_from(["*", "**"])
    return st.lists(part, min_size=1, max_size=max_segments).filter(_no_double_double_star).map(".".join)


# -- signals -------------------------------------------------------------------------------------------------


_EXTENSION_NAMES: Final = st.text(_EXTENSION_CHARS, min_size=1, max_size=20).filter(
    lambda n: n not in CORE_ATTRIBUTES and n not in _WELL_KNOWN
)
_EXTENSION_VALUES: Final = st.booleans() | st.integers(min_value=-(2**31), max_value=2**31 - 1) | _TEXT
_EXTENSION_DICTS: Final = st.dictionaries(_EXTENSION_NAMES, _EXTENSION_VALUES, max_size=3)
_TRACEPARENTS: Final = st.builds(
    "00-{}-{}-{}".format,
    st.binary(min_size=16, max_size=16).map(bytes.hex),
    st.binary(min_size=8, max_size=8).map(bytes.hex),
    st.sampled_from(["00", "01"]),
)


@st.composite
def _extensions(draw: st.DrawFn) -> dict[str, Any]:
    out: dict[str, Any] = draw(_EXTENSION_DICTS)
    if draw(st.booleans()):
        out["correlationid"] = draw(_NON_EMPTY_TEXT)
        out["causationid"] = draw(_NON_EMPTY_TEXT)
    if draw(st.booleans()):
        out["traceparent"] = draw(_TRACEPARENTS)
    return out


def signals(
    *,
    types: st.SearchStrategy[str] | None = None,
    data: st.SearchStrategy[Any] | None = None,
    sources: st.SearchStrategy[str] | None = None,
    extensions: bool = True,
) -> st.SearchStrategy[Signal]:
    """Valid signals (CloudEvents 1.0), each attribute drawn from its full valid range.

    Args:
        types: strategy of types; :func:`signal_types` by default.
        data: strategy of payloads; ``None``, any JSON value or bytes by default.
        sources: strategy of sources (URI-references).
        extensions: whether to draw extension attributes (tracing and causality ones included).
    """
    return st.builds(
        Signal,
        type=types if types is not None else signal_types(),
        source=sources if sources is not None else _SOURCES,
        data=data if data is not None else (st.none() | json_values() | st.binary(max_size=32)),
        subject=st.none() | _NON_EMPTY_TEXT,
        id=_NON_EMPTY_TEXT,
        time=_TIMES,
        datacontenttype=st.sampled_from(
            ["application/json", "text/plain; charset=utf-8", "application/octet-stream"]
        ),
        dataschema=st.none() | st.just("https://example.com/schemas/event.json"),
        extensions=_extensions() if extensions else st.just({}),
    )


def _drop(name: str) -> Callable[[dict[str, Any]], dict[str, Any]]:
    return lambda d: {k: v for k, v in d.items() if k != name}


def _put(name: str, value: object) -> Callable[[dict[str, Any]], dict[str, Any]]:
    return lambda d: {**d, name: value}


# Each breaks a valid signal's dict in one way the CloudEvents rules refuse; the flag says whether the break
# survives a trip through JSON text (a non-string key becomes a string there, for one).
_BREAKS: Final[tuple[tuple[str, Callable[[dict[str, Any]], dict[str, Any]], bool], ...]] = (
    *((f"no {n}", _drop(n), True) for n in ("specversion", "id", "source", "type")),
    *((f"specversion {v!r}", _put("specversion", v), True) for v in ("0.3", "2.0", 1.0, "")),
    *((f"id {v!r}", _put("id", v), True) for v in ("", 42, ["x"])),
    *((f"source {v!r}", _put("source", v), True) for v in ("", "has space", 5)),
    *((f"type {v!r}", _put("type", v), True) for v in ("", "a..b", "a b", ".a", "a.", "a/b", 7)),
    *((f"time {v!r}", _put("time", v), True) for v in ("yesterday", "2024-13-01T00:00:00Z", 17)),
    *((f"datacontenttype {v!r}", _put("datacontenttype", v), True) for v in ("", "no media type", 3)),
    *((f"dataschema {v!r}", _put("dataschema", v), True) for v in ("relative/path", "", 9)),
    *((f"subject {v!r}", _put("subject", v), True) for v in ("", 1)),
    *((f"extension {k!r}", _put(k, v), True) for k, v in (("Bad", "x"), ("x_y", "x"), ("a" * 21, "x"))),
    *((f"extension value {v!r}", _put("ext", v), True) for v in (1.5, 2**40, [1], {"a": 1})),
    ("traceparent 'zz'", _put("traceparent", "zz"), True),
    ("data_base64 not base64", lambda d: {**_drop("data")(d), "data_base64": "!!!"}, True),
    ("data_base64 with data", lambda d: {**d, "data": 1, "data_base64": "AA=="}, True),
    ("data NaN", _put("data", math.nan), True),
    ("data with a non-string key", _put("data", {1: "x"}), False),
    ("data not JSON", _put("data", {1.5, 2.5}), False),
)


_BREAK_NAMES: Final = {
    safe: st.sampled_from([name for name, _, ok in _BREAKS if ok or not safe]) for safe in (True, False)
}
_BREAK_BY_NAME: Final = {name: brk for name, brk, _ in _BREAKS}
_BASE_TYPES: Final = signal_types(max_segments=2)
_BASE_DATA: Final = st.none() | json_values(max_leaves=3)


@st.composite
def _broken_dict(draw: st.DrawFn, json_safe: bool) -> dict[str, Any]:
    # A valid signal's dict, drawn as a dict: building Signals only to take them apart again costs more.
    original: dict[str, Any] = {
        "specversion": "1.0",
        "id": draw(_NON_EMPTY_TEXT),
        "source": draw(_SOURCES),
        "type": draw(_BASE_TYPES),
        "time": "2025-01-01T00:00:00Z",
    }
    data = draw(_BASE_DATA)
    if data is not None:
        original["data"] = data
    # Sampled by name: the names read well in a failing example (a lambda would not).
    name = draw(_BREAK_NAMES[json_safe])
    broken: dict[str, Any] = _BREAK_BY_NAME[name](original)
    return broken


def invalid_signal_dicts() -> st.SearchStrategy[Any]:
    """Values :meth:`Signal.from_dict <jido.Signal.from_dict>` must refuse with a ``SignalError``.

    Mostly a valid signal's dict broken in one place (a required attribute missing or of the wrong type, a
    bad type path, time, media type, extension name or value, data that is not JSON, ...), sometimes not an
    object at all.
    """
    not_objects = st.sampled_from([None, [], [{"specversion": "1.0"}], "signal", 1, 2.5, True])
    return _broken_dict(json_safe=False) | not_objects


def invalid_signal_json() -> st.SearchStrategy[str]:
    """Text :meth:`Signal.from_json <jido.Signal.from_json>` must refuse with a ``SignalError``: broken
    JSON, JSON that is not an object, and the JSON of invalid signal objects."""
    broken = st.sampled_from(["", "{", '{"specversion": "1.0"', "nul", "[]", "1", '"text"', "{}"])
    return broken | _broken_dict(json_safe=True).map(json.dumps)


# -- values of a schema --------------------------------------------------------------------------------------


class _Default(enum.Enum):
    """Drawn for a field to leave it to its default."""

    DEFAULT = enum.auto()


def _is_dict(tp: Any, origin: Any) -> bool:
    return tp in (dict, Mapping) or origin in (dict, Mapping, typing.get_origin(Mapping[str, int]))


def _is_sequence(tp: Any, origin: Any) -> bool:
    return tp in (list, Sequence) or origin in (list, Sequence, typing.get_origin(Sequence[int]))


def _for_type(tp: Any, where: str) -> st.SearchStrategy[Any]:
    """A strategy of values of the annotation ``tp`` that the strict converter accepts as they are."""
    if tp is Any or tp is object:
        return json_values()
    if tp is type(None) or tp is None:
        return st.none()
    if tp is bool:
        return st.booleans()
    if tp is int:
        return st.integers()
    if tp is float:
        return st.floats(allow_nan=False, allow_infinity=False)
    if tp is str:
        return st.text(st.characters(codec="utf-8"), max_size=20)
    if tp is dt.datetime:
        return st.datetimes(timezones=st.just(dt.UTC))
    if isinstance(tp, type) and issubclass(tp, enum.Enum):
        return st.sampled_from(list(tp))
    if isinstance(tp, type) and attrs.has(tp):
        return st.deferred(lambda: from_schema(tp))
    origin = typing.get_origin(tp)
    args = typing.get_args(tp)
    if origin is Literal:
        return st.sampled_from(args)
    if origin in (typing.Union, types.UnionType):
        return st.one_of(*(_for_type(arg, where) for arg in args))
    if _is_sequence(tp, origin):
        return st.lists(_for_type(args[0], where) if args else json_values(), max_size=5)
    if tp is tuple or origin is tuple:
        if not args:
            return st.lists(json_values(), max_size=5).map(tuple)
        if args[-1] is Ellipsis:
            return st.lists(_for_type(args[0], where), max_size=5).map(tuple)
        return st.tuples(*(_for_type(arg, where) for arg in args))
    if tp in (set, frozenset) or origin in (set, frozenset):
        build = frozenset if frozenset in (tp, origin) else set
        items = _for_type(args[0], where) if args else st.integers()
        return st.frozensets(items, max_size=5).map(build)
    if _is_dict(tp, origin):
        key = args[0] if args else str
        value = _for_type(args[1], where) if len(args) == 2 else json_values()
        return st.dictionaries(_for_type(key, where), value, max_size=5)
    # Not st.from_type: it builds arbitrary objects for arbitrary classes, which no strict schema accepts.
    raise DefinitionError(
        f"{where}: cannot derive values of type {tp!r}: pass a strategy for it as an override"
    )


def from_schema(cls: type[T], /, **overrides: st.SearchStrategy[Any]) -> st.SearchStrategy[T]:
    """Instances of the attrs class ``cls`` (an agent's state, an action's params), built from its field types.

    Types are followed strictly: ``Literal`` and ``Enum`` values come from their members, nested attrs classes
    are built the same way, lists, tuples, sets and dicts hold values of their item types, ``Any`` holds JSON.
    A field with a default sometimes keeps it (values shrink toward it), unless it has an override. Instances that the class's own
    validators refuse are discarded, so every value drawn is one the class accepts.

    Args:
        cls: an attrs class.
        overrides: strategies for some fields, by name (to narrow a range, or for a type with no rule here).

    Raises:
        DefinitionError: ``cls`` is not an attrs class, an override names no field, or a field's type has no
            rule and no override.
    """
    if not (isinstance(cls, type) and attrs.has(cls)):
        raise DefinitionError(f"from_schema expects an attrs class, got {cls!r}")
    try:
        attrs.resolve_types(cls)
    except NameError as exc:
        raise DefinitionError(f"{cls.__qualname__}: cannot resolve a field annotation: {exc}") from None
    fields = [f for f in attrs.fields(cls) if f.init]
    unknown = sorted(set(overrides) - {f.name for f in fields})
    if unknown:
        raise DefinitionError(
            f"from_schema({cls.__qualname__}): no field named {', '.join(map(repr, unknown))}"
        )
    parts: list[tuple[str, st.SearchStrategy[Any]]] = []
    for field in fields:
        where = f"{cls.__qualname__}.{field.name}"
        strategy = overrides.get(field.name)
        if strategy is None:
            if field.type is None:
                raise DefinitionError(f"{where}: no type annotation: pass a strategy for it as an override")
            strategy = _for_type(field.type, where)
            if field.default is not attrs.NOTHING:
                strategy = st.just(_Default.DEFAULT) | strategy
        parts.append((field.alias or field.name, strategy))
    return _build(typing.cast(type[T], cls), tuple(parts))


@st.composite
def _build(draw: st.DrawFn, cls: type[T], parts: tuple[tuple[str, st.SearchStrategy[Any]], ...]) -> T:
    values = {}
    for name, strategy in parts:
        value = draw(strategy)
        if value is not _Default.DEFAULT:
            values[name] = value
    try:
        return cls(**values)
    except (ValidationError, ValueError, TypeError):
        reject()  # the class's own validators refuse it: not a value of the schema


# -- instructions and signals for an agent -------------------------------------------------------------------


def _agent_spec(agent: object) -> AgentSpec:
    spec = agent_spec_of(agent)
    if spec is None:
        raise DefinitionError(f"{agent!r} is not an agent (an @agent class, AgentSpec or Agent value)")
    return spec


def _route_actions(spec: AgentSpec, names: Iterable[str] | None) -> list[ActionSpec]:
    actions: dict[str, ActionSpec] = {}
    for route in spec.routes:
        actions.setdefault(route.action.name, route.action)
    if names is None:
        if not actions:
            raise DefinitionError(f"agent {spec.name!r} has no routes, so no actions to draw instructions of")
        return list(actions.values())
    wanted = list(names)
    unknown = [n for n in wanted if n not in actions]
    if unknown:
        known = ", ".join(map(repr, actions)) or "none"
        raise DefinitionError(
            f"agent {spec.name!r} routes no action named {unknown[0]!r} (it routes: {known})"
        )
    return [actions[n] for n in dict.fromkeys(wanted)]


def _params(action: ActionSpec, overrides: Mapping[str, st.SearchStrategy[Any]]) -> st.SearchStrategy[Any]:
    if action.params is NoParams and not overrides:
        return st.just(NoParams())
    return from_schema(action.params, **overrides)


def instructions(
    agent: object,
    *,
    actions: Iterable[str] | None = None,
    params: Mapping[str, Mapping[str, st.SearchStrategy[Any]]] | None = None,
) -> st.SearchStrategy[Any]:
    """Instructions for ``agent``: one of the actions its routes run, with params drawn from its schema.

    A decorated action class is its own instruction (``Boost(amount=3)``), which keeps counterexamples short;
    an action whose params class is not its own class is drawn as an :class:`~jido.Instruction`. Both are
    accepted by ``jido.cmd``.

    Args:
        agent: an ``@agent`` class, an :class:`~jido.AgentSpec` or an :class:`~jido.Agent`.
        actions: only these actions (by name); every routed action by default.
        params: per action name, overrides for :func:`from_schema` of its params.

    Raises:
        DefinitionError: not an agent, no routes, or an unknown action name.
    """
    spec = _agent_spec(agent)
    chosen = _route_actions(spec, actions)
    overrides = dict(params or {})
    unknown = [n for n in overrides if n not in {a.name for a in chosen}]
    if unknown:
        raise DefinitionError(f"params= names action {unknown[0]!r}, which is not among the actions drawn")
    options = []
    for action in chosen:
        drawn = _params(action, overrides.get(action.name, {}))
        if action_spec_of(action.params) is action:
            options.append(drawn)
        else:
            options.append(drawn.map(lambda p, a=action: Instruction(a, p)))  # type: ignore[misc]
    return st.one_of(*options)


def instruction_sequences(
    agent: object,
    *,
    actions: Iterable[str] | None = None,
    params: Mapping[str, Mapping[str, st.SearchStrategy[Any]]] | None = None,
    min_size: int = 0,
    max_size: int = 10,
) -> st.SearchStrategy[list[Any]]:
    """Lists of :func:`instructions` for ``agent``, from ``min_size`` to ``max_size`` long."""
    return st.lists(instructions(agent, actions=actions, params=params), min_size=min_size, max_size=max_size)


def _type_for(pattern: str) -> st.SearchStrategy[str]:
    """Types the pattern matches: ``*`` becomes one drawn segment, ``**`` zero to two."""
    pieces: list[st.SearchStrategy[list[str]]] = []
    segment = st.text(string.ascii_lowercase, min_size=1, max_size=6)
    for part in pattern.split("."):
        if part == "*":
            pieces.append(segment.map(lambda s: [s]))
        elif part == "**":
            pieces.append(st.lists(segment, max_size=2))
        else:
            pieces.append(st.just([part]))
    return (
        st.tuples(*pieces)
        .map(lambda lists: ".".join(itertools.chain.from_iterable(lists)))
        .filter(bool)  # a lone "**" may draw no segment at all
    )


def signals_for(agent: object, *, source: str = "/jido/testing") -> st.SearchStrategy[Signal]:
    """Signals ``agent`` routes: a type each route's pattern matches, data from the routed action's params.

    A route with ``when`` may still refuse a signal drawn for it; one with ``params`` given as a function of
    the signal gets no data.
    """
    spec = _agent_spec(agent)
    if not spec.routes:
        raise DefinitionError(f"agent {spec.name!r} has no routes, so no signals to draw")
    options = []
    for route in spec.routes:
        if callable(route.params) or route.action.params is NoParams:
            data: st.SearchStrategy[Any] = st.none()
        else:
            fixed = set(route.params or {})
            data = from_schema(route.action.params).map(
                lambda p, fixed=fixed: {k: v for k, v in unstructure(p).items() if k not in fixed}  # type: ignore[misc]
            )
        options.append(st.builds(Signal, type=_type_for(route.pattern), source=st.just(source), data=data))
    return st.one_of(*options)


# -- faults --------------------------------------------------------------------------------------------------


def action_faults(
    actions: Sequence[str],
    *,
    kinds: Sequence[str] = FAULT_KINDS,
    agent: str | None = None,
    max_occurrence: int = 5,
    delays: Sequence[float] = (0.5, 5.0, 60.0),
) -> st.SearchStrategy[Fault]:
    """Single action faults on chosen calls (``on``), which shrink toward the first call and fewer calls.

    Args:
        actions: the action names to strike.
        kinds: among ``"raise"``, ``"timeout"``, ``"slow"``.
        agent: only attempts inside this agent.
        max_occurrence: the latest call struck.
        delays: the delays of slow faults (a delay past an action's timeout makes it time out).
    """
    if isinstance(actions, str) or not actions:
        raise ValueError(f"actions must be a non-empty list of action names, got {actions!r}")
    bad = [k for k in kinds if k not in FAULT_KINDS]
    if bad or not kinds:
        raise ValueError(f"kinds must be among {', '.join(map(repr, FAULT_KINDS))}, got {list(kinds)!r}")
    names = st.sampled_from(list(actions))
    on = st.frozensets(st.integers(min_value=1, max_value=max_occurrence), min_size=1, max_size=2)
    options: list[st.SearchStrategy[Fault]] = []
    if "raise" in kinds:
        options.append(st.builds(FailAction, names, agent=st.just(agent), on=on))
    if "timeout" in kinds:
        options.append(st.builds(TimeoutAction, names, agent=st.just(agent), on=on))
    if "slow" in kinds:
        options.append(
            st.builds(SlowAction, names, delay=st.sampled_from(list(delays)), agent=st.just(agent), on=on)
        )
    return st.one_of(*options)


def delivery_faults(
    patterns: Sequence[str],
    *,
    subscription: str | None = None,
    max_occurrence: int = 5,
    delays: Sequence[float] = (0.5, 5.0, 60.0),
) -> st.SearchStrategy[Fault]:
    """Lost (:class:`DropDelivery`) or late (:class:`DelayDelivery`) bus deliveries of signals matching one of
    ``patterns``, on chosen deliveries; they shrink toward losing the first delivery.

    Args:
        patterns: router patterns of the signal types whose deliveries to strike.
        subscription: only deliveries to this subscription.
        max_occurrence: the latest delivery struck.
        delays: the delays of late deliveries.
    """
    if isinstance(patterns, str) or not patterns:
        raise ValueError(f"patterns must be a non-empty list of router patterns, got {patterns!r}")
    chosen = st.sampled_from(list(patterns))
    on = st.frozensets(st.integers(min_value=1, max_value=max_occurrence), min_size=1, max_size=2)
    return st.one_of(
        st.builds(DropDelivery, chosen, subscription=st.just(subscription), on=on),
        st.builds(
            DelayDelivery,
            chosen,
            delay=st.sampled_from(list(delays)),
            subscription=st.just(subscription),
            on=on,
        ),
    )


def fault_plans(
    actions: Sequence[str] = (),
    *,
    agents: Sequence[str] = (),
    deliveries: Sequence[str] = (),
    journal: bool = False,
    kinds: Sequence[str] = FAULT_KINDS,
    max_faults: int = 3,
    max_occurrence: int = 5,
) -> st.SearchStrategy[FaultPlan]:
    """Fault plans of up to ``max_faults`` faults: action faults on ``actions``, crashes of ``agents``, lost
    or late deliveries of signals matching ``deliveries`` (router patterns), failed journal appends
    (``journal=True``).

    Plans shrink toward no fault at all.
    """
    options: list[st.SearchStrategy[Fault]] = []
    on = st.frozensets(st.integers(min_value=1, max_value=max_occurrence), min_size=1, max_size=2)
    if actions:
        options.append(action_faults(actions, kinds=kinds, max_occurrence=max_occurrence))
    if agents:
        options.append(st.builds(CrashAgent, st.sampled_from(list(agents)), on=on))
    if deliveries:
        options.append(delivery_faults(deliveries, max_occurrence=max_occurrence))
    if journal:
        options.append(st.builds(FailJournalWrite, on=on))
    if not options:
        raise ValueError("fault_plans needs action names, agent ids, delivery patterns or journal=True")
    return st.builds(
        FaultPlan, st.lists(st.one_of(*options), max_size=max_faults), seed=st.integers(0, 2**16)
    )
