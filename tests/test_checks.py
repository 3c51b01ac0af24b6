"""The independent checker on hand-made plans, and the at-a-glance feasibility checks."""

from __future__ import annotations

import numpy as np
import pandas as pd

from zoning.checks import check_plan, glance_checks
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
