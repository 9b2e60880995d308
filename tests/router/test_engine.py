"""The router's trie: insertion, matching in key order, deletion with pruning."""

from __future__ import annotations

import re

import pytest

from jido.errors import InternalError
from jido.signal.router_engine import Trie


def segs(text: str) -> tuple[str, ...]:
    return tuple(text.split("."))


class TestTrie:
    def test_match_sorted_by_key(self) -> None:
        """Matching items come greatest key first, whatever the insertion order."""
        trie: Trie[str] = Trie()
        trie.insert(segs("a.*"), (1,), "star")
        trie.insert(segs("a.b"), (3,), "exact")
        trie.insert(segs("**"), (2,), "all")
        trie.insert(segs("b.*"), (9,), "other")
        assert trie.match(segs("a.b")) == ["exact", "all", "star"]

    def test_len(self) -> None:
        """len counts stored items, duplicates included."""
        trie: Trie[str] = Trie()
        trie.insert(segs("a"), (1,), "x")
        trie.insert(segs("a"), (2,), "y")
        assert len(trie) == 2

    def test_delete_by_identity(self) -> None:
        """delete removes the very item given, not an equal one stored under the same pattern."""
        first, second = ["same"], ["same"]
        trie: Trie[list[str]] = Trie()
        trie.insert(segs("a"), (1,), first)
        trie.insert(segs("a"), (2,), second)
        trie.delete(segs("a"), first)
        matched = trie.match(segs("a"))
        assert len(matched) == 1
        assert matched[0] is second

    def test_delete_prunes(self) -> None:
        """Deleting the last item under a branch removes the branch's nodes."""
        trie: Trie[str] = Trie()
        trie.insert(segs("a.*.**.c"), (1,), "x")
        trie.delete(segs("a.*.**.c"), "x")
        assert trie._root.is_empty()
        assert len(trie) == 0

    def test_delete_keeps_shared_nodes(self) -> None:
        """Pruning stops at a node that still holds items or other children."""
        trie: Trie[str] = Trie()
        trie.insert(segs("a"), (1,), "short")
        trie.insert(segs("a.b.c"), (2,), "long")
        trie.insert(segs("a.*"), (3,), "star")
        trie.delete(segs("a.b.c"), "long")
        assert trie._root.literals["a"].literals == {}
        assert trie.match(segs("a")) == ["short"]
        assert trie.match(segs("a.b")) == ["star"]

    def test_delete_missing_item(self) -> None:
        """Deleting an item that is not stored is an internal error (the facade checks first)."""
        trie: Trie[str] = Trie()
        trie.insert(segs("a"), (1,), "x")
        with pytest.raises(InternalError, match=re.escape("item 'y' is not stored under pattern 'a'")):
            trie.delete(segs("a"), "y")

    def test_delete_missing_path(self) -> None:
        """Deleting under a pattern with no node is an internal error."""
        with pytest.raises(InternalError, match=re.escape("no trie node for pattern 'a.b'")):
            Trie[str]().delete(segs("a.b"), "x")

    def test_double_star_entered_once_per_position(self) -> None:
        """An item under a `**` reached along many paths is returned once."""
        trie: Trie[str] = Trie()
        trie.insert(segs("**.a.**.a.**"), (1,), "x")
        assert trie.match(segs("a.a.a.a.a.a")) == ["x"]
