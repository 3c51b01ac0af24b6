"""Unit x school travel-time matrix: one shortest-path tree per school, not one search per pair.

Each unit is represented by a point (its representative point, or a population-weighted point
from finer data, see :func:`weighted_points`), each school by its location. Both snap to the
nearest node of the road graph's largest strongly connected component, so every unit reaches
every school. One Dijkstra per school runs on the reversed graph (scipy's csgraph), which gives
the time from every node *to* that school. Parallel edges take the minimum weight: a sparse
matrix built naively from a MultiDiGraph sums them.

Without a road network, :func:`compute_straight_line` estimates travel as straight-line distance x
circuity / speed; its :attr:`TravelTimes.method` says so, and that text goes into every output.

Data contract: :attr:`TravelTimes.seconds` is a DataFrame indexed by ``geoid`` with one column per
``school_id``, in seconds. A unit that cannot reach a school is reported by name
(:class:`~zoning.errors.InfeasibleError`), never given infinity.
"""

from __future__ import annotations

import functools
import hashlib
import json
import logging
from dataclasses import dataclass
from pathlib import Path

import geopandas as gpd
import networkx as nx
import numpy as np
import pandas as pd
import pyproj
import scipy.sparse as sp
from scipy.sparse.csgraph import connected_components, dijkstra
from scipy.spatial import cKDTree

from . import settings
from .errors import InfeasibleError, InputError
from .io import atomic_write_bytes
from .network import utm_crs

log = logging.getLogger(__name__)

#: How every straight-line estimate's :attr:`TravelTimes.method` begins.
STRAIGHT_LINE = "straight-line estimate (no road network)"
#: Snapping choices: the nearest node of the largest strongly connected component, or the
#: nearest node of the whole graph (then unreachable pairs are possible and raise an error).
SNAP_MODES = ("largest_component", "nearest_node")
#: Bumped whenever the content of cached matrices changes meaning.
CACHE_FORMAT = 1


@dataclass
class TravelTimes:
    """A travel-time matrix and how it was made.

    Attributes
    ----------
    seconds
        DataFrame ``geoid x school_id`` in seconds.
    method
        How the times were made, e.g. "road network (drive) from reno_east3.osm" or
        "straight-line estimate (no road network): distance x 1.3 circuity at 30 km/h".
    unit_snap_m, school_snap_m
        Distance (m) from each unit's / school's point to its road node; None for straight line.
    unit_node, school_node
        The road node each unit / school snapped to; None for straight line.
    """

    seconds: pd.DataFrame
    method: str
    unit_snap_m: pd.Series | None = None
    school_snap_m: pd.Series | None = None
    unit_node: pd.Series | None = None
    school_node: pd.Series | None = None

    @property
    def is_straight_line(self) -> bool:
        """True when the times are the straight-line fallback, not road travel times."""
        return self.method.startswith(STRAIGHT_LINE)

    def far_snaps(self, max_snap_m: float | None = None) -> pd.DataFrame:
        """Units and schools whose point lies farther than ``max_snap_m`` from their road node.

        Returns
        -------
        DataFrame
            Columns ``kind`` ("unit"/"school"), ``id``, ``snap_m``; farthest first.
        """
        limit = settings.max_snap_m if max_snap_m is None else max_snap_m
        return _far(self.unit_snap_m, self.school_snap_m, limit)


def _far(unit_snap: pd.Series | None, school_snap: pd.Series | None, limit: float) -> pd.DataFrame:
    parts = []
    for kind, snap in (("unit", unit_snap), ("school", school_snap)):
        if snap is not None and bool((snap.to_numpy() > limit).any()):
            hit = snap[snap > limit]
            parts.append(pd.DataFrame({"kind": kind, "id": hit.index.astype(str), "snap_m": hit.to_numpy()}))
    if not parts:
        return pd.DataFrame({"kind": [], "id": [], "snap_m": []})
    out = pd.concat(parts, ignore_index=True)
    return out.sort_values(["snap_m", "kind", "id"], ascending=[False, True, True]).reset_index(drop=True)


# --------------------------------------------------------------------------- points


def representative_points(units: gpd.GeoDataFrame) -> gpd.GeoSeries:
    """One point inside each unit (its representative point, never outside the polygon)."""
    return units.geometry.representative_point()


def weighted_points(units: gpd.GeoDataFrame, fine: gpd.GeoDataFrame, *, weight: str) -> gpd.GeoSeries:
    """A population-weighted point per unit from finer data (e.g. Census blocks with population).

    Each fine feature (point, or polygon through its representative point) counts for the unit it
    lies in; the unit's point is the weighted mean of its features. Where that mean falls outside
    the unit (a crescent-shaped unit), the unit's heaviest feature is used; a unit with no
    feature or no weight keeps its representative point.

    Parameters
    ----------
    units
        Units (EPSG:4326), indexed by ``geoid``.
    fine
        Finer features with a numeric, non-negative ``weight`` column.
    weight
        Column of ``fine`` holding the weights (people, students, ...).

    Returns
    -------
    GeoSeries
        Indexed like ``units``, EPSG:4326.

    Raises
    ------
    InputError
        ``weight`` is missing, not numeric, or negative.
    """
    if weight not in fine.columns:
        raise InputError(
            f"finer data for weighted points has no column `{weight}`; found"
            f" {[c for c in fine.columns if c != fine.geometry.name]}"
        )
    w = pd.to_numeric(fine[weight], errors="coerce")
    if w.isna().any() or (w < 0).any():
        bad = fine.index[w.isna() | (w < 0)][:5].tolist()
        raise InputError(
            f"finer data column `{weight}` must hold numbers >= 0; rows {bad} do not. Fix or drop them."
        )
    base = representative_points(units)
    c = base.union_all().centroid
    metric = utm_crs(c.x, c.y)
    pts = fine.geometry.representative_point().to_crs(units.crs)
    frame = gpd.GeoDataFrame({"w": w.to_numpy()}, geometry=pts.to_numpy(), crs=units.crs)
    hit = gpd.sjoin(frame, units[[units.geometry.name]], how="inner", predicate="within")
    unit_col = "index_right" if "index_right" in hit.columns else hit.columns[-1]
    metric_pts = hit.geometry.to_crs(metric)
    hit = hit.assign(mx=metric_pts.x.to_numpy(), my=metric_pts.y.to_numpy())
    hit = hit[hit["w"] > 0]
    out = base.copy()
    if len(hit) == 0:
        log.warning("no finer feature with weight lies inside any unit; representative points are used")
        return out
    sums = hit.groupby(unit_col)[["w"]].sum()
    wx = (hit["mx"] * hit["w"]).groupby(hit[unit_col]).sum() / sums["w"]
    wy = (hit["my"] * hit["w"]).groupby(hit[unit_col]).sum() / sums["w"]
    mean = gpd.GeoSeries(gpd.points_from_xy(wx.to_numpy(), wy.to_numpy()), index=wx.index,
                         crs=metric).to_crs(units.crs)
    inside = mean.within(units.geometry.reindex(mean.index))
    heaviest = hit.sort_values("w", ascending=False).groupby(unit_col).head(1).set_index(unit_col).geometry
    chosen = mean.where(inside, heaviest.reindex(mean.index))
    out.loc[chosen.index] = chosen.to_numpy()
    n_rep = len(units) - len(chosen)
    if n_rep:
        log.info("%d units have no weighted finer feature and keep their representative point", n_rep)
    if (~inside).any():
        log.info("%d units' weighted mean lies outside the unit; their heaviest feature is used",
                 int((~inside).sum()))
    return out


def _school_points(schools: gpd.GeoDataFrame) -> gpd.GeoSeries:
    return schools.geometry.representative_point()


@functools.lru_cache(maxsize=64)
def _transformer(src: str, dst: str) -> pyproj.Transformer:
    return pyproj.Transformer.from_crs(src, dst, always_xy=True)


def _to_metric(points: gpd.GeoSeries, metric: str) -> np.ndarray:
    tr = _transformer(pyproj.CRS(points.crs).to_string(), metric)
    x, y = tr.transform(points.x.to_numpy(), points.y.to_numpy())
    return np.column_stack([x, y])


# --------------------------------------------------------------------------- straight line


def compute_straight_line(
    units: gpd.GeoDataFrame,
    schools: gpd.GeoDataFrame,
    *,
    circuity: float = settings.circuity_factor,
    speed_kph: float = settings.straight_line_speed_kph,
    unit_points: gpd.GeoSeries | None = None,
) -> TravelTimes:
    """Travel time as straight-line distance x circuity / speed: the fallback without a road network.

    Parameters
    ----------
    units, schools
        Units and schools (EPSG:4326).
    circuity
        Road distance per straight-line distance (>= 1; about 1.2-1.4 in cities).
    speed_kph
        Assumed average speed.
    unit_points
        One point per unit; default :func:`representative_points`.

    Returns
    -------
    TravelTimes
        ``method`` starts with :data:`STRAIGHT_LINE`, so every output can say so.
    """
    if circuity < 1 or speed_kph <= 0:
        raise InputError(
            f"straight-line travel needs circuity >= 1 and speed_kph > 0; found {circuity} and {speed_kph}."
            " Fix `[network] circuity` / `straight_line_speed_kph`"
        )
    up = representative_points(units) if unit_points is None else unit_points
    c = up.union_all().centroid
    metric = utm_crs(c.x, c.y)
    u = _to_metric(up, metric)
    s = _to_metric(_school_points(schools), metric)
    dist = np.hypot(u[:, :1] - s[None, :, 0], u[:, 1:] - s[None, :, 1])
    seconds = dist * circuity / (speed_kph / 3.6)
    frame = pd.DataFrame(seconds, index=units.index.copy(), columns=schools.index.copy())
    method = f"{STRAIGHT_LINE}: distance x {circuity:g} circuity at {speed_kph:g} km/h"
    return TravelTimes(frame, method)


# --------------------------------------------------------------------------- road network


@dataclass
class RoadArrays:
    """A road graph as arrays: node ids and coordinates, and a CSR matrix of minimum edge weights."""

    nodes: list
    x: np.ndarray
    y: np.ndarray
    matrix: sp.csr_matrix
    crs: str

    def fingerprint(self) -> str:
        """A digest of the nodes, their coordinates and the weighted edges."""
        h = hashlib.sha256()
        h.update("\x1f".join(map(str, self.nodes)).encode())
        for arr in (self.x, self.y, self.matrix.indptr, self.matrix.indices, self.matrix.data):
            h.update(np.ascontiguousarray(arr).tobytes())
        h.update(self.crs.encode())
        return h.hexdigest()


def build_road_arrays(G: nx.MultiDiGraph, *, weight: str = "travel_time") -> RoadArrays:
    """Node coordinates and the sparse weight matrix of ``G``, the minimum over parallel edges.

    Raises
    ------
    InputError
        The graph has no nodes, no ``crs``, nodes without ``x``/``y``, or edges whose weight is
        missing, not a number, negative or infinite.
    """
    if len(G) == 0:
        raise InputError("the road graph has no nodes; check the road network file or download area")
    if "crs" not in G.graph:
        raise InputError("the road graph has no `crs` graph attribute; build it with zoning.network or osmnx")
    nodes = list(G.nodes)
    pos = {n: i for i, n in enumerate(nodes)}
    try:
        x = np.fromiter((d for _, d in G.nodes(data="x")), dtype=float, count=len(nodes))
        y = np.fromiter((d for _, d in G.nodes(data="y")), dtype=float, count=len(nodes))
    except (TypeError, ValueError) as exc:
        raise InputError(f"road graph nodes need numeric `x`/`y` coordinates ({exc})") from exc
    rows_l: list[int] = []
    cols_l: list[int] = []
    vals: list[object] = []
    multi = G.is_multigraph()
    # networkx's adjacency dicts, read directly: the public views cost more than the work here
    for u, nbrs in G._adj.items():
        i = pos[u]
        for v, data in nbrs.items():
            j = pos[v]
            for d in data.values() if multi else (data,):
                rows_l.append(i)
                cols_l.append(j)
                vals.append(d.get(weight))
    if not vals:
        raise InputError("the road graph has no edges; check the road network file or download area")
    rows = np.asarray(rows_l, dtype=np.int64)
    cols = np.asarray(cols_l, dtype=np.int64)
    try:
        w = np.asarray(vals, dtype=float)  # a missing value (None) becomes NaN
    except (TypeError, ValueError) as exc:
        raise InputError(f"road graph edge `{weight}` values must be numbers ({exc})") from exc
    bad = ~np.isfinite(w) | (w < 0)
    if bad.any():
        examples = [(nodes[rows[k]], nodes[cols[k]], vals[k]) for k in np.flatnonzero(bad)[:3]]
        raise InputError(
            f"{int(bad.sum())} road graph edges have no usable `{weight}` (e.g. {examples}); every edge needs"
            " a finite value >= 0. Load the graph with zoning.network.load_graph, which adds travel times"
        )
    order = np.lexsort((w, cols, rows))
    rows, cols, w = rows[order], cols[order], w[order]
    first = np.ones(len(rows), dtype=bool)
    first[1:] = (rows[1:] != rows[:-1]) | (cols[1:] != cols[:-1])  # smallest weight of each pair
    rows, cols, w = rows[first], cols[first], w[first]
    w = np.maximum(w, 1e-9)  # a zero-weight edge must stay an edge in the sparse matrix
    matrix = sp.csr_matrix((w, (rows, cols)), shape=(len(nodes), len(nodes)))
    return RoadArrays(nodes, x, y, matrix, pyproj.CRS(G.graph["crs"]).to_string())


def _check_snaps(unit_snap: pd.Series, school_snap: pd.Series, *, max_snap_m: float,
                 max_snap_error_m: float | None, source: str) -> None:
    if max_snap_error_m is not None:
        out = _far(unit_snap, school_snap, max_snap_error_m)
        if len(out):
            listed = ", ".join(f"{k} {i!r} {m:,.0f} m" for k, i, m in out.head(20).itertuples(index=False))
            more = f" and {len(out) - 20} more" if len(out) > 20 else ""
            raise InputError(
                f"the road network `{source}` does not cover {len(out)} units/schools: their nearest road"
                f" node is farther than {max_snap_error_m:,.0f} m ({listed}{more}); use an extract or"
                " download area that covers the whole district (or check the coordinates)"
            )
    far = _far(unit_snap, school_snap, max_snap_m)
    if len(far):
        listed = ", ".join(f"{k} {i!r} {m:,.0f} m" for k, i, m in far.head(50).itertuples(index=False))
        more = f" and {len(far) - 50} more" if len(far) > 50 else ""
        log.warning("%d units/schools lie farther than %.0f m from their road node, so their travel times"
                    " are less certain: %s%s", len(far), max_snap_m, listed, more)


def _matrix_key(arrays: RoadArrays, *, weight: str, snap: str, unit_ids: list[str], unit_xy: np.ndarray,
                school_ids: list[str], school_xy: np.ndarray, method: str) -> str:
    h = hashlib.sha256()
    h.update(json.dumps({"weight": weight, "snap": snap, "format": CACHE_FORMAT, "method": method,
                         "graph": arrays.fingerprint()}).encode())
    h.update("\x1f".join(unit_ids).encode() + b"\x1e" + "\x1f".join(school_ids).encode())
    h.update(np.round(unit_xy, 7).tobytes() + np.round(school_xy, 7).tobytes())
    return h.hexdigest()[:32]


def read_travel_times_cache(
    path: Path, G: nx.MultiDiGraph, units: pd.Index, schools: pd.Index
) -> TravelTimes | None:
    """A cached matrix for these units and schools, or None when the file is absent, unreadable
    or for other ids (then it is recomputed)."""
    if not path.is_file():
        return None
    try:
        with np.load(path, allow_pickle=False) as z:
            data = {k: z[k] for k in z.files}
        if data["unit_ids"].tolist() != [str(u) for u in units] or data["school_ids"].tolist() != [
            str(s) for s in schools
        ]:
            raise ValueError("the cached matrix is for other units or schools")
        by_name = {str(n): n for n in G.nodes}
        units, schools = units.copy(), schools.copy()
        tt = TravelTimes(
            pd.DataFrame(data["seconds"], index=units, columns=schools),
            str(data["method"]),
            pd.Series(data["unit_snap_m"], index=units, name="snap_m"),
            pd.Series(data["school_snap_m"], index=schools, name="snap_m"),
            pd.Series([by_name[str(n)] for n in data["unit_node"]], index=units, name="node"),
            pd.Series([by_name[str(n)] for n in data["school_node"]], index=schools, name="node"),
        )
    except Exception as exc:  # a truncated or foreign cache file: recompute, and say so
        log.warning("travel-time cache %s is unreadable (%s: %s); computing again",
                    path, type(exc).__name__, exc)
        return None
    return tt


def save_travel_times_cache(tt: TravelTimes, path: Path) -> Path:
    """Write a road travel-time matrix to the cache file ``path`` (atomically, ``.npz``)."""
    import io as _io

    assert tt.unit_node is not None and tt.school_node is not None
    assert tt.unit_snap_m is not None and tt.school_snap_m is not None
    buf = _io.BytesIO()
    np.savez(
        buf,
        seconds=tt.seconds.to_numpy(dtype=float),
        unit_ids=np.array(tt.seconds.index.astype(str), dtype=str),
        school_ids=np.array(tt.seconds.columns.astype(str), dtype=str),
        method=np.array(tt.method),
        unit_snap_m=tt.unit_snap_m.to_numpy(dtype=float),
        school_snap_m=tt.school_snap_m.to_numpy(dtype=float),
        unit_node=np.array([str(n) for n in tt.unit_node], dtype=str),
        school_node=np.array([str(n) for n in tt.school_node], dtype=str),
    )
    return atomic_write_bytes(Path(path), buf.getvalue())


def compute_travel_times(
    units: gpd.GeoDataFrame,
    schools: gpd.GeoDataFrame,
    G: nx.MultiDiGraph,
    *,
    mode: str | None = None,
    weight: str = "travel_time",
    unit_points: gpd.GeoSeries | None = None,
    snap: str = "largest_component",
    max_snap_m: float | None = None,
    max_snap_error_m: float | None = None,
    cache_folder: Path | None = None,
) -> TravelTimes:
    """Travel time from every unit's point to every school over the road graph.

    Units and schools snap to their nearest road node (by default in the largest strongly
    connected component); one Dijkstra per school on the reversed graph gives every node's time
    to that school. Time spent between a point and its node is not added.

    Parameters
    ----------
    units, schools
        Units indexed by ``geoid`` and schools indexed by ``school_id`` (EPSG:4326).
    G
        Road graph (contract of :mod:`zoning.network`).
    mode
        Travel mode, for :attr:`TravelTimes.method`; default ``G.graph["zoning_mode"]``.
    weight
        Edge attribute to minimise (``travel_time`` in s; ``length`` gives metres).
    unit_points
        One point per unit; default :func:`representative_points`.
    snap
        "largest_component" (every pair reachable) or "nearest_node" (closest node anywhere;
        pairs that cannot be joined raise :class:`InfeasibleError`).
    max_snap_m
        Units and schools farther than this from their node are listed in a warning; default
        :data:`zoning.settings.max_snap_m`.
    max_snap_error_m
        Farther than this, the road network does not cover the point: :class:`InputError`.
        Default :data:`zoning.settings.max_snap_error_m`; ``math.inf`` disables the check.
    cache_folder
        When given, the matrix is cached under ``cache_folder/travel_times``, keyed by the graph
        (nodes, coordinates, weights), the points and ids, ``weight`` and ``snap``.

    Returns
    -------
    TravelTimes
        Seconds (or the unit of ``weight``), snap distances and snapped nodes.

    Raises
    ------
    InputError
        Bad graph or weights, unknown ``snap``, or points the network does not cover.
    InfeasibleError
        With ``snap="nearest_node"``: units that cannot reach some school, named with the schools.
    """
    if snap not in SNAP_MODES:
        raise InputError(f"`snap` must be one of {list(SNAP_MODES)}; found {snap!r}. Fix `[network] snap`.")
    max_snap_m = settings.max_snap_m if max_snap_m is None else max_snap_m
    if max_snap_error_m is None:
        max_snap_error_m = settings.max_snap_error_m
    mode = mode or G.graph.get("zoning_mode", "drive")
    source = str(G.graph.get("zoning_source", "road graph"))
    method = f"road network ({mode}) from {source}"
    if weight != "travel_time":
        method += f", weight {weight}"

    arrays = build_road_arrays(G, weight=weight)
    up = representative_points(units) if unit_points is None else unit_points
    if len(up) != len(units) or not up.index.equals(units.index):
        raise InputError("`unit_points` must hold one point per unit, indexed like the units")
    c = up.union_all().centroid
    metric = utm_crs(c.x, c.y)
    unit_xy = _to_metric(up, metric)
    school_xy = _to_metric(_school_points(schools), metric)
    unit_ids = [str(u) for u in units.index]
    school_ids = [str(s) for s in schools.index]

    cache_path = None
    if cache_folder is not None:
        key = _matrix_key(arrays, weight=weight, snap=snap, unit_ids=unit_ids, unit_xy=unit_xy,
                          school_ids=school_ids, school_xy=school_xy, method=method)
        cache_path = Path(cache_folder) / "travel_times" / f"{key}.npz"
        cached = read_travel_times_cache(cache_path, G, units.index, schools.index)
        if cached is not None:
            assert cached.unit_snap_m is not None and cached.school_snap_m is not None
            _check_snaps(cached.unit_snap_m, cached.school_snap_m, max_snap_m=max_snap_m,
                         max_snap_error_m=max_snap_error_m, source=source)
            log.info("travel-time matrix read from cache %s", cache_path)
            return cached

    if snap == "largest_component":
        _, labels = connected_components(arrays.matrix, directed=True, connection="strong")
        candidates = np.flatnonzero(labels == np.bincount(labels).argmax())
    else:
        candidates = np.arange(len(arrays.nodes))
    tr = _transformer(arrays.crs, metric)
    nx_, ny_ = tr.transform(arrays.x[candidates], arrays.y[candidates])
    tree = cKDTree(np.column_stack([nx_, ny_]))
    ud, ui = tree.query(unit_xy)
    sd, si = tree.query(school_xy)
    unit_node_idx, school_node_idx = candidates[ui], candidates[si]
    unit_snap = pd.Series(ud, index=units.index.copy(), name="snap_m")
    school_snap = pd.Series(sd, index=schools.index.copy(), name="snap_m")
    _check_snaps(unit_snap, school_snap, max_snap_m=max_snap_m, max_snap_error_m=max_snap_error_m,
                 source=source)

    sources, row_of = np.unique(school_node_idx, return_inverse=True)
    reverse = arrays.matrix.transpose().tocsr()
    dist = dijkstra(reverse, directed=True, indices=sources)  # row k: every node's time to sources[k]
    seconds = dist[row_of][:, unit_node_idx].T
    if not np.isfinite(seconds).all():
        _raise_unreachable(seconds, units.index, schools.index, source)
    frame = pd.DataFrame(seconds, index=units.index.copy(), columns=schools.index.copy())
    nodes = arrays.nodes
    tt = TravelTimes(
        frame, method, unit_snap, school_snap,
        pd.Series([nodes[i] for i in unit_node_idx], index=units.index.copy(), name="node"),
        pd.Series([nodes[i] for i in school_node_idx], index=schools.index.copy(), name="node"),
    )
    if cache_path is not None:
        save_travel_times_cache(tt, cache_path)
    return tt


def _raise_unreachable(seconds: np.ndarray, units: pd.Index, schools: pd.Index, source: str) -> None:
    bad = ~np.isfinite(seconds)
    rows = np.flatnonzero(bad.any(axis=1))
    lines = [f"unit {units[i]!r} cannot reach {[str(s) for s in schools[bad[i]]]}" for i in rows[:20]]
    more = f" and {len(rows) - 20} more units" if len(rows) > 20 else ""
    message = (
        f"{len(rows)} units cannot reach every school over the road network `{source}`: "
        + "; ".join(lines) + more
        + ". Their roads are cut off from the school's (one-way streets or an extract that stops short);"
        " snap to the largest connected part (`[network] snap = \"largest_component\"`) or fix the extract"
    )
    raise InfeasibleError(message, lines)
