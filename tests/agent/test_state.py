"""State: the mapping view, deep merge, state operations and validation on every change."""

from __future__ import annotations

from collections.abc import Mapping

import attrs
import pytest

from jido.agent.state import RESERVED_STATE_NAMES, StateMapping, apply_changes, deep_merge
from jido.agent.state_ops import DeleteKeys, DeletePath, ReplaceState, SetPath, SetState
from jido.errors import ValidationError


@attrs.frozen
class Inner:
    level: int = 0


@attrs.frozen
class S(StateMapping):
    count: int = 0
    tags: dict[str, int] = attrs.field(factory=dict)
    inner: Inner = attrs.field(factory=Inner)
    name: str = "x"


class TestStateMapping:
    def test_is_a_mapping(self) -> None:
        """A StateMapping instance is a Mapping of its fields."""
        state = S(count=3)
        assert isinstance(state, Mapping)
        assert state["count"] == 3
        assert list(state) == ["count", "tags", "inner", "name"]
        assert len(state) == 4
        assert "count" in state and "nope" not in state

    def test_unknown_key(self) -> None:
        """Reading an unknown key raises KeyError."""
        with pytest.raises(KeyError):
            S()["nope"]

    def test_equality_and_hash_stay_attrs(self) -> None:
        """Equality and hashing come from attrs, not from the Mapping mixin."""
        assert S(count=1) == S(count=1)
        assert S(count=1) != S(count=2)
        assert hash(Inner(level=1)) == hash(Inner(level=1))

    def test_reserved_names(self) -> None:
        """The mapping interface names are reserved for state fields."""
        assert {"keys", "items", "values", "get", "id", "state"} <= RESERVED_STATE_NAMES


class TestDeepMerge:
    def test_nested_mappings_merge(self) -> None:
        """Mappings merge recursively; other values are replaced."""
        assert deep_merge({"a": {"x": 1, "y": 2}, "b": [1]}, {"a": {"y": 3}, "b": [2]}) == {
            "a": {"x": 1, "y": 3},
            "b": [2],
        }


class TestApplyChanges:
    def test_no_changes_returns_same_object(self) -> None:
        """Nothing to apply returns the very same state."""
        state = S()
        assert apply_changes(state, {}, subject="s") is state

    def test_merge_nested(self) -> None:
        """A mapping result deep-merges into nested fields."""
        state = S(tags={"a": 1}, inner=Inner(level=1))
        new = apply_changes(state, {"tags": {"b": 2}, "inner": {"level": 5}}, subject="s")
        assert new == S(tags={"a": 1, "b": 2}, inner=Inner(level=5))

    def test_invalid_change(self) -> None:
        """A change of the wrong type raises a ValidationError naming the path."""
        with pytest.raises(ValidationError, match=r'^invalid s:\n\$\.inner\.level: expected int, got "1"$'):
            apply_changes(S(), {"inner": {"level": "1"}}, subject="s")

    def test_unknown_field(self) -> None:
        """A change to a field the schema lacks is rejected."""
        with pytest.raises(ValidationError, match=r"^invalid s:\n\$: unknown field\(s\): bogus$"):
            apply_changes(S(), {"bogus": 1}, subject="s")

    def test_replace(self) -> None:
        """ReplaceState replaces the whole state; missing fields take defaults."""
        new = apply_changes(S(count=4, name="y"), {}, [ReplaceState({"count": 1})], subject="s")
        assert new == S(count=1)

    def test_set_state_op(self) -> None:
        """SetState is the same as returning the mapping."""
        assert apply_changes(S(), {}, [SetState({"count": 2})], subject="s") == S(count=2)

    def test_delete_keys_resets_to_default(self) -> None:
        """DeleteKeys resets top-level fields to their defaults."""
        new = apply_changes(S(count=4, name="y"), {}, [DeleteKeys(["count"])], subject="s")
        assert new == S(name="y")

    def test_delete_unknown_key(self) -> None:
        """DeleteKeys of a field the schema lacks is an error."""
        with pytest.raises(ValidationError, match=r"^\$: DeleteKeys: unknown field\(s\): nope$"):
            apply_changes(S(), {}, [DeleteKeys(["nope"])], subject="s")

    def test_set_path_creates_and_validates(self) -> None:
        """SetPath sets a nested value; a dotted string path works too."""
        new = apply_changes(S(), {}, [SetPath("tags.a", 3), SetPath(("inner", "level"), 2)], subject="s")
        assert new == S(tags={"a": 3}, inner=Inner(level=2))

    def test_set_path_invalid_value(self) -> None:
        """SetPath with a value of the wrong type fails validation."""
        with pytest.raises(ValidationError, match=r"^invalid s:\n\$\.tags\.a: expected int, got array$"):
            apply_changes(S(), {}, [SetPath("tags.a", [1])], subject="s")

    def test_delete_path(self) -> None:
        """DeletePath removes a key inside a mapping field; a missing key is left alone."""
        state = S(tags={"a": 1, "b": 2})
        new = apply_changes(state, {}, [DeletePath("tags.a"), DeletePath("tags.zzz")], subject="s")
        assert new.tags == {"b": 2}

    def test_ops_after_merge_in_order(self) -> None:
        """The mapping is merged first, then the operations run in order."""
        new = apply_changes(S(), {"count": 5}, [SetState({"count": 6}), DeleteKeys(["name"])], subject="s")
        assert new.count == 6
