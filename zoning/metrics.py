"""Pure functions for zone and district metrics.

Shares are fractions (0.31, not 31); travel in seconds; all inputs are labelled pandas objects:
a plan is a Series ``geoid -> school_id``, students and low-income students are Series indexed
by geoid, capacity a Series indexed by school_id and travel times a DataFrame ``geoid x
school_id`` in seconds (NaN = unreachable). Zone-level functions take per-zone counts (Series
indexed by school_id). A plan may leave units without a school (a hand-edited CSV, today's
boundaries with gaps): such units count in no zone and in no travel figure.

Every function here is pure (no I/O, no logging) and has a known-answer test in
``tests/test_metrics.py``.
"""

from __future__ import annotations

import math
from typing import Any

import geopandas as gpd
import numpy as np
import pandas as pd

# --------------------------------------------------------------------------- integration


def district_share(students: pd.Series, low_income: pd.Series) -> float:
    """Low-income share of all students, ``sum(L) / sum(N)`` (0 when there are no students)."""
    total = float(students.sum())
    return float(low_income.sum()) / total if total > 0 else 0.0


def dissimilarity_index(students: pd.Series, low_income: pd.Series) -> float:
    """Index of dissimilarity of low-income vs other students over zones (0 = even, 1 = apart).

    ``D = 1/2 * sum_z |L_z / L - O_z / O|`` with ``O`` the other (not low-income) students: the
    share of low-income (or of other) students who would have to change zone for every zone to
    have the district share.

    Parameters
    ----------
    students, low_income
        Per-zone counts, indexed alike.
    """
    other = students - low_income
    total_l, total_o = float(low_income.sum()), float(other.sum())
    if total_l <= 0 or total_o <= 0:
        return 0.0
    return 0.5 * float((low_income / total_l - other / total_o).abs().sum())


def normalized_exposure(students: pd.Series, low_income: pd.Series) -> float:
    """Variance ratio (eta squared): how far low-income students are isolated in their zones.

    ``(sum_z L_z * (L_z / N_z) / L - P) / (1 - P)`` with ``P`` the district share; 0 when
    every zone has the district share, 1 when fully separated.

    Parameters
    ----------
    students, low_income
        Per-zone counts, indexed alike.
    """
    n, total_l = float(students.sum()), float(low_income.sum())
    if n <= 0 or total_l <= 0 or total_l >= n:
        return 0.0
    p = total_l / n
    nz = students[students > 0]
    lz = low_income[students > 0]
    isolation = float((lz * (lz / nz)).sum()) / total_l
    return (isolation - p) / (1.0 - p)


def deviations(students: pd.Series, low_income: pd.Series, *, share: float | None = None) -> pd.Series:
    """Each zone's low-income share minus the district share (NaN for a zone without students).

    Parameters
    ----------
    students, low_income
        Per-zone counts, indexed alike.
    share
        The district share; by default the share of these zones together.
    """
    p = district_share(students, low_income) if share is None else share
    zone_share = low_income / students.where(students > 0)
    return (zone_share - p).astype(float)


def worst_deviation(students: pd.Series, low_income: pd.Series, *, share: float | None = None) -> float:
    """Largest absolute deviation of a zone's low-income share from the district share.

    Zones without students are ignored; 0 when no zone has students.
    """
    dev = deviations(students, low_income, share=share).dropna()
    return float(dev.abs().max()) if len(dev) else 0.0


def zones_outside_band(
    students: pd.Series, low_income: pd.Series, *, band: float, share: float | None = None,
    tolerance: float = 1e-9,
) -> int:
    """Number of zones whose low-income share is more than ``band`` from the district share."""
    dev = deviations(students, low_income, share=share).dropna()
    return int((dev.abs() > band + tolerance).sum())


# --------------------------------------------------------------------------- capacity


def utilization(students: pd.Series, capacity: pd.Series) -> pd.Series:
    """Students per seat for each school (1.0 = full); NaN for a school without seats.

    Parameters
    ----------
    students
        Students per zone (indexed by school_id); schools missing from it have none.
    capacity
        Seats per school.
    """
    cap = capacity.astype(float)
    st = students.reindex(cap.index, fill_value=0.0).astype(float)
    return (st / cap.where(cap > 0)).rename("utilization")


def zones_over_capacity(
    students: pd.Series, capacity: pd.Series, *, max_utilization: float = 1.0, tolerance: float = 1e-9
) -> int:
    """Number of schools with more than ``max_utilization x capacity`` students."""
    st = students.reindex(capacity.index, fill_value=0.0).astype(float)
    return int((st > max_utilization * capacity.astype(float) + tolerance).sum())


def zones_under_capacity(
    students: pd.Series, capacity: pd.Series, *, min_utilization: float = 0.0, tolerance: float = 1e-9
) -> int:
    """Number of schools with fewer than ``min_utilization x capacity`` students."""
    st = students.reindex(capacity.index, fill_value=0.0).astype(float)
    return int((st < min_utilization * capacity.astype(float) - tolerance).sum())


# --------------------------------------------------------------------------- travel


def unit_travel_s(plan: pd.Series, travel_time_s: pd.DataFrame) -> pd.Series:
    """Each unit's travel time to the school the plan gives it, in seconds.

    NaN when the unit has no school, its school is not a column of ``travel_time_s``, or the
    school cannot be reached.
    """
    rows = travel_time_s.index.get_indexer(plan.index)
    known = plan.notna().to_numpy()
    cols = np.full(len(plan), -1, dtype=int)
    if known.any():
        cols[known] = travel_time_s.columns.get_indexer(plan[known].astype(str).to_numpy())
    ok = (rows >= 0) & (cols >= 0)
    out = np.full(len(plan), np.nan)
    out[ok] = travel_time_s.to_numpy(dtype=float)[rows[ok], cols[ok]]
    return pd.Series(out, index=plan.index, name="travel_time_s")


def mean_travel_s(plan: pd.Series, students: pd.Series, travel_time_s: pd.DataFrame) -> float:
    """Student-weighted mean travel time (s) over students who can reach their school.

    Students without a school or whose school is unreachable are left out (they are counted by
    :func:`unreachable_students`); 0 when no student is left.
    """
    tt = unit_travel_s(plan, travel_time_s)
    st = students.reindex(plan.index).fillna(0.0).astype(float)
    ok = np.isfinite(tt.to_numpy())
    w = st.to_numpy()[ok]
    return float((w * tt.to_numpy()[ok]).sum() / w.sum()) if w.sum() > 0 else 0.0


def max_travel_s(plan: pd.Series, students: pd.Series, travel_time_s: pd.DataFrame) -> float:
    """Longest travel time (s) of any unit with students that can reach its school (0 if none)."""
    tt = unit_travel_s(plan, travel_time_s).to_numpy()
    st = students.reindex(plan.index).fillna(0.0).to_numpy(dtype=float)
    ok = np.isfinite(tt) & (st > 0)
    return float(tt[ok].max()) if ok.any() else 0.0


def share_beyond(plan: pd.Series, students: pd.Series, travel_time_s: pd.DataFrame, *,
                 minutes: float) -> float:
    """Share of the plan's students whose trip is longer than ``minutes``.

    Students assigned to a school they cannot reach count as beyond; students without a
    school count in neither part.
    """
    tt = unit_travel_s(plan, travel_time_s).to_numpy()
    st = students.reindex(plan.index).fillna(0.0).to_numpy(dtype=float)
    assigned = plan.notna().to_numpy()
    total = float(st[assigned].sum())
    if total <= 0:
        return 0.0
    beyond = assigned & (~np.isfinite(tt) | (tt > minutes * 60.0))
    return float(st[beyond].sum()) / total


def unreachable_students(plan: pd.Series, students: pd.Series, travel_time_s: pd.DataFrame) -> float:
    """Students assigned to a school they cannot reach (or to an unknown school)."""
    tt = unit_travel_s(plan, travel_time_s).to_numpy()
    st = students.reindex(plan.index).fillna(0.0).to_numpy(dtype=float)
    return float(st[plan.notna().to_numpy() & ~np.isfinite(tt)].sum())


# --------------------------------------------------------------------------- stability


def _moved_mask(plan: pd.Series, current: pd.Series) -> np.ndarray:
    cur = current.reindex(plan.index)
    both = (cur.notna() & plan.notna()).to_numpy()
    differ = cur.astype(object).to_numpy() != plan.astype(object).to_numpy()
    return both & differ


def moved_students(plan: pd.Series, current: pd.Series, students: pd.Series) -> float:
    """Students whose unit has a different school in ``plan`` than in ``current``.

    Units without a school in either plan are not counted as moved.
    """
    st = students.reindex(plan.index).fillna(0.0).to_numpy(dtype=float)
    return float(st[_moved_mask(plan, current)].sum())


def moved_share(plan: pd.Series, current: pd.Series, students: pd.Series) -> float:
    """Share of the plan's students who change school (see :func:`moved_students`)."""
    total = float(students.reindex(plan.index).fillna(0.0).sum())
    return moved_students(plan, current, students) / total if total > 0 else 0.0


def mean_travel_change_s(plan: pd.Series, current: pd.Series, students: pd.Series,
                         travel_time_s: pd.DataFrame) -> float:
    """Student-weighted mean change of travel time (s), ``plan`` minus ``current``.

    Over the units that have a school in both plans, both reachable; unmoved units count with
    a change of 0, so this is the change for the average student, not the average mover.
    """
    new = unit_travel_s(plan, travel_time_s).to_numpy()
    old = unit_travel_s(current.reindex(plan.index), travel_time_s).to_numpy()
    st = students.reindex(plan.index).fillna(0.0).to_numpy(dtype=float)
    ok = np.isfinite(new) & np.isfinite(old)
    w = st[ok]
    return float((w * (new[ok] - old[ok])).sum() / w.sum()) if w.sum() > 0 else 0.0


# --------------------------------------------------------------------------- shape


def polsby_popper(geom: Any) -> float:
    """Polsby-Popper compactness ``4 pi A / P^2`` of a projected geometry (1 = circle)."""
    perimeter = float(geom.length)
    return 0.0 if perimeter <= 0 else 4.0 * math.pi * float(geom.area) / perimeter**2


# --------------------------------------------------------------------------- tables


def _valid(plan: pd.Series, schools: pd.Index) -> pd.Series:
    """The plan's entries that name a known school, as text."""
    p = plan[plan.notna()].astype(str)
    return p[p.isin(set(schools.astype(str)))]


def zone_counts(plan: pd.Series, values: pd.Series, schools: pd.Index) -> pd.Series:
    """Sum of ``values`` (per unit) over each school's zone; 0 for an empty zone."""
    p = _valid(plan, schools)
    v = values.reindex(p.index).fillna(0.0).astype(float)
    return v.groupby(p).sum().reindex(schools, fill_value=0.0)


def zone_table(
    plan: pd.Series,
    students: pd.Series,
    low_income: pd.Series,
    capacity: pd.Series,
    travel_time_s: pd.DataFrame,
    *,
    names: pd.Series | None = None,
) -> pd.DataFrame:
    """Per-school metrics for a plan.

    Returns
    -------
    DataFrame indexed by ``school_id``
        ``name``, ``capacity``, ``units``, ``students``, ``low_income``, ``utilization``,
        ``low_income_share``, ``deviation`` (share minus district share), ``mean_travel_s``
        (student-weighted over reachable units), ``max_travel_s`` (over units with students).
    """
    schools = capacity.index
    p = _valid(plan, schools)
    st = students.reindex(p.index).fillna(0.0).astype(float)
    li = low_income.reindex(p.index).fillna(0.0).astype(float)
    tt = unit_travel_s(p, travel_time_s)
    share = district_share(students.reindex(plan.index), low_income.reindex(plan.index))
    finite = np.isfinite(tt.to_numpy())
    g = pd.DataFrame({"s": p.to_numpy(), "st": st.to_numpy(), "li": li.to_numpy(),
                      "w": np.where(finite, st.to_numpy() * np.nan_to_num(tt.to_numpy()), 0.0),
                      "wst": np.where(finite, st.to_numpy(), 0.0),
                      "tt": np.where(finite & (st.to_numpy() > 0), tt.to_numpy(), np.nan)})
    agg = g.groupby("s").agg(units=("st", "size"), students=("st", "sum"), low_income=("li", "sum"),
                             weighted=("w", "sum"), reach=("wst", "sum"), max_travel_s=("tt", "max"))
    agg = agg.reindex(schools)
    agg["units"] = agg["units"].fillna(0).astype(int)
    cols = ["students", "low_income", "weighted", "reach"]
    agg[cols] = agg[cols].fillna(0.0)
    out = pd.DataFrame(index=pd.Index(schools, name="school_id"))
    out["name"] = names.reindex(schools) if names is not None else schools
    out["capacity"] = capacity.astype(int)
    out["units"] = agg["units"]
    out["students"] = agg["students"]
    out["low_income"] = agg["low_income"]
    out["utilization"] = utilization(out["students"], capacity)
    out["low_income_share"] = np.where(out["students"] > 0,
                                       out["low_income"] / out["students"].clip(lower=1e-12), np.nan)
    out["deviation"] = deviations(out["students"], out["low_income"], share=share)
    out["mean_travel_s"] = np.where(agg["reach"] > 0, agg["weighted"] / agg["reach"].clip(lower=1e-12),
                                    np.nan)
    out["max_travel_s"] = agg["max_travel_s"]
    return out


def district_metrics(
    plan: pd.Series,
    students: pd.Series,
    low_income: pd.Series,
    capacity: pd.Series,
    travel_time_s: pd.DataFrame,
    *,
    band: float | None = None,
    min_utilization: float = 0.0,
    max_utilization: float = 1.0,
    beyond_min: float = 20.0,
    current: pd.Series | None = None,
    compactness: pd.Series | None = None,
) -> dict[str, Any]:
    """District-wide metrics of a plan (a flat dict of plain numbers, JSON-ready).

    Keys: ``units``, ``schools``, ``students``, ``low_income``, ``district_low_income_share``,
    ``dissimilarity``, ``normalized_exposure``, ``worst_deviation``, ``zones_outside_band``,
    ``zones_over_capacity``, ``zones_under_capacity``, ``min_utilization``,
    ``max_utilization``, ``mean_travel_s``, ``max_travel_s``, ``beyond_min``,
    ``share_beyond_min``, ``unassigned_units``, ``unreachable_students``; with a current plan
    ``moved_students``, ``moved_share``, ``mean_travel_change_s``; with per-zone
    ``compactness`` (Polsby-Popper) ``mean_polsby_popper`` and ``min_polsby_popper``.
    The README lists each with its unit.
    """
    schools = capacity.index
    zs = zone_counts(plan, students, schools)
    zl = zone_counts(plan, low_income, schools)
    st_all = students.reindex(plan.index).fillna(0.0).astype(float)
    li_all = low_income.reindex(plan.index).fillna(0.0).astype(float)
    share = district_share(st_all, li_all)
    util = utilization(zs, capacity).dropna()
    out: dict[str, Any] = {
        "units": int(len(plan)),
        "schools": int(len(capacity)),
        "students": round(float(st_all.sum()), 3),
        "low_income": round(float(li_all.sum()), 3),
        "district_low_income_share": round(share, 6),
        "dissimilarity": round(dissimilarity_index(zs, zl), 6),
        "normalized_exposure": round(normalized_exposure(zs, zl), 6),
        "worst_deviation": round(worst_deviation(zs, zl, share=share), 6),
        "zones_outside_band": zones_outside_band(zs, zl, band=band, share=share) if band is not None else 0,
        "zones_over_capacity": zones_over_capacity(zs, capacity, max_utilization=max_utilization),
        "zones_under_capacity": zones_under_capacity(zs, capacity, min_utilization=min_utilization),
        "min_utilization": round(float(util.min()), 6) if len(util) else None,
        "max_utilization": round(float(util.max()), 6) if len(util) else None,
        "mean_travel_s": round(mean_travel_s(plan, students, travel_time_s), 3),
        "max_travel_s": round(max_travel_s(plan, students, travel_time_s), 3),
        "beyond_min": beyond_min,
        "share_beyond_min": round(share_beyond(plan, students, travel_time_s, minutes=beyond_min), 6),
        "unassigned_units": int(len(plan) - len(_valid(plan, schools))),
        "unreachable_students": round(unreachable_students(plan, students, travel_time_s), 3),
    }
    if current is not None:
        out["moved_students"] = round(moved_students(plan, current, students), 3)
        out["moved_share"] = round(moved_share(plan, current, students), 6)
        out["mean_travel_change_s"] = round(mean_travel_change_s(plan, current, students, travel_time_s), 3)
    if compactness is not None and len(compactness.dropna()):
        pp = compactness.dropna().astype(float)
        out["mean_polsby_popper"] = round(float(pp.mean()), 6)
        out["min_polsby_popper"] = round(float(pp.min()), 6)
    return out


def zone_geometries(units: gpd.GeoDataFrame, plan: pd.Series) -> gpd.GeoDataFrame:
    """Dissolved zone polygons (EPSG of ``units``) indexed by ``school_id``, with Polsby-Popper.

    Units without a school in the plan belong to no zone.
    """
    g = units[["geometry"]].copy()
    g["school_id"] = plan.reindex(units.index).to_numpy()
    g = g[g["school_id"].notna()]
    zones = g.dissolve(by="school_id", sort=True)
    projected = zones.to_crs(units.estimate_utm_crs())
    zones["polsby_popper"] = [round(polsby_popper(geom), 6) for geom in projected.geometry]
    return zones
