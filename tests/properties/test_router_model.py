"""The router against a reference model: a regex matcher written apart, then a sort by the documented key."""

from __future__ import annotations

import itertools
import re
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.stateful import Bundle, RuleBasedStateMachine, consumes, invariant, precondition, rule

from jido.errors import RoutingError
from jido.signal.pattern import matches, specificity
from jido.signal.router import Route, Router

# A tiny alphabet, so that generated patterns and types actually meet.
LITERALS = ["a", "b"]

literal = st.sampled_from(LITERALS)
signal_types = st.lists(literal, min_size=1, max_size=4).map(".".join)
patterns = (
    st.lists(st.sampled_from([*LITERALS, "*", "**"]), min_size=1, max_size=4)
    .filter(lambda segs: all(not (x == y == "**") for x, y in itertools.pairwise(segs)))
    .map(".".join)
)
# Mostly equal priorities, so that specificity and registration order decide often.
priorities = st.sampled_from([-100, -1, 0, 0, 0, 0, 1, 100])


def model_matches(pattern: str, signal_type: str) -> bool:
    """Reference matcher: each type segment is written `.seg`, so `**` is simply `(\\.[^.]+)*`."""
    pieces = {"*": r"\.[^.]+", "**": r"(?:\.[^.]+)*"}
    regex = "".join(pieces.get(seg, r"\." + re.escape(seg)) for seg in pattern.split("."))
    return re.fullmatch(regex, "." + signal_type) is not None


def model_key(pattern: str, priority: int, registered: int) -> tuple[Any, ...]:
    """Reference order, ascending: priority desc, literals desc, `**` asc, `*` desc, shape desc, order asc."""
    segs = pattern.split(".")
    literals = sum(s not in ("*", "**") for s in segs)
    stars = segs.count("*")
    double_stars = segs.count("**")
    shape = tuple(-({"*": 1, "**": 0}.get(s, 2)) for s in segs)
    return (-priority, -literals, double_stars, -stars, shape, registered)


def model_route(
    routes: list[tuple[str, int, int]], signal_type: str, accept: Any = None
) -> list[tuple[str, int, int]]:
    """The (pattern, target, priority) of `routes` (in registration order) that match, in routing order."""
    hits = [
        (model_key(pattern, priority, index), (pattern, target, priority))
        for index, (pattern, target, priority) in enumerate(routes)
        if model_matches(pattern, signal_type) and (accept is None or accept(target, signal_type))
    ]
    return [route for _, route in sorted(hits)]


def shown(routes: list[Route]) -> list[tuple[str, int, int]]:
    return [(r.pattern, r.target, r.priority) for r in routes]


@given(patterns, signal_types)
def test_matches_agrees_with_model(pattern: str, signal_type: str) -> None:
    """The standalone matcher agrees with the regex reference."""
    assert matches(pattern, signal_type) == model_matches(pattern, signal_type)


@given(patterns, patterns)
def test_specificity_agrees_with_model(first: str, second: str) -> None:
    """specificity() orders two patterns as the reference key does (equal priority, same registration)."""
    assert (specificity(first) > specificity(second)) == (model_key(first, 0, 0) < model_key(second, 0, 0))
    assert (specificity(first) == specificity(second)) == (model_key(first, 0, 0) == model_key(second, 0, 0))


@given(
    st.lists(st.tuples(patterns, priorities), max_size=12),
    st.lists(signal_types, min_size=1, max_size=6),
    st.sampled_from([0, 2, 4096]),
)
def test_route_agrees_with_model(specs: list[tuple[str, int]], types: list[str], cache_size: int) -> None:
    """route() returns exactly the model's matches, in the model's order, cached or not."""
    routes = [(pattern, target, priority) for target, (pattern, priority) in enumerate(specs)]
    router = Router(routes, cache_size=cache_size)
    for signal_type in types + types:  # the second pass is served from the cache where there is one
        assert shown(router.route(signal_type)) == model_route(routes, signal_type)


@given(
    st.lists(st.tuples(patterns, priorities, st.booleans()), max_size=10), st.lists(signal_types, max_size=5)
)
def test_predicates_agree_with_model(specs: list[tuple[str, int, bool]], types: list[str]) -> None:
    """Routes with predicates are kept exactly when the predicate says True, in the same order."""

    def accept(target: int, signal_type: str) -> bool:
        return (target + len(signal_type)) % 2 == 0

    router = Router()
    routes = []
    for target, (pattern, priority, guarded) in enumerate(specs):
        when = (lambda s, t=target: accept(t, s)) if guarded else None
        router.add(pattern, target, priority=priority, when=when)
        routes.append((pattern, target, priority))
    guarded_targets = {t for t, (_, _, guarded) in enumerate(specs) if guarded}
    for signal_type in types:
        expected = model_route(routes, signal_type, lambda t, s: t not in guarded_targets or accept(t, s))
        assert shown(router.route(signal_type)) == expected


class RouterMachine(RuleBasedStateMachine):
    """Add and remove routes at random; the router always answers like the model and like a fresh router."""

    registered = Bundle("registered")

    def __init__(self) -> None:
        super().__init__()
        # A tiny cache, so that eviction happens along the way.
        self.router = Router(cache_size=3)
        self.model: list[tuple[str, int, int]] = []
        self.next_target = 0

    @rule(target=registered, pattern=patterns, priority=priorities)
    def add(self, pattern: str, priority: int) -> Route:
        route = self.router.add(pattern, self.next_target, priority=priority)
        self.model.append((pattern, self.next_target, priority))
        self.next_target += 1
        return route

    @rule(route=consumes(registered))
    def remove_route(self, route: Route) -> None:
        entry = (route.pattern, route.target, route.priority)
        if entry in self.model:
            assert self.router.remove(route) == (route,)
            self.model.remove(entry)
        else:  # already removed by its pattern
            with pytest.raises(RoutingError):
                self.router.remove(route)

    @precondition(lambda self: bool(self.model))
    @rule(data=st.data())
    def remove_pattern(self, data: st.DataObject) -> None:
        pattern = data.draw(st.sampled_from([p for p, _, _ in self.model]))
        removed = self.router.remove(pattern)
        expected = [r for r in self.model if r[0] == pattern]
        assert shown(list(removed)) == expected
        self.model = [r for r in self.model if r[0] != pattern]

    @rule(signal_type=signal_types)
    def route(self, signal_type: str) -> None:
        assert shown(self.router.route(signal_type)) == model_route(self.model, signal_type)

    @rule(signal_type=signal_types)
    def same_as_fresh_router(self, signal_type: str) -> None:
        fresh = Router(self.model)
        assert shown(self.router.route(signal_type)) == shown(fresh.route(signal_type))

    @invariant()
    def lists_in_registration_order(self) -> None:
        routes = self.router.routes()
        assert shown(list(routes)) == self.model
        assert [r.order for r in routes] == sorted(r.order for r in routes)
        assert len(self.router) == len(self.model)


TestRouterMachine = RouterMachine.TestCase
# Fewer steps than the default 50 keep this file under its time budget; the profile still sets the examples.
TestRouterMachine.settings = settings(stateful_step_count=30)
