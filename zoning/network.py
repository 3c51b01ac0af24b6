"""Road graphs: OpenStreetMap downloads (cached), OSM XML and PBF files, GraphML; drive and walk.

Sources
-------
- :func:`download_graph`: an osmnx download of the district polygon from the Overpass API. The
  built graph is cached on disk, so a rerun needs no network.
- :func:`load_graph`: a local file. OSM XML (``.osm``, ``.osm.bz2``, ``.osm.gz``, ``.xml``) and OSM
  PBF (``.pbf``, ``.osm.pbf``) are read with pyosmium, reduced to the ways the travel mode may use
  (:data:`WAY_FILTERS`; osmnx's XML reader applies no ``network_type``, and fed every way it turns
  buildings into edges) and built into a graph by osmnx. GraphML is read by osmnx. Built graphs are
  cached keyed by the file's content, because parsing a city takes seconds.

Data contract: an osmnx ``MultiDiGraph`` with ``G.graph["crs"]``, node ``x``/``y`` (lon/lat), and
on every edge ``length`` (m), ``speed_kph`` and ``travel_time`` (s), all finite and >= 0. Speeds
come from ``maxspeed`` where a way has one, else from :data:`zoning.settings.drive_speeds_kph` by
road class; walk graphs use :data:`zoning.settings.walk_speed_kph` and are two-way.
``G.graph["zoning_source"]`` names where the graph came from and ``G.graph["zoning_mode"]`` the mode.
"""

from __future__ import annotations

import hashlib
import json
import logging
import math
import pickle
import re
import tempfile
import warnings
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol
from xml.sax.saxutils import quoteattr

import geopandas as gpd
import networkx as nx
import osmium
import osmnx as ox
import requests
import shapely
from shapely.geometry.base import BaseGeometry

from . import settings
from .errors import DownloadError, InputError
from .io import atomic_write_bytes

log = logging.getLogger(__name__)

#: Travel modes a road graph can be built for.
MODES: tuple[str, ...] = ("drive", "walk")

#: Bumped whenever the content of cached graphs changes meaning.
CACHE_FORMAT = 1

#: File name endings of OSM files and the format name pyosmium reads them with (longest first).
OSM_FORMATS: tuple[tuple[str, str], ...] = (
    (".osm.pbf", "pbf"),
    (".pbf", "pbf"),
    (".osm.bz2", "osm.bz2"),
    (".osm.gz", "osm.gz"),
    (".osm.xml", "osm"),
    (".osm", "osm"),
    (".xml", "osm"),
)
GRAPHML_SUFFIX = ".graphml"
_FORMAT_NAMES = {"pbf": "PBF", "osm": "XML", "osm.bz2": "XML (bzip2)", "osm.gz": "XML (gzip)"}

#: An OSM way as read here: id, node ids, tags.
Way = tuple[int, list[int], dict[str, str]]
#: An OSM node as read here: lat, lon, tags.
Node = tuple[float, float, dict[str, str]]


class TagLookup(Protocol):
    """Anything with ``get(key)`` over OSM tags: a dict, a graph edge's data, a pyosmium TagList."""

    def get(self, key: str, default: Any = None, /) -> Any: ...


@dataclass(frozen=True)
class WayFilter:
    """The OSM ways a travel mode may use.

    A way is kept when it has a ``highway`` tag and no entry of ``excluded`` matches it. Each entry
    is a tag key and a regular expression searched anywhere in that tag's value (the meaning of
    ``["key"!~"regex"]`` in an Overpass query), so a local extract keeps the same ways an osmnx
    download of the same ``network_type`` would.

    Attributes
    ----------
    mode
        "drive" or "walk".
    excluded
        ``(tag key, regular expression)`` pairs; a match excludes the way.
    """

    mode: str
    excluded: tuple[tuple[str, str], ...]
    _compiled: tuple[tuple[str, re.Pattern[str]], ...] = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "_compiled", tuple((k, re.compile(p)) for k, p in self.excluded))

    def allows(self, tags: TagLookup | Mapping[str, Any]) -> bool:
        """True when a way (or graph edge) with these tags may be used in this mode.

        Parameters
        ----------
        tags
            Tag key -> value. A value may be a list (a simplified graph edge that merged several
            ways); the edge is excluded when any of its values matches.
        """
        if tags.get("highway") is None:
            return False
        for key, pattern in self._compiled:
            value = tags.get(key)
            if value is None:
                continue
            values = value if isinstance(value, list) else [value]
            if any(pattern.search(str(v)) for v in values):
                return False
        return True


_NOT_IN_USE = ("abandoned", "construction", "planned", "proposed", "razed", "no")
#: Per mode, the ways it may use (the rules of osmnx's ``drive`` and ``walk`` network types).
WAY_FILTERS: dict[str, WayFilter] = {
    "drive": WayFilter("drive", (
        ("area", "yes"),
        ("access", "private"),
        ("highway", "|".join((*_NOT_IN_USE, "bridleway", "bus_guideway", "corridor", "cycleway", "elevator",
                              "escalator", "footway", "path", "pedestrian", "platform", "raceway",
                              "rest_area", "service", "services", "steps", "track"))),
        ("motor_vehicle", "no"),
        ("motorcar", "no"),
        ("service", "alley|driveway|emergency_access|parking|parking_aisle|private"),
    )),
    "walk": WayFilter("walk", (
        ("area", "yes"),
        ("access", "private"),
        ("highway", "|".join((*_NOT_IN_USE, "bus_guideway", "cycleway", "motor", "platform", "raceway",
                              "rest_area", "services"))),
        ("foot", "no"),
        ("service", "private"),
        ("sidewalk", "separate"),
        ("sidewalk:both", "separate"),
        ("sidewalk:left", "separate"),
        ("sidewalk:right", "separate"),
    )),
}


def check_mode(mode: str) -> None:
    """Raise :class:`InputError` unless ``mode`` is one of :data:`MODES`."""
    if mode not in MODES:
        raise InputError(f"travel mode must be one of {list(MODES)}; found {mode!r}. Set `[network] mode`.")


def utm_crs(lon: float, lat: float) -> str:
    """The UTM zone CRS (``EPSG:326xx`` north, ``EPSG:327xx`` south) holding a lon/lat point.

    Plain arithmetic: no CRS database query, so it costs nothing inside timed loops.
    """
    if not (math.isfinite(lon) and math.isfinite(lat)):
        raise InputError(f"cannot choose a metric CRS for coordinates ({lon}, {lat}); check the geometries")
    zone = min(int((lon + 180.0) // 6.0) + 1, 60)
    return f"EPSG:{32600 + zone if lat >= 0 else 32700 + zone}"


# --------------------------------------------------------------------------- local OSM files


def _osm_format(path: Path) -> str | None:
    name = path.name.lower()
    for suffix, fmt in OSM_FORMATS:
        if name.endswith(suffix):
            return fmt
    return None


def _tags(obj: Any) -> dict[str, str]:
    return {t.k: t.v for t in obj.tags}


def _read_osm_ways(
    path: Path, fmt: str, way_filter: WayFilter
) -> tuple[list[Way], dict[int, Node], int, int]:
    """Ways the filter keeps, the nodes they use, and how many ways / highway ways the file holds."""
    ways: list[Way] = []
    refs: set[int] = set()
    n_ways = n_highways = 0
    for w in osmium.FileProcessor(osmium.io.File(str(path), fmt), osmium.osm.WAY):
        if not isinstance(w, osmium.osm.Way):
            continue
        n_ways += 1
        if "highway" not in w.tags:
            continue
        n_highways += 1
        if way_filter.allows(w.tags):
            nodes = [n.ref for n in w.nodes]
            ways.append((w.id, nodes, _tags(w)))
            refs.update(nodes)
    nodes_out: dict[int, Node] = {}
    if ways:
        for n in osmium.FileProcessor(osmium.io.File(str(path), fmt), osmium.osm.NODE):
            if isinstance(n, osmium.osm.Node) and n.id in refs and n.location.valid():
                nodes_out[n.id] = (n.location.lat, n.location.lon, _tags(n) if len(n.tags) else {})
    return ways, nodes_out, n_ways, n_highways


def _split_at_missing(ways: list[Way], nodes: Mapping[int, Any]) -> tuple[list[Way], int]:
    """Cut ways where they use nodes the file lacks (clipped extracts); runs of >= 2 nodes remain.

    The first run keeps the way's id; further runs get new negative ids (OSM's convention for
    objects not in the database). Returns the ways and how many were cut.
    """
    out: list[Way] = []
    cut = 0
    new_id = -1
    for wid, refs, tags in ways:
        if all(r in nodes for r in refs):
            out.append((wid, refs, tags))
            continue
        cut += 1
        runs: list[list[int]] = [[]]
        for r in refs:
            if r in nodes:
                runs[-1].append(r)
            elif runs[-1]:
                runs.append([])
        first = True
        for run in runs:
            if len(run) < 2:
                continue
            out.append((wid if first else new_id, run, tags))
            if not first:
                new_id -= 1
            first = False
    return out, cut


def _osm_xml_text(ways: list[Way], nodes: Mapping[int, Node]) -> str:
    """OSM XML holding exactly these ways and the nodes they use."""
    used = sorted({r for _, refs, _ in ways for r in refs})
    lines = ["<?xml version='1.0' encoding='UTF-8'?>", '<osm version="0.6" generator="zoning">']
    for nid in used:
        lat, lon, tags = nodes[nid]
        head = f'  <node id="{nid}" lat="{lat:.7f}" lon="{lon:.7f}"'
        if tags:
            lines.append(head + ">")
            lines.extend(f"    <tag k={quoteattr(k)} v={quoteattr(v)}/>" for k, v in tags.items())
            lines.append("  </node>")
        else:
            lines.append(head + "/>")
    for wid, refs, tags in ways:
        lines.append(f'  <way id="{wid}">')
        lines.extend(f'    <nd ref="{r}"/>' for r in refs)
        lines.extend(f"    <tag k={quoteattr(k)} v={quoteattr(v)}/>" for k, v in tags.items())
        lines.append("  </way>")
    lines.append("</osm>")
    return "\n".join(lines) + "\n"


def load_osm(path: Path, *, mode: str = "drive") -> nx.MultiDiGraph:
    """Build the road graph of one travel mode from an OSM XML or PBF file.

    pyosmium reads the file (XML, bz2/gzip-compressed XML or PBF); only the ways
    :data:`WAY_FILTERS` allows for ``mode`` and their nodes are handed to
    :func:`osmnx.graph_from_xml` (through a scratch OSM XML file in a temporary folder, removed
    afterwards), which builds and simplifies the graph (two-way for walking). Speeds and travel
    times are not added here (see :func:`add_speeds`).

    Parameters
    ----------
    path
        The OSM file.
    mode
        "drive" or "walk".

    Returns
    -------
    networkx.MultiDiGraph
        Every component is kept; travel-time code picks the largest strongly connected one.

    Raises
    ------
    InputError
        The file is missing, damaged, of another format, or has no way usable in ``mode``.
    """
    check_mode(mode)
    _check_road_file(path)
    fmt = _osm_format(path)
    if fmt is None:
        raise InputError(
            f"road network file `{path}` is not an OSM file; expected a name ending in"
            f" {[s for s, _ in OSM_FORMATS]}"
        )
    try:
        ways, nodes, n_ways, n_highways = _read_osm_ways(path, fmt, WAY_FILTERS[mode])
    except (RuntimeError, OSError, ValueError) as exc:  # libosmium reports damaged files as these
        raise InputError(
            f"road network file `{path}` cannot be read as OSM {_FORMAT_NAMES.get(fmt, fmt)}"
            f" ({type(exc).__name__}: {exc});"
            " check that the file is complete and that its name matches its format"
        ) from exc
    ways, cut = _split_at_missing(ways, nodes)
    if cut:
        log.warning("%s: %d ways use nodes missing from the file (a clipped extract); they are cut there",
                    path.name, cut)
    if not ways:
        raise InputError(
            f"road network file `{path}` has no OSM way usable for `{mode}`: it holds {n_ways} ways,"
            f" {n_highways} with a `highway` tag, none allowed for {mode}; use an extract that covers"
            " the district's roads or change `[network] mode`"
        )
    log.info("%s: %d of %d ways usable for %s (%d nodes)", path.name, len(ways), n_ways, mode, len(nodes))
    with tempfile.TemporaryDirectory(prefix="zoning-osm-") as tmp:
        scratch = Path(tmp) / "ways.osm"
        scratch.write_text(_osm_xml_text(ways, nodes), encoding="utf-8")
        G = ox.graph_from_xml(scratch, bidirectional=mode == "walk", simplify=True, retain_all=True)
    return G


# --------------------------------------------------------------------------- GraphML


def load_graphml(path: Path, *, mode: str = "drive") -> nx.MultiDiGraph:
    """Read a GraphML road graph (osmnx's format) and fit it to ``mode``.

    Edges carrying a ``highway`` tag are filtered with :data:`WAY_FILTERS` (GraphML keeps only a
    few OSM tags, so the filter sees less than it does on an OSM file); a graph without
    ``highway`` tags is taken as it is. Walk graphs are made two-way. ``travel_time`` stored in
    the file is kept for ``drive`` (it may come from better data than class speeds); otherwise
    speeds are added by :func:`add_speeds`.

    Raises
    ------
    InputError
        The file is missing, not GraphML, lacks node coordinates or a CRS, or no edge is usable.
    """
    check_mode(mode)
    _check_road_file(path)
    try:
        G = ox.load_graphml(path)
    except Exception as exc:  # networkx/lxml/osmnx raise many unrelated types for a damaged file
        raise InputError(
            f"road network file `{path}` cannot be read as GraphML ({type(exc).__name__}: {exc});"
            " save the graph again with osmnx.save_graphml"
        ) from exc
    if "crs" not in G.graph:
        raise InputError(f"road network file `{path}` has no `crs` graph attribute; save it with osmnx")
    missing_xy = [n for n, d in G.nodes(data=True) if "x" not in d or "y" not in d]
    if missing_xy:
        raise InputError(
            f"road network file `{path}`: {len(missing_xy)} nodes have no `x`/`y` coordinates"
            f" (e.g. {missing_xy[:5]}); every node needs them"
        )
    has_highway = any("highway" in d for _, _, d in G.edges(data=True))
    if has_highway:
        f = WAY_FILTERS[mode]
        drop = [(u, v, k) for u, v, k, d in G.edges(keys=True, data=True) if not f.allows(d)]
        G.remove_edges_from(drop)
        if drop:
            log.info("%s: %d edges not usable for %s removed", path.name, len(drop), mode)
    else:
        log.info("%s: edges carry no `highway` tag; every edge is taken as usable for %s", path.name, mode)
    if mode == "walk":
        for u, v, d in list(G.edges(data=True)):
            if not G.has_edge(v, u):
                G.add_edge(v, u, **{**d, "reversed": not d.get("reversed", False)})
    G.remove_nodes_from([n for n in list(G.nodes) if G.degree(n) == 0])
    if G.number_of_edges() == 0:
        raise InputError(
            f"road network file `{path}` has no edge usable for `{mode}`; check the file or `[network] mode`"
        )
    stored = mode == "drive" and all("travel_time" in d for _, _, d in G.edges(data=True))
    if stored:
        log.info("%s: using the travel_time stored in the file", path.name)
        G.graph["zoning_speeds"] = "stored"
    return G


# --------------------------------------------------------------------------- speeds


def add_speeds(G: nx.MultiDiGraph, *, mode: str) -> nx.MultiDiGraph:
    """Set ``speed_kph`` and ``travel_time`` (s) on every edge, in place.

    Drive: ``maxspeed`` where a way has one (mph converted), else the class speed from
    :data:`zoning.settings.drive_speeds_kph`, else the mean ``maxspeed`` of that class in the
    graph, else :data:`zoning.settings.drive_fallback_speed_kph`. Edges without a ``highway``
    class count as ``road`` (OSM's unknown class). Walk: :data:`zoning.settings.walk_speed_kph`.

    Returns
    -------
    networkx.MultiDiGraph
        ``G`` itself.
    """
    check_mode(mode)
    if mode == "walk":
        mps = settings.walk_speed_kph / 3.6
        for _, _, d in G.edges(data=True):
            d["speed_kph"] = float(settings.walk_speed_kph)
            d["travel_time"] = float(d["length"]) / mps
        return G
    for _, _, d in G.edges(data=True):
        d.setdefault("highway", "road")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", category=UserWarning)
        ox.add_edge_speeds(G, hwy_speeds=dict(settings.drive_speeds_kph),
                           fallback=settings.drive_fallback_speed_kph)
    ox.add_edge_travel_times(G)
    return G


def check_edges(G: nx.MultiDiGraph, *, source: str) -> None:
    """Raise :class:`InputError` unless every edge has a finite ``length`` and ``travel_time`` >= 0."""
    bad: list[tuple[Any, Any, str]] = []
    for u, v, d in G.edges(data=True):
        for key in ("length", "travel_time"):
            value = d.get(key)
            try:
                ok = value is not None and math.isfinite(float(value)) and float(value) >= 0
            except (TypeError, ValueError):
                ok = False
            if not ok:
                bad.append((u, v, f"{key}={value!r}"))
    if bad:
        raise InputError(
            f"road network `{source}`: {len(bad)} edges have no usable length or travel time"
            f" (e.g. {bad[:3]}); each edge needs `length` (m) and `travel_time` (s), finite and >= 0"
        )


# --------------------------------------------------------------------------- cache


def _file_digest(path: Path) -> str:
    h = hashlib.sha256()
    with path.open("rb") as fh:
        for chunk in iter(lambda: fh.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


def _speed_settings(mode: str) -> dict[str, Any]:
    if mode == "walk":
        return {"walk_speed_kph": settings.walk_speed_kph}
    return {"drive_speeds_kph": dict(sorted(settings.drive_speeds_kph.items())),
            "drive_fallback_speed_kph": settings.drive_fallback_speed_kph}


def graph_cache_key(*, source: str, mode: str) -> str:
    """Cache key of a built graph: its source, mode, way filter, speed settings and versions.

    Parameters
    ----------
    source
        What the graph is built from: a file's content digest or a polygon's WKT.
    mode
        "drive" or "walk".
    """
    payload = {
        "source": source,
        "mode": mode,
        "filter": WAY_FILTERS[mode].excluded,
        "speeds": _speed_settings(mode),
        "osmnx": ox.__version__,
        "format": CACHE_FORMAT,
    }
    return hashlib.sha256(json.dumps(payload, sort_keys=True).encode()).hexdigest()[:32]


def _graph_cache_path(cache_folder: Path, key: str) -> Path:
    return Path(cache_folder) / "graphs" / f"{key}.pickle"


def read_graph_cache(path: Path) -> nx.MultiDiGraph | None:
    """A cached graph, or None when the file is absent or unreadable (then it is rebuilt).

    The cache is the user's own folder (:data:`zoning.settings.cache_folder`); it holds pickles,
    so it must not be shared with untrusted parties.
    """
    if not path.is_file():
        return None
    try:
        data = pickle.loads(path.read_bytes())
    except Exception as exc:  # a truncated or foreign cache file: rebuild, and say so
        log.warning("road graph cache %s is unreadable (%s: %s); building the graph again",
                    path, type(exc).__name__, exc)
        return None
    if not isinstance(data, dict) or data.get("format") != CACHE_FORMAT or not isinstance(
        data.get("graph"), nx.MultiDiGraph
    ):
        log.warning("road graph cache %s has an unknown layout; building the graph again", path)
        return None
    return data["graph"]


def save_graph_cache(G: nx.MultiDiGraph, path: Path) -> Path:
    """Write a built graph to the cache file ``path`` (atomically)."""
    blob = pickle.dumps({"format": CACHE_FORMAT, "graph": G}, protocol=pickle.HIGHEST_PROTOCOL)
    return atomic_write_bytes(Path(path), blob)


# --------------------------------------------------------------------------- public loaders


def _check_road_file(path: Path) -> None:
    if not path.exists():
        raise InputError(f"road network file `{path}` does not exist; fix `[network] path` in the scenario")
    if not path.is_file():
        raise InputError(f"road network path `{path}` is a folder, not a file; fix `[network] path`")
    if path.stat().st_size == 0:
        raise InputError(f"road network file `{path}` is empty; export the extract again")


def _finish(G: nx.MultiDiGraph, *, mode: str, source: str) -> nx.MultiDiGraph:
    if G.graph.get("zoning_speeds") == "stored":
        for _, _, d in G.edges(data=True):
            if "speed_kph" not in d and d.get("travel_time"):
                d["speed_kph"] = float(d["length"]) / float(d["travel_time"]) * 3.6
    else:
        add_speeds(G, mode=mode)
    check_edges(G, source=source)
    G.graph["zoning_source"] = source
    G.graph["zoning_mode"] = mode
    return G


def load_graph(path: Path, *, mode: str = "drive", cache_folder: Path | None = None) -> nx.MultiDiGraph:
    """Read a road graph for one travel mode from OSM XML, OSM PBF or GraphML.

    Parameters
    ----------
    path
        ``.osm``, ``.osm.bz2``, ``.osm.gz``, ``.xml``, ``.pbf``/``.osm.pbf`` or ``.graphml``.
    mode
        "drive" or "walk": only ways usable in that mode become edges.
    cache_folder
        When given, the built graph is cached under ``cache_folder/graphs``, keyed by the file's
        content, the mode and the speed settings; a later call with the same inputs reads the
        cache (a fraction of a second instead of a full parse).

    Returns
    -------
    networkx.MultiDiGraph
        The graph contract of this module.

    Raises
    ------
    InputError
        Missing, empty, damaged or unsupported files, files without a usable edge, or edges
        without a usable length or travel time.
    """
    path = Path(path)
    check_mode(mode)
    _check_road_file(path)
    is_graphml = path.name.lower().endswith(GRAPHML_SUFFIX)
    if not is_graphml and _osm_format(path) is None:
        raise InputError(
            f"road network file `{path}` has an unknown format; use OSM XML (.osm, .osm.bz2),"
            " OSM PBF (.osm.pbf) or GraphML (.graphml)"
        )
    cache_path = None
    if cache_folder is not None:
        key = graph_cache_key(source=f"file:{_file_digest(path)}", mode=mode)
        cache_path = _graph_cache_path(cache_folder, key)
        cached = read_graph_cache(cache_path)
        if cached is not None:
            log.info("road graph %s (%s) read from cache %s", path.name, mode, cache_path)
            cached.graph["zoning_source"] = path.name  # the same content may sit under another name
            return cached
    G = load_graphml(path, mode=mode) if is_graphml else load_osm(path, mode=mode)
    G = _finish(G, mode=mode, source=path.name)
    log.info("road graph %s: %d nodes, %d edges (%s)", path.name, len(G), G.number_of_edges(), mode)
    if cache_path is not None:
        save_graph_cache(G, cache_path)
    return G


def district_polygon(
    units: gpd.GeoDataFrame,
    schools: gpd.GeoDataFrame | None = None,
    *,
    buffer_m: float | None = None,
) -> BaseGeometry:
    """The area whose roads are needed: every unit and school, grown by ``buffer_m`` (EPSG:4326).

    Parameters
    ----------
    units, schools
        Units and schools (EPSG:4326).
    buffer_m
        Margin in metres; default :data:`zoning.settings.download_buffer_m`.
    """
    buffer_m = settings.download_buffer_m if buffer_m is None else buffer_m
    geoms = list(units.geometry.to_crs(settings.default_crs))
    if schools is not None:
        geoms += list(schools.geometry.to_crs(settings.default_crs))
    shape = shapely.union_all(geoms)
    c = shape.centroid
    metric = utm_crs(c.x, c.y)
    grown = gpd.GeoSeries([shape], crs=settings.default_crs).to_crs(metric).buffer(buffer_m)
    return grown.to_crs(settings.default_crs).iloc[0]


def _brief(exc: BaseException, limit: int = 300) -> str:
    """An exception's text on one line, cut to ``limit`` characters (servers answer with pages)."""
    text = " ".join(str(exc).split())
    return text if len(text) <= limit else text[: limit - 3] + "..."


@contextmanager
def _osmnx_settings(**values: Any) -> Iterator[None]:
    old = {k: getattr(ox.settings, k) for k in values}
    try:
        for k, v in values.items():
            setattr(ox.settings, k, v)
        yield
    finally:
        for k, v in old.items():
            setattr(ox.settings, k, v)


def download_graph(
    polygon: BaseGeometry,
    *,
    mode: str = "drive",
    cache_folder: Path | None = None,
) -> nx.MultiDiGraph:
    """Download the road graph of a polygon from OpenStreetMap (Overpass API) through osmnx.

    Parameters
    ----------
    polygon
        Polygon or MultiPolygon in EPSG:4326, e.g. from :func:`district_polygon`.
    mode
        "drive" or "walk" (osmnx's ``network_type``).
    cache_folder
        When given, the built graph is cached under ``cache_folder/graphs`` keyed by the polygon,
        mode and speed settings, and the raw Overpass answers under ``cache_folder/overpass``;
        a rerun reads the cache and needs no network. Without it nothing is written.

    Raises
    ------
    DownloadError
        The Overpass server could not be reached or gave no usable answer, and no cache exists.
    InputError
        The polygon is empty or invalid.
    """
    check_mode(mode)
    if polygon.is_empty or polygon.geom_type not in ("Polygon", "MultiPolygon") or not polygon.is_valid:
        raise InputError(
            f"the download area must be a valid Polygon or MultiPolygon in EPSG:4326; found"
            f" {'an empty geometry' if polygon.is_empty else polygon.geom_type}"
        )
    wkt = shapely.to_wkt(polygon, rounding_precision=6)
    cache_path = None
    if cache_folder is not None:
        cache_path = _graph_cache_path(cache_folder, graph_cache_key(source=f"polygon:{wkt}", mode=mode))
        cached = read_graph_cache(cache_path)
        if cached is not None:
            log.info("road graph (%s) for the district read from cache %s", mode, cache_path)
            return cached
    url = ox.settings.overpass_url
    options: dict[str, Any] = {"use_cache": cache_folder is not None}
    if cache_folder is not None:
        options["cache_folder"] = str(Path(cache_folder) / "overpass")
    log.info("downloading the %s road network from %s", mode, url)
    minx, miny, maxx, maxy = polygon.bounds
    area = f"({minx:.4f}, {miny:.4f}) - ({maxx:.4f}, {maxy:.4f})"
    try:
        with _osmnx_settings(**options):
            G = ox.graph_from_polygon(polygon, network_type=mode, simplify=True, retain_all=True)
    except ox._errors.InsufficientResponseError as exc:
        raise DownloadError(
            f"the OpenStreetMap answer from {url} has no {mode} roads for the area {area} ({_brief(exc)});"
            " check that the units and schools lie where they should (EPSG:4326 lon/lat), or give a"
            " local OSM/PBF/GraphML file in `[network] path`"
        ) from exc
    except (requests.RequestException, ox._errors.ResponseStatusCodeError) as exc:
        raise DownloadError(
            f"downloading the {mode} road network from {url} for the area {area} failed"
            f" ({type(exc).__name__}: {_brief(exc)}) and no cached copy exists; connect to the internet and"
            " run again, or give a local OSM/PBF/GraphML file in `[network] path`"
        ) from exc
    G = _finish(G, mode=mode, source=f"OpenStreetMap download ({url})")
    log.info("downloaded road graph: %d nodes, %d edges (%s)", len(G), G.number_of_edges(), mode)
    if cache_path is not None:
        save_graph_cache(G, cache_path)
    return G
