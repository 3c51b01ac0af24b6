"""Known-answer tests of every metric (numbers worked out by hand in the comments)."""

from __future__ import annotations

import math

import geopandas as gpd
import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from shapely.geometry import Point, box

from zoning import metrics as M

# two zones: A 10 students / 8 low-income, B 10 / 2  ->  district share 0.5
ZS = pd.Series({"A": 10.0, "B": 10.0})
ZL = pd.Series({"A": 8.0, "B": 2.0})


def test_dissimilarity_index_known_answers() -> None:
    # 1/2 (|8/10 - 2/10| + |2/10 - 8/10|) = 0.6
    assert M.dissimilarity_index(ZS, ZL) == pytest.approx(0.6)
    # fully apart: 1; even: 0
    assert M.dissimilarity_index(ZS, pd.Series({"A": 10.0, "B": 0.0})) == pytest.approx(1.0)
    assert M.dissimilarity_index(ZS, pd.Series({"A": 5.0, "B": 5.0})) == pytest.approx(0.0)
    # nobody low-income: defined as 0
    assert M.dissimilarity_index(ZS, pd.Series({"A": 0.0, "B": 0.0})) == 0.0


def test_normalized_exposure_known_answers() -> None:
    # isolation (8 * 0.8 + 2 * 0.2) / 10 = 0.68; (0.68 - 0.5) / 0.5 = 0.36
    # (= weighted variance of zone shares 0.09 over P(1-P) = 0.25)
    assert M.normalized_exposure(ZS, ZL) == pytest.approx(0.36)
    assert M.normalized_exposure(ZS, pd.Series({"A": 10.0, "B": 0.0})) == pytest.approx(1.0)
    assert M.normalized_exposure(ZS, pd.Series({"A": 5.0, "B": 5.0})) == pytest.approx(0.0)
    # an empty zone is ignored
    zs = pd.Series({"A": 10.0, "B": 10.0, "C": 0.0})
    zl = pd.Series({"A": 8.0, "B": 2.0, "C": 0.0})
    assert M.normalized_exposure(zs, zl) == pytest.approx(0.36)


def test_worst_deviation_and_zones_outside_band() -> None:
    # A 10/8, B 30/4: P = 12/40 = 0.3; A 0.8 (+0.5), B 0.1333 (-0.1667)
    zs, zl = pd.Series({"A": 10.0, "B": 30.0}), pd.Series({"A": 8.0, "B": 4.0})
    dev = M.deviations(zs, zl)
    assert dev["A"] == pytest.approx(0.5) and dev["B"] == pytest.approx(4 / 30 - 0.3)
    assert M.worst_deviation(zs, zl) == pytest.approx(0.5)
    assert M.zones_outside_band(zs, zl, band=0.1) == 2
    assert M.zones_outside_band(zs, zl, band=0.2) == 1
    assert M.zones_outside_band(zs, zl, band=0.5) == 0  # on the edge is inside
    # against a given district share, and with an empty zone (ignored)
    assert M.worst_deviation(pd.Series({"A": 10.0, "C": 0.0}), pd.Series({"A": 5.0, "C": 0.0}),
                             share=0.4) == pytest.approx(0.1)
    assert M.worst_deviation(pd.Series({"A": 0.0}), pd.Series({"A": 0.0})) == 0.0


def test_utilization_and_capacity_counts() -> None:
    students = pd.Series({"A": 45.0, "B": 30.0})
    capacity = pd.Series({"A": 50, "B": 40, "C": 0})
    u = M.utilization(students, capacity)
    assert u["A"] == pytest.approx(0.9) and u["B"] == pytest.approx(0.75) and np.isnan(u["C"])
    assert M.zones_over_capacity(students, capacity, max_utilization=0.8) == 1  # A: 45 > 40
    assert M.zones_under_capacity(students, capacity, min_utilization=0.8) == 1  # B: 30 < 32
    assert M.zones_over_capacity(students, capacity) == 0


# travel: u1 -> A 60 s, u2 -> B 120 s, u3 -> A 1500 s; students 10, 30, 10
TT = pd.DataFrame({"A": [60.0, 300.0, 1500.0], "B": [600.0, 120.0, np.nan]},
                  index=pd.Index(["u1", "u2", "u3"], name="geoid"))
STUDENTS = pd.Series({"u1": 10.0, "u2": 30.0, "u3": 10.0})
PLAN = pd.Series({"u1": "A", "u2": "B", "u3": "A"})


def test_travel_metrics_known_answers() -> None:
    assert M.unit_travel_s(PLAN, TT).tolist() == [60.0, 120.0, 1500.0]
    # (10*60 + 30*120 + 10*1500) / 50 = 19200 / 50 = 384
    assert M.mean_travel_s(PLAN, STUDENTS, TT) == pytest.approx(384.0)
    assert M.max_travel_s(PLAN, STUDENTS, TT) == pytest.approx(1500.0)
    assert M.share_beyond(PLAN, STUDENTS, TT, minutes=20) == pytest.approx(10 / 50)
    # beyond 1 minute: u2 and u3 (u1 is exactly 60 s, not beyond)
    assert M.share_beyond(PLAN, STUDENTS, TT, minutes=1) == pytest.approx(40 / 50)
    assert M.unreachable_students(PLAN, STUDENTS, TT) == 0.0
    # a unit without students does not set the maximum
    assert M.max_travel_s(PLAN, STUDENTS.replace({10.0: 0.0}), TT) == pytest.approx(120.0)


def test_travel_metrics_with_unreachable_and_unassigned_units() -> None:
    plan = pd.Series({"u1": "A", "u2": "B", "u3": "B"})  # u3 cannot reach B
    assert np.isnan(M.unit_travel_s(plan, TT)["u3"])
    assert M.mean_travel_s(plan, STUDENTS, TT) == pytest.approx((600 + 3600) / 40)
    assert M.unreachable_students(plan, STUDENTS, TT) == pytest.approx(10.0)
    assert M.share_beyond(plan, STUDENTS, TT, minutes=20) == pytest.approx(10 / 50)  # unreachable = beyond
    gaps = pd.Series({"u1": "A", "u2": None, "u3": "Z"})  # u2 without a school, u3 unknown school
    assert M.unit_travel_s(gaps, TT)[["u2", "u3"]].isna().all()
    assert M.mean_travel_s(gaps, STUDENTS, TT) == pytest.approx(60.0)
    assert M.share_beyond(gaps, STUDENTS, TT, minutes=20) == pytest.approx(10 / 20)


def test_moved_share_and_travel_change_known_answers() -> None:
    current = pd.Series({"u1": "A", "u2": "A", "u3": "A"})
    # u2 (30 students) moves A -> B: 30 / 50 = 0.6; its trip 300 -> 120 s
    assert M.moved_students(PLAN, current, STUDENTS) == pytest.approx(30.0)
    assert M.moved_share(PLAN, current, STUDENTS) == pytest.approx(0.6)
    # (30 * (120 - 300)) / 50 = -108 s for the average student
    assert M.mean_travel_change_s(PLAN, current, STUDENTS, TT) == pytest.approx(-108.0)
    # a unit with no current school is not counted as moved nor in the change
    partial = pd.Series({"u1": "A", "u2": None, "u3": "A"})
    assert M.moved_share(PLAN, partial, STUDENTS) == 0.0
    assert M.mean_travel_change_s(PLAN, partial, STUDENTS, TT) == pytest.approx(0.0)
    assert M.moved_share(PLAN, PLAN, STUDENTS) == 0.0


def test_polsby_popper_known_answers() -> None:
    assert M.polsby_popper(box(0, 0, 1, 1)) == pytest.approx(math.pi / 4)
    assert M.polsby_popper(Point(0, 0).buffer(1, quad_segs=256)) == pytest.approx(1.0, abs=1e-4)
    # a 1 x 4 rectangle: 4 pi 4 / 100
    assert M.polsby_popper(box(0, 0, 4, 1)) == pytest.approx(16 * math.pi / 100)
    assert M.polsby_popper(Point(0, 0)) == 0.0


def test_zone_table_counts_only_units_with_a_known_school() -> None:
    capacity = pd.Series({"A": 40, "B": 40})
    plan = pd.Series({"u1": "A", "u2": "B", "u3": None})
    low = pd.Series({"u1": 5.0, "u2": 6.0, "u3": 10.0})
    t = M.zone_table(plan, STUDENTS, low, capacity, TT, names=pd.Series({"A": "West", "B": "East"}))
    assert t.loc["A", "students"] == 10 and t.loc["B", "students"] == 30 and t["units"].tolist() == [1, 1]
    assert t.loc["A", "name"] == "West"
    assert t.loc["B", "utilization"] == pytest.approx(0.75)
    # the district share counts every student of the plan: 21 / 50
    assert t.loc["A", "deviation"] == pytest.approx(0.5 - 21 / 50)
    assert t.loc["B", "mean_travel_s"] == pytest.approx(120.0)


def test_district_metrics_known_answers() -> None:
    capacity = pd.Series({"A": 30, "B": 40})
    low = pd.Series({"u1": 8.0, "u2": 6.0, "u3": 2.0})
    current = pd.Series({"u1": "A", "u2": "A", "u3": "A"})
    d = M.district_metrics(PLAN, STUDENTS, low, capacity, TT, band=0.1, max_utilization=1.0,
                           min_utilization=0.5, beyond_min=20, current=current,
                           compactness=pd.Series({"A": 0.5, "B": 0.7}))
    # zones: A = u1 + u3: 20 students, 10 low-income (0.5); B = u2: 30, 6 (0.2); P = 16/50 = 0.32
    assert d["students"] == 50 and d["low_income"] == 16
    assert d["district_low_income_share"] == pytest.approx(0.32)
    assert d["worst_deviation"] == pytest.approx(0.18)
    assert d["zones_outside_band"] == 2
    assert d["zones_over_capacity"] == 0 and d["zones_under_capacity"] == 0
    assert d["min_utilization"] == pytest.approx(20 / 30) and d["max_utilization"] == pytest.approx(0.75)
    # D = 1/2 (|10/16 - 10/34| + |6/16 - 24/34|)
    expected = 0.5 * (abs(10 / 16 - 10 / 34) + abs(6 / 16 - 24 / 34))
    assert d["dissimilarity"] == pytest.approx(expected, abs=1e-6)
    assert d["mean_travel_s"] == pytest.approx(384.0)
    assert d["max_travel_s"] == pytest.approx(1500.0)
    assert d["share_beyond_min"] == pytest.approx(0.2)
    assert d["moved_share"] == pytest.approx(0.6) and d["moved_students"] == pytest.approx(30.0)
    assert d["mean_travel_change_s"] == pytest.approx(-108.0)
    assert d["mean_polsby_popper"] == pytest.approx(0.6) and d["min_polsby_popper"] == pytest.approx(0.5)
    assert d["unassigned_units"] == 0 and d["unreachable_students"] == 0
    without = M.district_metrics(PLAN, STUDENTS, low, capacity, TT)
    assert "moved_share" not in without and "mean_polsby_popper" not in without
    assert without["zones_outside_band"] == 0  # no band given


def test_zone_geometries_dissolve_and_compactness(grid: gpd.GeoDataFrame) -> None:
    plan = pd.Series({g: ("A" if g.endswith("0") else "B") for g in grid.index})
    plan["g22"] = None  # no school: in no zone
    zones = M.zone_geometries(grid, plan)
    assert list(zones.index) == ["A", "B"]
    # A is a 1 x 3 column of square-ish cells; B an L of five cells
    assert zones.loc["A", "polsby_popper"] < 1.0
    assert zones.loc["B", "geometry"].area == pytest.approx(5 * grid.geometry.iloc[0].area)


@settings(max_examples=60, deadline=None)
@given(st.lists(st.tuples(st.integers(1, 50), st.integers(0, 50)), min_size=2, max_size=8))
def test_integration_indices_stay_in_zero_one(zones: list[tuple[int, int]]) -> None:
    n = pd.Series([float(a) for a, _ in zones])
    low = pd.Series([float(min(a, b)) for a, b in zones])
    d = M.dissimilarity_index(n, low)
    e = M.normalized_exposure(n, low)
    assert -1e-12 <= d <= 1 + 1e-12 and -1e-12 <= e <= 1 + 1e-12
    # every zone at the district share gives 0 for both
    even = n * 0.25
    assert M.dissimilarity_index(n, even) == pytest.approx(0.0, abs=1e-12)
    assert M.normalized_exposure(n, even) == pytest.approx(0.0, abs=1e-12)
