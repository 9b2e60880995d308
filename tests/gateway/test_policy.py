"""Token policies: the constant-time token table and the exact pattern coverage rule."""

from __future__ import annotations

import itertools

import pytest
from hypothesis import given
from hypothesis import strategies as st

from jido.errors import ValidationError
from jido.gateway.policy import (
    OPEN_POLICY,
    TokenPolicy,
    TokenTable,
    TooComplexError,
    identity_of,
    uncovered_type,
)
from jido.signal.pattern import matches


class TestTokenPolicy:
    def test_defaults_allow_everything(self) -> None:
        """The default policy subscribes, publishes and calls anything."""
        policy = TokenPolicy()
        assert (policy.subscribe, policy.publish, policy.call) == (("**",), ("**",), True)

    def test_lists_become_tuples(self) -> None:
        """Pattern lists are kept as tuples (the policy is frozen)."""
        assert TokenPolicy(subscribe=["a.*"]).subscribe == ("a.*",)  # type: ignore[arg-type]

    def test_string_refused(self) -> None:
        """A bare string is not a tuple of patterns."""
        with pytest.raises(
            TypeError, match=r"^TokenPolicy.publish must be a tuple of patterns, got 'a\.\*'$"
        ):
            TokenPolicy(publish="a.*")  # type: ignore[arg-type]

    def test_bad_pattern_refused(self) -> None:
        """A malformed pattern is refused when the policy is made."""
        with pytest.raises(
            ValueError, match=r"^TokenPolicy.subscribe: empty segment at position 2 in 'a\.\.b'$"
        ):
            TokenPolicy(subscribe=("a..b",))

    def test_call_must_be_bool(self) -> None:
        """call is a bool, not a truthy value."""
        with pytest.raises(TypeError, match=r"^TokenPolicy.call must be a bool, got 1$"):
            TokenPolicy(call=1)  # type: ignore[arg-type]

    def test_may_publish(self) -> None:
        """A type may be published when one publish pattern matches it."""
        policy = TokenPolicy(publish=("order.*", "audit.**"))
        assert policy.may_publish("order.placed") and policy.may_publish("audit")
        assert not policy.may_publish("order.item.added")


class TestIdentity:
    def test_name_refused_when_malformed(self) -> None:
        """A name is 1 to 128 of a small alphabet: it is shown, logged and stored in the journal."""
        with pytest.raises(
            ValueError, match=r"^TokenPolicy.name must be 1 to 128 of \[A-Za-z0-9_.:@-\], got 'a b'$"
        ):
            TokenPolicy(name="a b")

    def test_derived_from_the_token(self) -> None:
        """A token without a name gets one derived from it: stable, distinct per token, not the token."""
        table = TokenTable({"s3cret-alpha": TokenPolicy(), "s3cret-beta": TokenPolicy()})
        alpha, beta = table.authenticate("s3cret-alpha"), table.authenticate("s3cret-beta")
        assert alpha is not None and beta is not None
        again = TokenTable({"s3cret-alpha": TokenPolicy()}).authenticate("s3cret-alpha")
        assert again is not None
        assert alpha.name == identity_of("s3cret-alpha") == again.name
        assert alpha.name != beta.name
        assert alpha.name is not None and alpha.name.startswith("token-")
        assert "s3cret" not in alpha.name

    def test_given_name_kept(self) -> None:
        """Two tokens may share a name (a token and its replacement): they are one identity."""
        table = TokenTable({"old": TokenPolicy(name="billing"), "new": TokenPolicy(name="billing")})
        policies = [table.authenticate(token) for token in ("old", "new")]
        assert [p.name if p is not None else None for p in policies] == ["billing", "billing"]

    def test_open_policy_is_one_identity(self) -> None:
        """Every connection of a gateway without tokens is the same identity."""
        assert OPEN_POLICY.name == "anonymous"


class TestTokenTable:
    def test_authenticate(self) -> None:
        """A known token gives its policy, an unknown one None."""
        reader = TokenPolicy(publish=(), name="reader")
        table = TokenTable({"alpha": TokenPolicy(), "beta": reader})
        assert table.authenticate("beta") is reader
        assert table.authenticate("gamma") is None
        assert table.authenticate("bet") is None

    def test_empty_refused(self) -> None:
        """An empty table would lock everyone out: tokens=None is the way to serve without auth."""
        with pytest.raises(ValueError, match=r"^tokens must not be empty \(pass tokens=None"):
            TokenTable({})

    def test_token_with_space_refused(self) -> None:
        """A token cannot carry whitespace (it could not travel in a header)."""
        with pytest.raises(
            ValueError, match=r"^tokens: a token may not contain whitespace or control characters$"
        ):
            TokenTable({"a b": TokenPolicy()})

    def test_policy_type_checked(self) -> None:
        """Each token maps to a TokenPolicy."""
        with pytest.raises(
            TypeError, match=r"^tokens: the policy of a token must be a TokenPolicy, got True$"
        ):
            TokenTable({"a": True})  # type: ignore[dict-item]


class TestCoverage:
    @pytest.mark.parametrize(
        ("pattern", "allowed"),
        [
            ("order.placed", ["order.*"]),
            ("order.*", ["order.**"]),
            ("order.**", ["**"]),
            ("a.*.**", ["a.*", "a.*.*.**"]),
            ("a.**", ["**.*"]),
            ("*.b", ["a.b", "*.b"]),
            ("a.**.b", ["a.**"]),
        ],
    )
    def test_covered(self, pattern: str, allowed: list[str]) -> None:
        """Patterns within the allowed ones (alone or together) are allowed."""
        assert uncovered_type(pattern, allowed) is None

    @pytest.mark.parametrize(
        ("pattern", "allowed", "example"),
        [
            ("order.**", ["order.*"], "order"),
            ("a.**", ["a.*", "a.*.**"], "a"),
            ("**", ["a.**"], "x"),
            ("x.*", ["x.a"], "x.x"),
            ("a.*", ["a.b", "a.c"], "a.a"),
            ("**", [], "x"),
            ("*.b", ["a.*"], "b.b"),
        ],
    )
    def test_uncovered(self, pattern: str, allowed: list[str], example: str) -> None:
        """A pattern reaching outside the allowed ones is refused, with a shortest type it would receive."""
        assert uncovered_type(pattern, allowed) == example

    def test_fresh_segment_avoids_literals(self) -> None:
        """A segment that only a wildcard matched is shown as one no pattern names."""
        assert uncovered_type("x.*", ["x.x", "x.x1"]) == "x.x2"

    def test_invalid_pattern(self) -> None:
        """A malformed pattern raises the pattern's validation error."""
        with pytest.raises(ValidationError, match=r"^\$\.pattern: empty segment"):
            uncovered_type("a..b", ["**"])

    def test_hostile_pattern_refused(self) -> None:
        """Allowed patterns whose determinization explodes end the search instead of exhausting the server."""
        hostile = "**.a" + ".*" * 16  # a determinized automaton of 2**16 states
        with pytest.raises(TooComplexError):
            uncovered_type(hostile, [hostile])

    @pytest.mark.parametrize(
        "pattern",
        [
            "*." * 300 + "**",
            ".".join(["*", "**"] * 200),
            ".".join("**" if i % 2 else "*" for i in range(333)),
        ],
        ids=["stars", "alternating", "odd_doubles"],
    )
    def test_long_wildcard_pattern_refused(self, pattern: str) -> None:
        """A subscribe pattern of hundreds of wildcards against a policy of several patterns passes the
        state budget and is refused, rather than searched to the end (which held the event loop for a
        fraction of a second per frame)."""
        allowed = ["a.*", "a.*.*.**", "*.b.**", "x.**.y.**.z", "**.q"]
        with pytest.raises(TooComplexError):
            uncovered_type(pattern, allowed)


SEGMENTS = st.sampled_from(["a", "b", "*", "**"])
PATTERNS = st.lists(SEGMENTS, min_size=1, max_size=4).map(".".join).filter(lambda p: "**.**" not in p)
WORDS = [".".join(w) for n in range(1, 5) for w in itertools.product("abc", repeat=n)]


class TestCoverageProperties:
    @given(PATTERNS, st.lists(PATTERNS, max_size=3))
    def test_agrees_with_enumeration(self, pattern: str, allowed: list[str]) -> None:
        """A returned type is a real counterexample; None means no type up to 4 segments is uncovered."""
        example = uncovered_type(pattern, allowed)
        if example is None:
            for word in WORDS:
                assert not matches(pattern, word) or any(matches(a, word) for a in allowed), word
        else:
            assert matches(pattern, example)
            assert not any(matches(a, example) for a in allowed)

    @given(PATTERNS)
    def test_pattern_covers_itself(self, pattern: str) -> None:
        """Every pattern is within itself."""
        assert uncovered_type(pattern, [pattern]) is None
