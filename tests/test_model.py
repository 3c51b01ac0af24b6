"""Known-answer and property tests of the integer program; every plan passes the checker."""

from __future__ import annotations

import copy
import dataclasses

import numpy as np
import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from zoning.checks import check_plan
from zoning.errors import InfeasibleError
from zoning.model import (
    OPTIMAL,
    Policy,
    Problem,
    SolveOptions,
    ZoningModel,
    _HighsRounds,
    allowed_pairs,
    flow_rows,
    split_pieces,
)
from zoning.separation import plan_cuts


def line_problem(tt_e_c: float = 60.0) -> Problem:
    """Five units a-b-c-d-e in a line; school A stands in a, school E in e.

    Minutes to A: b 1, c 2, d 3, e 4. Minutes to E: a 4, b 3, c 1 (a fast road), d 10, e 0.
    Without contiguity c goes to E and d to A (5 student-minutes per student); with it the
    best plan is a-d to A and e to E (6).
    """
    units = ["a", "b", "c", "d", "e"]
    tt = pd.DataFrame({"A": [0, 60, 120, 180, 240], "E": [240, 180, tt_e_c, 600, 0]},
                      index=pd.Index(units, name="geoid"), dtype=float)
    nb = {"a": ["b"], "b": ["a", "c"], "c": ["b", "d"], "d": ["c", "e"], "e": ["d"]}
    ones = pd.Series(1.0, index=tt.index)
    return Problem(tt, ones, ones * 0, pd.Series({"A": 10, "E": 10}), nb,
                   pd.Series({"A": "a", "E": "e"}))


def test_contiguity_changes_the_known_optimum() -> None:
    p = line_problem()
    free = ZoningModel(p, Policy(band=None, contiguity=False)).solve()
    assert free.plan_.to_dict() == {"a": "A", "b": "A", "c": "E", "d": "A", "e": "E"}
    assert free.objective_ == pytest.approx(5.0)
    tied = ZoningModel(p, Policy(band=None, contiguity=True)).solve()
    assert tied.status_ == OPTIMAL
    assert tied.plan_.to_dict() == {"a": "A", "b": "A", "c": "A", "d": "A", "e": "E"}
    assert tied.objective_ == pytest.approx(6.0)
    assert tied.gap_ == pytest.approx(0.0)
    assert check_plan(tied.plan_, p, Policy(band=None)) == []


def test_capacity_and_band_known_answer() -> None:
    # two units per school side; the band forces one swap of a poor and a rich unit
    p = poor_rich_line([10, 10, 10, 10], [10, 10, 0, 0], seats=20)
    no_band = ZoningModel(p, Policy(band=None)).solve()
    assert no_band.plan_.to_dict() == {"p1": "P", "p2": "P", "r1": "R", "r2": "R"}
    # district share 0.5; +/-0.3 band allows 0.2..0.8: zones must each mix one poor, one rich
    # unit, but contiguity along the line p1-p2-r1-r2 makes that impossible
    with pytest.raises(InfeasibleError, match="contiguity clashes") as err:
        ZoningModel(p, Policy(band=0.3)).solve()
    assert err.value.diagnosis
    # on a ring p1-p2-r2-r1-p1 the mixed plan P = {p1, r1}, R = {p2, r2} is contiguous
    nb_ring = {"p1": ["p2", "r1"], "p2": ["p1", "r2"], "r1": ["p1", "r2"], "r2": ["p2", "r1"]}
    ring = dataclasses.replace(p, neighbours=nb_ring)
    mixed = ZoningModel(ring, Policy(band=0.3)).solve()
    assert mixed.plan_.to_dict() == {"p1": "P", "p2": "R", "r1": "P", "r2": "R"}
    # p2 -> R costs 300, r1 -> P costs 300: objective 10 * (300 + 300) / 60 = 100 student-minutes
    assert mixed.objective_ == pytest.approx(100.0)


def test_capacity_shortfall_is_diagnosed_before_solving() -> None:
    p = line_problem()
    p.capacity = pd.Series({"A": 2, "E": 2})
    with pytest.raises(InfeasibleError, match=r"5 students but 4 seats.*add 1 seats") as err:
        ZoningModel(p, Policy(band=None)).solve()
    assert err.value.diagnosis


def test_travel_cap_names_units_and_needed_cap() -> None:
    p = line_problem()
    with pytest.raises(InfeasibleError, match=r"units \['d'\].*cap of 2.5 min.*cap must rise to 3 min"):
        ZoningModel(p, Policy(band=None, max_travel_s=150.0)).solve()


def test_soft_band_penalises_instead_of_failing() -> None:
    units = ["p1", "p2", "r1", "r2"]
    tt = pd.DataFrame({"P": [0, 60, 300, 400], "R": [400, 300, 60, 0]},
                      index=pd.Index(units, name="geoid"), dtype=float)
    students = pd.Series(10.0, index=tt.index)
    low = pd.Series([10.0, 10, 0, 0], index=tt.index)
    nb = {"p1": ["p2"], "p2": ["p1", "r1"], "r1": ["p2", "r2"], "r2": ["r1"]}
    p = Problem(tt, students, low, pd.Series({"P": 20, "R": 20}), nb, pd.Series({"P": "p1", "R": "r2"}))
    m = ZoningModel(p, Policy(band=0.3, band_mode="soft", band_weight=1.0)).solve()
    # each zone is 0.2 outside its band on 20 students: 4 students' worth of deviation each
    assert m.plan_.to_dict() == {"p1": "P", "p2": "P", "r1": "R", "r2": "R"}
    assert m.objective_ == pytest.approx(20 + 8.0)
    assert m.evaluate(m.plan_) == pytest.approx(m.objective_)


def test_locks_hold() -> None:
    p = line_problem()
    p.locked = {"b": "E"}
    m = ZoningModel(p, Policy(band=None)).solve()
    assert m.plan_["b"] == "E"
    assert check_plan(m.plan_, p, Policy(band=None)) == []


def test_cbc_gives_the_same_answer() -> None:
    p = line_problem()
    m = ZoningModel(p, Policy(band=None), SolveOptions(solver="cbc")).solve()
    assert m.status_ == OPTIMAL
    assert m.objective_ == pytest.approx(6.0)


def poor_rich_line(students: list[float], low: list[float], *, seats: float) -> Problem:
    """Units p1-p2-r1-r2 in a line; school P in p1, school R in r2, ``seats`` each.

    Minutes to P: 0, 1, 5, 6.67; to R: 6.67, 5, 1, 0.
    """
    units = ["p1", "p2", "r1", "r2"]
    tt = pd.DataFrame({"P": [0, 60, 300, 400], "R": [400, 300, 60, 0]},
                      index=pd.Index(units, name="geoid"), dtype=float)
    nb = {"p1": ["p2"], "p2": ["p1", "r1"], "r1": ["p2", "r2"], "r2": ["r1"]}
    return Problem(tt, pd.Series(students, index=tt.index, dtype=float),
                   pd.Series(low, index=tt.index, dtype=float), pd.Series({"P": seats, "R": seats}), nb,
                   pd.Series({"P": "p1", "R": "r2"}))


def two_piece_line() -> Problem:
    """Eight units a..h in a line; school A in a, school H in h; one student each.

    Minutes to A: a 0, b 1, c 5, d 5, e 1, f 1.5, g 3, h 4; to H: a 4, b 3, c 1, d 1, e 5, f 5,
    g 1, h 0. The travel optimum A = {a, b, e, f}, H = {c, d, g, h} (6.5) cuts both zones into
    pieces of two units, which the neighbour rows alone do not catch. Contiguous plans split the
    line once: after b costs 1 + (1 + 1 + 5 + 5 + 1) = 14, after f 14.5, every other split more.
    """
    units = list("abcdefgh")
    tt = pd.DataFrame({"A": [0, 1, 5, 5, 1, 1.5, 3, 4], "H": [4, 3, 1, 1, 5, 5, 1, 0]},
                      index=pd.Index(units, name="geoid"), dtype=float) * 60
    nb = {u: [units[j] for j in (i - 1, i + 1) if 0 <= j < len(units)] for i, u in enumerate(units)}
    ones = pd.Series(1.0, index=tt.index)
    return Problem(tt, ones, ones * 0, pd.Series({"A": 10, "H": 10}), nb, pd.Series({"A": "a", "H": "h"}))


@pytest.mark.parametrize("solver", ["highs", "cbc"])
def test_cut_rounds_reach_the_known_contiguous_optimum(solver: str) -> None:
    p = two_piece_line()
    free = ZoningModel(p, Policy(band=None, contiguity=False)).solve()
    assert free.objective_ == pytest.approx(6.5)
    assert split_pieces(free.plan_, p.neighbours, p.home_unit) == {"A": [{"e", "f"}], "H": [{"c", "d"}]}
    m = ZoningModel(p, Policy(band=None), SolveOptions(solver=solver, contiguity_method="cuts"))
    m.solve()
    assert m.status_ == OPTIMAL
    assert m.plan_.to_dict() == dict(zip("abcdefgh", "AAHHHHHH", strict=True))
    assert m.objective_ == pytest.approx(14.0)
    assert m.cuts_ > 0  # HiGHS: cuts at the root LP's fractional point; CBC: cuts from the split plan
    assert check_plan(m.plan_, p, Policy(band=None)) == []


def test_one_highs_model_grows_by_the_cuts_of_the_split_plans_it_meets() -> None:
    p = two_piece_line()
    m = ZoningModel(p, Policy(band=None), SolveOptions(contiguity_method="cuts"))
    engine = _HighsRounds(m)
    first = engine.solve(10.0, 1e-4, None)
    # no cut yet: the travel optimum in two-unit pieces is what HiGHS returns, and the plans it
    # met on the way (this one among them) are kept
    assert first.objective == pytest.approx(6.5)
    assert engine.found
    layout = m.layout()
    cuts = [c for x in engine.found for c in plan_cuts(layout, layout.assignment(engine.pair_values(x)))[0]]
    assert cuts
    engine.add_cuts(cuts)
    second = engine.solve(10.0, 1e-4, None)
    assert second.objective == pytest.approx(14.0)
    assert split_pieces(m._plan_from(second.values), p.neighbours, p.home_unit) == {}


def test_an_lp_point_is_rounded_into_a_whole_plan() -> None:
    """Each unit takes its largest pair; d, cut off from A, joins E (its only neighbouring zone),
    and no single move then lowers travel (c to A costs a minute more)."""
    p = line_problem()
    m = ZoningModel(p, Policy(band=None))
    values = {("a", "A"): 1.0, ("b", "A"): 0.6, ("b", "E"): 0.4, ("c", "A"): 0.3, ("c", "E"): 0.7,
              ("d", "A"): 0.8, ("d", "E"): 0.2, ("e", "E"): 1.0}
    keys = zip(m.pairs["geoid"], m.pairs["school_id"], strict=True)
    x = np.array([values.get(key, 0.0) for key in keys])
    plan = m._round_lp(m.instance(), m.layout(), x)
    assert plan.to_dict() == {"a": "A", "b": "A", "c": "E", "d": "E", "e": "E"}
    assert m.evaluate(plan) == pytest.approx(12.0)


def test_split_pieces_reports_cut_off_units() -> None:
    p = line_problem()
    plan = pd.Series({"a": "A", "b": "A", "c": "E", "d": "A", "e": "E"})
    assert split_pieces(plan, p.neighbours, p.home_unit) == {"A": [{"d"}], "E": [{"c"}]}


def random_problem(seed: int, n_side: int, n_schools: int) -> Problem:
    """A random grid district: density, income gradient, schools on distinct cells."""
    rng = np.random.default_rng(seed)
    ids = [f"u{r}{c}" for r in range(n_side) for c in range(n_side)]
    xy = np.array([(r, c) for r in range(n_side) for c in range(n_side)], dtype=float)
    students = pd.Series(rng.integers(1, 30, len(ids)).astype(float), index=pd.Index(ids, name="geoid"))
    share = np.clip(0.2 + 0.6 * xy[:, 1] / max(n_side - 1, 1) + rng.normal(0, 0.1, len(ids)), 0, 1)
    low = (students * share).round()
    homes = rng.choice(len(ids), n_schools, replace=False)
    sids = [f"S{k}" for k in range(n_schools)]
    d = np.abs(xy[:, None, :] - xy[None, homes, :]).sum(axis=2)
    tt = pd.DataFrame(d * 120 + rng.uniform(0, 30, d.shape), index=students.index, columns=sids)
    total = students.sum()
    capacity = pd.Series(np.ceil(total / n_schools * rng.uniform(1.1, 1.6, n_schools)), index=sids)
    nb = {}
    for i, (r, c) in enumerate(xy):
        nb[ids[i]] = [ids[j] for j, (r2, c2) in enumerate(xy) if abs(r - r2) + abs(c - c2) == 1]
    home_unit = pd.Series(dict(zip(sids, [ids[h] for h in homes], strict=True)))
    return Problem(tt, students, low, capacity, nb, home_unit)


@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(seed=st.integers(0, 10_000), n_side=st.integers(2, 4), n_schools=st.integers(1, 3),
       band=st.sampled_from([None, 0.3, 0.15, 0.05]), min_util=st.sampled_from([0.0, 0.3]),
       method=st.sampled_from(["flow", "cuts"]))
def test_every_plan_passes_the_checker_or_is_diagnosed(seed, n_side, n_schools, band, min_util,
                                                        method) -> None:
    p = random_problem(seed, n_side, n_schools)
    policy = Policy(band=band, min_utilization=min_util, max_utilization=1.0)
    try:
        m = ZoningModel(p, policy, SolveOptions(time_limit_s=20, contiguity_method=method)).solve()
    except InfeasibleError as exc:
        assert exc.diagnosis, "an infeasible policy must come with a diagnosis"
        assert all(isinstance(d, str) and d for d in exc.diagnosis)
        return
    assert m.status_ == OPTIMAL
    assert check_plan(m.plan_, p, policy) == []


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(seed=st.integers(0, 10_000), n_side=st.integers(2, 4), n_schools=st.integers(1, 3),
       band=st.sampled_from([None, 0.3, 0.15]), min_util=st.sampled_from([0.0, 0.3]),
       cap_min=st.sampled_from([None, 4.0, 8.0]), moved=st.sampled_from([None, 0.3]),
       plan_seed=st.integers(0, 1_000))
def test_the_models_quick_rule_test_agrees_with_the_checker(seed, n_side, n_schools, band, min_util,
                                                             cap_min, moved, plan_seed) -> None:
    """The model's own test of plans (used on every plan met during a solve) says a plan meets
    the rules exactly when the independent checker finds no violation."""
    p = random_problem(seed, n_side, n_schools)
    rng = np.random.default_rng(plan_seed)
    # today's plan, with a unit of no school and one of a school since closed
    p.current = pd.Series(rng.choice([*p.schools, None, "closed"], len(p.units)), index=p.units)
    policy = Policy(band=band, min_utilization=min_util, max_utilization=1.0,
                    max_travel_s=None if cap_min is None else cap_min * 60, max_moved_share=moved)
    m = ZoningModel(p, policy, SolveOptions(time_limit_s=5))
    nearest = p.travel_time_s.to_numpy().argsort(axis=1)[:, :2]
    plan = pd.Series([p.schools[nearest[i, rng.integers(0, nearest.shape[1])]] for i in range(len(p.units))],
                     index=p.units)
    if rng.random() < 0.7:  # most plans keep the home units, so that the other rules get tested
        for s, u in p.home_unit.items():
            plan[u] = s
    assert m._feasible(plan) == (check_plan(plan, p, policy) == [])


@settings(max_examples=100, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(seed=st.integers(0, 10_000), n_side=st.integers(3, 5), n_schools=st.integers(2, 4),
       band=st.sampled_from([None, 0.3, 0.15, 0.08]), min_util=st.sampled_from([0.0, 0.3, 0.6]),
       locks=st.integers(0, 2), moved_weight=st.sampled_from([0.0, 5.0]))
def test_the_cut_rounds_and_the_flow_model_prove_the_same_optimum(seed, n_side, n_schools, band, min_util,
                                                                  locks, moved_weight) -> None:
    """Two ways to exact contiguity, one answer: the cut rounds (near rounds, polish, flow rows
    for zones that keep splitting, neighbourhood search) and the compact flow model both prove
    the same optimal objective, or both find the policy infeasible."""
    p = random_problem(seed, n_side, n_schools)
    rng = np.random.default_rng(seed)
    homes = set(p.home_unit)
    for u in rng.choice([u for u in p.units if u not in homes], locks, replace=False):
        p.locked[str(u)] = str(p.schools[rng.integers(0, n_schools)])
    if moved_weight:
        p.current = pd.Series(p.schools[p.travel_time_s.to_numpy().argmin(axis=1)], index=p.units)
    policy = Policy(band=band, min_utilization=min_util, max_utilization=1.0, moved_weight=moved_weight)
    found = {}
    for method in ("cuts", "flow"):
        try:
            options = SolveOptions(time_limit_s=30, gap=1e-7, contiguity_method=method)
            m = ZoningModel(p, policy, options).solve()
        except InfeasibleError as exc:
            assert exc.diagnosis
            found[method] = "infeasible"
            continue
        assert m.status_ == OPTIMAL, (method, m.status_)
        assert check_plan(m.plan_, p, policy) == []
        found[method] = m.objective_
    if found["flow"] == "infeasible":
        assert found["cuts"] == "infeasible"
    else:
        assert found["cuts"] == pytest.approx(found["flow"], rel=1e-5)


def test_moved_penalty_adds_to_travel_in_the_objective() -> None:
    p = line_problem()
    p.current = pd.Series({"a": "A", "b": "A", "c": "E", "d": "E", "e": "E"})
    m = ZoningModel(p, Policy(band=None, moved_weight=10.0)).solve()
    # today's plan costs b 1 + c 1 + d 10 = 12 student-minutes and moves nobody; the travel
    # optimum a-d -> A (6) moves c and d: 6 + 2 x 10 = 26; a-c -> A: 13 + 10 = 23
    assert m.plan_.to_dict() == {"a": "A", "b": "A", "c": "E", "d": "E", "e": "E"}
    assert m.objective_ == pytest.approx(12.0)
    assert m.evaluate(m.plan_) == pytest.approx(m.objective_)


def test_band_diagnosis_names_the_band_needed() -> None:
    # two units per school, all poor on one side: +/-0.1 cannot hold; swapping one unit each
    # way gives shares 0.5 and 0.5, so the elastic plan needs no band slack at +/-0.5 but at
    # +/-0.1 it must report the widening it needs
    p = poor_rich_line([10, 30, 10, 10], [10, 30, 0, 0], seats=40)
    with pytest.raises(InfeasibleError, match=r"band must widen to \+/-") as err:
        ZoningModel(p, Policy(band=0.1, contiguity=False)).solve()
    assert any("band must widen" in d for d in err.value.diagnosis)


def test_capacity_diagnosis_names_the_school_and_seats() -> None:
    p = line_problem()
    p.capacity = pd.Series({"A": 10, "E": 1})
    # E's unit alone is 1 student; with a max utilization of 0.5, E needs 1 more seat
    with pytest.raises(InfeasibleError, match=r"school E needs 1 more seats") as err:
        ZoningModel(p, Policy(band=None, max_utilization=0.5, min_utilization=0.0)).solve()
    assert err.value.diagnosis


def test_travel_increase_cap_keeps_units_near_todays_time() -> None:
    p = line_problem()
    p.current = pd.Series({"a": "A", "b": "A", "c": "E", "d": "E", "e": "E"})
    # today d rides 10 min to E; c rides 1 min to E. With at most +50%, c may not go to A
    # (2 min > 1.5 min), so the travel optimum a-d -> A is out: c, d stay with E
    policy = Policy(band=None, max_travel_increase=0.5)
    m = ZoningModel(p, policy).solve()
    assert m.plan_.to_dict() == {"a": "A", "b": "A", "c": "E", "d": "E", "e": "E"}
    assert check_plan(m.plan_, p, policy) == []
    bad = pd.Series({"a": "A", "b": "A", "c": "A", "d": "A", "e": "E"})
    assert [v.where for v in check_plan(bad, p, policy) if v.rule == "travel"] == ["c"]


def test_moved_share_diagnosis_names_the_share_needed() -> None:
    p = line_problem()
    p.current = pd.Series({"a": "E", "b": "E", "c": "E", "d": "E", "e": "E"})
    # a is school A's own unit, so at least a (1 of 5 students) must move
    with pytest.raises(InfeasibleError, match=r"max_moved_share must rise to 20.0%"):
        ZoningModel(p, Policy(band=None, max_moved_share=0.0)).solve()


def test_plan_values_follow_the_pairs_in_use() -> None:
    p = line_problem()
    m = ZoningModel(p, Policy(band=None))
    plan = pd.Series({"a": "A", "b": "A", "c": "A", "d": "A", "e": "E"})
    assert m.evaluate(plan) == pytest.approx(6.0)  # 0 + 1 + 2 + 3 + 0 student-minutes
    assert m._warm_values(plan) is not None
    narrow = copy.copy(m)  # as the polish does: the same model over fewer pairs
    narrow.pairs = m.pairs[~((m.pairs["geoid"] == "d") & (m.pairs["school_id"] == "A"))]
    assert narrow._warm_values(plan) is None
    assert m._warm_values(plan) is not None
    with pytest.raises(KeyError, match="d -> Z"):
        m.evaluate(plan.where(plan.index != "d", "Z"))


@pytest.mark.parametrize("method", ["cuts", "flow"])
@pytest.mark.parametrize("band_mode", ["hard", "soft"])
def test_highs_gets_the_same_program_directly_as_through_pulp(method: str, band_mode: str) -> None:
    """The program handed straight to HiGHS (the cut rounds) equals the one PuLP's HiGHS interface
    builds from the PuLP model (CBC, the polish): columns, bounds, costs, rows, coefficients."""
    import highspy
    import scipy.sparse as sp

    from zoning.model import _HiGHSWarm

    p = random_problem(7, 4, 3)
    p.current = pd.Series([p.schools[i % 3] for i in range(len(p.units))], index=p.units)
    policy = Policy(band=0.1, band_mode=band_mode, min_utilization=0.3, max_moved_share=0.5,
                    moved_weight=2.0)
    m = ZoningModel(p, policy, SolveOptions(contiguity_method=method))
    cuts = [(0, (1, 2)), (3, ())]
    prog = m._program(cuts)
    direct = highspy.Highs()
    direct.setOptionValue("output_flag", False)
    prog.to_highs(direct)
    prob = m._build(cuts)
    builder = _HiGHSWarm(msg=False)
    builder.createAndConfigureSolver(prob)
    builder.buildSolverModel(prob)

    def arrays(h):
        lp = h.getLp()
        mat = lp.a_matrix_
        shape = (lp.num_row_, lp.num_col_)
        fmt = sp.csr_matrix if mat.format_ == highspy.MatrixFormat.kRowwise else sp.csc_matrix
        a = fmt((np.array(mat.value_), np.array(mat.index_), np.array(mat.start_)), shape=shape).toarray()
        return (np.array(lp.col_cost_), np.array(lp.col_lower_), np.array(lp.col_upper_),
                np.array(lp.row_lower_), np.array(lp.row_upper_), a,
                [str(t) for t in lp.integrality_])

    got, want = arrays(direct), arrays(prob.solverModel)
    assert len(want[0]) > 0 and want[5].shape[0] > len(p.units)
    for g, w in zip(got[:6], want[:6], strict=True):
        np.testing.assert_array_equal(g, w)
    assert got[6] == want[6]


@pytest.mark.parametrize("rounds", [True, False])
def test_grown_zones_are_annealed_only_when_the_lp_does_not_round_to_a_plan(
        monkeypatch: pytest.MonkeyPatch, rounds: bool) -> None:
    """On the HiGHS cut path, zones grown from the schools that break a rule (here A = {a} holds
    one student where at least three must go) are annealed into a plan only when the root LP does
    not round to one; then they are, once, before the first round."""
    import zoning.model as model

    p = two_piece_line()
    policy = Policy(band=None, min_utilization=0.3)
    grown = np.array([0] + [1] * 7)  # A = {a}, H = the rest: contiguous, A under its minimum
    monkeypatch.setattr(model.heuristic, "region_grow", lambda inst: grown.copy())
    real_search = model.heuristic.local_search

    def grown_kept(inst, plan, **kw):  # the grown zones stay as grown (the local search would mend them)
        return plan.copy() if plan.tolist() == grown.tolist() else real_search(inst, plan, **kw)

    monkeypatch.setattr(model.heuristic, "local_search", grown_kept)
    if not rounds:
        monkeypatch.setattr(model.ZoningModel, "_round_lp", lambda self, inst, layout, x: None)
    annealed: list[np.ndarray] = []
    reach = model.ZoningModel._reach_plan

    def recorded(self, inst, plan, *, seed, recombine, time_limit_s):
        if seed == 0:  # the grown zones' annealing (a repaired round's plan has the round's seed)
            annealed.append(plan.copy())
        return reach(self, inst, plan, seed=seed, recombine=recombine, time_limit_s=time_limit_s)

    monkeypatch.setattr(model.ZoningModel, "_reach_plan", recorded)
    said: list[str] = []
    m = ZoningModel(p, policy, SolveOptions(contiguity_method="cuts", time_limit_s=20)).solve(
        progress=said.append)
    assert said[0] == "grown zones break some rule; a plan is first sought from the LP"
    if rounds:
        assert annealed == []
        assert any(line.startswith("rounded LP plan: objective") for line in said)
    else:
        assert len(annealed) == 1 and annealed[0].tolist() == grown.tolist()
        root = next(i for i, line in enumerate(said) if line.startswith("root LP:"))
        assert said[root + 1].startswith("heuristic plan: objective")
    assert m.status_ == OPTIMAL
    assert m.objective_ == pytest.approx(18.0)  # A = {a, b, c} or H = {f, g, h}: 18 either way
    assert check_plan(m.plan_, p, policy) == []


def test_flow_rows_keep_a_zone_whole_without_any_cut() -> None:
    """With flow rows for both schools the first solve, with no cut at all, is the contiguous
    optimum (14), not the travel optimum in two-unit pieces (6.5)."""
    p = two_piece_line()
    m = ZoningModel(p, Policy(band=None), SolveOptions(contiguity_method="cuts"))
    engine = _HighsRounds(m)
    rows = engine.h.getNumRow()
    for s in ("A", "H"):
        engine.add_flow(p.schools.get_loc(s), m._most_units(s))
    # per school (A's allowed units a..g, H's b..h): 11 arcs (none into the school's unit), two
    # rows each, and a balance row for each of the other six units
    assert engine.h.getNumRow() - rows == 2 * (2 * 11 + 6)
    result = engine.solve(10.0, 1e-4, None)
    assert result.objective == pytest.approx(14.0)
    assert m._plan_from(result.values).to_dict() == dict(zip("abcdefgh", "AAHHHHHH", strict=True))
    lay = engine.layout
    assert engine.found and all(not plan_cuts(lay, lay.assignment(engine.pair_values(x)))[0]
                                for x in engine.found)


def test_a_start_gets_flow_values_along_a_tree_of_each_flowed_zone() -> None:
    """Known answer on the line: H's unit h sends 5 units to g, 4 on to f, ... 1 to c; A is not
    flowed; a start with these values is taken as it is (HiGHS's first plan is the start)."""
    p = two_piece_line()
    m = ZoningModel(p, Policy(band=None), SolveOptions(contiguity_method="cuts"))
    engine = _HighsRounds(m)
    engine.add_flow(p.schools.get_loc("H"), m._most_units("H"))
    plan = pd.Series(dict(zip("abcdefgh", "AAHHHHHH", strict=True)))
    warm = m._warm_values(plan)
    values = [float(warm.get(n, 0.0)) for n in engine.names]
    engine._flow_values(values)
    unit = {u: i for i, u in enumerate(p.units)}
    flows = {name: v for name, v in zip(engine.names, values, strict=True) if name.startswith("flow_") and v}
    h = p.schools.get_loc("H")
    assert flows == {f"flow_{h}_{unit[a]}_{unit[b]}": float(n) for a, b, n in
                     [("h", "g", 5), ("g", "f", 4), ("f", "e", 3), ("e", "d", 2), ("d", "c", 1)]}
    result = engine.solve(10.0, 1e-4, warm)
    assert result.objective == pytest.approx(14.0)
    first = engine.layout.assignment(engine.pair_values(engine.found[0]))
    assert [p.schools[s] for s in first] == list("AAHHHHHH")


def test_most_units_a_zone_can_hold() -> None:
    """Units of 1 student: A's 10 seats hold all 7 of its allowed units (a to g); 3 seats hold
    3; at 70% of 10 seats, with units of 4, 3, 2, 1, 4, 4, 4, 4 students, H (4 in h) may take
    no other unit (h and g make 8 > 7): one. With 8 seats at 100%, H reaches h, g (8) only."""
    p = two_piece_line()
    assert ZoningModel(p, Policy(band=None))._most_units("A") == 7
    p.capacity = pd.Series({"A": 3, "H": 10})
    assert ZoningModel(p, Policy(band=None))._most_units("A") == 3
    p.students = pd.Series([4.0, 3, 2, 1, 4, 4, 4, 4], index=p.units)
    assert ZoningModel(p, Policy(band=None, max_utilization=0.7))._most_units("H") == 1
    p.capacity = pd.Series({"A": 3, "H": 8})
    assert ZoningModel(p, Policy(band=None))._most_units("H") == 2


def test_near_rounds_find_the_whole_optimum_on_the_pairs_near_an_lp_point() -> None:
    """At the LP point A = {a, b, c, d}, H = {e, f, g, h} each unit keeps its school and its
    neighbours': b and c may no longer join H, nor f and g join A (10 of 14 pairs). Without the
    neighbour rows the restricted travel optimum sends e alone to A, across d (14); its cuts
    give the contiguous optimum on these pairs, 18 (d and e both to A or both to H); the cuts
    go to the full model too."""
    p = two_piece_line()
    m = ZoningModel(p, Policy(band=None), SolveOptions(contiguity_method="cuts", neighbour_rows=False))
    engine = _HighsRounds(m)
    layout = m.layout()
    at = dict(zip("abcdefgh", "AAAAHHHH", strict=True))
    point = np.array([1.0 if at[u] == s else 0.0 for u, s in zip(m.pairs["geoid"], m.pairs["school_id"],
                                                                  strict=True)])
    rows = engine.h.getNumRow()
    cuts: list = []
    said: list[str] = []
    plans = m._near_rounds(engine, layout, point, cuts, None, 20.0, said.append)
    assert said == ["near rounds on 10 of 14 pairs: 2 rounds, whole plan 18.0"]
    assert min(m.evaluate(plan) for plan in plans) == pytest.approx(18.0)
    assert all(check_plan(plan, p, Policy(band=None)) == [] for plan in plans)
    assert cuts and m.cuts_ == len(cuts) and engine.h.getNumRow() - rows == len(cuts)


def test_near_rounds_give_nothing_when_the_near_pairs_admit_no_plan() -> None:
    """Four seats per school: at the LP point A = {a, b}, H = {c, ..., h}, units d to h keep only
    H (five units, one student each: over H's seats), so the restricted program is infeasible
    though the full one is not (A = {a, b, c, d}, H = {e, f, g, h})."""
    p = two_piece_line()
    p.capacity = pd.Series({"A": 4, "H": 4})
    m = ZoningModel(p, Policy(band=None), SolveOptions(contiguity_method="cuts"))
    # every connectable pair (the seats alone would drop H's pairs with a to d and A's with e to
    # h, and the LP point below with them): the near rounds' own test
    m.pairs = allowed_pairs(p, Policy(band=None, max_utilization=1e9))
    engine = _HighsRounds(m)
    at = dict(zip("abcdefgh", "AAHHHHHH", strict=True))
    point = np.array([1.0 if at[u] == s else 0.0 for u, s in zip(m.pairs["geoid"], m.pairs["school_id"],
                                                                  strict=True)])
    cuts: list = []
    said: list[str] = []
    assert m._near_rounds(engine, m.layout(), point, cuts, None, 20.0, said.append) == []
    assert said == ["near rounds on 10 of 14 pairs: 1 rounds, no whole plan"]
    assert cuts == [] and m.cuts_ == 0
    full = m.solve()
    assert full.status_ == OPTIMAL and full.plan_.to_dict() == dict(zip("abcdefgh", "AAAAHHHH", strict=True))


def test_zones_split_in_a_round_are_kept_whole_exactly_in_the_rounds_after() -> None:
    """A 6 x 6 grid, three schools, a +/-5 point band: the first round stops at a plan below the
    near rounds' plan that splits two zones, which get flow rows; the next round proves the same
    optimum as the flow model of every zone."""
    p = random_problem(0, 6, 3)
    policy = Policy(band=0.05, max_utilization=1.0)
    said: list[str] = []
    m = ZoningModel(p, policy, SolveOptions(contiguity_method="cuts", time_limit_s=60))
    m.solve(progress=said.append)
    stopped = said.index("zones kept whole exactly from now on: S1, S2") - 1
    assert said[stopped].startswith("round 1, stopped at a split plan below the best: objective 2774.2")
    flow = ZoningModel(p, policy, SolveOptions(contiguity_method="flow", time_limit_s=60)).solve()
    assert m.status_ == OPTIMAL and flow.status_ == OPTIMAL
    assert m.objective_ == pytest.approx(flow.objective_, rel=2e-4)
    assert check_plan(m.plan_, p, policy) == []


def test_highs_may_restart_its_root_only_while_no_row_has_been_added() -> None:
    """A restart repeats presolve and the root cut loop over every cut row: allowed in a solve
    of the program as built, not once cuts (or flow rows) are in."""

    def restarts(engine: _HighsRounds) -> bool:
        _, allowed = engine.h.getOptionValue("mip_allow_restart")  # (status, value)
        return allowed
    p = two_piece_line()
    m = ZoningModel(p, Policy(band=None), SolveOptions(contiguity_method="cuts"))
    engine = _HighsRounds(m)
    engine.solve(10.0, 1e-4, None)
    assert restarts(engine) is True
    again = engine.solve(10.0, 1e-4, None)  # still as built: a solve again may restart
    assert restarts(engine) is True and again.objective == pytest.approx(6.5)
    layout = m.layout()
    engine.add_cuts(plan_cuts(layout, layout.assignment(engine.pair_values(engine.found[-1])))[0])
    engine.solve(10.0, 1e-4, None)
    assert restarts(engine) is False
    flowed = _HighsRounds(m)
    flowed.add_flow(p.schools.get_loc("A"), m._most_units("A"))
    flowed.solve(10.0, 1e-4, None)
    assert restarts(flowed) is False


def test_a_round_stops_at_the_first_plan_asked_for_and_the_next_runs_to_its_end() -> None:
    """``stop_at`` is asked about each plan HiGHS meets; once it holds the solve stops (not
    proven, the plan in hand kept); HiGHS keeps no stop for the solves after. (The 6 x 6 grid at
    +/-5 points, no cut yet: HiGHS meets a plan before it proves its optimum.)"""
    p = random_problem(0, 6, 3)
    m = ZoningModel(p, Policy(band=0.05, max_utilization=1.0), SolveOptions(contiguity_method="cuts"))
    engine = _HighsRounds(m)
    asked: list[float] = []

    def first(x: np.ndarray, objective: float) -> bool:
        asked.append(objective)
        assert x.shape == (len(m.pairs),)
        return True

    stopped = engine.solve(10.0, 1e-4, None, stop_at=first)
    assert stopped.interrupted and not stopped.proven and len(asked) == 1
    assert stopped.values is not None and stopped.objective == pytest.approx(asked[0])
    for stop_at in (None, lambda x, objective: False):
        again = engine.solve(10.0, 1e-4, None, stop_at=stop_at)
        assert again.proven and not again.interrupted
        assert again.objective < stopped.objective - 1.0


def test_a_round_stops_only_at_a_plan_a_little_below_the_best_that_splits_few_zones(
        monkeypatch: pytest.MonkeyPatch) -> None:
    """The travel optimum AAHHAAHH (6.5) splits both zones: a round stops there when the plan in
    hand is at most 2% above it, not when it is far above (14), nor at a whole plan, nor at a
    plan not below the best, nor when the flow rows have no room left for both zones."""
    import zoning.model as model

    p = two_piece_line()
    m = ZoningModel(p, Policy(band=None), SolveOptions(contiguity_method="cuts"))
    engine = _HighsRounds(m)
    layout = m.layout()

    def x_of(text: str) -> np.ndarray:
        at = dict(zip("abcdefgh", text, strict=True))
        return np.array([1.0 if at[u] == s else 0.0 for u, s in zip(m.pairs["geoid"], m.pairs["school_id"],
                                                                    strict=True)])

    split, whole = x_of("AAHHAAHH"), x_of("AAHHHHHH")
    assert m._worth_stopping(engine, layout, 6.6, split, 6.5)
    assert not m._worth_stopping(engine, layout, 14.0, split, 6.5)  # 54% below: solve on
    assert not m._worth_stopping(engine, layout, 6.5, split, 6.5)  # not below the best
    assert not m._worth_stopping(engine, layout, 14.2, whole, 14.0)  # whole: no flow rows to add
    engine.add_flow(p.schools.get_loc("A"), m._most_units("A"))
    assert m._worth_stopping(engine, layout, 6.6, split, 6.5)  # 1 + 2 of 4 schools
    monkeypatch.setattr(model, "FLOW_SCHOOLS_MAX", 2)
    assert not m._worth_stopping(engine, layout, 6.6, split, 6.5)  # no room for both
    monkeypatch.setattr(model, "FLOW_SCHOOLS_MAX", 4)
    monkeypatch.setattr(model, "FLOW_SPLIT_ZONES", 1)
    assert not m._worth_stopping(engine, layout, 6.6, split, 6.5)  # too many zones split


def test_a_round_adds_its_own_plans_cuts_and_the_met_plans_up_to_a_cap() -> None:
    """Cuts (unit, separator): the round's own plan gives a and b (a twice), the plans met on the
    way c, a, d, e, cheapest first; b is known already. With room for three: a, then c and d."""
    a, b, c, d, e = (0, (1,)), (2, (3,)), (4, (5, 6)), (7, (8,)), (9, (10,))
    assert ZoningModel._round_cuts([a, b, a], [c, a, d, e], {b}, 3) == [a, c, d]
    assert ZoningModel._round_cuts([a, b], [c, d, e], set(), 10) == [a, b, c, d, e]
    # the own plan's cuts are never dropped, even past the cap
    assert ZoningModel._round_cuts([a, b, c], [d, e], set(), 2) == [a, b, c]
    assert ZoningModel._round_cuts([], [c, d, e], {d}, 0) == []


def test_near_rounds_run_when_the_rounded_plan_is_far_above_the_bound_for_a_tenth_of_the_limit(
        monkeypatch: pytest.MonkeyPatch) -> None:
    """The rounded plan of the two-piece line is its optimum, within 3% of the root bound: no near
    rounds. With the 3% taken down to nothing they run, given a tenth of the 40 s limit."""
    import zoning.model as model

    asked: list[float] = []
    near = ZoningModel._near_rounds

    def spy(self, engine, layout, point, cuts, best, time_limit_s, progress):  # noqa: ANN001, ANN202
        asked.append(time_limit_s)
        return near(self, engine, layout, point, cuts, best, time_limit_s, progress)

    monkeypatch.setattr(ZoningModel, "_near_rounds", spy)
    p = two_piece_line()
    options = SolveOptions(contiguity_method="cuts", time_limit_s=40)
    assert ZoningModel(p, Policy(band=None), options).solve().status_ == OPTIMAL
    assert asked == []
    monkeypatch.setattr(model, "NEAR_GAP", -1.0)
    assert ZoningModel(p, Policy(band=None), options).solve().status_ == OPTIMAL
    assert asked == [pytest.approx(4.0)]


def test_a_solve_passes_each_rounds_met_plans_cuts_cheapest_first_and_caps_them(
        monkeypatch: pytest.MonkeyPatch) -> None:
    """A 6 x 6 grid, three schools, a +/-5 point band: every round of the full program hands the
    cut helper the cuts of the split plans HiGHS met, plan by plan from the cheapest (HiGHS's
    objective of each plan is its cost), with room for 4 per unit (144); some rounds' plans give
    more than that, and the solve still ends at the flow model's optimum."""
    import zoning.model as model

    p = random_problem(1, 6, 3)
    policy = Policy(band=0.05, max_utilization=1.0)
    m = ZoningModel(p, policy, SolveOptions(contiguity_method="cuts", time_limit_s=60))
    events: list[tuple] = []
    solve, round_cuts = _HighsRounds.solve, ZoningModel._round_cuts

    def spy_solve(self, *args, **kw):  # noqa: ANN001, ANN002, ANN003, ANN202
        result = solve(self, *args, **kw)
        if len(self.columns) == len(m.pairs):  # the full program, not the near rounds'
            events.append(("solve", list(self.found_objective), [self.pair_values(v) for v in self.found]))
        return result

    def spy_cuts(own, met, known, most):  # noqa: ANN001, ANN202
        fresh = round_cuts(own, met, known, most)
        events.append(("cuts", list(met), most, fresh))
        return fresh

    monkeypatch.setattr(_HighsRounds, "solve", spy_solve)
    monkeypatch.setattr(model.ZoningModel, "_round_cuts", staticmethod(spy_cuts))
    m.solve()
    layout = m.layout()
    pairs = [(events[i], events[i + 1]) for i in range(len(events) - 1)
             if events[i][0] == "solve" and events[i + 1][0] == "cuts"]
    assert pairs
    for (_, objectives, plans), (_, met, most, _) in pairs:
        assert most == 4 * 36
        for objective, x in zip(objectives, plans, strict=True):
            plan = m._plan_from({f"x_{k}": v for k, v in enumerate(x)})
            assert m.evaluate(plan) == pytest.approx(objective)
        expected = [c for i in np.argsort(objectives, kind="stable")
                    for c in plan_cuts(layout, layout.assignment(plans[i]))[0]]
        assert met == expected
    # the near rounds (run first: the rounded plan is far above the bound) meet plans giving
    # more cuts than the cap, which holds
    capped = [(len(set(met)), len(fresh)) for kind, met, most, fresh in (e for e in events if e[0] == "cuts")
              if len(set(met)) > most]
    assert capped and all(n == 4 * 36 for _, n in capped)
    flow = ZoningModel(p, policy, SolveOptions(contiguity_method="flow", time_limit_s=60)).solve()
    assert m.status_ == OPTIMAL and m.objective_ == pytest.approx(flow.objective_, rel=2e-4)
    assert check_plan(m.plan_, p, policy) == []


def test_pairs_a_school_can_reach_only_through_more_students_than_its_seats_get_no_variable() -> None:
    """Line a-b-c-d-e of 1 student each; A in a with 2.5 seats holds a and b (c would make 3);
    E in e with 10 seats reaches b, c, d (a is A's own unit)."""
    p = line_problem()
    p.capacity = pd.Series({"A": 2.5, "E": 10})
    pairs = allowed_pairs(p, Policy(band=None))
    got = pairs.groupby("school_id")["geoid"].apply(sorted).to_dict()
    assert got == {"A": ["a", "b"], "E": ["b", "c", "d", "e"]}
    m = ZoningModel(p, Policy(band=None)).solve()
    assert m.plan_.to_dict() == {"a": "A", "b": "A", "c": "E", "d": "E", "e": "E"}
    assert m.objective_ == pytest.approx(1 + 1 + 10 + 0)
    # at 2.5 seats x 0.7 utilization A holds only its own unit
    pairs = allowed_pairs(p, Policy(band=None, max_utilization=0.7))
    assert sorted(pairs.loc[pairs["school_id"] == "A", "geoid"]) == ["a"]
    # without contiguity nothing ties a unit to a path
    pairs = allowed_pairs(p, Policy(band=None, contiguity=False))
    assert len(pairs) == 2 * 5 - 2


def test_the_lightest_path_counts_not_the_shortest() -> None:
    """Ring h-x-t-y2-y1-h: from A's unit h, t is two steps through x (10 students) or three
    through y1 and y2 (1 each). With 5 seats A reaches t the long way and never x."""
    units = ["h", "x", "t", "y1", "y2", "k"]
    tt = pd.DataFrame({"A": [0, 60, 120, 60, 120, 600], "K": [600] * 5 + [0]},
                      index=pd.Index(units, name="geoid"), dtype=float)
    students = pd.Series([1.0, 10, 1, 1, 1, 1], index=tt.index)
    nb = {"h": ["x", "y1"], "x": ["h", "t", "k"], "t": ["x", "y2"], "y1": ["h", "y2"],
          "y2": ["y1", "t"], "k": ["x"]}
    p = Problem(tt, students, students * 0, pd.Series({"A": 5, "K": 20}), nb,
                pd.Series({"A": "h", "K": "k"}))
    pairs = allowed_pairs(p, Policy(band=None))
    assert sorted(pairs.loc[pairs["school_id"] == "A", "geoid"]) == ["h", "t", "y1", "y2"]
    m = ZoningModel(p, Policy(band=None)).solve()
    assert m.plan_.to_dict() == {"h": "A", "x": "K", "t": "A", "y1": "A", "y2": "A", "k": "K"}


def test_a_schools_locked_units_count_towards_the_seats_a_path_must_fit_in() -> None:
    """Units h (A's), l (locked to A), c and k (K's), a student each; h touches l and c, c
    touches k. A has 2.5 seats: h and c alone would fit (2), but A's zone always holds l too,
    so c can never join A (3 students)."""
    units = ["h", "l", "c", "k"]
    tt = pd.DataFrame({"A": [0, 60, 60, 120], "K": [120, 180, 60, 0]},
                      index=pd.Index(units, name="geoid"), dtype=float)
    students = pd.Series(1.0, index=tt.index)
    nb = {"h": ["l", "c"], "l": ["h"], "c": ["h", "k"], "k": ["c"]}
    p = Problem(tt, students, students * 0, pd.Series({"A": 2.5, "K": 10}), nb,
                pd.Series({"A": "h", "K": "k"}))
    unlocked = allowed_pairs(p, Policy(band=None))
    assert sorted(unlocked.loc[unlocked["school_id"] == "A", "geoid"]) == ["c", "h", "l"]
    p.locked = {"l": "A"}
    pairs = allowed_pairs(p, Policy(band=None))
    assert pairs.groupby("school_id")["geoid"].apply(sorted).to_dict() == {
        "A": ["h", "l"], "K": ["c", "k"]}
    m = ZoningModel(p, Policy(band=None)).solve()
    assert m.plan_.to_dict() == {"h": "A", "l": "A", "c": "K", "k": "K"}
    # locked units beyond the seats leave the school only its fixed units
    p.locked = {"l": "A", "c": "A"}
    pairs = allowed_pairs(p, Policy(band=None))
    assert sorted(pairs.loc[pairs["school_id"] == "A", "geoid"]) == ["c", "h", "l"]
    assert sorted(pairs.loc[pairs["school_id"] == "K", "geoid"]) == ["k"]


def test_a_unit_no_school_can_reach_within_its_seats_is_named_before_solving() -> None:
    """Line a-b-c: b has 5 students; A in a (3 seats) and C in c (5 seats) each reach b only
    with 6 students in the zone, though 8 seats hold the district's 7 students."""
    units = ["a", "b", "c"]
    tt = pd.DataFrame({"A": [0, 60, 120], "C": [120, 60, 0]}, index=pd.Index(units, name="geoid"),
                      dtype=float)
    students = pd.Series([1.0, 5, 1], index=tt.index)
    p = Problem(tt, students, students * 0, pd.Series({"A": 3, "C": 5}),
                {"a": ["b"], "b": ["a", "c"], "c": ["b"]}, pd.Series({"A": "a", "C": "c"}))
    with pytest.raises(InfeasibleError, match=r"units \['b'\] can join no contiguous zone.*"
                       r"more students, with its own unit and locked units, than its seats x"
                       r" max_utilization") as err:
        ZoningModel(p, Policy(band=None)).solve()
    assert len(err.value.diagnosis) == 1
    assert "every school reaches them only" in err.value.diagnosis[0]
    # the rules that limit which schools count are named: b is 1 minute from each school
    with pytest.raises(InfeasibleError, match="every school within the travel cap reaches"):
        ZoningModel(p, Policy(band=None, max_travel_s=90.0)).solve()
    p.current = pd.Series({"a": "A", "b": "A", "c": "C"})
    with pytest.raises(InfeasibleError, match="every school within the travel cap and the allowed"
                       " increase over today's time reaches"):
        ZoningModel(p, Policy(band=None, max_travel_s=90.0, max_travel_increase=0.5)).solve()
    p.current = None
    # the travel cap is named apart from it
    with pytest.raises(InfeasibleError) as err:
        ZoningModel(p, Policy(band=None, max_travel_s=30.0)).solve()
    assert err.value.diagnosis == [
        "units ['b'] have no school within the travel cap of 0.5 min; the cap must rise to 1 min"]


@pytest.mark.parametrize("locks", [False, True])
def test_dropping_pairs_beyond_the_seats_never_changes_the_optimum(locks: bool) -> None:
    """On random grids with tight seats the optimum with the capacity-reach rule equals the
    optimum over every connectable pair (or both are infeasible); the rule drops pairs on many.
    With locks, two units that are no school's own unit are locked to their nearest school."""
    dropped = 0
    for seed in range(40):
        p = random_problem(seed, 4, 2 + seed % 3)
        p.capacity = p.capacity * 0.75
        if locks:
            rng = np.random.default_rng(seed)
            free = [u for u in p.units if u not in set(p.home_unit)]
            chosen = rng.choice(free, 2, replace=False)
            p.locked = {str(u): str(p.travel_time_s.loc[u].idxmin()) for u in chosen}
        policy = Policy(band=0.2, min_utilization=0.0, max_utilization=1.0)
        every = allowed_pairs(p, dataclasses.replace(policy, max_utilization=1e9))
        answers = []
        for pairs in (None, every):
            m = ZoningModel(p, policy, SolveOptions(time_limit_s=20))
            if pairs is not None:
                dropped += len(every) > len(m.pairs)
                m.pairs = pairs
            try:
                m.solve()
            except InfeasibleError:
                answers.append(None)
                continue
            assert m.status_ == OPTIMAL
            assert check_plan(m.plan_, p, policy) == []
            answers.append(round(m.objective_, 6))
        assert answers[0] == answers[1], seed
    assert dropped >= 10


def test_flow_rows_of_a_zone_on_a_line() -> None:
    """Units a-b-c with the school in a; pair columns 0, 1, 2; arcs a->b, b->c, c->b are columns
    5, 6, 7 (never into a). Each arc carries flow only between units of the zone; b and c each
    keep one unit of what flows in when in the zone."""
    nb = {"a": ["b"], "b": ["a", "c"], "c": ["b"]}
    arcs, rows = flow_rows({"a": 0, "b": 1, "c": 2}, "a", nb.__getitem__, 2.0, 5, "A")
    assert arcs == [("a", "b"), ("b", "c"), ("c", "b")]
    inf = float("inf")
    assert rows == [
        ("fu_A_a_b", [(5, 1.0), (0, -2.0)], -inf, 0.0), ("fw_A_a_b", [(5, 1.0), (1, -2.0)], -inf, 0.0),
        ("fu_A_b_c", [(6, 1.0), (1, -2.0)], -inf, 0.0), ("fw_A_b_c", [(6, 1.0), (2, -2.0)], -inf, 0.0),
        ("fu_A_c_b", [(7, 1.0), (2, -2.0)], -inf, 0.0), ("fw_A_c_b", [(7, 1.0), (1, -2.0)], -inf, 0.0),
        ("flow_A_b", [(5, 1.0), (7, 1.0), (6, -1.0), (1, -1.0)], 0.0, 0.0),
        ("flow_A_c", [(6, 1.0), (7, -1.0), (2, -1.0)], 0.0, 0.0),
    ]
    # a zone of the school's unit alone has no arc and no row
    assert flow_rows({"a": 0}, "a", nb.__getitem__, 0.0, 3, "A") == ([], [])
