"""Benchmark of the unit x school travel-time matrix.

1. Reno: the real OSM extract ``../shared/data/reno-nv-osm/reno_east3.osm`` read with
   :func:`zoning.network.load_graph`, 200 unit points and 20 school points drawn uniformly (fixed
   seed) inside the graph's extent. The matrix (:func:`zoning.traveltime.compute_travel_times`,
   one Dijkstra per school) is timed against networkx shortest paths run once per pair on a random
   sample of pairs, extrapolated to every pair; the largest absolute difference between the two on
   the sampled pairs is reported.
2. Large: a generated street grid of >= 100,000 nodes (two-way and one-way streets, road classes
   with different speeds, some parallel edges) with 1,000 units and 60 schools.

Usage::

    python bench/traveltime.py [--data ../shared/data] [--pairs 400] [--side 320]

The last output line is one JSON object::

    {"reno": {"matrix_s": .., "per_pair_s": .., "speedup": .., "max_abs_diff_s": ..},
     "large": {"nodes": .., "matrix_s": ..}}
"""

from __future__ import annotations

import argparse
import json
import logging
import statistics
import sys
import time
from pathlib import Path

import geopandas as gpd
import networkx as nx
import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from zoning.network import load_graph  # noqa: E402
from zoning.traveltime import compute_travel_times  # noqa: E402

DEFAULT_DATA = Path(__file__).resolve().parents[2] / "shared" / "data"


def random_points(bounds: tuple[float, float, float, float], n: int, prefix: str,
                  rng: np.random.Generator) -> gpd.GeoDataFrame:
    """``n`` points drawn uniformly inside ``bounds`` (lon/lat), indexed ``<prefix>0000``..."""
    minx, miny, maxx, maxy = bounds
    lon = rng.uniform(minx, maxx, n)
    lat = rng.uniform(miny, maxy, n)
    index = [f"{prefix}{i:04d}" for i in range(n)]
    return gpd.GeoDataFrame(geometry=gpd.points_from_xy(lon, lat), index=index, crs="EPSG:4326")


def graph_bounds(G: nx.MultiDiGraph) -> tuple[float, float, float, float]:
    xs = [d["x"] for _, d in G.nodes(data=True)]
    ys = [d["y"] for _, d in G.nodes(data=True)]
    return min(xs), min(ys), max(xs), max(ys)


def time_matrix(units: gpd.GeoDataFrame, schools: gpd.GeoDataFrame, G: nx.MultiDiGraph,
                *, repeats: int) -> tuple[float, object]:
    """Median wall time of ``repeats`` uncached matrix computations, and the last result."""
    times = []
    tt = None
    for _ in range(repeats):
        t0 = time.perf_counter()
        tt = compute_travel_times(units, schools, G)
        times.append(time.perf_counter() - t0)
    return statistics.median(times), tt


def reno(data: Path, *, n_units: int, n_schools: int, n_pairs: int, seed: int) -> dict[str, float]:
    path = data / "reno-nv-osm" / "reno_east3.osm"
    G = load_graph(path, mode="drive")
    rng = np.random.default_rng(seed)
    bounds = graph_bounds(G)
    units = random_points(bounds, n_units, "U", rng)
    schools = random_points(bounds, n_schools, "S", rng)
    matrix_s, tt = time_matrix(units, schools, G, repeats=5)
    ui = rng.integers(0, n_units, n_pairs)
    si = rng.integers(0, n_schools, n_pairs)
    diffs = []
    t0 = time.perf_counter()
    for i, j in zip(ui.tolist(), si.tolist(), strict=True):
        u, s = units.index[i], schools.index[j]
        d = nx.shortest_path_length(G, tt.unit_node[u], tt.school_node[s], weight="travel_time")
        diffs.append(abs(d - float(tt.seconds.at[u, s])))
    sample_s = time.perf_counter() - t0
    per_pair_s = sample_s / n_pairs * (n_units * n_schools)
    print(f"reno: {len(G):,} nodes, {G.number_of_edges():,} edges; {n_units} units x {n_schools} schools",
          flush=True)
    print(f"reno: matrix {matrix_s * 1000:.1f} ms (median of 5); networkx per pair"
          f" {sample_s / n_pairs * 1000:.2f} ms x {n_units * n_schools} pairs = {per_pair_s:.2f} s"
          f" (from {n_pairs} sampled pairs)", flush=True)
    return {
        "matrix_s": round(matrix_s, 5),
        "per_pair_s": round(per_pair_s, 3),
        "speedup": round(per_pair_s / matrix_s, 1),
        "max_abs_diff_s": float(max(diffs)),
    }


def make_grid_graph(side: int, *, seed: int, spacing_m: float = 120.0) -> nx.MultiDiGraph:
    """A jittered ``side x side`` street grid near 40 N, 95 W as an osmnx-style MultiDiGraph.

    Every fifth street is an arterial (50 km/h), the rest residential (30 km/h); 15% of streets
    are one-way; 3% of street segments get a slower parallel edge (a service lane), so the matrix
    must take the minimum over parallel edges.
    """
    rng = np.random.default_rng(seed)
    lat0, lon0 = 40.0, -95.0
    dlat = spacing_m / 111_320.0
    dlon = spacing_m / (111_320.0 * np.cos(np.radians(lat0)))
    ii, jj = np.meshgrid(np.arange(side), np.arange(side), indexing="ij")
    ys = lat0 + ii * dlat + rng.normal(0, dlat * 0.15, ii.shape)
    xs = lon0 + jj * dlon + rng.normal(0, dlon * 0.15, jj.shape)
    ids = np.arange(side * side).reshape(side, side)
    G = nx.MultiDiGraph(crs="EPSG:4326", zoning_source="generated grid", zoning_mode="drive")
    G.add_nodes_from((int(n), {"x": float(x), "y": float(y)})
                     for n, x, y in zip(ids.ravel(), xs.ravel(), ys.ravel(), strict=True))
    a = np.concatenate([ids[:, :-1].ravel(), ids[:-1, :].ravel()])
    b = np.concatenate([ids[:, 1:].ravel(), ids[1:, :].ravel()])
    arterial = np.concatenate([(ii[:, :-1] % 5 == 0).ravel(), (jj[:-1, :] % 5 == 0).ravel()])
    speed = np.where(arterial, 50.0, 30.0)
    ax, ay = xs.ravel()[a], ys.ravel()[a]
    bx, by = xs.ravel()[b], ys.ravel()[b]
    length = np.hypot((bx - ax) * 111_320.0 * np.cos(np.radians(lat0)), (by - ay) * 111_320.0)
    tt = length / (speed / 3.6)
    oneway = rng.random(len(a)) < 0.15
    flip = rng.random(len(a)) < 0.5
    parallel = rng.random(len(a)) < 0.03
    edges = []
    for k in range(len(a)):
        u, v = int(a[k]), int(b[k])
        d = {"length": float(length[k]), "speed_kph": float(speed[k]), "travel_time": float(tt[k]),
             "highway": "primary" if arterial[k] else "residential"}
        if oneway[k]:
            edges.append((v, u, d) if flip[k] else (u, v, d))
        else:
            edges.append((u, v, d))
            edges.append((v, u, dict(d)))
        if parallel[k]:
            slow = {**d, "speed_kph": 10.0, "travel_time": float(length[k] / (10.0 / 3.6)),
                    "highway": "service"}
            edges.append((u, v, slow))
    G.add_edges_from(edges)
    return G


def large(*, side: int, n_units: int, n_schools: int, seed: int) -> dict[str, float]:
    t0 = time.perf_counter()
    G = make_grid_graph(side, seed=seed)
    print(f"large: generated {len(G):,} nodes, {G.number_of_edges():,} edges in"
          f" {time.perf_counter() - t0:.1f} s", flush=True)
    rng = np.random.default_rng(seed + 1)
    bounds = graph_bounds(G)
    units = random_points(bounds, n_units, "U", rng)
    schools = random_points(bounds, n_schools, "S", rng)
    matrix_s, tt = time_matrix(units, schools, G, repeats=3)
    print(f"large: {n_units} units x {n_schools} schools: matrix {matrix_s:.2f} s (median of 3);"
          f" mean time {float(tt.seconds.to_numpy().mean()) / 60:.1f} min", flush=True)
    return {"nodes": len(G), "matrix_s": round(matrix_s, 3)}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--data", type=Path, default=DEFAULT_DATA, help="the shared data folder")
    parser.add_argument("--pairs", type=int, default=400, help="pairs sampled for networkx")
    parser.add_argument("--side", type=int, default=320, help="grid side of the large graph (>= 317)")
    parser.add_argument("--seed", type=int, default=2024)
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.ERROR)
    if not (args.data / "reno-nv-osm" / "reno_east3.osm").is_file():
        print(f"no Reno extract under {args.data}; pass --data", file=sys.stderr)
        return 2
    result = {
        "reno": reno(args.data, n_units=200, n_schools=20, n_pairs=args.pairs, seed=args.seed),
        "large": large(side=args.side, n_units=1000, n_schools=60, seed=args.seed),
    }
    print(json.dumps(result))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
