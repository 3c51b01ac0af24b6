"""Road graphs: OSM XML (.osm, .osm.bz2) and GraphML through osmnx; drive and walk modes; speeds.

Data contract: an osmnx ``MultiDiGraph`` with ``G.graph["crs"]``, node ``x``/``y`` (lon/lat)
and, on every edge, ``length`` (m), ``speed_kph`` and ``travel_time`` (s).
"""

from __future__ import annotations

import logging
import warnings
from pathlib import Path
from typing import Any

import networkx as nx
import osmnx as ox

from . import settings
from .errors import InputError

log = logging.getLogger(__name__)

#: OSM ``highway`` values a car may use.
DRIVE_HIGHWAYS = frozenset(settings.drive_speeds_kph)
#: OSM ``highway`` values a pedestrian may not use.
NO_WALK_HIGHWAYS = frozenset({"motorway", "motorway_link", "trunk", "trunk_link", "construction",
                              "proposed", "raceway", "bus_guideway"})
_NO_ACCESS = frozenset({"no", "private"})


def _values(value: Any) -> list[str]:
    return [str(v) for v in value] if isinstance(value, list) else [str(value)]


def _edge_allowed(data: dict[str, Any], mode: str) -> bool:
    highways = _values(data.get("highway", ""))
    access = set(_values(data.get("access", "")))
    if mode == "drive":
        if access & _NO_ACCESS or "no" in _values(data.get("motor_vehicle", "")):
            return False
        return any(h in DRIVE_HIGHWAYS for h in highways)
    if "no" in _values(data.get("foot", "")) or access & _NO_ACCESS:
        return False
    return any(h and h not in NO_WALK_HIGHWAYS for h in highways)


def filter_mode(G: nx.MultiDiGraph, mode: str) -> nx.MultiDiGraph:
    """Keep only the edges usable in ``mode`` ("drive" or "walk"); walk graphs become two-way."""
    H = G.copy()
    drop = [(u, v, k) for u, v, k, d in H.edges(keys=True, data=True) if not _edge_allowed(d, mode)]
    H.remove_edges_from(drop)
    if mode == "walk":
        for u, v, k, d in list(H.edges(keys=True, data=True)):
            if not H.has_edge(v, u):
                H.add_edge(v, u, **{**d, "reversed": not d.get("reversed", False)})
    H.remove_nodes_from([n for n in list(H.nodes) if H.degree(n) == 0])
    return H


def add_speeds(G: nx.MultiDiGraph, mode: str) -> nx.MultiDiGraph:
    """Set ``speed_kph`` (from ``maxspeed``, else per-class defaults) and ``travel_time`` (s)."""
    if mode == "walk":
        for _, _, d in G.edges(data=True):
            d["speed_kph"] = settings.walk_speed_kph
            d["travel_time"] = float(d["length"]) / (settings.walk_speed_kph / 3.6)
        return G
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", category=UserWarning)
        G = ox.add_edge_speeds(G, hwy_speeds=dict(settings.drive_speeds_kph),
                               fallback=settings.drive_fallback_speed_kph)
    return ox.add_edge_travel_times(G)


def load_graph(path: Path, *, mode: str = "drive") -> nx.MultiDiGraph:
    """Read a road graph from OSM XML (``.osm``, ``.osm.bz2``, ``.xml``) or GraphML.

    Parameters
    ----------
    path
        The road file.
    mode
        "drive" or "walk"; edges are filtered to those the mode may use.

    Raises
    ------
    InputError
        Missing, unreadable or unsupported files, or no usable edge for the mode.
    """
    if not path.is_file():
        raise InputError(f"road network file `{path}` does not exist; fix `[network] path` in the scenario")
    if path.stat().st_size == 0:
        raise InputError(f"road network file `{path}` is empty")
    name = path.name.lower()
    try:
        if name.endswith((".osm", ".osm.bz2", ".xml", ".osm.xml")):
            G = ox.graph_from_xml(path, retain_all=True)
        elif name.endswith(".graphml"):
            G = ox.load_graphml(path)
        else:
            raise InputError(
                f"road network file `{path}` has an unknown format; use OSM XML (.osm, .osm.bz2)"
                " or GraphML (.graphml)"
            )
    except InputError:
        raise
    except Exception as exc:  # osmnx/xml raise many types for a damaged file
        raise InputError(
            f"road network file `{path}` cannot be read ({type(exc).__name__}: {exc}); check that"
            " it is a complete OSM XML or GraphML file"
        ) from exc
    if "crs" not in G.graph:
        raise InputError(f"road network file `{path}` has no `crs` graph attribute")
    G = filter_mode(G, mode)
    if G.number_of_edges() == 0:
        raise InputError(
            f"road network file `{path}` has no edge usable for `{mode}` (no OSM way with a"
            f" {mode}-able `highway` tag); check the extract or `[network] mode`"
        )
    if name.endswith(".graphml") and all("travel_time" in d for _, _, d in G.edges(data=True)):
        log.info("using travel_time stored in %s", path)
    else:
        G = add_speeds(G, mode)
    log.info("road graph %s: %d nodes, %d edges (%s)", path.name, len(G), G.number_of_edges(), mode)
    return G
