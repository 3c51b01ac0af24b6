"""Pure functions for zone and district metrics.

Shares are fractions (0.31, not 31); travel in seconds; all inputs are labelled pandas objects.
"""

from __future__ import annotations

import math
from typing import Any

import geopandas as gpd
import numpy as np
import pandas as pd


def dissimilarity_index(students: pd.Series, low_income: pd.Series) -> float:
    """Index of dissimilarity of low-income vs other students over zones (0 = even, 1 = apart).

    ``D = 1/2 * sum_z |L_z / L - O_z / O|`` with ``O`` the other (not low-income) students.
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
    """
    n, total_l = float(students.sum()), float(low_income.sum())
    if n <= 0 or total_l <= 0 or total_l >= n:
        return 0.0
    p = total_l / n
    nz = students[students > 0]
    lz = low_income[students > 0]
    isolation = float((lz * (lz / nz)).sum()) / total_l
    return (isolation - p) / (1.0 - p)


def polsby_popper(geom: Any) -> float:
    """Polsby-Popper compactness ``4 pi A / P^2`` of a projected geometry (1 = circle)."""
    perimeter = float(geom.length)
    return 0.0 if perimeter <= 0 else 4.0 * math.pi * float(geom.area) / perimeter**2


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
        (student-weighted), ``max_travel_s``.
    """
    schools = capacity.index
    st = students.reindex(plan.index).astype(float)
    li = low_income.reindex(plan.index).astype(float)
    tt = pd.Series(travel_time_s.to_numpy()[travel_time_s.index.get_indexer(plan.index),
                                            travel_time_s.columns.get_indexer(plan.to_numpy())],
                   index=plan.index)
    share = float(li.sum()) / float(st.sum()) if st.sum() > 0 else 0.0
    g = pd.DataFrame({"s": plan.to_numpy(), "st": st.to_numpy(), "li": li.to_numpy(),
                      "tt": tt.to_numpy(), "w": (st * tt).to_numpy()})
    agg = g.groupby("s").agg(units=("st", "size"), students=("st", "sum"), low_income=("li", "sum"),
                             weighted=("w", "sum"), max_travel_s=("tt", "max"))
    agg = agg.reindex(schools)
    agg["units"] = agg["units"].fillna(0).astype(int)
    agg[["students", "low_income", "weighted"]] = agg[["students", "low_income", "weighted"]].fillna(0.0)
    out = pd.DataFrame(index=pd.Index(schools, name="school_id"))
    out["name"] = names.reindex(schools) if names is not None else schools
    out["capacity"] = capacity.astype(int)
    out["units"] = agg["units"]
    out["students"] = agg["students"]
    out["low_income"] = agg["low_income"]
    out["utilization"] = np.where(out["capacity"] > 0, out["students"] / out["capacity"].clip(lower=1), np.nan)
    out["low_income_share"] = np.where(out["students"] > 0, out["low_income"] / out["students"].clip(lower=1e-12), np.nan)
    out["deviation"] = out["low_income_share"] - share
    out["mean_travel_s"] = np.where(out["students"] > 0, agg["weighted"] / out["students"].clip(lower=1e-12), np.nan)
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
) -> dict[str, Any]:
    """District-wide metrics of a plan (a flat dict of plain numbers, JSON-ready).

    Keys: ``units``, ``schools``, ``students``, ``low_income``, ``district_low_income_share``,
    ``dissimilarity``, ``normalized_exposure``, ``worst_deviation``, ``zones_outside_band``,
    ``zones_over_capacity``, ``zones_under_capacity``, ``mean_travel_s``, ``max_travel_s``,
    ``share_beyond_min`` (with ``beyond_min``), and with a current plan ``moved_students``,
    ``moved_share``, ``mean_travel_change_s``.
    """
    z = zone_table(plan, students, low_income, capacity, travel_time_s)
    st = students.reindex(plan.index).astype(float)
    idx_u = travel_time_s.index.get_indexer(plan.index)
    tt = travel_time_s.to_numpy()[idx_u, travel_time_s.columns.get_indexer(plan.to_numpy())]
    total = float(st.sum())
    share = float(low_income.reindex(plan.index).sum()) / total if total > 0 else 0.0
    dev = z["deviation"].dropna()
    out: dict[str, Any] = {
        "units": int(len(plan)),
        "schools": int(len(capacity)),
        "students": round(total, 3),
        "low_income": round(float(low_income.reindex(plan.index).sum()), 3),
        "district_low_income_share": round(share, 6),
        "dissimilarity": round(dissimilarity_index(z["students"], z["low_income"]), 6),
        "normalized_exposure": round(normalized_exposure(z["students"], z["low_income"]), 6),
        "worst_deviation": round(float(dev.abs().max()) if len(dev) else 0.0, 6),
        "zones_outside_band": int((dev.abs() > band + 1e-9).sum()) if band is not None else 0,
        "zones_over_capacity": int((z["students"] > max_utilization * z["capacity"] + 1e-9).sum()),
        "zones_under_capacity": int((z["students"] < min_utilization * z["capacity"] - 1e-9).sum()),
        "mean_travel_s": round(float((st.to_numpy() * tt).sum() / total) if total > 0 else 0.0, 3),
        "max_travel_s": round(float(np.nanmax(tt)) if len(tt) else 0.0, 3),
        "beyond_min": beyond_min,
        "share_beyond_min": round(float(st.to_numpy()[tt > beyond_min * 60].sum() / total) if total > 0 else 0.0, 6),
    }
    if current is not None:
        cur = current.reindex(plan.index)
        known = cur.notna().to_numpy()
        moved = known & (cur.to_numpy() != plan.to_numpy())
        out["moved_students"] = round(float(st.to_numpy()[moved].sum()), 3)
        out["moved_share"] = round(float(st.to_numpy()[moved].sum() / total) if total > 0 else 0.0, 6)
        ct = travel_time_s.to_numpy()[idx_u[known], travel_time_s.columns.get_indexer(cur[known].to_numpy())]
        w = st.to_numpy()[known]
        delta = (tt[known] - ct)
        ok = np.isfinite(delta)
        out["mean_travel_change_s"] = round(float((w[ok] * delta[ok]).sum() / w[ok].sum()) if w[ok].sum() > 0 else 0.0, 3)
    return out


def zone_geometries(units: gpd.GeoDataFrame, plan: pd.Series) -> gpd.GeoDataFrame:
    """Dissolved zone polygons (EPSG of ``units``) indexed by ``school_id``, with Polsby-Popper."""
    g = units[["geometry"]].copy()
    g["school_id"] = plan.reindex(units.index).to_numpy()
    zones = g.dissolve(by="school_id", sort=True)
    projected = zones.to_crs(units.estimate_utm_crs())
    zones["polsby_popper"] = [round(polsby_popper(geom), 6) for geom in projected.geometry]
    return zones
