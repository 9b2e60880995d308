"""Router: adding and removing routes, matching, ordering, predicates, the type cache and errors."""

from __future__ import annotations

import itertools
import re
from typing import Any

import attrs
import pytest

from jido.errors import NoRouteError, RoutePredicateError, RoutingError, ValidationError
from jido.signal import Signal
from jido.signal.router import Route, Router, RouterStatistics, matches


def exact(message: str) -> str:
    return f"^{re.escape(message)}$"


@attrs.frozen
class FakeSignal:
    """A stand-in for jido.Signal: the router needs only `.type`."""

    type: str
    data: dict[str, Any] = attrs.field(factory=dict)


def patterns(routes: list[Route]) -> list[str]:
    return [r.pattern for r in routes]


class TestRoute:
    def test_defaults(self) -> None:
        """A route has priority 0, no predicate and order 0 unless told otherwise."""
        route = Route("a.b", "t")
        assert (route.pattern, route.target, route.priority, route.when, route.order) == (
            "a.b",
            "t",
            0,
            None,
            0,
        )

    @pytest.mark.parametrize("priority", [-100, 0, 100])
    def test_priority_bounds_accepted(self, priority: int) -> None:
        """Priorities from -100 to 100 inclusive are accepted."""
        assert Route("a", "t", priority).priority == priority

    @pytest.mark.parametrize(
        ("priority", "message"),
        [
            (101, "$.priority: must be between -100 and 100, got 101"),
            (-101, "$.priority: must be between -100 and 100, got -101"),
            ("3", '$.priority: expected int, got "3"'),
            (1.0, "$.priority: expected int, got 1.0"),
            (True, "$.priority: expected int, got true"),
        ],
    )
    def test_bad_priority(self, priority: object, message: str) -> None:
        """A priority that is not an integer in -100..100 is rejected."""
        with pytest.raises(ValidationError, match=exact(message)):
            Route("a", "t", priority)  # type: ignore[arg-type]

    def test_bad_pattern(self) -> None:
        """An invalid pattern is rejected when the route is made."""
        with pytest.raises(ValidationError, match=exact("$.pattern: empty segment at position 2 in 'a..b'")):
            Route("a..b", "t")

    def test_none_target(self) -> None:
        """A route needs a target."""
        with pytest.raises(ValidationError, match=exact("$.target: must not be None")):
            Route("a", None)

    def test_bad_when(self) -> None:
        """A predicate must be callable."""
        with pytest.raises(ValidationError, match=exact("$.when: expected a callable or None, got 3")):
            Route("a", "t", when=3)  # type: ignore[arg-type]


class TestRouterInit:
    def test_empty(self) -> None:
        """A new router has no routes and routes nothing."""
        router = Router()
        assert len(router) == 0
        assert router.routes() == ()
        assert router.route("a.b") == []

    def test_route_forms(self) -> None:
        """Routes may be given as Route objects or (pattern, target[, priority]) tuples, numbered in order."""
        router = Router([Route("a", "t1", 5, order=99), ("b", "t2"), ("c", "t3", -5)])
        assert [(r.pattern, r.target, r.priority, r.order) for r in router.routes()] == [
            ("a", "t1", 5, 0),
            ("b", "t2", 0, 1),
            ("c", "t3", -5, 2),
        ]

    def test_route_keeps_predicate(self) -> None:
        """A Route given to the constructor keeps its predicate."""

        def never(_: object) -> bool:
            return False

        router = Router([Route("a", "t", when=never)])
        assert router.routes()[0].when is never
        assert router.route("a") == []

    def test_bad_item(self) -> None:
        """An item that is no route form is rejected, naming its index."""
        message = '$.routes[1]: expected a Route, (pattern, target) or (pattern, target, priority), got "a"'
        with pytest.raises(ValidationError, match=exact(message)):
            Router([("a", "t"), "a"])  # type: ignore[list-item]

    def test_bad_route_named_by_index(self) -> None:
        """An invalid route is rejected with its index in the path."""
        with pytest.raises(
            ValidationError, match=exact("$.routes[1].priority: must be between -100 and 100, got 500")
        ):
            Router([("a", "t"), ("b", "t", 500)])

    def test_bad_cache_size(self) -> None:
        """The cache size must be a non-negative integer."""
        with pytest.raises(ValidationError, match=exact("$.cache_size: expected an int >= 0, got -1")):
            Router(cache_size=-1)

    def test_bad_name(self) -> None:
        """The name must be a string."""
        with pytest.raises(ValidationError, match=exact("$.name: expected str or None, got 3")):
            Router(name=3)  # type: ignore[arg-type]

    def test_repr(self) -> None:
        """The repr shows the name and route count."""
        assert repr(Router([("a", "t")], name="counter")) == "<Router 'counter' with 1 routes>"
        assert repr(Router()) == "<Router with 0 routes>"


class TestAdd:
    def test_returns_numbered_route(self) -> None:
        """add returns the route, numbered after earlier ones."""
        router = Router()
        first = router.add("a.b", "t1")
        second = router.add("a.*", "t2", priority=3)
        assert (first.order, second.order) == (0, 1)
        assert second == Route("a.*", "t2", 3, order=1)

    def test_lists_in_registration_order(self) -> None:
        """routes() lists routes in registration order, whatever their priority."""
        router = Router()
        router.add("z", "t", priority=-3)
        router.add("a", "t", priority=50)
        router.add("m.**", "t")
        assert patterns(list(router.routes())) == ["z", "a", "m.**"]
        assert len(router) == 3

    def test_duplicates_kept(self) -> None:
        """The same pattern and target may be added twice; both routes match."""
        router = Router()
        router.add("a", "t")
        router.add("a", "t")
        assert len(router.route("a")) == 2

    def test_invalid_leaves_router_unchanged(self) -> None:
        """A rejected route is not registered and does not use up an order number."""
        router = Router()
        with pytest.raises(ValidationError):
            router.add("a", "t", priority=101)
        assert len(router) == 0
        assert router.add("a", "t").order == 0

    @pytest.mark.parametrize(
        ("kwargs", "message"),
        [
            (
                {"pattern": "a.b c", "target": "t"},
                "$.pattern: 'b c' at position 2 in 'a.b c' has characters outside [A-Za-z0-9_-]",
            ),
            (
                {"pattern": "a", "target": "t", "priority": 101},
                "$.priority: must be between -100 and 100, got 101",
            ),
            ({"pattern": "a", "target": None}, "$.target: must not be None"),
            (
                {"pattern": "a", "target": "t", "when": "yes"},
                '$.when: expected a callable or None, got "yes"',
            ),
        ],
    )
    def test_invalid(self, kwargs: dict[str, Any], message: str) -> None:
        """add rejects invalid arguments with the field's path."""
        with pytest.raises(ValidationError, match=exact(message)):
            Router().add(**kwargs)


class TestRemove:
    def test_by_route(self) -> None:
        """remove(route) removes that route only."""
        router = Router()
        keep = router.add("a", "t")
        gone = router.add("a", "t")
        assert router.remove(gone) == (gone,)
        assert router.routes() == (keep,)
        assert router.route("a") == [keep]

    def test_by_equal_copy(self) -> None:
        """A route equal to a registered one removes it."""
        router = Router()
        route = router.add("a.*", "t")
        assert router.remove(attrs.evolve(route)) == (route,)
        assert router.route("a.b") == []

    def test_by_pattern(self) -> None:
        """remove(pattern) removes every route with exactly that pattern, in registration order."""
        router = Router()
        first = router.add("a.*", "t1")
        other = router.add("a.b", "t2")
        second = router.add("a.*", "t3")
        assert router.remove("a.*") == (first, second)
        assert router.routes() == (other,)

    def test_by_pattern_and_target(self) -> None:
        """remove(pattern, target) removes only the routes with that target."""
        router = Router()
        router.add("a", "t1")
        gone = router.add("a", "t2")
        assert router.remove("a", "t2") == (gone,)
        assert [r.target for r in router.routes()] == ["t1"]

    def test_unknown_route(self) -> None:
        """Removing a route that is not registered is a routing error."""
        router = Router()
        route = router.add("a", "t")
        router.remove(route)
        with pytest.raises(RoutingError, match=exact("route 'a' -> 't' (order 0) is not in this router")):
            router.remove(route)

    def test_route_from_other_router(self) -> None:
        """A route of another router is not removed by its number alone."""
        router = Router([("a", "t")])
        stranger = Router([("b", "t")]).routes()[0]
        with pytest.raises(RoutingError, match=exact("route 'b' -> 't' (order 0) is not in this router")):
            router.remove(stranger)
        assert len(router) == 1

    def test_unknown_pattern(self) -> None:
        """Removing a pattern no route has is a routing error (a LookupError)."""
        with pytest.raises(LookupError, match=exact("no route with pattern 'a.*' to remove")):
            Router([("a.b", "t")]).remove("a.*")

    def test_unknown_target(self) -> None:
        """Removing a pattern with a target no such route has is a routing error."""
        with pytest.raises(RoutingError, match=exact("no route with pattern 'a' and target 'x' to remove")):
            Router([("a", "t")]).remove("a", "x")

    def test_invalid_pattern(self) -> None:
        """Removing by an invalid pattern is a validation error."""
        with pytest.raises(ValidationError, match=exact("$.pattern: must not be empty")):
            Router().remove("")

    def test_route_with_target(self) -> None:
        """A target may not be given with a route."""
        router = Router()
        route = router.add("a", "t")
        with pytest.raises(
            TypeError, match=exact("remove(route) takes no target: the route already names one")
        ):
            router.remove(route, "t")

    def test_orders_not_reused(self) -> None:
        """New routes are numbered after every route ever added, so order survives removals."""
        router = Router()
        router.add("a", "t")
        router.remove(router.add("b", "t"))
        assert router.add("c", "t").order == 2

    def test_shared_prefix_survives(self) -> None:
        """Removing a long pattern keeps the shorter routes along its path."""
        router = Router([("a", "t1"), ("a.b.c", "t2"), ("a.**", "t3")])
        router.remove("a.b.c")
        assert patterns(router.route("a")) == ["a", "a.**"]
        assert patterns(router.route("a.b.c")) == ["a.**"]


class TestMatching:
    def test_returns_all_matches(self) -> None:
        """route returns every matching route, not just the best."""
        router = Router([("a.b", 1), ("a.*", 2), ("**", 3), ("a.b.c", 4), ("b.*", 5)])
        assert sorted(r.target for r in router.route("a.b")) == [1, 2, 3]

    def test_no_match_is_empty(self) -> None:
        """A type no route matches gives an empty list."""
        assert Router([("a.b", "t")]).route("a.c") == []

    def test_signal_object(self) -> None:
        """A signal object is routed by its type."""
        router = Router([("order.*", "t")])
        assert router.targets(FakeSignal("order.created")) == ["t"]

    def test_double_star_matches_zero_segments(self) -> None:
        """`audit.**` matches `audit` itself and anything below it."""
        router = Router([("audit.**", "t")])
        assert router.targets("audit") == ["t"]
        assert router.targets("audit.user.login") == ["t"]
        assert router.targets("auditor") == []

    @pytest.mark.parametrize("signal_type", ["a.z", "a.b.z", "a.b.c.z"])
    def test_double_star_in_middle(self, signal_type: str) -> None:
        """`a.**.z` matches `a`, then any number of segments, then `z`."""
        assert Router([("a.**.z", "t")]).targets(signal_type) == ["t"]

    @pytest.mark.parametrize("signal_type", ["a", "z.a", "a.z.y", "b.z"])
    def test_double_star_in_middle_rejects(self, signal_type: str) -> None:
        """`a.**.z` needs both ends."""
        assert Router([("a.**.z", "t")]).targets(signal_type) == []

    @pytest.mark.parametrize(("signal_type", "expected"), [("z", ["t"]), ("x.y.z", ["t"]), ("z.x", [])])
    def test_leading_double_star(self, signal_type: str, expected: list[str]) -> None:
        """`**.z` matches any type ending in `z`, including `z` alone."""
        assert Router([("**.z", "t")]).targets(signal_type) == expected

    def test_star_is_one_segment(self) -> None:
        """`*` matches exactly one segment."""
        router = Router([("a.*", "t")])
        assert router.targets("a.b") == ["t"]
        assert router.targets("a") == []
        assert router.targets("a.b.c") == []

    def test_each_route_once(self) -> None:
        """A route that matches along several paths is returned once."""
        router = Router([("**.a.**", "t")])
        assert router.targets("a.a.a.a") == ["t"]

    def test_pathological_double_stars(self) -> None:
        """Many `**` in many routes against a long type finish (no exponential walk)."""
        router = Router([(".".join(["**", "a"] * n) + ".**", n) for n in range(1, 12)])
        assert router.targets(".".join(["a"] * 60) + ".b") == list(range(11, 0, -1))

    def test_agrees_with_matches(self) -> None:
        """The router and the standalone matcher agree on every pattern and type of a small grid."""
        pats = ["a", "*", "**", "a.*", "*.a", "a.**", "**.a", "a.**.a", "*.**", "**.*", "a.*.a"]
        types = [".".join(p) for n in range(1, 4) for p in itertools.product("ab", repeat=n)]
        router = Router([(p, p) for p in pats])
        for signal_type in types:
            assert set(router.targets(signal_type)) == {p for p in pats if matches(p, signal_type)}


class TestOrdering:
    def test_priority_first(self) -> None:
        """A higher priority sorts first, even before a more specific pattern."""
        router = Router([("a.b", "exact"), ("**", "catch-all", 10), ("a.*", "star", -10)])
        assert router.targets("a.b") == ["catch-all", "exact", "star"]

    def test_specificity_ladder(self) -> None:
        """At equal priority: literals, then fewer `**`, then more `*`, then literals further left."""
        ladder = ["a.b.c", "a.b.*", "a.*.c", "a.*.*", "*.b.*", "*.*.c", "a.*.**", "a.**", "*.*.*", "**"]
        for order in (ladder, ladder[::-1]):
            assert patterns(Router([(p, p) for p in order]).route("a.b.c")) == ladder

    def test_registration_order_breaks_ties(self) -> None:
        """Routes equal in priority and specificity come in registration order."""
        router = Router([("a.b", 1), ("**.a.**", 2), ("a.b", 3), ("**.b.**", 4)])
        assert router.targets("a.b") == [1, 3, 2, 4]

    def test_independent_of_insertion_order(self) -> None:
        """Routes that differ in priority or specificity sort the same however they were added."""
        specs = [("a.b", "p", 0), ("a.*", "q", 0), ("**", "r", 5), ("a.**", "s", 0), ("*.b", "t", 0)]
        results = {tuple(Router(list(p)).targets("a.b")) for p in itertools.permutations(specs)}
        assert results == {("r", "p", "q", "t", "s")}


class TestPredicates:
    def test_true_and_false(self) -> None:
        """A route whose predicate says False is left out; True keeps it."""
        router = Router()
        router.add("order.*", "big", when=lambda s: s.data["total"] > 100)
        router.add("order.*", "any")
        assert router.targets(FakeSignal("order.paid", {"total": 500})) == ["big", "any"]
        assert router.targets(FakeSignal("order.paid", {"total": 5})) == ["any"]

    def test_receives_what_was_routed(self) -> None:
        """The predicate gets the signal object, or the bare type string if that was routed."""
        seen: list[object] = []

        def spy(signal: object) -> bool:
            seen.append(signal)
            return True

        router = Router([Route("a", "t", when=spy)])
        signal = FakeSignal("a")
        router.route(signal)
        router.route("a")
        assert seen == [signal, "a"]

    def test_only_matching_routes_asked(self) -> None:
        """Predicates of routes whose pattern does not match are not called."""

        def boom(_: object) -> bool:
            raise AssertionError("called")

        assert Router([Route("b", "t", when=boom)]).route("a") == []

    def test_not_cached(self) -> None:
        """Predicates run on every call: the same type may route differently per signal."""
        router = Router([Route("a", "t", when=lambda s: bool(s.data))])
        assert router.targets(FakeSignal("a", {"x": 1})) == ["t"]
        assert router.targets(FakeSignal("a")) == []
        assert router.targets(FakeSignal("a", {"x": 1})) == ["t"]

    def test_raising_predicate(self) -> None:
        """A predicate that raises makes route() raise RoutePredicateError, caused by the original error."""
        cause = KeyError("total")

        def broken(_: object) -> bool:
            raise cause

        router = Router([("order.*", "plain"), Route("order.**", "t", when=broken)])
        with pytest.raises(
            RoutePredicateError,
            match=exact("match predicate of route 'order.**' raised on signal type 'order.paid'"),
        ) as info:
            router.route(FakeSignal("order.paid"))
        assert info.value.__cause__ is cause
        assert info.value.pattern == "order.**"
        assert info.value.signal_type == "order.paid"

    def test_non_bool_verdict(self) -> None:
        """A predicate returning a non-bool is an error too, not a truthiness test."""
        router = Router([Route("a", "t", when=lambda _: 1)])  # type: ignore[arg-type,return-value]
        with pytest.raises(
            RoutePredicateError, match=exact("match predicate of route 'a' raised on signal type 'a'")
        ) as info:
            router.route("a")
        assert isinstance(info.value.__cause__, TypeError)
        assert str(info.value.__cause__) == "match predicate returned 1, expected a bool"

    def test_base_exception_passes_through(self) -> None:
        """A BaseException (cancellation, interrupt) from a predicate is not wrapped."""

        class Stop(BaseException):
            pass

        def stop(_: object) -> bool:
            raise Stop

        with pytest.raises(Stop):
            Router([Route("a", "t", when=stop)]).route("a")


class TestRouteInput:
    def test_no_type(self) -> None:
        """An object without a type is a TypeError."""
        message = "expected a signal (an object with a str 'type') or a signal type string, got int"
        with pytest.raises(TypeError, match=exact(message)):
            Router().route(3)  # type: ignore[arg-type]

    def test_type_not_str(self) -> None:
        """A signal whose type is not a string is a TypeError."""
        message = "expected a signal (an object with a str 'type') or a signal type string, got FakeSignal"
        with pytest.raises(TypeError, match=exact(message)):
            Router().route(FakeSignal(7))  # type: ignore[arg-type]

    @pytest.mark.parametrize(
        ("signal", "message"),
        [
            ("a..b", "$.type: empty segment at position 2 in 'a..b'"),
            ("", "$.type: must not be empty"),
            (FakeSignal("a.*"), "$.type: '*' at position 2 in 'a.*' has characters outside [A-Za-z0-9_-]"),
        ],
    )
    def test_malformed_type(self, signal: Any, message: str) -> None:
        """A malformed type is a validation error, even with no routes."""
        with pytest.raises(ValidationError, match=exact(message)):
            Router([("**", "t")]).route(signal)


class TestResolve:
    def test_found(self) -> None:
        """resolve returns the routes when some match."""
        router = Router([("a", "t")])
        assert router.resolve("a") == router.route("a")

    def test_not_found(self) -> None:
        """resolve raises NoRouteError naming the type."""
        with pytest.raises(NoRouteError, match=exact("no route for signal type 'a.b'")) as info:
            Router().resolve(FakeSignal("a.b"))
        assert info.value.signal_type == "a.b"

    def test_not_found_named(self) -> None:
        """A named router says which router had no route."""
        with pytest.raises(NoRouteError, match=exact("no route for signal type 'a' in 'counter'")):
            Router(name="counter").resolve("a")

    def test_all_declined(self) -> None:
        """If every matching route's predicate declines, there is no route."""
        with pytest.raises(NoRouteError, match=exact("no route for signal type 'a'")):
            Router([Route("a", "t", when=lambda _: False)]).resolve("a")


class TestCache:
    def test_add_invalidates(self) -> None:
        """A route added after a type was routed is seen the next time."""
        router = Router([("a.b", 1)])
        assert router.targets("a.b") == [1]
        router.add("a.*", 2)
        assert router.targets("a.b") == [1, 2]

    def test_remove_invalidates(self) -> None:
        """A route removed after a type was routed is gone the next time."""
        router = Router([("a.b", 1), ("a.*", 2)])
        assert router.targets("a.b") == [1, 2]
        router.remove("a.b")
        assert router.targets("a.b") == [2]

    def test_cached_types_counted(self) -> None:
        """Each routed type is cached once; changing routes empties the cache."""
        router = Router([("**", "t")])
        router.route("a")
        router.route("a")
        router.route(FakeSignal("b"))
        assert router.statistics() == RouterStatistics(routes=1, cached_types=2, cache_size=4096)
        router.add("c", "t")
        assert router.statistics().cached_types == 0

    def test_bounded(self) -> None:
        """The cache never holds more than cache_size types and still answers correctly past it."""
        router = Router([("a.*", "t")], cache_size=2)
        for name in ["x", "y", "z", "x"]:
            assert router.targets(f"a.{name}") == ["t"]
            assert router.statistics().cached_types <= 2

    def test_oldest_evicted(self) -> None:
        """When full, the type cached first makes room."""
        router = Router([("a.*", "t")], cache_size=2)
        for name in ["x", "y", "z"]:
            router.route(f"a.{name}")
        assert list(router._cache) == ["a.y", "a.z"]

    def test_disabled(self) -> None:
        """cache_size=0 caches nothing and routes the same."""
        router = Router([("a.*", 1), ("a.b", 2)], cache_size=0)
        assert router.targets("a.b") == [2, 1]
        assert router.targets("a.b") == [2, 1]
        assert router.statistics().cached_types == 0

    def test_result_is_a_fresh_list(self) -> None:
        """Changing a returned list does not change later answers."""
        router = Router([("a", "t")])
        router.route("a").clear()
        assert router.targets("a") == ["t"]

    def test_malformed_type_not_cached(self) -> None:
        """A type rejected as malformed leaves no cache entry."""
        router = Router()
        with pytest.raises(ValidationError):
            router.route("a..b")
        assert router.statistics().cached_types == 0

    def test_routing_leaves_routes_alone(self) -> None:
        """Routing changes nothing observable but the cache."""
        router = Router([("a.**", 1), Route("a.b", 2, when=lambda _: True)])
        before = router.routes()
        router.route("a.b")
        assert router.routes() == before
        assert len(router) == 2


class TestWithJidoSignal:
    def test_routes_a_real_signal(self) -> None:
        """A jido Signal routes by its type, and predicates see the whole signal."""
        router = Router([("counter.*", "any"), ("counter.**", "audit", -5)])
        router.add("counter.increment", "big", when=lambda s: s.data["by"] > 1)
        assert router.targets(Signal(type="counter.increment", source="/demo", data={"by": 2})) == [
            "big",
            "any",
            "audit",
        ]
        assert router.targets(Signal(type="counter.increment", source="/demo", data={"by": 1})) == [
            "any",
            "audit",
        ]
