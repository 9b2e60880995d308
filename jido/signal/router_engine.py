"""The router's engine: a trie of pattern segments, so that matching costs grow with a type's segment count.

Each node has a map of literal children, one ``*`` child and one ``**`` child, and the entries
(sort key, item) of the patterns that end there. Matching reads the type one segment at a time, like an
automaton: it keeps the nodes reached after the segments read so far, plus every ``**`` node entered so far (a
``**`` node stays live, since it may swallow any number of later segments). No node is visited twice for one
segment, so the work is at most (live nodes) times (segments), however many routes there are and however
many ``**`` a pattern holds: there is no backtracking to blow up.

The engine knows nothing of routes or signals: it stores opaque items under segment tuples and returns the
items whose patterns match, ordered by their sort keys (greatest first). :mod:`jido.signal.router` is its
facade.
"""

from __future__ import annotations

from collections.abc import Sequence
from operator import itemgetter
from typing import Any, Generic, TypeAlias, TypeVar

from jido.errors import InternalError
from jido.signal.pattern import DOUBLE_STAR, STAR

__all__ = ["SortKey", "Trie"]

T = TypeVar("T")

SortKey: TypeAlias = tuple[Any, ...]
"""Compared with ``<``; keys of one trie must be mutually comparable and distinct."""

_by_key = itemgetter(0)


class _Node(Generic[T]):
    __slots__ = ("double_star", "entries", "literals", "star")

    def __init__(self) -> None:
        self.literals: dict[str, _Node[T]] = {}
        self.star: _Node[T] | None = None
        self.double_star: _Node[T] | None = None
        self.entries: list[tuple[SortKey, T]] = []

    def is_empty(self) -> bool:
        return not (self.entries or self.literals or self.star or self.double_star)

    def child(self, segment: str) -> _Node[T] | None:
        if segment == DOUBLE_STAR:
            return self.double_star
        if segment == STAR:
            return self.star
        return self.literals.get(segment)

    def child_or_new(self, segment: str) -> _Node[T]:
        node = self.child(segment)
        if node is None:
            node = _Node()
            if segment == DOUBLE_STAR:
                self.double_star = node
            elif segment == STAR:
                self.star = node
            else:
                self.literals[segment] = node
        return node

    def drop_child(self, segment: str) -> None:
        if segment == DOUBLE_STAR:
            self.double_star = None
        elif segment == STAR:
            self.star = None
        else:
            del self.literals[segment]


class Trie(Generic[T]):
    """Items stored under pattern segments; :meth:`match` finds those whose pattern matches a type."""

    __slots__ = ("_root", "_size")

    def __init__(self) -> None:
        self._root: _Node[T] = _Node()
        self._size = 0

    def __len__(self) -> int:
        return self._size

    def insert(self, pattern: Sequence[str], key: SortKey, item: T) -> None:
        """Store ``item`` under the (already validated) ``pattern`` segments, to be sorted by ``key``."""
        node = self._root
        for segment in pattern:
            node = node.child_or_new(segment)
        node.entries.append((key, item))
        self._size += 1

    def delete(self, pattern: Sequence[str], item: T) -> None:
        """Remove ``item`` (compared by identity) from under ``pattern``, pruning nodes left empty.

        Raises:
            InternalError: the item is not there; the facade checks membership first, so this is a bug.
        """
        path: list[tuple[_Node[T], str]] = []
        node: _Node[T] | None = self._root
        for segment in pattern:
            assert node is not None
            path.append((node, segment))
            node = node.child(segment)
            if node is None:
                raise InternalError(f"no trie node for pattern {'.'.join(pattern)!r}")
        assert node is not None
        for index, (_, stored) in enumerate(node.entries):
            if stored is item:
                del node.entries[index]
                break
        else:
            raise InternalError(f"item {item!r} is not stored under pattern {'.'.join(pattern)!r}")
        self._size -= 1
        # Prune from the leaf up, so that removed routes cost nothing at match time.
        while path and node.is_empty():
            parent, segment = path.pop()
            parent.drop_child(segment)
            node = parent

    def match(self, signal_type: Sequence[str]) -> list[T]:
        """The items whose patterns match the (already validated) type segments, greatest key first."""
        # An automaton run, one type segment at a time. `nodes` are the nodes reached after exactly the
        # segments read so far; `loops` the `**` nodes entered so far, which stay live for good because a
        # `**` may swallow every later segment. A node other than a `**` has one parent and is reached at one
        # depth, so no node is visited twice at one position and no set is needed for them.
        root = self._root
        nodes: list[_Node[T]] = [root]
        loops: dict[_Node[T], None] = {}
        if root.double_star is not None:
            loops[root.double_star] = None
        for segment in signal_type:
            reached: list[_Node[T]] = []
            for node in [*nodes, *loops] if loops else nodes:
                child = node.literals.get(segment)
                if child is not None:
                    reached.append(child)
                if node.star is not None:
                    reached.append(node.star)
            for node in reached:
                if node.double_star is not None:
                    loops[node.double_star] = None
            nodes = reached
            if not nodes and not loops:
                return []
        found = [entry for source in (nodes, loops) for node in source for entry in node.entries]
        if len(found) > 1:
            found.sort(key=_by_key, reverse=True)
        return [item for _, item in found]
