"""DoneOffsets: a subscription's checkpoint and the done ranges above it, against a plain set as the model."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from jido.bus.done import DoneOffsets


class TestDoneOffsets:
    def test_consecutive_offsets_advance(self) -> None:
        """Offsets marked done in order move the checkpoint one by one and leave no range behind."""
        done = DoneOffsets(0)
        assert [done.add(offset) for offset in (1, 2, 3)] == [True, True, True]
        assert (done.checkpoint, len(done)) == (3, 0)

    def test_hole_holds_the_checkpoint(self) -> None:
        """An offset not done holds the checkpoint below it; filling it folds everything above in."""
        done = DoneOffsets(0)
        assert done.add(2) is False
        assert done.add(3) is False
        assert (done.checkpoint, len(done)) == (0, 1)  # 2..3 is one range
        assert done.add(1) is True
        assert (done.checkpoint, len(done)) == (3, 0)

    def test_huge_range_is_one_entry(self) -> None:
        """Two million offsets above an offset in flight cost one range, and fold in at once."""
        done = DoneOffsets(0)
        assert done.add(2, 2_000_001) is False
        assert len(done) == 1
        assert 1_000_000 in done and 1 not in done
        assert done.add(1) is True
        assert (done.checkpoint, len(done)) == (2_000_001, 0)

    def test_range_from_the_checkpoint(self) -> None:
        """A range starting right above the checkpoint moves it to the range's end."""
        done = DoneOffsets(10)
        assert done.add(11, 2_000_010) is True
        assert done.checkpoint == 2_000_010

    def test_already_done_changes_nothing(self) -> None:
        """Offsets at or below the checkpoint, or inside a range, are done already."""
        done = DoneOffsets(5)
        assert done.add(3) is False
        assert done.add(1, 5) is False
        done.add(8, 9)
        assert done.add(8) is False
        assert (done.checkpoint, len(done), repr(done)) == (5, 1, "<DoneOffsets checkpoint=5 above=[8..9]>")

    def test_empty_range_ignored(self) -> None:
        """A range whose last offset is below its first marks nothing."""
        done = DoneOffsets(0)
        assert done.add(5, 4) is False
        assert len(done) == 0

    def test_touching_ranges_merge(self) -> None:
        """Ranges that touch or overlap become one."""
        done = DoneOffsets(0)
        done.add(3, 4)
        done.add(8, 9)
        done.add(5, 7)
        assert len(done) == 1
        done.add(20)
        done.add(12, 25)
        assert repr(done) == "<DoneOffsets checkpoint=0 above=[3..9, 12..25]>"

    def test_non_int_not_contained(self) -> None:
        """Membership of something that is not an int offset is False, not an error."""
        done = DoneOffsets(5)
        assert "3" not in done
        assert True not in done

    @given(st.lists(st.tuples(st.integers(1, 60), st.integers(0, 5)), max_size=60), st.integers(0, 5))
    def test_matches_a_set(self, marks: list[tuple[int, int]], start: int) -> None:
        """After any marks, the checkpoint and membership are those of a plain set of offsets, and there is one
        range per run of done offsets above the checkpoint (so never more ranges than offsets not done)."""
        done = DoneOffsets(start)
        model = set(range(1, start + 1))
        for first, length in marks:
            done.add(first, first + length)
            model.update(range(first, first + length + 1))
        checkpoint = 0
        while checkpoint + 1 in model:
            checkpoint += 1
        assert done.checkpoint == checkpoint
        assert all((offset in done) == (offset in model) for offset in range(1, 70))
        runs = sum(1 for o in model if o > checkpoint + 1 and o - 1 not in model)
        assert len(done) == runs
