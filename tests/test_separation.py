"""Known-answer tests of the contiguity cuts (zoning.separation)."""

from __future__ import annotations

import numpy as np

from zoning.separation import Layout, fractional_cuts, plan_cuts, split_pieces


def path_layout(n_units: int, homes: list[int]) -> Layout:
    """Units 0-1-...-(n-1) in a line, every unit allowed for every school."""
    unit_of = np.repeat(np.arange(n_units), len(homes))
    school_of = np.tile(np.arange(len(homes)), n_units)
    nbrs = [[v for v in (u - 1, u + 1) if 0 <= v < n_units] for u in range(n_units)]
    return Layout(unit_of=unit_of, school_of=school_of, nbrs=nbrs, home=np.array(homes))


def test_a_piece_cut_off_by_another_zone_gets_its_separator() -> None:
    # line 0-1-2-3, schools A at unit 0, B at 3, C at 1; plan A C A B: unit 2 is cut off from A
    lay = path_layout(4, [0, 3, 1])
    assign = np.array([0, 2, 0, 1])
    assert [(s, p) for s, p, _ in split_pieces(lay, assign)] == [(0, {2})]
    cuts, pieces = plan_cuts(lay, assign)
    assert pieces == 1
    # x[2, A] <= x[1, A]; the units of B and C touch the piece, so no cut for them
    assert set(cuts) == {(lay.pair[(2, 0)], (lay.pair[(1, 0)],))}


def test_a_contiguous_plan_gives_no_cut() -> None:
    lay = path_layout(4, [0, 3])
    cuts, pieces = plan_cuts(lay, np.array([0, 0, 1, 1]))
    assert cuts == [] and pieces == 0


def test_cuts_for_other_schools_use_a_minimal_separator() -> None:
    # line 0-1-2-3-4, schools A at 0, B at 4, C at 1; A holds {0, 2}: piece {2}, around it {1, 3}
    lay = path_layout(5, [0, 4, 1])
    cuts, _ = plan_cuts(lay, np.array([0, 2, 0, 1, 1]))
    # for A: only unit 1 lies between the piece and A's unit; for B: only unit 3
    assert set(cuts) == {(lay.pair[(2, 0)], (lay.pair[(1, 0)],)), (lay.pair[(2, 1)], (lay.pair[(3, 1)],))}


def test_fractional_point_on_a_line_is_cut_at_the_weak_unit() -> None:
    lay = path_layout(3, [0])
    x = np.array([1.0, 0.2, 0.9])  # unit 2 at 0.9 but its only way home (unit 1) at 0.2
    assert fractional_cuts(lay, x) == [(2, (1,))]
    assert fractional_cuts(lay, np.array([1.0, 0.95, 0.9])) == []


def test_fractional_cut_on_a_ring_takes_both_sides() -> None:
    # square 0-1-2-3-0, school at 0; unit 2 at 0.9 reached through 1 and 3 at 0.3 each
    nbrs = [[1, 3], [0, 2], [1, 3], [2, 0]]
    lay = Layout(unit_of=np.arange(4), school_of=np.zeros(4, dtype=int), nbrs=nbrs, home=np.array([0]))
    assert fractional_cuts(lay, np.array([1.0, 0.3, 0.9, 0.3])) == [(2, (1, 3))]
    assert fractional_cuts(lay, np.array([1.0, 0.5, 0.9, 0.5])) == []


def test_units_without_a_pair_for_the_school_block_its_paths() -> None:
    # line 0-1-2, school at 0, unit 1 has no pair for it: unit 2 can never join (cut x[2] <= 0)
    lay = Layout(unit_of=np.array([0, 2]), school_of=np.array([0, 0]), nbrs=[[1], [0, 2], [1]],
                 home=np.array([0]))
    assert fractional_cuts(lay, np.array([1.0, 0.5])) == [(1, ())]
