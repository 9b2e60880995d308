"""Signal types and route patterns: parsing, validation messages, specificity and the standalone matcher."""

from __future__ import annotations

import re

import pytest

from jido.errors import ValidationError
from jido.signal.pattern import matches, parse_pattern, parse_type, specificity


def exact(message: str) -> str:
    return f"^{re.escape(message)}$"


class TestParseType:
    @pytest.mark.parametrize(
        ("text", "segments"),
        [
            ("a", ("a",)),
            ("order.item.added", ("order", "item", "added")),
            ("A-1.b_2.C", ("A-1", "b_2", "C")),
        ],
    )
    def test_valid(self, text: str, segments: tuple[str, ...]) -> None:
        """A valid type splits into its segments."""
        assert parse_type(text) == segments

    @pytest.mark.parametrize(
        ("value", "message"),
        [
            (3, "$.type: expected str, got 3"),
            (None, "$.type: expected str, got null"),
            ("", "$.type: must not be empty"),
            ("a..b", "$.type: empty segment at position 2 in 'a..b'"),
            (".a", "$.type: empty segment at position 1 in '.a'"),
            ("a.", "$.type: empty segment at position 2 in 'a.'"),
            ("a.b c", "$.type: 'b c' at position 2 in 'a.b c' has characters outside [A-Za-z0-9_-]"),
            ("a.*", "$.type: '*' at position 2 in 'a.*' has characters outside [A-Za-z0-9_-]"),
            ("a.**", "$.type: '**' at position 2 in 'a.**' has characters outside [A-Za-z0-9_-]"),
            (
                "caf\u00e9",
                "$.type: 'caf\u00e9' at position 1 in 'caf\u00e9' has characters outside [A-Za-z0-9_-]",
            ),
            ("a\n", "$.type: 'a\\n' at position 1 in 'a\\n' has characters outside [A-Za-z0-9_-]"),
        ],
    )
    def test_invalid(self, value: object, message: str) -> None:
        """An invalid type is rejected with a message naming the bad segment and its position."""
        with pytest.raises(ValidationError, match=exact(message)):
            parse_type(value)

    def test_long_type_shortened(self) -> None:
        """A long type (perhaps untrusted input) is shown shortened in the message."""
        shown = "'" + "x" * 55 + "...'"
        with pytest.raises(ValidationError, match=exact(f"$.type: empty segment at position 2 in {shown}")):
            parse_type("x" * 10_000 + "..y")


class TestParsePattern:
    @pytest.mark.parametrize(
        ("text", "segments"),
        [
            ("a.b", ("a", "b")),
            ("*", ("*",)),
            ("**", ("**",)),
            ("a.*.c", ("a", "*", "c")),
            ("**.a.**", ("**", "a", "**")),
            ("*.**", ("*", "**")),
            ("**.*", ("**", "*")),
        ],
    )
    def test_valid(self, text: str, segments: tuple[str, ...]) -> None:
        """A valid pattern splits into literal and wildcard segments."""
        assert parse_pattern(text) == segments

    @pytest.mark.parametrize(
        ("value", "message"),
        [
            (3, "$.pattern: expected str, got 3"),
            (["a"], '$.pattern: expected str, got ["a"]'),
            ("", "$.pattern: must not be empty"),
            ("a..b", "$.pattern: empty segment at position 2 in 'a..b'"),
            (".", "$.pattern: empty segment at position 1 in '.'"),
            ("a.b.", "$.pattern: empty segment at position 3 in 'a.b.'"),
            ("***", "$.pattern: '***' at position 1 in '***' is not a valid segment (use '*' or '**')"),
            (
                "a.****",
                "$.pattern: '****' at position 2 in 'a.****' is not a valid segment (use '*' or '**')",
            ),
            ("**.**", "$.pattern: '**' at position 2 in '**.**' may not follow '**'"),
            ("a.**.**.b", "$.pattern: '**' at position 3 in 'a.**.**.b' may not follow '**'"),
            ("a.b c", "$.pattern: 'b c' at position 2 in 'a.b c' has characters outside [A-Za-z0-9_-]"),
            ("a/b", "$.pattern: 'a/b' at position 1 in 'a/b' has characters outside [A-Za-z0-9_-]"),
            (
                "a*",
                "$.pattern: 'a*' at position 1 in 'a*' mixes a wildcard with other characters; "
                "wildcards must be whole segments",
            ),
            (
                "x.*b",
                "$.pattern: '*b' at position 2 in 'x.*b' mixes a wildcard with other characters; "
                "wildcards must be whole segments",
            ),
            (
                "*.**.a*",
                "$.pattern: 'a*' at position 3 in '*.**.a*' mixes a wildcard with other characters; "
                "wildcards must be whole segments",
            ),
            ("*.***", "$.pattern: '***' at position 2 in '*.***' is not a valid segment (use '*' or '**')"),
            (
                "x.a**",
                "$.pattern: 'a**' at position 2 in 'x.a**' mixes a wildcard with other characters; "
                "wildcards must be whole segments",
            ),
        ],
    )
    def test_invalid(self, value: object, message: str) -> None:
        """An invalid pattern is rejected with a message saying which segment is wrong and why."""
        with pytest.raises(ValidationError, match=exact(message)):
            parse_pattern(value)

    def test_long_text_shortened(self) -> None:
        """A long pattern is shown shortened in the message."""
        text = "a." * 40 + "b c"
        shown = "'" + "a." * 27 + "a...'"
        message = f"$.pattern: 'b c' at position 41 in {shown} has characters outside [A-Za-z0-9_-]"
        with pytest.raises(ValidationError, match=exact(message)):
            parse_pattern(text)

    def test_first_problem_is_reported(self) -> None:
        """With several bad segments, the leftmost one is named."""
        with pytest.raises(ValidationError, match=exact("$.pattern: empty segment at position 2 in 'a..b*'")):
            parse_pattern("a..b*")


class TestSpecificity:
    def test_value(self) -> None:
        """The value is (literals, -double stars, stars, shape) with ranks literal 2, * 1, ** 0."""
        assert specificity("a.*.**") == (1, -1, 1, (2, 1, 0))

    @pytest.mark.parametrize(
        ("more", "less"),
        [
            ("a.b.c", "a.b.*"),
            ("a.b.*", "a.*.*"),
            ("a.*.*", "a.**"),
            ("a.**", "**"),
            ("a.*.**", "a.**"),
            ("a.*", "*.b"),
            ("a.**.c", "*.*.*"),
            ("a.*.c", "a.b.**"),
        ],
    )
    def test_order(self, more: str, less: str) -> None:
        """The first pattern is the more specific of the two."""
        assert specificity(more) > specificity(less)

    def test_invalid_pattern(self) -> None:
        """Specificity of an invalid pattern is a validation error."""
        with pytest.raises(ValidationError, match=exact("$.pattern: must not be empty")):
            specificity("")


class TestMatches:
    @pytest.mark.parametrize(
        ("pattern", "signal_type"),
        [
            ("a.b", "a.b"),
            ("a.*", "a.b"),
            ("*.*", "x.y"),
            ("audit.**", "audit"),
            ("audit.**", "audit.user.created"),
            ("a.**.z", "a.z"),
            ("a.**.z", "a.b.z"),
            ("a.**.z", "a.b.c.z"),
            ("**.z", "z"),
            ("**.z", "a.b.z"),
            ("**", "anything.at.all"),
            ("**.a.**", "a"),
            ("**.a.**", "x.a.y.a"),
            ("*.**", "a"),
            ("**.*", "a.b.c"),
        ],
    )
    def test_match(self, pattern: str, signal_type: str) -> None:
        """The pattern matches the type."""
        assert matches(pattern, signal_type)

    @pytest.mark.parametrize(
        ("pattern", "signal_type"),
        [
            ("a.b", "a.c"),
            ("a.b", "a.b.c"),
            ("a.b.c", "a.b"),
            ("a.*", "a"),
            ("a.*", "a.b.c"),
            ("*", "a.b"),
            ("audit.**", "auditx"),
            ("a.**.z", "a.z.y"),
            ("a.**.z", "b.z"),
            ("**.z", "z.a"),
            ("**.a.**", "b.c"),
            ("*.*.**", "a"),
        ],
    )
    def test_no_match(self, pattern: str, signal_type: str) -> None:
        """The pattern does not match the type."""
        assert not matches(pattern, signal_type)

    def test_case_sensitive(self) -> None:
        """Literal segments compare case-sensitively."""
        assert not matches("Order.created", "order.created")

    def test_many_double_stars_stay_fast(self) -> None:
        """Many `**` against a long type do not blow up (a backtracking matcher would take ages here)."""
        pattern = ".".join(["**", "a"] * 12) + ".**.b"
        assert not matches(pattern, ".".join(["a"] * 80))
        assert matches(pattern, ".".join(["a"] * 80) + ".b")

    def test_invalid_pattern(self) -> None:
        """An invalid pattern is an error, not a non-match."""
        with pytest.raises(ValidationError, match=exact("$.pattern: empty segment at position 2 in 'a..b'")):
            matches("a..b", "a.b")

    def test_invalid_type(self) -> None:
        """An invalid type is an error, not a non-match."""
        with pytest.raises(ValidationError, match=exact("$.type: empty segment at position 2 in 'a..b'")):
            matches("a.**", "a..b")
