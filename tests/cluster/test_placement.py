"""Rendezvous placement: every process agrees, and a node leaving moves only its own agents."""

from __future__ import annotations

import collections

import pytest
from hypothesis import given
from hypothesis import strategies as st

from jido.cluster.placement import place, rank, weight

node_ids = st.lists(st.text(min_size=1, max_size=8), min_size=1, max_size=6, unique=True)
agent_ids = st.text(min_size=1, max_size=20)


class TestPlacement:
    def test_weight_is_stable(self) -> None:
        """The weight is a fixed function of the ids (BLAKE2b), the same in every process and version."""
        assert weight("node-a", "agent-1") == weight("node-a", "agent-1")
        assert weight("node-a", "agent-1") != weight("node-b", "agent-1")
        assert 0 <= weight("n", "a") < 2**64

    def test_ids_cannot_hide_a_separator(self) -> None:
        """("ab", "c") and ("a", "bc") weigh differently: the ids are length-prefixed."""
        assert weight("ab", "c") != weight("a", "bc")

    @given(agent_ids, node_ids)
    def test_order_of_nodes_does_not_matter(self, agent: str, nodes: list[str]) -> None:
        """Every node, listing the live nodes in any order, places an agent on the same node."""
        assert place(agent, nodes) == place(agent, list(reversed(nodes)))
        assert rank(agent, nodes) == rank(agent, sorted(nodes))

    @given(st.lists(agent_ids, min_size=1, max_size=50), node_ids.filter(lambda n: len(n) >= 2), st.data())
    def test_leaving_moves_only_its_agents(
        self, agents: list[str], nodes: list[str], data: st.DataObject
    ) -> None:
        """When a node leaves, the agents of the other nodes stay; the leaving node's go to their second choice."""
        gone = data.draw(st.sampled_from(nodes))
        rest = [n for n in nodes if n != gone]
        for agent in agents:
            before = place(agent, nodes)
            after = place(agent, rest)
            if before != gone:
                assert after == before
            else:
                assert after == rank(agent, nodes)[1]

    def test_spread(self) -> None:
        """10,000 agents over 4 nodes: each node gets a fair share (within 10% of a quarter)."""
        counts = collections.Counter(place(f"agent-{i}", ["a", "b", "c", "d"]) for i in range(10_000))
        assert set(counts) == {"a", "b", "c", "d"}
        assert all(2250 <= c <= 2750 for c in counts.values())

    def test_no_nodes(self) -> None:
        """With no live node there is nowhere to place an agent."""
        assert place("a", []) is None

    @pytest.mark.parametrize(
        ("agent", "nodes", "message"),
        [
            ("", ["a"], r"^agent_id must be a non-empty str, got ''$"),
            ("x", "ab", r"^nodes must be an iterable of node ids, got the str 'ab'$"),
            ("x", ["a", ""], r"^nodes\[1\] must be a non-empty str, got ''$"),
            ("x", ["a", 3], r"^nodes\[1\] must be a non-empty str, got 3$"),
        ],
    )
    def test_bad_arguments(self, agent: str, nodes: object, message: str) -> None:
        """Bad ids are refused, naming the argument."""
        with pytest.raises(TypeError, match=message):
            rank(agent, nodes)  # type: ignore[arg-type]
