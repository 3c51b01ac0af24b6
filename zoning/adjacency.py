"""Unit adjacency for contiguity: shared boundaries, plus links across water through the roads.

Data contract: a DataFrame of undirected links with columns ``a``, ``b`` (geoids, ``a < b``) and
``kind`` ("boundary", "road" or "nearest"), sorted. Units on opposite banks of a river share no
boundary; where a road (a bridge) joins them they are linked, so a zone may span the river there.
Any piece still cut off is linked to its nearest neighbour, and that is reported.
"""

from __future__ import annotations

import logging

import geopandas as gpd
import networkx as nx
import numpy as np
import pandas as pd
import shapely

from . import settings
from .errors import InputError

log = logging.getLogger(__name__)


def boundary_links(units: gpd.GeoDataFrame, *, min_shared_m: float | None = None,
                   tolerance_m: float | None = None) -> set[tuple[str, str]]:
    """Pairs of units whose boundaries share at least ``min_shared_m`` metres (rook adjacency)."""
    min_shared_m = settings.min_shared_boundary_m if min_shared_m is None else min_shared_m
    tol = settings.touch_tolerance_m if tolerance_m is None else tolerance_m
    geoms = units.geometry.to_crs(units.estimate_utm_crs()).to_numpy()
    ids = units.index.to_numpy()
    tree = shapely.STRtree(geoms)
    grown = shapely.buffer(geoms, tol)
    left, right = tree.query(grown, predicate="intersects")
    links: set[tuple[str, str]] = set()
    boundaries = shapely.boundary(geoms)
    for i, j in zip(left.tolist(), right.tolist(), strict=True):
        if i >= j:
            continue
        shared = shapely.intersection(boundaries[i], grown[j]).length
        shared = min(shared, shapely.intersection(boundaries[j], grown[i]).length)
        if shared >= min_shared_m:
            a, b = sorted((str(ids[i]), str(ids[j])))
            links.add((a, b))
    return links


def road_links(units: gpd.GeoDataFrame, G: nx.MultiDiGraph) -> set[tuple[str, str]]:
    """Pairs of units joined directly by a road edge (node in one unit, node in the other)."""
    xs = np.array([d["x"] for _, d in G.nodes(data=True)], dtype=float)
    ys = np.array([d["y"] for _, d in G.nodes(data=True)], dtype=float)
    pts = gpd.GeoDataFrame(geometry=gpd.points_from_xy(xs, ys), index=list(G.nodes),
                           crs=G.graph.get("crs", "EPSG:4326")).to_crs(units.crs)
    hit = gpd.sjoin(pts, units[["geometry"]], how="inner", predicate="within")
    hit = hit[~hit.index.duplicated()]
    unit_of = dict(zip(hit.index, hit["geoid"] if "geoid" in hit else hit["index_right"], strict=True))
    links: set[tuple[str, str]] = set()
    for u, v in G.edges():
        a, b = unit_of.get(u), unit_of.get(v)
        if a is not None and b is not None and a != b:
            links.add(tuple(sorted((str(a), str(b)))))  # type: ignore[arg-type]
    return links


def build_adjacency(units: gpd.GeoDataFrame, G: nx.MultiDiGraph | None = None, *,
                    max_gap_m: float | None = None) -> pd.DataFrame:
    """All links between units needed to judge contiguity.

    Boundary links always; where the boundary graph is in pieces (water, islands), road links
    between pieces; whatever is still apart is joined to its nearest piece (logged), unless the
    water between them is wider than ``max_gap_m``.

    Parameters
    ----------
    units
        Units (EPSG:4326) indexed by geoid.
    G
        Road graph whose edges may join pieces across water.
    max_gap_m
        A piece farther than this (m, polygon to polygon) from every other unit, with no road
        joining it, is an error rather than a link: such units are usually not part of the
        district. Default :data:`zoning.settings.max_island_gap_m`; ``math.inf`` disables it.

    Returns
    -------
    DataFrame
        Columns ``a``, ``b``, ``kind``; one row per undirected link.

    Raises
    ------
    InputError
        Naming the far-off units and the distance, with the fix.
    """
    max_gap_m = settings.max_island_gap_m if max_gap_m is None else max_gap_m
    rows = [(a, b, "boundary") for a, b in sorted(boundary_links(units))]
    graph = nx.Graph()
    graph.add_nodes_from(units.index)
    graph.add_edges_from((a, b) for a, b, _ in rows)
    if G is not None and nx.number_connected_components(graph) > 1:
        comp = {n: i for i, c in enumerate(nx.connected_components(graph)) for n in c}
        for a, b in sorted(road_links(units, G)):
            if comp[a] != comp[b]:
                rows.append((a, b, "road"))
                graph.add_edge(a, b)
    pieces = sorted(nx.connected_components(graph), key=lambda c: (-len(c), min(c)))
    if len(pieces) > 1:
        metric = units.geometry.to_crs(units.estimate_utm_crs())
        cent = metric.representative_point()
        main = set(pieces[0])
        far = []
        if np.isfinite(max_gap_m):
            geoms = metric.to_numpy()
            position = {u: i for i, u in enumerate(units.index)}
            tree = shapely.STRtree(geoms)
            for piece in pieces[1:]:
                inside = [position[u] for u in piece]
                _, near = tree.query(geoms[inside], predicate="dwithin", distance=max_gap_m)
                if set(near.tolist()) <= set(inside):
                    rest = metric.drop(index=sorted(piece)).union_all()
                    gap = float(shapely.distance(shapely.union_all(geoms[inside]), rest))
                    far.append((sorted(piece), gap))
        if far:
            listed = "; ".join(f"units {p[:5]} lie {g / 1000:.1f} km" for p, g in far[:5])
            raise InputError(
                f"{listed} from every other unit, with no shared boundary or road joining them"
                f" (more than {max_gap_m / 1000:g} km of gap); they are probably not part of the"
                " district: remove them from the units file or select the district with `[units]"
                " boundary` or `geoid_prefix` (or set `[policy] contiguity = false`)"
            )
        for piece in pieces[1:]:
            inside = cent.loc[sorted(piece)]
            outside = cent.loc[sorted(main)]
            d = np.hypot(inside.x.to_numpy()[:, None] - outside.x.to_numpy()[None, :],
                         inside.y.to_numpy()[:, None] - outside.y.to_numpy()[None, :])
            i, j = np.unravel_index(np.argmin(d), d.shape)
            a, b = sorted((inside.index[i], outside.index[j]))
            rows.append((a, b, "nearest"))
            log.warning("units %s are cut off from the rest; linked %s-%s (%.0f m apart)",
                        sorted(piece)[:5], a, b, d[i, j])
            main |= piece
    return pd.DataFrame(rows, columns=["a", "b", "kind"]).sort_values(["a", "b"]).reset_index(drop=True)


def neighbours(adjacency: pd.DataFrame, units: pd.Index) -> dict[str, list[str]]:
    """Adjacency as ``geoid -> sorted neighbour geoids`` (every unit present)."""
    out: dict[str, list[str]] = {str(u): [] for u in units}
    for a, b in zip(adjacency["a"], adjacency["b"], strict=True):
        out[a].append(b)
        out[b].append(a)
    return {k: sorted(v) for k, v in out.items()}
