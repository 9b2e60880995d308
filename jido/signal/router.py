"""The signal router: which routes a signal's type selects, in a defined order.

A route joins a pattern (``"order.*.added"``, ``"audit.**"``; see :mod:`jido.signal.pattern`) to a target
(any object: an action, a subscription, a handler). :meth:`Router.route` returns **every** route that matches,
ordered by

1. priority, higher first (an integer in -100..100, default 0);
2. specificity, more specific first (:func:`jido.signal.pattern.specificity`: more literal segments, then
   fewer ``**``, then more ``*``, then literals further left);
3. registration order, earlier first.

This is a total order, so a router's answer never depends on anything but its routes.

A route may carry a match predicate, ``when``: it is called with what was passed to :meth:`Router.route` (the
signal object, or the bare type string if that is what was routed) and the route is kept only if it returns
``True``. It must return a bool; a predicate that raises, or returns anything else, makes :meth:`Router.route`
raise :class:`~jido.errors.RoutePredicateError` with the cause attached: a broken predicate is never a silent
no-match.

Matching runs on a trie (:mod:`jido.signal.router_engine`), so it costs in proportion to the type's segment
count, not the number of routes, and the ordered candidates for each type are cached (bounded; emptied when
routes change), so routing a type seen before is one dict lookup plus the predicates of its candidates.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import Any, Final, Protocol, TypeAlias

import attrs

from jido.convert import describe_value
from jido.errors import NoRouteError, RoutePredicateError, RoutingError, ValidationError
from jido.signal.pattern import matches, parse_pattern, parse_type, specificity
from jido.signal.router_engine import SortKey, Trie

__all__ = [
    "MAX_PRIORITY",
    "MIN_PRIORITY",
    "Predicate",
    "Routable",
    "Route",
    "RouteSpec",
    "Router",
    "RouterStatistics",
    "SignalLike",
    "matches",
]

MIN_PRIORITY: Final = -100
MAX_PRIORITY: Final = 100
DEFAULT_CACHE_SIZE: Final = 4096


class SignalLike(Protocol):
    """Anything with a signal type: a :class:`jido.Signal`, or any object with a ``type`` string."""

    @property
    def type(self) -> str: ...


Routable: TypeAlias = SignalLike | str
"""What can be routed: a signal-like object or a bare signal type."""

Predicate: TypeAlias = Callable[[Any], bool]
"""A match predicate: called with what was routed (a signal, or a type string), returns a bool."""


def _check_priority(_: object, __: object, value: Any) -> None:
    if not isinstance(value, int) or isinstance(value, bool):
        raise ValidationError.at("$.priority", f"expected int, got {describe_value(value)}")
    if not MIN_PRIORITY <= value <= MAX_PRIORITY:
        raise ValidationError.at(
            "$.priority", f"must be between {MIN_PRIORITY} and {MAX_PRIORITY}, got {value}"
        )


def _check_pattern(_: object, __: object, value: Any) -> None:
    parse_pattern(value)


def _check_target(_: object, __: object, value: Any) -> None:
    if value is None:
        raise ValidationError.at("$.target", "must not be None")


def _check_when(_: object, __: object, value: Any) -> None:
    if value is not None and not callable(value):
        raise ValidationError.at("$.when", f"expected a callable or None, got {describe_value(value)}")


@attrs.frozen
class Route:
    """One route: a pattern and the target it selects.

    Routes are made by :meth:`Router.add`, or from the ``routes`` given to :class:`Router` (which takes only
    the pattern, target, priority and predicate of a ``Route`` and numbers it afresh).

    Attributes:
        pattern: the pattern, such as ``"order.*.added"``.
        target: what the route selects; any object but ``None``.
        priority: -100..100; higher sorts first.
        when: an optional match predicate (see the module docs).
        order: registration number within its router; earlier routes have smaller numbers.

    Raises:
        ValidationError: a field is invalid (``$.pattern``, ``$.target``, ``$.priority``, ``$.when``).
    """

    pattern: str = attrs.field(validator=_check_pattern)
    target: Any = attrs.field(validator=_check_target)
    priority: int = attrs.field(default=0, validator=_check_priority)
    when: Predicate | None = attrs.field(default=None, validator=_check_when)
    order: int = attrs.field(default=0, kw_only=True)


RouteSpec: TypeAlias = Route | tuple[str, Any] | tuple[str, Any, int]
"""A route given to :class:`Router`: a :class:`Route`, ``(pattern, target)`` or
``(pattern, target, priority)``."""


@attrs.frozen
class RouterStatistics:
    """A snapshot of a router.

    Attributes:
        routes: how many routes it holds.
        cached_types: how many signal types have their candidates cached.
        cache_size: the most types it caches (0: no cache).
    """

    routes: int
    cached_types: int
    cache_size: int


# A cache entry: the matching routes in order, before predicates, and whether any has a predicate.
_Entry: TypeAlias = tuple[tuple[Route, ...], bool]

_NO_TARGET: Final[Any] = object()


def _not_routable(signal: object) -> TypeError:
    kind = type(signal).__name__
    return TypeError(f"expected a signal (an object with a str 'type') or a signal type string, got {kind}")


def _type_of(signal: object) -> str:
    signal_type = getattr(signal, "type", None)
    if isinstance(signal_type, str):
        return signal_type
    raise _not_routable(signal)


def _route_spec(spec: object, index: int) -> tuple[str, Any, int, Predicate | None]:
    if isinstance(spec, Route):
        return spec.pattern, spec.target, spec.priority, spec.when
    if isinstance(spec, tuple) and len(spec) == 2:
        return spec[0], spec[1], 0, None
    if isinstance(spec, tuple) and len(spec) == 3:
        return spec[0], spec[1], spec[2], None
    raise ValidationError.at(
        f"$.routes[{index}]",
        f"expected a Route, (pattern, target) or (pattern, target, priority), got {describe_value(spec)}",
    )


class Router:
    """Routes signals to every matching route, in priority, specificity and registration order.

    Args:
        routes: initial routes, registered in the order given: :class:`Route` objects, ``(pattern, target)``
            or ``(pattern, target, priority)`` tuples.
        name: shown in errors and the repr (``NoRouteError: ... in 'counter'``).
        cache_size: how many signal types to keep ordered candidates for; 0 turns the cache off. When full,
            the oldest entry makes room.

    Raises:
        ValidationError: a route is invalid; the path names it (``$.routes[2].pattern: ...``).

    Example::

        router = Router([("counter.increment", Increment), ("counter.**", Audit, -10)])
        [route.target for route in router.route("counter.increment")]  # [Increment, Audit]
    """

    __slots__ = ("_cache", "_cache_size", "_name", "_next_order", "_routes", "_trie")

    def __init__(
        self,
        routes: Iterable[RouteSpec] = (),
        *,
        name: str | None = None,
        cache_size: int = DEFAULT_CACHE_SIZE,
    ) -> None:
        if not isinstance(cache_size, int) or isinstance(cache_size, bool) or cache_size < 0:
            raise ValidationError.at(
                "$.cache_size", f"expected an int >= 0, got {describe_value(cache_size)}"
            )
        if name is not None and not isinstance(name, str):
            raise ValidationError.at("$.name", f"expected str or None, got {describe_value(name)}")
        self._name = name
        self._cache_size = cache_size
        self._cache: dict[str, _Entry] = {}
        self._trie: Trie[Route] = Trie()
        self._routes: dict[int, Route] = {}
        self._next_order = 0
        for index, spec in enumerate(routes):
            pattern, target, priority, when = _route_spec(spec, index)
            try:
                self.add(pattern, target, priority=priority, when=when)
            except ValidationError as exc:
                raise exc.prefixed(f"$.routes[{index}]") from None

    def __len__(self) -> int:
        return len(self._routes)

    def __repr__(self) -> str:
        name = f" {self._name!r}" if self._name is not None else ""
        return f"<Router{name} with {len(self._routes)} routes>"

    @property
    def name(self) -> str | None:
        """The name given at construction, or ``None``."""
        return self._name

    def add(self, pattern: str, target: Any, *, priority: int = 0, when: Predicate | None = None) -> Route:
        """Register a route.

        Args:
            pattern: which types it matches, such as ``"order.*.added"``.
            target: what it selects; any object but ``None``.
            priority: -100..100; higher sorts first.
            when: an optional match predicate (see the module docs).

        Returns:
            The new route, numbered after every route registered before it.

        Raises:
            ValidationError: ``$.pattern``, ``$.target``, ``$.priority`` or ``$.when`` is invalid.
        """
        route = Route(pattern, target, priority, when, order=self._next_order)
        self._next_order += 1
        self._trie.insert(parse_pattern(pattern), _sort_key(route), route)
        self._routes[route.order] = route
        self._cache.clear()
        return route

    def remove(self, route_or_pattern: Route | str, target: Any = _NO_TARGET) -> tuple[Route, ...]:
        """Unregister routes.

        ``remove(route)`` removes that route; ``remove(pattern)`` every route with exactly that pattern;
        ``remove(pattern, target)`` those of them whose target equals ``target``.

        Returns:
            The removed routes, in registration order.

        Raises:
            RoutingError: nothing matched, so nothing was removed.
            ValidationError: the pattern is invalid.
            TypeError: a target was given with a route.
        """
        if isinstance(route_or_pattern, Route):
            if target is not _NO_TARGET:
                raise TypeError("remove(route) takes no target: the route already names one")
            route = route_or_pattern
            if self._routes.get(route.order) != route:
                raise RoutingError(
                    f"route {route.pattern!r} -> {route.target!r} (order {route.order}) is not in this router"
                )
            # The stored object, not an equal copy: the trie finds items by identity.
            removed: tuple[Route, ...] = (self._routes[route.order],)
        else:
            parse_pattern(route_or_pattern)
            removed = tuple(
                r
                for r in self._routes.values()
                if r.pattern == route_or_pattern and (target is _NO_TARGET or r.target == target)
            )
            if not removed:
                with_target = "" if target is _NO_TARGET else f" and target {target!r}"
                raise RoutingError(f"no route with pattern {route_or_pattern!r}{with_target} to remove")
        for r in removed:
            del self._routes[r.order]
            self._trie.delete(parse_pattern(r.pattern), r)
        self._cache.clear()
        return removed

    def routes(self) -> tuple[Route, ...]:
        """Every route, in registration order."""
        return tuple(self._routes.values())

    def route(self, signal: Routable) -> list[Route]:
        """Every route that matches the signal, in priority, specificity and registration order.

        Args:
            signal: a signal-like object (anything with a ``type`` string) or a bare signal type.

        Returns:
            The matching routes whose predicates (if any) accept the signal; empty if none does.

        Raises:
            ValidationError: the signal type is malformed (``$.type: ...``).
            RoutePredicateError: a predicate raised or returned a non-bool; ``__cause__`` says what happened.
            TypeError: ``signal`` is neither a string nor has a ``type`` string.
        """
        # Inlined rather than a call to `_type_of`: this is the hot path of every routed signal.
        if isinstance(signal, str):
            signal_type = signal
        else:
            found: object = getattr(signal, "type", None)
            if not isinstance(found, str):
                raise _not_routable(signal)
            signal_type = found
        entry = self._cache.get(signal_type)
        if entry is None:
            entry = self._lookup(signal_type)
        candidates, guarded = entry
        if not guarded:
            return list(candidates)
        return [r for r in candidates if r.when is None or _accepts(r, signal, signal_type)]

    def targets(self, signal: Routable) -> list[Any]:
        """The targets of :meth:`route`, in the same order."""
        return [r.target for r in self.route(signal)]

    def resolve(self, signal: Routable) -> list[Route]:
        """Like :meth:`route`, but a signal that no route accepts is an error.

        Raises:
            NoRouteError: no route matches (or every matching route's predicate declined).
        """
        found = self.route(signal)
        if not found:
            signal_type = signal if isinstance(signal, str) else _type_of(signal)
            raise NoRouteError(signal_type, where=repr(self._name) if self._name is not None else None)
        return found

    def statistics(self) -> RouterStatistics:
        """Counts of routes and cached types."""
        return RouterStatistics(len(self._routes), len(self._cache), self._cache_size)

    def _lookup(self, signal_type: str) -> _Entry:
        candidates = tuple(self._trie.match(parse_type(signal_type)))
        guarded = False
        for r in candidates:  # a loop, not any(...): most tuples hold one or two routes
            if r.when is not None:
                guarded = True
                break
        entry = (candidates, guarded)
        if self._cache_size:
            if len(self._cache) >= self._cache_size:
                # Dicts keep insertion order: drop the oldest entry, in O(1).
                del self._cache[next(iter(self._cache))]
            self._cache[signal_type] = entry
        return entry


def _sort_key(route: Route) -> SortKey:
    # The trie sorts greatest first: negating `order` puts earlier registrations first among equals.
    return (route.priority, specificity(route.pattern), -route.order)


def _accepts(route: Route, signal: object, signal_type: str) -> bool:
    assert route.when is not None
    try:
        verdict: object = route.when(signal)
    except Exception as exc:
        raise RoutePredicateError(route.pattern, signal_type) from exc
    if verdict is True or verdict is False:
        return verdict
    raise RoutePredicateError(route.pattern, signal_type) from TypeError(
        f"match predicate returned {verdict!r}, expected a bool"
    )
