"""The independent checker on hand-made plans, and the at-a-glance feasibility checks.

The property test draws random districts (grid units, random counts, capacities, travel times
with unreachable pairs, locks, today's plan and policy) and random hand-edited plans (units
left out or listed twice, unknown schools and units, blanks), and compares the checker with a
direct reading of the rules: it must never crash, must accept every valid plan and reject
every invalid one, naming each broken rule where it is broken.
"""

from __future__ import annotations

import math
from typing import Any

import networkx as nx
import numpy as np
import pandas as pd
from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st

from zoning.checks import Violation, check_plan, glance_checks
from zoning.model import Policy, Problem


def line(students: list[float] | None = None, low: list[float] | None = None,
         capacity: dict[str, int] | None = None) -> Problem:
    """Units a-b-c-d in a line; school L stands in a, R in d; one minute per step."""
    units = ["a", "b", "c", "d"]
    tt = pd.DataFrame({"L": [0.0, 60, 120, 180], "R": [180.0, 120, 60, 0]},
                      index=pd.Index(units, name="geoid"))
    nb = {"a": ["b"], "b": ["a", "c"], "c": ["b", "d"], "d": ["c"]}
    st = pd.Series(students or [10.0] * 4, index=tt.index)
    li = pd.Series(low or [5.0] * 4, index=tt.index)
    return Problem(tt, st, li, pd.Series(capacity or {"L": 20, "R": 20}), nb, pd.Series({"L": "a", "R": "d"}))


def test_a_feasible_policy_passes_at_a_glance() -> None:
    assert glance_checks(line(), Policy(min_utilization=0.5, max_utilization=1.0, band=0.1,
                                        max_travel_s=180)) == []


def test_seats_against_students() -> None:
    p = line(capacity={"L": 10, "R": 10})
    msgs = glance_checks(p, Policy(band=None, max_utilization=1.0))
    assert any("40 students but 20 seats x max_utilization 1 = 20" in m and "at least 2.000" in m
               for m in msgs)
    msgs = glance_checks(line(capacity={"L": 100, "R": 100}), Policy(band=None, min_utilization=0.5))
    assert any("40 students cannot fill 200 seats x min_utilization 0.5" in m
               and "at most 0.200" in m for m in msgs)
    msgs = glance_checks(line(capacity={"L": 0, "R": 0}), Policy(band=None))
    assert any("no seats" in m for m in msgs)


def test_schools_in_the_same_unit() -> None:
    p = line()
    p.home_unit = pd.Series({"L": "a", "R": "a"})
    assert any("schools ['L', 'R'] all stand in unit a" in m for m in glance_checks(p, Policy(band=None)))


def test_unreachable_units_and_the_travel_cap() -> None:
    p = line()
    p.travel_time_s.loc["b"] = np.nan
    msgs = glance_checks(p, Policy(band=None))
    assert any("1 units reach no school over the road network" in m and "'b'" in m for m in msgs)
    msgs = glance_checks(line(), Policy(band=None, max_travel_s=30))
    # b and c are 60 s from their nearest school; the cap must rise to 1 minute
    assert any("2 units have no school within `[policy] max_travel_min` = 0.5" in m
               and "raise it to at least 1" in m for m in msgs)


def test_a_school_that_cannot_reach_enough_students() -> None:
    # within 60 s with contiguity, L reaches a and b (20 students) but needs 0.9 x 30 = 27
    p = line(capacity={"L": 30, "R": 20})
    msgs = glance_checks(p, Policy(band=None, min_utilization=0.9, max_utilization=2.0, max_travel_s=60))
    assert any("school L can reach only 20 students" in m and "needs 27" in m for m in msgs)


def test_band_floor_and_ceiling_out_of_reach() -> None:
    # a and b are rich (0.1), c and d poor (0.9): district 0.5; within 60 s L reaches only a, b
    p = line(low=[1.0, 1.0, 9.0, 9.0])
    msgs = glance_checks(p, Policy(band=0.1, max_travel_s=60, max_utilization=2.0))
    assert any("school L: the poorest unit it can reach has a low-income share of 0.100" in m
               and "widen `[policy] band` to at least 0.400" in m for m in msgs)
    assert any("school R: the richest unit it can reach has a low-income share of 0.900" in m for m in msgs)
    # a soft band is never infeasible
    assert glance_checks(p, Policy(band=0.1, band_mode="soft", max_travel_s=60, max_utilization=2.0)) == []


def test_check_plan_names_each_violation() -> None:
    p = line(capacity={"L": 15, "R": 40})
    plan = pd.Series({"a": "L", "b": "R", "c": "L", "d": "R", "z": "L"})
    found = {(v.rule, v.where) for v in check_plan(plan, p, Policy(band=None, max_utilization=1.0))}
    assert ("assignment", "z") in found  # not a unit of the district
    assert ("capacity", "L") in found  # 20 students > 15 seats
    assert ("contiguity", "L") in found and ("contiguity", "R") in found


# ------------------------------------------------------------------ hand-edited plans, at random
RULES = {"assignment", "home", "lock", "capacity", "band", "travel", "contiguity", "moved"}
EPS = 1e-6


def grid_neighbours(rows: int, cols: int) -> dict[str, list[str]]:
    name = {(r, c): f"u{r}{c}" for r in range(rows) for c in range(cols)}
    out: dict[str, list[str]] = {u: [] for u in name.values()}
    for (r, c), u in name.items():
        for dr, dc in ((0, 1), (1, 0), (0, -1), (-1, 0)):
            if (r + dr, c + dc) in name:
                out[u].append(name[r + dr, c + dc])
    return {u: sorted(v) for u, v in out.items()}


def grown_zones(nb: dict[str, list[str]], homes: list[str], schools: list[str]) -> dict[str, str]:
    """Contiguous zones: every unit takes the school of the unit it was reached from (multi-source BFS)."""
    zone = {u: s for u, s in zip(homes, schools, strict=True)}
    queue = list(homes)
    while queue:
        u = queue.pop(0)
        for w in nb[u]:
            if w not in zone:
                zone[w] = zone[u]
                queue.append(w)
    return zone


@st.composite
def instances(draw: st.DrawFn) -> tuple[Problem, Policy, pd.Series]:
    """A random district, policy and hand-edited plan.

    Half the plans start from contiguous zones that the capacities are fitted to (so many are
    valid) and get 0-2 edits; the others are random from the start (almost all invalid).
    """
    rows, cols = draw(st.integers(1, 3)), draw(st.integers(2, 4))
    nb = grid_neighbours(rows, cols)
    units = sorted(nb)
    n_schools = draw(st.integers(2, min(3, len(units))))
    schools = [f"S{i}" for i in range(n_schools)]
    homes = draw(st.lists(st.sampled_from(units), min_size=n_schools, max_size=n_schools, unique=True))
    students = pd.Series([float(draw(st.integers(0, 20))) for _ in units], index=units)
    low = pd.Series([float(draw(st.integers(0, int(s)))) for s in students], index=units)
    lo = draw(st.sampled_from([0.0, 0.5, 0.8]))
    hi = draw(st.sampled_from([max(lo, 0.9), 1.0, 1.2]))
    fitted = draw(st.booleans())
    base = grown_zones(nb, homes, schools)
    minutes = st.one_of(st.floats(0, 30), st.just(math.nan))
    tt = pd.DataFrame([[draw(minutes) * 60 for _ in schools] for _ in units], index=units, columns=schools)
    if fitted:
        zs = {s: float(sum(students[u] for u, z in base.items() if z == s)) for s in schools}
        capacity = pd.Series([math.ceil(zs[s] / hi) for s in schools], index=schools)
        for u, s in base.items():
            tt.loc[u, s] = draw(st.floats(0, 10)) * 60
        locked = {u: base[u] for u in draw(st.lists(st.sampled_from(units), max_size=2, unique=True))}
    else:
        capacity = pd.Series([draw(st.integers(0, 80)) for _ in schools], index=schools)
        locked = draw(st.dictionaries(st.sampled_from(units), st.sampled_from(schools), max_size=2))
    for s, u in zip(schools, homes, strict=True):
        tt.loc[u, s] = 0.0
    current = draw(st.one_of(st.none(), st.just([base[u] for u in units]),
                             st.lists(st.sampled_from(schools), min_size=len(units), max_size=len(units))))
    problem = Problem(tt, students, low, capacity, nb, pd.Series(homes, index=schools), locked,
                      None if current is None else pd.Series(current, index=units))
    policy = Policy(
        min_utilization=lo,
        max_utilization=hi,
        band=draw(st.sampled_from([None, 0.3, 1.0] if fitted else [None, 0.0, 0.05, 0.15, 0.3])),
        band_mode=draw(st.sampled_from(["hard", "soft"])),
        max_travel_s=draw(st.sampled_from([None, 600.0, 1200.0])),
        contiguity=draw(st.booleans()),
        max_moved_share=draw(st.sampled_from([None, 0.0, 0.3, 1.0])) if current is not None else None,
    )
    # a hand-edited plan: a school, an unknown id, a blank, or left out; a unit listed twice;
    # a unit that is not in the district
    edit = st.one_of(st.sampled_from(schools), st.just("Z9"), st.just(None), st.just(math.nan),
                     st.just("omit"))
    rows_: list[tuple[str, Any]] = []
    if fitted:
        edited = dict(base)
        n_edits = draw(st.sampled_from([0, 0, 1, 2]))
        for u in draw(st.lists(st.sampled_from(units), min_size=n_edits, max_size=n_edits, unique=True)):
            edited[u] = draw(edit)
        rows_ = [(u, edited[u]) for u in units if edited[u] != "omit"]
    else:
        rows_ = [(u, v) for u in units if (v := draw(st.one_of(st.sampled_from(schools), edit))) != "omit"]
    if rows_ and draw(st.integers(0, 3)) == 0:
        rows_.append((draw(st.sampled_from([u for u, _ in rows_])), draw(st.sampled_from(schools))))
    if draw(st.integers(0, 3)) == 0:
        rows_.append(("not-a-unit", schools[0]))
    if draw(st.booleans()):
        rows_ = draw(st.permutations(rows_))
    plan = pd.Series([v for _, v in rows_], index=pd.Index([u for u, _ in rows_], name="geoid"),
                     dtype=object, name="school_id")
    return problem, policy, plan


def expected_places(problem: Problem, policy: Policy, plan: pd.Series) -> set[tuple[str, str]]:
    """Every ``(rule, where)`` a checker must report for ``plan``, read straight from the rules."""
    out: set[tuple[str, str]] = set()
    units = list(problem.units)
    schools = set(problem.schools)
    seen: dict[str, Any] = {}
    for u, s in plan.items():
        if u in seen:
            out.add(("assignment", u))
            continue
        seen[u] = s
        if u not in units:
            out.add(("assignment", u))
    good: dict[str, str] = {}
    for u in units:
        s = seen.get(u)
        if isinstance(s, str) and s in schools:
            good[u] = s
        else:
            out.add(("assignment", u))
    for s, u in problem.home_unit.items():
        if good.get(u) != s:
            out.add(("home", s))
    for u, s in problem.locked.items():
        if good.get(u) != s:
            out.add(("lock", u))
    share = problem.district_share
    for s in schools:
        members = [u for u, z in good.items() if z == s]
        zs = float(sum(problem.students[u] for u in members))
        zl = float(sum(problem.low_income[u] for u in members))
        cap = float(problem.capacity[s])
        if zs > policy.max_utilization * cap + EPS or zs < policy.min_utilization * cap - EPS:
            out.add(("capacity", s))
        if policy.band is not None and policy.band_mode == "hard" and zs > 0 and \
                abs(zl / zs - share) > policy.band + EPS:
            out.add(("band", s))
        if policy.contiguity and members:
            g = nx.Graph()
            g.add_nodes_from(members)
            g.add_edges_from((u, w) for u in members for w in problem.neighbours[u] if good.get(w) == s)
            if nx.number_connected_components(g) > 1:
                out.add(("contiguity", s))
    for u, s in good.items():
        t = problem.travel_time_s.at[u, s]
        if not np.isfinite(t):
            out.add(("travel", u))
        elif policy.max_travel_s is not None and t > policy.max_travel_s + EPS and not (
                u in problem.locked or problem.home_unit.get(s) == u):
            out.add(("travel", u))
    if problem.current is not None and policy.max_moved_share is not None:
        total = float(problem.students.sum())
        moved = float(sum(problem.students[u] for u, s in good.items() if problem.current[u] != s))
        if total > 0 and moved / total > policy.max_moved_share + EPS:
            out.add(("moved", "district"))
    return out


@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(instances())
def test_checker_accepts_exactly_the_valid_plans_and_names_each_violation(
    instance: tuple[Problem, Policy, pd.Series],
) -> None:
    problem, policy, plan = instance
    violations = check_plan(plan, problem, policy)
    event("accepted" if not violations else "rejected")
    assert all(isinstance(v, Violation) for v in violations)
    assert all(v.rule in RULES and v.message and str(v).startswith(f"{v.rule} [{v.where}]: ")
               for v in violations)
    assert violations == check_plan(plan.copy(), problem, policy)  # stable order, no side effects
    assert {(v.rule, v.where) for v in violations} == expected_places(problem, policy, plan)


def test_a_valid_plan_passes_and_each_edit_is_named() -> None:
    nb = grid_neighbours(1, 4)
    units = sorted(nb)
    tt = pd.DataFrame({"A": [0, 60, 120, 180], "B": [180, 120, 60, 0]}, index=units, dtype=float)
    ones = pd.Series(10.0, index=units)
    problem = Problem(tt, ones, pd.Series([5.0, 5, 0, 0], index=units), pd.Series({"A": 20, "B": 20}), nb,
                      pd.Series({"A": "u00", "B": "u03"}))
    policy = Policy(min_utilization=0.5, max_utilization=1.0, band=0.3)
    good = pd.Series({"u00": "A", "u01": "A", "u02": "B", "u03": "B"})
    assert check_plan(good, problem, policy) == []
    split = pd.Series({"u00": "A", "u01": "B", "u02": "A", "u03": "B"})
    assert [str(v) for v in check_plan(split, problem, policy)] == [
        "contiguity [A]: zone is in 2 pieces; units cut off from the school's unit include ['u02']",
        "contiguity [B]: zone is in 2 pieces; units cut off from the school's unit include ['u01']",
    ]
    typo = pd.Series({"u00": "A", "u01": "a", "u03": "B"})
    named = [(v.rule, v.where) for v in check_plan(typo, problem, policy)]
    assert ("assignment", "u01") in named and ("assignment", "u02") in named
