"""Number sets kept as runs: add, discard, bounds, the Store form, and log rendering."""

from __future__ import annotations

from typing import Any

from hypothesis import given, strategies as st
import pytest

from custom_components.roomdb.events.runs import RunSet, format_runs


def test_runs_merge_split_and_render() -> None:
    runs = RunSet([5, 3, 4, 9, 1])
    assert runs.to_list() == [[1, 1], [3, 5], [9, 9]]
    runs.add(2)
    assert runs.to_list() == [[1, 5], [9, 9]]
    runs.discard(3)
    assert runs.to_list() == [[1, 2], [4, 5], [9, 9]]
    runs.discard(9)
    runs.discard(1)
    runs.discard(100)
    assert (runs.to_list(), len(runs), list(runs)) == ([[2, 2], [4, 5]], 3, [2, 4, 5])
    assert 5 in runs
    assert "5" not in runs
    assert bool(RunSet()) is False


def test_bounded_runs_forget_the_oldest() -> None:
    runs = RunSet([1, 3, 5, 7], max_runs=2)
    assert runs.to_list() == [[5, 5], [7, 7]]
    assert RunSet.from_list([[1, 1], [3, 3], [5, 5]], max_runs=2).to_list() == [[3, 3], [5, 5]]


@pytest.mark.parametrize(
    "raw", ["1-3", [[3, 1]], [[1, 4], [3, 6]], [[1, 2], [3, 4]], [[0, 1]], [[1, True]], [[1]]]
)
def test_from_list_rejects_malformed_runs(raw: Any) -> None:
    with pytest.raises((ValueError, TypeError)):
        RunSet.from_list(raw)


def test_format_runs() -> None:
    assert format_runs([1, 2, 3, 7, 9, 10]) == "1-3, 7, 9-10"
    assert format_runs(range(0, 40, 2), max_runs=3) == "0, 2, 4 and 17 more runs"


@given(
    st.lists(
        st.tuples(st.booleans(), st.integers(1, 60)),
        max_size=80,
    )
)
def test_runs_behave_like_a_set(ops: list[tuple[bool, int]]) -> None:
    runs, model = RunSet(), set[int]()
    for add, value in ops:
        if add:
            runs.add(value)
            model.add(value)
        else:
            runs.discard(value)
            model.discard(value)
        assert list(runs) == sorted(model)
        assert RunSet.from_list(runs.to_list()).to_list() == runs.to_list()
