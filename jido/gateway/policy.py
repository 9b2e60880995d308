"""Who may do what through the gateway: bearer tokens, their policies, and the pattern coverage rule.

A subscription pattern is allowed when every signal type it can match is matched by at least one of the
token's allowed subscribe patterns (:func:`uncovered_type` decides this exactly, and names a type that is not
covered when there is one). So ``order.*`` is within ``order.**``, and ``a.*.**`` is within ``a.*`` plus
``a.*.*.**``; but ``a.**`` is not within ``a.*`` plus ``a.*.**``: it also matches ``a`` itself.
"""

from __future__ import annotations

import hashlib
import hmac
import re
from collections import deque
from collections.abc import Iterable, Mapping
from typing import Final, TypeAlias

import attrs

from jido.errors import ValidationError
from jido.signal.pattern import DOUBLE_STAR, STAR, matches, parse_pattern

__all__ = [
    "OPEN_IDENTITY",
    "OPEN_POLICY",
    "TOKEN_NAME",
    "TokenPolicy",
    "TokenTable",
    "TooComplexError",
    "identity_of",
    "uncovered_type",
]

# A bound on the states explored by uncovered_type: patterns are short in practice (those of the protocol
# document need fewer than 50); a hostile pattern of many wildcards cannot make the check expensive, it is
# refused instead. Each state costs a step per allowed pattern and literal: 20,000 let one 1 KB subscribe
# frame hold the event loop for about 0.2 s, 2,000 for a few milliseconds.
_MAX_STATES: Final = 2_000
TOKEN_NAME: Final = re.compile(r"\A[A-Za-z0-9_.:@-]{1,128}\Z")
"""What a token's name (its identity) may be."""
# Separates the identity digest from the digest TokenTable compares tokens by: one cannot stand for the other.
_IDENTITY_DOMAIN: Final = b"jido.gateway.identity\x00"

OPEN_IDENTITY: Final = "anonymous"
"""The identity every connection of a gateway served without tokens shares."""


def identity_of(token: str) -> str:
    """The identity of a token without a ``name``: stable across restarts (durable subscriptions are bound
    to it in the journal) and showing nothing of the token, such as ``"token-5f1c0a9e3b7d2e41"``."""
    digest = hashlib.sha256(_IDENTITY_DOMAIN + token.encode("utf-8", "surrogatepass")).hexdigest()
    return f"token-{digest[:16]}"


def _patterns(name: str, value: object) -> tuple[str, ...]:
    if isinstance(value, str) or not isinstance(value, Iterable):
        raise TypeError(f"TokenPolicy.{name} must be a tuple of patterns, got {value!r}")
    out = tuple(value)
    for pattern in out:
        try:
            parse_pattern(pattern)
        except ValidationError as exc:
            raise ValueError(f"TokenPolicy.{name}: {exc.errors[0].message}") from None
    return out


@attrs.frozen
class TokenPolicy:
    """What a token may do.

    Attributes:
        subscribe: patterns the token may subscribe within (see :func:`uncovered_type`); ``()`` forbids
            subscribing.
        publish: patterns the type of a published signal must match; ``()`` forbids publishing.
        call: whether the token may ``call`` agents (the signal of a call goes to one agent, not the bus, so
            ``publish`` does not apply to it), and see them in ``inspect``.
        name: the identity of the token's connections: durable subscriptions belong to the identity that
            created them. None: one derived from the token (:func:`identity_of`); give a name to keep
            the durable subscriptions of a token that is replaced (several tokens may share one name).
            1 to 128 of ``[A-Za-z0-9_.:@-]``.
    """

    subscribe: tuple[str, ...] = attrs.field(default=("**",))
    publish: tuple[str, ...] = attrs.field(default=("**",))
    call: bool = True
    name: str | None = None

    def __attrs_post_init__(self) -> None:
        object.__setattr__(self, "subscribe", _patterns("subscribe", self.subscribe))
        object.__setattr__(self, "publish", _patterns("publish", self.publish))
        if not isinstance(self.call, bool):
            raise TypeError(f"TokenPolicy.call must be a bool, got {self.call!r}")
        if self.name is not None and (not isinstance(self.name, str) or not TOKEN_NAME.match(self.name)):
            raise ValueError(f"TokenPolicy.name must be 1 to 128 of [A-Za-z0-9_.:@-], got {self.name!r}")

    def may_publish(self, signal_type: str) -> bool:
        """Whether a signal of ``signal_type`` may be published."""
        return any(matches(pattern, signal_type) for pattern in self.publish)

    def to_json(self) -> dict[str, object]:
        return {
            "name": self.name,
            "subscribe": list(self.subscribe),
            "publish": list(self.publish),
            "call": self.call,
        }


OPEN_POLICY: Final = TokenPolicy(name=OPEN_IDENTITY)
"""The policy of connections to a gateway served without tokens: everything allowed."""


def _check_token(token: object) -> str:
    if not isinstance(token, str) or not token:
        raise ValueError(f"tokens: each token must be a non-empty str, got {token!r}")
    if any(c.isspace() or not c.isprintable() for c in token):
        raise ValueError("tokens: a token may not contain whitespace or control characters")
    return token


class TokenTable:
    """The tokens a gateway accepts, compared in constant time (by SHA-256 digest, so lengths do not leak)."""

    def __init__(self, tokens: Mapping[str, TokenPolicy]) -> None:
        if not isinstance(tokens, Mapping):
            raise TypeError(f"tokens must be a mapping of token -> TokenPolicy, got {type(tokens).__name__}")
        if not tokens:
            raise ValueError("tokens must not be empty (pass tokens=None to serve without authentication)")
        self._entries: list[tuple[bytes, TokenPolicy]] = []
        for token, policy in tokens.items():
            if not isinstance(policy, TokenPolicy):
                raise TypeError(f"tokens: the policy of a token must be a TokenPolicy, got {policy!r}")
            _check_token(token)
            if policy.name is None:
                policy = attrs.evolve(policy, name=identity_of(token))
            self._entries.append((hashlib.sha256(token.encode()).digest(), policy))

    def __len__(self) -> int:
        return len(self._entries)

    def authenticate(self, presented: str) -> TokenPolicy | None:
        """The policy of the ``presented`` token (its ``name`` set), or None. Every entry is compared,
        whichever matches."""
        digest = hashlib.sha256(presented.encode("utf-8", "surrogatepass")).digest()
        found: TokenPolicy | None = None
        for known, policy in self._entries:
            if hmac.compare_digest(digest, known):
                found = policy
        return found


# -- pattern coverage --------------------------------------------------------------------------------------
#
# Patterns are regular languages over segments. Matching only ever compares a segment with the literals of
# the patterns involved, so one fresh segment (``None`` below) stands for every other segment, and the search
# runs over a finite alphabet. The requested pattern is walked as an NFA (one position at a time, so its own
# wildcards cannot blow up the search); each allowed pattern as the set of positions it can be in.


def _closure(segments: tuple[str, ...], positions: Iterable[int]) -> frozenset[int]:
    out = set(positions)
    pending = list(out)
    while pending:
        i = pending.pop()
        if i < len(segments) and segments[i] == DOUBLE_STAR and i + 1 not in out:
            out.add(i + 1)
            pending.append(i + 1)
    return frozenset(out)


def _step(segments: tuple[str, ...], positions: frozenset[int], symbol: str | None) -> frozenset[int]:
    moved: set[int] = set()
    for i in positions:
        if i < len(segments):
            segment = segments[i]
            if segment == DOUBLE_STAR:
                moved.add(i)
            elif segment in (STAR, symbol):
                moved.add(i + 1)
    return _closure(segments, moved)


class TooComplexError(Exception):
    """The coverage search passed its state budget (the pattern is refused, conservatively)."""


_Word: TypeAlias = "tuple[str | None, _Word] | None"


def _spelled(word: _Word) -> list[str | None]:
    symbols: list[str | None] = []
    while word is not None:
        symbol, word = word
        symbols.append(symbol)
    symbols.reverse()
    return symbols


def uncovered_type(pattern: str, allowed: Iterable[str]) -> str | None:
    """A signal type that ``pattern`` matches and none of ``allowed`` matches, or None if there is none.

    So ``pattern`` is within the allowed patterns exactly when this returns None. The type returned is a
    shortest one; segments that only wildcards matched are shown as a segment that no pattern names.

    Raises:
        ValidationError: a pattern is invalid.
        TooComplexError: the search passed its budget (hostile patterns of many wildcards).
    """
    wanted = parse_pattern(pattern)
    others = [parse_pattern(p) for p in allowed]
    literals = sorted({s for segments in (wanted, *others) for s in segments if s not in (STAR, DOUBLE_STAR)})
    alphabet: list[str | None] = [*literals, None]
    fresh, suffix = "x", 0
    while fresh in literals:
        suffix += 1
        fresh = f"x{suffix}"
    end = len(wanted)
    start = (0, tuple(_closure(a, [0]) for a in others), False)
    # 0-1 breadth-first search: following a `**` of the wanted pattern without consuming a segment costs 0.
    # The word so far is a chain (last symbol, the chain before it): extending it costs O(1), not a copy.
    queue: deque[tuple[int, tuple[frozenset[int], ...], bool, _Word]] = deque([(*start, None)])
    seen: set[tuple[int, tuple[frozenset[int], ...], bool]] = set()
    while queue:
        position, states, nonempty, word = queue.popleft()
        key = (position, states, nonempty)
        if key in seen:
            continue
        seen.add(key)
        if len(seen) > _MAX_STATES:
            raise TooComplexError(pattern)
        if position == end:
            if nonempty and not any(len(a) in s for a, s in zip(others, states, strict=True)):
                return ".".join(fresh if symbol is None else symbol for symbol in _spelled(word))
            continue
        segment = wanted[position]
        if segment == DOUBLE_STAR:
            queue.appendleft((position + 1, states, nonempty, word))
        for symbol in alphabet:
            if segment not in (STAR, DOUBLE_STAR) and symbol != segment:
                continue
            moved = tuple(_step(a, s, symbol) for a, s in zip(others, states, strict=True))
            nxt = position if segment == DOUBLE_STAR else position + 1
            queue.append((nxt, moved, True, (symbol, word)))
    return None
