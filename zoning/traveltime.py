"""Unit x school travel-time matrix: one shortest-path tree per school, not one search per pair.

Data contract: a DataFrame indexed by ``geoid`` with one column per ``school_id``, in seconds;
NaN means unreachable.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field

import geopandas as gpd
import networkx as nx
import numpy as np
import pandas as pd
import scipy.sparse as sp
from scipy.sparse.csgraph import dijkstra
from scipy.spatial import cKDTree

from . import settings

log = logging.getLogger(__name__)


@dataclass
class TravelTimes:
    """A travel-time matrix and how it was made.

    Attributes
    ----------
    seconds
        DataFrame ``geoid x school_id`` in seconds (NaN = unreachable).
    method
        "road network (drive)", "road network (walk)" or "straight line x 1.3 at 30 km/h".
    snap_m
        Distance from each unit's and school's point to its road node (m); empty for straight line.
    """

    seconds: pd.DataFrame
    method: str
    snap_m: dict[str, float] = field(default_factory=dict)


def representative_points(units: gpd.GeoDataFrame) -> gpd.GeoSeries:
    """One point inside each unit (its representative point, never outside the polygon)."""
    return units.geometry.representative_point()


def compute_straight_line(
    units: gpd.GeoDataFrame,
    schools: gpd.GeoDataFrame,
    *,
    circuity: float = settings.circuity_factor,
    speed_kph: float = settings.straight_line_speed_kph,
) -> TravelTimes:
    """Travel time as straight-line distance x circuity / speed (the no-network fallback)."""
    crs = units.estimate_utm_crs()
    up = representative_points(units).to_crs(crs)
    sp_ = schools.geometry.to_crs(crs)
    ux, uy = up.x.to_numpy(), up.y.to_numpy()
    sx, sy = sp_.x.to_numpy(), sp_.y.to_numpy()
    dist = np.hypot(ux[:, None] - sx[None, :], uy[:, None] - sy[None, :])
    seconds = dist * circuity / (speed_kph / 3.6)
    frame = pd.DataFrame(seconds, index=units.index.copy(), columns=schools.index.copy())
    return TravelTimes(frame, f"straight line x {circuity:g} at {speed_kph:g} km/h")


def _csr(G: nx.MultiDiGraph, nodes: list, weight: str) -> sp.csr_matrix:
    """Sparse adjacency with the MINIMUM weight over parallel edges (a plain sum would be wrong)."""
    pos = {n: i for i, n in enumerate(nodes)}
    rows, cols, vals = [], [], []
    for u, v, d in G.edges(data=True):
        rows.append(pos[u])
        cols.append(pos[v])
        vals.append(float(d[weight]))
    r, c, w = np.asarray(rows), np.asarray(cols), np.asarray(vals)
    order = np.lexsort((w, c, r))
    r, c, w = r[order], c[order], w[order]
    keep = np.ones(len(r), dtype=bool)
    keep[1:] = (r[1:] != r[:-1]) | (c[1:] != c[:-1])
    r, c, w = r[keep], c[keep], w[keep]
    w = np.maximum(w, 1e-9)  # zero-length edges must stay edges
    return sp.csr_matrix((w, (r, c)), shape=(len(nodes), len(nodes)))


def compute_travel_times(
    units: gpd.GeoDataFrame,
    schools: gpd.GeoDataFrame,
    G: nx.MultiDiGraph,
    *,
    mode: str = "drive",
    weight: str = "travel_time",
) -> TravelTimes:
    """Travel time from every unit's point to every school over the road graph.

    Units and schools snap to the nearest node of the largest strongly connected component;
    one Dijkstra per school runs on the reversed graph, so the matrix holds unit -> school times.
    """
    largest = max(nx.strongly_connected_components(G), key=len)
    nodes = sorted(largest, key=str)
    H = G.subgraph(largest)
    import pyproj

    crs = units.estimate_utm_crs()
    to_m = pyproj.Transformer.from_crs(G.graph["crs"], crs, always_xy=True)
    nx_, ny_ = to_m.transform(
        np.array([G.nodes[n]["x"] for n in nodes], dtype=float),
        np.array([G.nodes[n]["y"] for n in nodes], dtype=float),
    )
    tree = cKDTree(np.column_stack([nx_, ny_]))
    up = representative_points(units).to_crs(crs)
    spnt = schools.geometry.to_crs(crs)
    ud, ui = tree.query(np.column_stack([up.x, up.y]))
    sd, si = tree.query(np.column_stack([spnt.x, spnt.y]))
    snap = {**dict(zip(units.index, ud.tolist(), strict=True)),
            **dict(zip(schools.index, sd.tolist(), strict=True))}
    far = {k: round(v) for k, v in snap.items() if v > settings.max_snap_m}
    if far:
        log.warning("%d units/schools snap farther than %.0f m from the road network: %s",
                    len(far), settings.max_snap_m, dict(list(far.items())[:10]))
    A = _csr(H, nodes, weight)
    dist = dijkstra(A.T.tocsr(), directed=True, indices=si)  # reversed graph: to each school
    seconds = dist[:, ui].T
    seconds[~np.isfinite(seconds)] = np.nan
    frame = pd.DataFrame(seconds, index=units.index.copy(), columns=schools.index.copy())
    return TravelTimes(frame, f"road network ({mode})", snap)
