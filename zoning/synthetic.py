"""Deterministic synthetic school districts for demos, tests and benchmarks.

`make_district` builds a fictional district: planning units shaped like Census block groups
(denser and smaller in a core, larger at the edge), a river that splits the district and is
crossed only by a few bridges, a street network, schools with capacities, current attendance
boundaries and a clear spatial income gradient. Every number comes from one
``numpy.random.default_rng(seed)``, so the same arguments always give the same district.

Nothing here describes a real place: GEOIDs use the unassigned state code ``99`` and the
district sits at a made-up location near 40 N, 95 W. All outputs are in EPSG:4326; the
geometry is built in metres in the local UTM zone (``METRIC_CRS``).

The committed demo district in ``data/demo`` is regenerated, byte for byte, with::

    python -m zoning.synthetic data/demo

which is ``save_district(make_demo_district(), "data/demo")``, i.e.
``make_district(n_units=300, n_schools=10, seed=7, name="Riverton")``.

Data contracts
--------------
units
    GeoDataFrame indexed by ``geoid`` (12-character str: state ``99``, county ``001``, 6-digit
    tract, 1-digit block group), columns ``population``, ``students``, ``low_income``,
    ``median_income`` (ints; ``0 <= low_income <= students``) and Polygon ``geometry``.
schools
    GeoDataFrame indexed by ``school_id`` (``"S01"``...), columns ``name``, ``capacity`` (int)
    and Point ``geometry``; each school lies inside a different unit.
current_zones
    GeoDataFrame with ``school_id`` and ``geometry``; one zone per school, covering the outline
    and ignoring unit boundaries (and the river).
roads
    ``road_nodes`` (DataFrame ``id``, ``lon``, ``lat``) and ``road_ways`` (list of
    ``(way_id, [node ids], {tag: value})``), written as OSM XML by `to_osm_xml`.
"""

from __future__ import annotations

import argparse
import json
import logging
import math
import os
import tempfile
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Final
from xml.sax.saxutils import escape, quoteattr

import geopandas as gpd
import networkx as nx
import numpy as np
import pandas as pd
import shapely
from pyproj import Transformer
from shapely.geometry import LineString, MultiPoint, Point, Polygon
from shapely.geometry.base import BaseGeometry
from shapely.ops import nearest_points

logger = logging.getLogger(__name__)

__all__ = [
    "DEMO_NAME",
    "DEMO_N_SCHOOLS",
    "DEMO_N_UNITS",
    "DEMO_SEED",
    "SyntheticDistrict",
    "build_road_graph",
    "main",
    "make_demo_district",
    "make_district",
    "save_district",
    "to_osm_xml",
]

# --- settings ------------------------------------------------------------------------------

#: Arguments of the committed demo district in ``data/demo``.
DEMO_N_UNITS: Final = 300
DEMO_N_SCHOOLS: Final = 10
DEMO_SEED: Final = 7
DEMO_NAME: Final = "Riverton"

#: Fictional location of the district centre (lon, lat) and the metric CRS used internally.
CENTER_LON: Final = -95.0
CENTER_LAT: Final = 40.0
METRIC_CRS: Final = "EPSG:32615"  # UTM zone 15N, which contains 95 W

#: Mean land area of one unit (block-group-like); the district area scales with ``n_units``.
MEAN_UNIT_AREA_M2: Final = 350_000.0
#: Mean number of students per school; sets how many people live in the district.
STUDENTS_PER_SCHOOL: Final = 450
#: District-wide share of low-income students the generator aims for.
TARGET_LOW_INCOME_SHARE: Final = 0.37
#: Total capacity divided by total students the generator aims for (kept within 1.05-1.20).
TARGET_CAPACITY_RATIO: Final = 1.12
#: Spacing of the street grid and the jitter applied to each intersection.
ROAD_SPACING_M: Final = 200.0
ROAD_JITTER_M: Final = 30.0
#: Every this many grid lines (on average) is an arterial street.
ARTERIAL_EVERY: Final = 8
#: Road nodes keep at least this distance from the river band.
RIVER_ROAD_MARGIN_M: Final = 25.0
#: Unit parts smaller than this after clipping are slivers and are dropped.
SLIVER_AREA_M2: Final = 1.0

STATE_FIPS: Final = "99"
COUNTY_FIPS: Final = "001"
OSM_GENERATOR: Final = "zoning.synthetic"
EARTH_RADIUS_M: Final = 6_371_009.0  # the mean radius osmnx uses for edge lengths

_SYNTHETIC_NOTE: Final = (
    "SYNTHETIC data made by zoning.synthetic; not a real place. GEOIDs are fictional "
    "(state code 99) and every number is generated."
)

_STREET_BASES: Final = (
    "Maple", "Oak", "Elm", "Cedar", "Pine", "Walnut", "Chestnut", "Birch", "Willow", "Ash",
    "Hickory", "Poplar", "Spruce", "Sycamore", "Magnolia", "Linden", "Aspen", "Juniper",
    "Hawthorn", "Laurel", "Alder", "Cypress", "Dogwood", "Holly", "Locust", "Mulberry",
    "Redbud", "Sassafras", "Tamarack", "Beech", "Buckeye", "Catalpa", "Cherry", "Hazel",
    "Larch", "Myrtle", "Orchard", "Prairie", "Meadow", "Harvest", "Lincoln", "Jefferson",
    "Franklin", "Adams", "Monroe", "Jackson", "Grant", "Garfield", "Hayes", "Polk",
)  # fmt: skip
_STREET_SUFFIXES: Final = ("Street", "Drive", "Lane", "Court", "Place", "Terrace")
_SCHOOL_BASES: Final = (
    "Maple", "Lincoln", "Riverside", "Cedar Grove", "Jefferson", "Oak Hill", "Prairie View",
    "Willow Creek", "Washington", "Sunset Ridge", "Bluestem", "Meadowbrook", "Heritage",
    "Lakeview", "Hawthorne", "Pioneer", "Franklin", "Sycamore", "Eastwood", "Westfield",
    "Northgate", "Southside", "Parkview", "Hillcrest", "Stone Bridge", "Mill Creek",
    "Cottonwood", "Harmony", "Roosevelt", "Adams", "Garfield", "Grant", "Madison", "Monroe",
    "Kennedy", "Whittier", "Longfellow", "Emerson", "Thoreau", "Audubon", "Carver",
    "Douglass", "Tubman", "Bethune", "Earhart", "Curie", "Banneker", "Sandburg", "Twain",
    "Alcott", "Cather", "Fairview", "Greenwood", "Highland", "Ironwood", "Juniper Hills",
    "Kingsley", "Liberty", "Magnolia", "Orchard Park", "Pleasant Valley", "Quail Run",
    "Rolling Hills", "Silver Lake", "Timberline", "Union", "Valley View", "Wildflower",
)  # fmt: skip


# --- the district --------------------------------------------------------------------------


@dataclass(frozen=True, eq=False)
class SyntheticDistrict:
    """A synthetic district: units, schools, current zones, river and roads (all EPSG:4326).

    Attributes
    ----------
    units : geopandas.GeoDataFrame
        Indexed by ``geoid`` (12-character str, sorted); columns ``population``, ``students``,
        ``low_income``, ``median_income`` (int) and single-Polygon ``geometry``.
    schools : geopandas.GeoDataFrame
        Indexed by ``school_id`` (str); columns ``name``, ``capacity`` (int, a multiple of 25)
        and Point ``geometry``.
    current_zones : geopandas.GeoDataFrame
        Columns ``school_id`` and ``geometry``: today's boundaries, one zone per school.
    outline : shapely.Polygon
        The district boundary (the river included).
    river : shapely.geometry.base.BaseGeometry
        The river band inside the outline; units never overlap it.
    road_nodes : pandas.DataFrame
        Columns ``id`` (int), ``lon``, ``lat`` (degrees, 7 decimals), sorted by ``id``.
    road_ways : list of tuple
        ``(way_id, [node ids], {tag: value})`` sorted by ``way_id``; tags follow OSM
        (``highway``, ``name``, ``maxspeed``, ``oneway``, ``bridge``...).
    name : str
        The fictional district name.
    seed : int
        The seed it was generated from.
    """

    units: gpd.GeoDataFrame
    schools: gpd.GeoDataFrame
    current_zones: gpd.GeoDataFrame
    outline: Polygon
    river: BaseGeometry
    road_nodes: pd.DataFrame
    road_ways: list[tuple[int, list[int], dict[str, str]]]
    name: str = DEMO_NAME
    seed: int = DEMO_SEED


def make_district(
    *,
    n_units: int = DEMO_N_UNITS,
    n_schools: int = DEMO_N_SCHOOLS,
    seed: int = DEMO_SEED,
    name: str = DEMO_NAME,
    segregation: float = 1.0,
) -> SyntheticDistrict:
    """Generate a synthetic district, deterministically.

    The district's land area is about ``n_units * MEAN_UNIT_AREA_M2`` (0.35 km² per unit on
    average: about 0.1 km² in the dense core, 0.5-1 km² at the edge). A river 55-75 m wide
    splits it into two banks (units on opposite banks never touch) joined only by 2-3 road
    bridges. Exactly ``n_units`` units are returned. Students average about
    ``STUDENTS_PER_SCHOOL`` per school; income falls toward a mostly eastern direction (along
    the river) and a little on the south bank, so nearest-school zones have very unequal
    low-income shares. The streets are a jittered 200 m grid with arterials, thinned toward the
    edge, strongly connected, with a one-way couplet downtown (unless the district is too small
    for one).
    Takes well under a second for 300 units and about a second for 1,000.

    Parameters
    ----------
    n_units : int, default 300
        Number of planning units; at least 20.
    n_schools : int, default 10
        Number of schools; at least 2 (one per river bank) and at most ``n_units // 5``.
    seed : int, default 7
        Seed of the only random generator used (``numpy.random.default_rng``).
    name : str, default "Riverton"
        Fictional district name, used in file metadata.
    segregation : float, default 1.0
        Strength of the spatial income gradient (its smooth parts are scaled by it; the
        unit-level noise is not): 0 leaves income unrelated to place, 0.5 spreads the
        nearest-school zones' low-income shares about as in Cambridge MA.

    Returns
    -------
    SyntheticDistrict
        Units, schools, current zones, outline, river and roads, all in EPSG:4326.

    Raises
    ------
    ValueError
        If ``n_units``, ``n_schools`` or ``segregation`` is out of range.
    """
    problems = []
    if n_units < 20:
        problems.append(f"`n_units` must be at least 20; got {n_units}.")
    if n_schools < 2:
        problems.append(f"`n_schools` must be at least 2 (one per river bank); got {n_schools}.")
    elif n_schools > n_units // 5:
        problems.append(
            f"`n_schools` must be at most n_units // 5 = {n_units // 5} so every school has a "
            f"few units; got {n_schools}. Raise `n_units` or lower `n_schools`."
        )
    if not (math.isfinite(segregation) and segregation >= 0):
        problems.append(f"`segregation` must be a number >= 0; got {segregation}.")
    if problems:
        raise ValueError(" ".join(problems))

    rng = np.random.default_rng(seed)

    # 1. outline and river (metres, local coordinates centred on the district)
    land_m2 = n_units * MEAN_UNIT_AREA_M2
    outline = _make_outline(rng, land_m2 * 1.02)
    radius = math.sqrt(outline.area / math.pi)
    centre, band, river_width = _make_river(rng, outline, radius)
    banks, bank_names = _split_banks(outline, band, centre)

    # 2. units: Voronoi cells of uneven seed points, built bank by bank
    core = np.array([rng.uniform(-0.25, 0.25) * radius * 1.2, rng.uniform(-0.2, 0.2) * radius])
    core_sigma = 0.28 * radius
    seeds, seed_bank, seed_density = _sample_seeds(
        rng, banks, n_units, core=core, core_sigma=core_sigma, core_frac=0.5
    )
    cells = _make_cells(seeds, seed_bank, banks)

    # 3. unit order and GEOIDs, then people
    order = _unit_order(seeds, seed_bank)
    seeds, seed_bank, seed_density = seeds[order], seed_bank[order], seed_density[order]
    cells = [cells[i] for i in order]
    geoids = _make_geoids(rng, seed_bank)
    people = _make_people(
        rng, seeds, seed_bank, seed_density, bank_names,
        n_schools=n_schools, radius=radius, segregation=segregation,
    )

    # 4. schools and current boundaries
    centroids = shapely.get_coordinates(shapely.centroid(np.asarray(cells, dtype=object)))
    school_xy, school_unit, capacity = _make_schools(
        rng, cells, centroids, seed_bank, people["students"], n_schools=n_schools
    )
    zone_cells = _voronoi_cells(school_xy, outline)
    zones = [shapely.intersection(zone_cells[k], outline) for k in range(n_schools)]

    # 5. roads
    node_xy, ways = _make_roads(
        rng, outline, band, banks, core=core, radius=radius, n_bridges=_n_bridges(centre, outline)
    )

    # 6. to EPSG:4326
    to_lonlat = _lonlat_transform()
    unit_geoms = _to_lonlat_geoms(cells, to_lonlat)
    units = gpd.GeoDataFrame(
        {key: np.asarray(people[key], dtype="int64") for key in _UNIT_COLUMNS},
        geometry=unit_geoms,
        index=pd.Index(geoids, name="geoid"),
        crs="EPSG:4326",
    )
    school_ids = [f"S{k + 1:0{max(2, len(str(n_schools)))}d}" for k in range(n_schools)]
    names = _school_names(rng, n_schools)
    schools = gpd.GeoDataFrame(
        {"name": names, "capacity": np.asarray(capacity, dtype="int64")},
        geometry=_to_lonlat_geoms([Point(p) for p in school_xy], to_lonlat),
        index=pd.Index(school_ids, name="school_id"),
        crs="EPSG:4326",
    )
    current_zones = gpd.GeoDataFrame(
        {"school_id": school_ids},
        geometry=_to_lonlat_geoms(zones, to_lonlat),
        crs="EPSG:4326",
    )
    lonlat = to_lonlat(node_xy)
    road_nodes = pd.DataFrame(
        {
            "id": np.arange(1, len(node_xy) + 1, dtype="int64"),
            "lon": np.round(lonlat[:, 0], 7),
            "lat": np.round(lonlat[:, 1], 7),
        }
    )
    outline_ll = _to_lonlat_geoms([outline], to_lonlat)[0]
    if not isinstance(outline_ll, Polygon):  # pragma: no cover
        raise RuntimeError("the synthetic outline is not a Polygon; this is a bug")
    river = shapely.intersection(band, outline)
    # add the units' corners on the banks to the river outline, so both snap alike
    corners = MultiPoint(shapely.get_coordinates(shapely.boundary(np.asarray(cells, dtype=object))))
    river = shapely.snap(river, corners, 0.01)
    river_ll = _to_lonlat_geoms([river], to_lonlat)[0]

    _check_units(units, n_units)
    for k, unit in enumerate(school_unit):
        if not unit_geoms[unit].contains(schools.geometry.iloc[k]):  # pragma: no cover
            raise RuntimeError(f"school {school_ids[k]} fell outside its unit; this is a bug")
    logger.info(
        "synthetic district %r: %d units (%s), %d schools, %d students, capacity %d, "
        "low-income share %.3f, river %.0f m wide, %d road nodes, %d ways",
        name,
        n_units,
        ", ".join(f"{(seed_bank == b).sum()} {bank_names[b]}" for b in range(len(banks))),
        n_schools,
        int(units["students"].sum()),
        int(schools["capacity"].sum()),
        units["low_income"].sum() / units["students"].sum(),
        river_width,
        len(road_nodes),
        len(ways),
    )
    return SyntheticDistrict(
        units=units,
        schools=schools,
        current_zones=current_zones,
        outline=outline_ll,
        river=river_ll,
        road_nodes=road_nodes,
        road_ways=ways,
        name=name,
        seed=seed,
    )


def make_demo_district() -> SyntheticDistrict:
    """Generate the committed demo district (``data/demo``).

    Returns
    -------
    SyntheticDistrict
        ``make_district(n_units=300, n_schools=10, seed=7, name="Riverton")``.
    """
    return make_district(n_units=DEMO_N_UNITS, n_schools=DEMO_N_SCHOOLS, seed=DEMO_SEED, name=DEMO_NAME)


_UNIT_COLUMNS: Final = ("population", "students", "low_income", "median_income")


# --- geometry helpers (metres) -------------------------------------------------------------


def _make_outline(rng: np.random.Generator, area_m2: float) -> Polygon:
    """Return a star-shaped, gently irregular district outline of the given area.

    Parameters
    ----------
    rng : numpy.random.Generator
        The district's random generator.
    area_m2 : float
        Area of the outline in square metres.

    Returns
    -------
    shapely.Polygon
        Centred on (0, 0), somewhat wider east-west than north-south.
    """
    theta = np.linspace(0.0, 2.0 * math.pi, 240, endpoint=False)
    r = np.ones_like(theta)
    for k in range(2, 8):
        r += rng.uniform(0.03, 0.09) / math.sqrt(k - 1) * np.cos(k * theta + rng.uniform(0.0, 2.0 * math.pi))
    aspect = rng.uniform(1.15, 1.35)
    x = r * np.cos(theta) * math.sqrt(aspect)
    y = r * np.sin(theta) / math.sqrt(aspect)
    shape = Polygon(np.column_stack([x, y]))
    scale = math.sqrt(area_m2 / shape.area)
    return Polygon(np.column_stack([x * scale, y * scale]))


def _make_river(
    rng: np.random.Generator, outline: Polygon, radius: float
) -> tuple[LineString, Polygon, float]:
    """Return a sinuous west-east river: its centre line, its band and its width.

    Parameters
    ----------
    rng : numpy.random.Generator
        The district's random generator.
    outline : shapely.Polygon
        District outline (metres).
    radius : float
        Radius of a circle with the outline's area, in metres.

    Returns
    -------
    centre : shapely.LineString
        The river's centre line, reaching beyond the outline on both sides.
    band : shapely.Polygon
        The water: the centre line buffered by half the width (not clipped to the outline).
    width_m : float
        River width in metres.
    """
    minx, _, maxx, _ = outline.bounds
    xs = np.arange(minx - 400.0, maxx + 400.0 + 1.0, 80.0)
    offset = rng.uniform(-0.15, 0.1) * radius
    tilt = rng.uniform(-0.08, 0.08)
    a1, l1, p1 = (
        rng.uniform(0.08, 0.13) * radius,
        rng.uniform(1.1, 1.6) * radius,
        rng.uniform(0, 2 * math.pi),
    )
    a2, l2, p2 = (
        rng.uniform(0.02, 0.04) * radius,
        rng.uniform(0.5, 0.7) * radius,
        rng.uniform(0, 2 * math.pi),
    )
    ys = (
        offset + tilt * xs + a1 * np.sin(2 * math.pi * xs / l1 + p1) + a2 * np.sin(2 * math.pi * xs / l2 + p2)
    )
    centre = LineString(np.column_stack([xs, ys]))
    width = float(rng.uniform(55.0, 75.0))
    band = centre.buffer(width / 2.0, quad_segs=3).simplify(0.5)
    return centre, band, width


def _split_banks(outline: Polygon, band: Polygon, centre: LineString) -> tuple[list[Polygon], list[str]]:
    """Split the outline into the land north and south of the river.

    Parameters
    ----------
    outline : shapely.Polygon
        District outline (metres).
    band : shapely.Polygon
        River band.
    centre : shapely.LineString
        River centre line, used to tell north from south.

    Returns
    -------
    banks : list of shapely.Polygon
        ``[north, south]``.
    names : list of str
        ``["north", "south"]``.

    Raises
    ------
    RuntimeError
        If the river does not split the outline into two banks (a generator bug).
    """
    parts = sorted(shapely.get_parts(shapely.difference(outline, band)), key=lambda p: -p.area)
    if len(parts) < 2:  # pragma: no cover - the river always crosses the outline
        raise RuntimeError("the synthetic river does not split the district; this is a bug")
    for extra in parts[2:]:
        logger.warning("dropping a %.0f m² piece of land cut off by the river", extra.area)
    line = shapely.get_coordinates(centre)
    banks = parts[:2]
    above = []
    for bank in banks:
        p = bank.representative_point()
        above.append(p.y > np.interp(p.x, line[:, 0], line[:, 1]))
    if above[1] and not above[0]:
        banks = banks[::-1]
    return banks, ["north", "south"]


def _n_bridges(centre: LineString, outline: Polygon) -> int:
    """Return how many bridges the river gets: 3 if it runs over 7.5 km in the district, else 2.

    Parameters
    ----------
    centre : shapely.LineString
        River centre line.
    outline : shapely.Polygon
        District outline (metres).

    Returns
    -------
    int
        2 or 3.
    """
    return 3 if centre.intersection(outline).length > 7500.0 else 2


def _sample_seeds(
    rng: np.random.Generator,
    banks: Sequence[Polygon],
    n: int,
    *,
    core: np.ndarray,
    core_sigma: float,
    core_frac: float,
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Sample exactly ``n`` well-spaced seed points, denser around ``core``.

    Candidates come from a mixture of a Gaussian core and a uniform background; a candidate
    is kept only if it is far enough from the kept ones (the minimum distance shrinks where
    the target density is high), so cells are uneven but never slivers.

    Parameters
    ----------
    rng : numpy.random.Generator
        The district's random generator.
    banks : sequence of shapely.Polygon
        Land polygons; seeds fall at least 20 m inside them.
    n : int
        Number of seeds.
    core : numpy.ndarray
        Centre of the dense core, shape (2,).
    core_sigma : float
        Standard deviation of the core, metres.
    core_frac : float
        Share of seeds drawn from the core.

    Returns
    -------
    xy : numpy.ndarray
        Seed coordinates, shape (n, 2).
    bank : numpy.ndarray
        Index of the bank of each seed, shape (n,).
    density : numpy.ndarray
        Relative target density at each seed (1 = the densest point), shape (n,).
    """
    land = shapely.union_all(list(banks))
    inner = land.buffer(-20.0)
    minx, miny, maxx, maxy = land.bounds
    area = land.area

    def target_density(p: np.ndarray) -> np.ndarray:
        d2 = np.sum((p - core) ** 2, axis=1)
        gauss = np.exp(-d2 / (2 * core_sigma**2)) / (2 * math.pi * core_sigma**2)
        return n * (core_frac * gauss + (1.0 - core_frac) / area)

    accepted = np.empty((n, 2))
    k = 0
    factor = 0.5
    while k < n:
        m = 8 * n
        n_core = int(rng.binomial(m, core_frac))
        cand = np.vstack(
            [
                rng.normal(core, core_sigma, size=(n_core, 2)),
                rng.uniform([minx, miny], [maxx, maxy], size=(m - n_core, 2)),
            ]
        )[rng.permutation(m)]
        cand = cand[shapely.contains_xy(inner, cand[:, 0], cand[:, 1])]
        min_d2 = factor**2 / target_density(cand)
        for p, d2 in zip(cand, min_d2, strict=True):
            if k and np.min(np.sum((accepted[:k] - p) ** 2, axis=1)) < d2:
                continue
            accepted[k] = p
            k += 1
            if k == n:
                break
        factor *= 0.85
    bank = np.full(n, -1)
    for b, poly in enumerate(banks):
        bank[shapely.contains_xy(poly, accepted[:, 0], accepted[:, 1])] = b
    if (bank < 0).any():  # pragma: no cover - seeds are drawn inside the banks
        raise RuntimeError("a synthetic seed fell outside the land; this is a bug")
    density = target_density(accepted)
    return accepted, bank, density / target_density(core[None, :])[0]


def _voronoi_cells(xy: np.ndarray, extent: BaseGeometry) -> list[BaseGeometry]:
    """Return the Voronoi cell of each point, in the order of the points.

    Parameters
    ----------
    xy : numpy.ndarray
        Points, shape (k, 2).
    extent : shapely.geometry.base.BaseGeometry
        Area the diagram must cover.

    Returns
    -------
    list of shapely geometry
        ``cells[i]`` contains ``xy[i]``.
    """
    if len(xy) == 1:
        return [shapely.box(*extent.buffer(1.0).bounds)]
    diagram = shapely.voronoi_polygons(MultiPoint(xy), extend_to=extent, ordered=True)
    cells = list(shapely.get_parts(diagram))
    points = shapely.points(xy)
    if len(cells) != len(xy) or not all(shapely.contains(cells, points)):
        # older GEOS ignores `ordered`: match cells to points explicitly
        tree = shapely.STRtree(cells)
        found = tree.query(points, predicate="within")
        lookup = dict(zip(found[0].tolist(), found[1].tolist(), strict=True))
        cells = [cells[lookup[i]] for i in range(len(xy))]
    return cells


def _make_cells(seeds: np.ndarray, seed_bank: np.ndarray, banks: Sequence[Polygon]) -> list[Polygon]:
    """Return one Polygon unit per seed: its Voronoi cell within its bank.

    A cell that the bank's shape splits keeps the part holding its seed; the other parts are
    merged into the neighbouring unit they share the longest border with, so no land is lost
    (parts under ``SLIVER_AREA_M2`` are dropped).

    Parameters
    ----------
    seeds : numpy.ndarray
        Seed points, shape (n, 2).
    seed_bank : numpy.ndarray
        Bank index of each seed.
    banks : sequence of shapely.Polygon
        The land on each side of the river.

    Returns
    -------
    list of shapely.Polygon
        ``n`` polygons, in seed order.
    """
    cells: list[Polygon] = [Polygon()] * len(seeds)
    for b, bank in enumerate(banks):
        idx = np.flatnonzero(seed_bank == b)
        clipped = shapely.intersection(_voronoi_cells(seeds[idx], bank), bank)
        leftovers: list[Polygon] = []
        for i, geom in zip(idx, clipped, strict=True):
            parts = sorted(shapely.get_parts(geom), key=lambda p: -p.area)
            parts = [p for p in parts if isinstance(p, Polygon) and p.area >= SLIVER_AREA_M2]
            seed_point = Point(seeds[i])
            main = next((p for p in parts if p.covers(seed_point)), parts[0])
            cells[i] = main
            leftovers.extend(p for p in parts if p is not main)
        for piece in sorted(leftovers, key=lambda p: -p.area):
            ring = piece.boundary.buffer(0.5)
            shared = [shapely.length(shapely.intersection(ring, cells[i].boundary)) for i in idx]
            best = int(idx[int(np.argmax(shared))])
            if max(shared) <= 0.0:
                logger.warning("dropping an isolated %.0f m² piece of a unit", piece.area)
                continue
            merged = shapely.union(cells[best], piece)
            if not isinstance(merged, Polygon):
                merged = shapely.union(cells[best], piece.buffer(0.01)).buffer(0.0)
            if isinstance(merged, Polygon):
                cells[best] = merged
            else:  # pragma: no cover - touching at a point only
                logger.warning("dropping a %.0f m² piece that only touches a unit", piece.area)
    return cells


def _hilbert_index(xy: np.ndarray, *, order: int = 10) -> np.ndarray:
    """Return the position of each point along a Hilbert curve over the points' bounds.

    Parameters
    ----------
    xy : numpy.ndarray
        Points, shape (n, 2).
    order : int, default 10
        The curve fills a ``2**order`` square grid.

    Returns
    -------
    numpy.ndarray
        Integer curve positions, shape (n,).
    """
    side = 2**order
    lo = xy.min(axis=0)
    span = max(float((xy.max(axis=0) - lo).max()), 1e-9)
    cells = np.minimum(((xy - lo) / span * (side - 1)).astype(np.int64), side - 1)
    out = np.zeros(len(xy), dtype=np.int64)
    for n, (x0, y0) in enumerate(cells.tolist()):
        x, y, d = x0, y0, 0
        s = side // 2
        while s > 0:
            rx = 1 if x & s else 0
            ry = 1 if y & s else 0
            d += s * s * ((3 * rx) ^ ry)
            if ry == 0:
                if rx == 1:
                    x, y = side - 1 - x, side - 1 - y
                x, y = y, x
            s //= 2
        out[n] = d
    return out


def _unit_order(seeds: np.ndarray, seed_bank: np.ndarray) -> np.ndarray:
    """Return the order units are numbered in: north bank first, then along a Hilbert curve.

    Parameters
    ----------
    seeds : numpy.ndarray
        Seed points, shape (n, 2).
    seed_bank : numpy.ndarray
        Bank index of each seed.

    Returns
    -------
    numpy.ndarray
        A permutation of ``range(n)``.
    """
    curve = _hilbert_index(seeds)
    return np.lexsort((np.arange(len(seeds)), curve, seed_bank))


def _make_geoids(rng: np.random.Generator, seed_bank: np.ndarray) -> list[str]:
    """Return sorted, unique 12-character GEOIDs: ``99`` ``001`` tract block-group.

    Consecutive units (already in spatial order) are grouped into tracts of 2-4 block groups;
    tracts do not cross the river.

    Parameters
    ----------
    rng : numpy.random.Generator
        The district's random generator.
    seed_bank : numpy.ndarray
        Bank index of each unit, in unit order.

    Returns
    -------
    list of str
        One GEOID per unit, increasing.
    """
    geoids: list[str] = []
    tract = 0
    block_group = 0
    size = 0
    for i, bank in enumerate(seed_bank.tolist()):
        if block_group == size or (i > 0 and bank != seed_bank[i - 1]):
            tract += 1
            block_group = 0
            size = int(rng.integers(2, 5))
        block_group += 1
        geoids.append(f"{STATE_FIPS}{COUNTY_FIPS}{tract * 100:06d}{block_group}")
    return geoids


def _smooth_field(rng: np.random.Generator, xy: np.ndarray, radius: float) -> np.ndarray:
    """Return a smooth random field on the points (sum of a few plane waves), roughly N(0, 1).

    Parameters
    ----------
    rng : numpy.random.Generator
        The district's random generator.
    xy : numpy.ndarray
        Points, shape (n, 2).
    radius : float
        District radius in metres (sets the wavelengths).

    Returns
    -------
    numpy.ndarray
        Field values, shape (n,).
    """
    total = np.zeros(len(xy))
    n_waves = 4
    for _ in range(n_waves):
        angle = rng.uniform(0.0, 2.0 * math.pi)
        wavelength = rng.uniform(0.6, 1.4) * radius
        phase = rng.uniform(0.0, 2.0 * math.pi)
        proj = xy[:, 0] * math.cos(angle) + xy[:, 1] * math.sin(angle)
        total += np.sin(2 * math.pi * proj / wavelength + phase)
    return total / math.sqrt(n_waves / 2.0)


def _make_people(
    rng: np.random.Generator,
    seeds: np.ndarray,
    seed_bank: np.ndarray,
    density: np.ndarray,
    bank_names: Sequence[str],
    *,
    n_schools: int,
    radius: float,
    segregation: float = 1.0,
) -> dict[str, np.ndarray]:
    """Return population, students, low-income students and median income per unit.

    A poverty score grows toward a random, mostly eastern direction, a little on the south bank,
    plus smooth and unit-level noise. Median income falls and the low-income share rises with
    it; the share is calibrated so the district-wide share is ``TARGET_LOW_INCOME_SHARE``
    before sampling. Denser units hold more people; poorer ones more children.

    Parameters
    ----------
    rng : numpy.random.Generator
        The district's random generator.
    seeds : numpy.ndarray
        Unit seed points (metres), shape (n, 2).
    seed_bank : numpy.ndarray
        Bank index of each unit.
    density : numpy.ndarray
        Relative density at each seed (0-1].
    bank_names : sequence of str
        Bank names, indexed like ``seed_bank``.
    n_schools : int
        Number of schools (sets the total number of students).
    radius : float
        District radius in metres.
    segregation : float, default 1.0
        Scale of the poverty score's spatial parts (see :func:`make_district`).

    Returns
    -------
    dict of str to numpy.ndarray
        ``population``, ``students``, ``low_income``, ``median_income`` (int64 arrays).
    """
    n = len(seeds)
    angle = rng.uniform(-0.35, 0.35)  # poverty grows toward the east, along the river
    direction = np.array([math.cos(angle), math.sin(angle)])
    toward = np.clip(seeds @ direction / radius, -1.2, 1.2)
    south = np.asarray([bank_names[b] == "south" for b in seed_bank.tolist()], dtype=float)
    poverty = (
        segregation * (0.9 * toward + 0.1 * (south - 0.5) + 0.12 * _smooth_field(rng, seeds, radius))
        + rng.normal(0.0, 0.12, n)
    )

    students_per_unit = STUDENTS_PER_SCHOOL * n_schools / n
    weight = (0.5 + density) * rng.lognormal(0.0, 0.3, n)
    population = np.maximum(np.rint(weight / weight.mean() * students_per_unit / 0.14), 30).astype(np.int64)
    student_share = np.clip(0.14 + 0.035 * poverty + rng.normal(0.0, 0.015, n), 0.08, 0.20)
    students = np.maximum(np.rint(population * student_share), 1).astype(np.int64)

    slope = 1.6
    lo, hi = -6.0, 6.0
    for _ in range(60):  # bisection on the intercept for the district share
        mid = (lo + hi) / 2
        share = np.clip(1.0 / (1.0 + np.exp(-(mid + slope * poverty))), 0.02, 0.95)
        if (share * students).sum() / students.sum() < TARGET_LOW_INCOME_SHARE:
            lo = mid
        else:
            hi = mid
    share = np.clip(1.0 / (1.0 + np.exp(-((lo + hi) / 2 + slope * poverty))), 0.02, 0.95)
    low_income = rng.binomial(students, share).astype(np.int64)
    income = 68_000.0 * np.exp(-0.5 * poverty + rng.normal(0.0, 0.08, n))
    median_income = (np.rint(income / 100.0) * 100).astype(np.int64)
    return {
        "population": population,
        "students": students,
        "low_income": low_income,
        "median_income": median_income,
    }


def _weighted_kmeans(rng: np.random.Generator, xy: np.ndarray, weight: np.ndarray, k: int) -> np.ndarray:
    """Return ``k`` centres of a student-weighted k-means (k-means++ start, Lloyd steps).

    Parameters
    ----------
    rng : numpy.random.Generator
        The district's random generator.
    xy : numpy.ndarray
        Points, shape (n, 2).
    weight : numpy.ndarray
        Non-negative weights, shape (n,).
    k : int
        Number of centres (at most n).

    Returns
    -------
    numpy.ndarray
        Centres, shape (k, 2).
    """
    w = weight.astype(float) + 1e-9
    centres = [xy[rng.choice(len(xy), p=w / w.sum())]]
    for _ in range(1, k):
        d2 = np.min(((xy[:, None, :] - np.asarray(centres)[None]) ** 2).sum(-1), axis=1)
        p = w * d2
        centres.append(xy[rng.choice(len(xy), p=p / p.sum())])
    c = np.asarray(centres)
    for _ in range(50):
        label = np.argmin(((xy[:, None, :] - c[None]) ** 2).sum(-1), axis=1)
        new = c.copy()
        for j in range(k):
            mask = label == j
            if mask.any():
                new[j] = np.average(xy[mask], axis=0, weights=w[mask])
        if np.allclose(new, c):
            break
        c = new
    return c


def _balanced_centres(
    rng: np.random.Generator, xy: np.ndarray, weight: np.ndarray, k: int
) -> tuple[np.ndarray, np.ndarray]:
    """Return ``k`` centres whose power-diagram regions hold uneven but planned loads.

    Starts from a weighted k-means, draws a target share for each centre (0.65-1.45 of the
    mean) and then alternates: assign each point to the centre minimising squared distance
    minus the centre's offset; raise the offset of under-loaded centres; move centres to the
    weighted mean of their points. Regions stay convex-ish and compact.

    Parameters
    ----------
    rng : numpy.random.Generator
        The district's random generator.
    xy : numpy.ndarray
        Points, shape (n, 2).
    weight : numpy.ndarray
        Students per point, shape (n,).
    k : int
        Number of centres.

    Returns
    -------
    centres : numpy.ndarray
        Shape (k, 2).
    label : numpy.ndarray
        Region of each point, shape (n,).
    """
    centres = _weighted_kmeans(rng, xy, weight, k)
    w = weight.astype(float)
    target = rng.uniform(0.65, 1.45, k)
    target *= w.sum() / target.sum()
    if k == 1:
        return centres, np.zeros(len(xy), dtype=int)
    spread = float(np.mean(np.var(xy, axis=0))) / k
    offset = np.zeros(k)
    label = np.zeros(len(xy), dtype=int)
    for step in range(300):
        d2 = ((xy[:, None, :] - centres[None]) ** 2).sum(-1) - offset[None, :]
        label = np.argmin(d2, axis=1)
        load = np.bincount(label, weights=w, minlength=k)
        offset += 0.3 * spread * (target - load) / target
        if step % 10 == 9:
            for j in range(k):
                mask = label == j
                if mask.any():
                    centres[j] = np.average(xy[mask], axis=0, weights=w[mask] + 1e-9)
    return centres, label


def _make_schools(
    rng: np.random.Generator,
    cells: Sequence[Polygon],
    centroids: np.ndarray,
    unit_bank: np.ndarray,
    students: np.ndarray,
    *,
    n_schools: int,
) -> tuple[np.ndarray, list[int], np.ndarray]:
    """Place schools where the students are and size them for the students around them.

    Schools are shared between the banks in proportion to their students (at least one
    each). Within a bank, `_balanced_centres` splits the units into compact regions with
    uneven planned loads; each school goes in the unit nearest its region's centre (all in
    different units). A school's capacity is its region's students times a random 1.0-1.25,
    scaled so total capacity is ``TARGET_CAPACITY_RATIO`` x the students, rounded to 25. So
    those regions form a plan with every school at 80-100 % utilization.

    Parameters
    ----------
    rng : numpy.random.Generator
        The district's random generator.
    cells : sequence of shapely.Polygon
        Unit polygons (metres), in unit order.
    centroids : numpy.ndarray
        Unit centroids, shape (n, 2).
    unit_bank : numpy.ndarray
        Bank index of each unit.
    students : numpy.ndarray
        Students per unit.
    n_schools : int
        Number of schools.

    Returns
    -------
    xy : numpy.ndarray
        School locations, shape (n_schools, 2), sorted north to south, then west to east.
    unit : list of int
        Index of the unit holding each school.
    capacity : numpy.ndarray
        Capacity of each school (int64, multiples of 25).
    """
    banks = sorted(set(unit_bank.tolist()))
    per_bank = np.array([students[unit_bank == b].sum() for b in banks], dtype=float)
    quota = per_bank / per_bank.sum() * (n_schools - len(banks))
    counts = np.floor(quota).astype(int) + 1
    for j in np.argsort(-(quota - np.floor(quota)), kind="stable")[: n_schools - counts.sum()]:
        counts[j] += 1

    xy_list: list[np.ndarray] = []
    unit_list: list[int] = []
    load_list: list[float] = []
    for b, k in zip(banks, counts.tolist(), strict=True):
        idx = np.flatnonzero(unit_bank == b)
        centres, label = _balanced_centres(rng, centroids[idx], students[idx], k)
        for j, centre in enumerate(centres):
            free = [i for i in idx.tolist() if i not in unit_list]
            d2 = ((centroids[free] - centre) ** 2).sum(axis=1)
            unit = free[int(np.argmin(d2))]
            inner = cells[unit].buffer(-25.0)
            if inner.is_empty:
                inner = cells[unit].buffer(-2.0)
            if inner.is_empty:  # pragma: no cover - units are far larger than this
                point = cells[unit].representative_point()
            else:
                point = nearest_points(inner, Point(centre))[0]
            xy_list.append(np.array([point.x, point.y]))
            unit_list.append(unit)
            load_list.append(float(students[idx][label == j].sum()))

    xy = np.asarray(xy_list)
    order = np.lexsort((xy[:, 0], -xy[:, 1]))
    xy = xy[order]
    units = [unit_list[i] for i in order]
    load = np.asarray(load_list)[order]
    raw = load * rng.uniform(1.0, 1.25, n_schools)
    raw *= TARGET_CAPACITY_RATIO * students.sum() / raw.sum()
    capacity = np.maximum(np.rint(raw / 25.0) * 25, 50).astype(np.int64)
    return xy, units, capacity


def _school_names(rng: np.random.Generator, n: int) -> list[str]:
    """Return ``n`` distinct fictional school names.

    Parameters
    ----------
    rng : numpy.random.Generator
        The district's random generator.
    n : int
        Number of names.

    Returns
    -------
    list of str
        E.g. ``"Maple Elementary"``.
    """
    pool = [f"{base} Elementary" for base in _SCHOOL_BASES]
    pool += [f"{base} Park Elementary" for base in _SCHOOL_BASES]
    pool += [f"{base} Heights Elementary" for base in _SCHOOL_BASES]
    if n > len(pool):
        pool += [f"School No. {i}" for i in range(1, n - len(pool) + 1)]
    picked = rng.choice(len(_SCHOOL_BASES) if n <= len(_SCHOOL_BASES) else len(pool), n, False)
    return [pool[i] for i in picked.tolist()]


# --- roads ---------------------------------------------------------------------------------


def _ordinal(n: int) -> str:
    """Return ``1st``, ``2nd``, ``3rd``, ``4th``... for ``n``.

    Parameters
    ----------
    n : int
        A positive integer.

    Returns
    -------
    str
        The English ordinal.
    """
    suffix = "th" if 10 <= n % 100 <= 20 else {1: "st", 2: "nd", 3: "rd"}.get(n % 10, "th")
    return f"{n}{suffix}"


class _DisjointSet:
    """Union-find over ``range(n)`` with path halving."""

    def __init__(self, n: int) -> None:
        self.parent = list(range(n))

    def find(self, a: int) -> int:
        """Return the representative of ``a``'s set.

        Parameters
        ----------
        a : int
            An element.

        Returns
        -------
        int
            Its set's representative.
        """
        parent = self.parent
        while parent[a] != a:
            parent[a] = parent[parent[a]]
            a = parent[a]
        return a

    def union(self, a: int, b: int) -> bool:
        """Join the sets of ``a`` and ``b``.

        Parameters
        ----------
        a, b : int
            Elements.

        Returns
        -------
        bool
            False if they were already in one set.
        """
        ra, rb = self.find(a), self.find(b)
        if ra == rb:
            return False
        self.parent[max(ra, rb)] = min(ra, rb)
        return True


def _make_roads(
    rng: np.random.Generator,
    outline: Polygon,
    band: Polygon,
    banks: Sequence[Polygon],
    *,
    core: np.ndarray,
    radius: float,
    n_bridges: int,
) -> tuple[np.ndarray, list[tuple[int, list[int], dict[str, str]]]]:
    """Build a jittered street grid whose only river crossings are ``n_bridges`` bridges.

    Every ``ARTERIAL_EVERY``-th row and column (about 1.6 km apart) is an arterial
    (``primary`` through the core, else ``secondary``); the rest are ``residential``.
    Residential blocks are thinned toward the edge (more dead ends, more circuity) without
    ever disconnecting the network: a random spanning tree, the arterials and the bridges
    are always kept. Two residential streets in the core are a one-way couplet.

    Parameters
    ----------
    rng : numpy.random.Generator
        The district's random generator.
    outline : shapely.Polygon
        District outline (metres).
    band : shapely.Polygon
        River band.
    banks : sequence of shapely.Polygon
        The two banks (north, south).
    core : numpy.ndarray
        Centre of the dense core, shape (2,).
    radius : float
        District radius in metres.
    n_bridges : int
        Number of bridges.

    Returns
    -------
    node_xy : numpy.ndarray
        Road node coordinates in metres, shape (n_nodes, 2); node ``i`` has OSM id ``i + 1``.
    ways : list of tuple
        ``(way_id, [node ids], tags)``, sorted by ``way_id``.

    Raises
    ------
    RuntimeError
        If no bridge site is found (a generator bug).
    """
    s = ROAD_SPACING_M
    minx, miny, maxx, maxy = outline.bounds
    ox, oy = minx - rng.uniform(0.0, s), miny - rng.uniform(0.0, s)
    n_cols = int((maxx - ox) / s) + 2
    n_rows = int((maxy - oy) / s) + 2
    gx = ox + np.arange(n_cols) * s
    gy = oy + np.arange(n_rows) * s
    X = gx[None, :] + rng.uniform(-ROAD_JITTER_M, ROAD_JITTER_M, (n_rows, n_cols))
    Y = gy[:, None] + rng.uniform(-ROAD_JITTER_M, ROAD_JITTER_M, (n_rows, n_cols))
    label = np.full((n_rows, n_cols), -1)
    wet = band.buffer(RIVER_ROAD_MARGIN_M)
    inside = shapely.contains_xy(outline.buffer(-5.0), X, Y) & ~shapely.contains_xy(wet, X, Y)
    for b, bank in enumerate(banks):
        label[inside & shapely.contains_xy(bank, X, Y)] = b
    grid_id = np.full((n_rows, n_cols), -1)
    grid_id[label >= 0] = np.arange(int((label >= 0).sum()))
    gxy = np.column_stack([X[label >= 0], Y[label >= 0]])

    row_off, col_off = int(rng.integers(ARTERIAL_EVERY)), int(rng.integers(ARTERIAL_EVERY))
    art_rows = [j for j in range(n_rows) if j % ARTERIAL_EVERY == row_off]
    art_cols = [i for i in range(n_cols) if i % ARTERIAL_EVERY == col_off]
    primary_row = min(art_rows, key=lambda j: abs(gy[j] - core[1]))
    primary_col = min(art_cols, key=lambda i: abs(gx[i] - core[0]))

    # candidate grid edges: (a, b, kind, line, position) with kind 0 = row, 1 = column
    edges: list[tuple[int, int, int, int, int]] = []
    for j in range(n_rows):
        for i in range(n_cols - 1):
            a, b = grid_id[j, i], grid_id[j, i + 1]
            if a >= 0 and b >= 0 and label[j, i] == label[j, i + 1]:
                edges.append((int(a), int(b), 0, j, i))
    for i in range(n_cols):
        for j in range(n_rows - 1):
            a, b = grid_id[j, i], grid_id[j + 1, i]
            if a >= 0 and b >= 0 and label[j, i] == label[j + 1, i]:
                edges.append((int(a), int(b), 1, i, j))
    seg = shapely.linestrings(np.stack([gxy[[e[0] for e in edges]], gxy[[e[1] for e in edges]]], 1))
    ok = shapely.within(seg, outline) & ~shapely.intersects(seg, wet)
    edges = [e for e, keep in zip(edges, ok.tolist(), strict=True) if keep]

    # bridges: consecutive column nodes on opposite banks
    sites: list[tuple[int, int, int]] = []  # (column, north j, south j) with north j > south j
    for i in range(n_cols):
        js = [j for j in range(n_rows) if label[j, i] >= 0]
        for lo_j, hi_j in zip(js[:-1], js[1:], strict=True):
            if label[lo_j, i] != label[hi_j, i] and hi_j - lo_j <= 5:
                line = LineString([(X[lo_j, i], Y[lo_j, i]), (X[hi_j, i], Y[hi_j, i])])
                if line.within(outline) and line.intersection(band).length > 0:
                    sites.append((i, hi_j, lo_j))
    if not sites:  # pragma: no cover
        raise RuntimeError("no bridge site found on the synthetic river; this is a bug")
    site_cols = np.array([c for c, _, _ in sites], dtype=float)
    lo_c, hi_c = site_cols.min(), site_cols.max()
    targets = [lo_c + (hi_c - lo_c) * (2 * k + 1) / (2 * n_bridges) for k in range(n_bridges)]
    min_gap = (hi_c - lo_c) / (2 * n_bridges)
    bridges: list[tuple[int, int, int]] = []
    for t in targets:
        scored = sorted(
            (abs(c - t) - (4.0 if c in art_cols else 0.0), c, hj, lj)
            for c, hj, lj in sites
            if all(abs(c - b[0]) >= min_gap for b in bridges)
        )
        if scored:
            bridges.append((scored[0][1], scored[0][2], scored[0][3]))
    bridges.sort()
    bridge_cols = {c for c, _, _ in bridges}

    # keep: spanning tree + arterials + bridge approaches; thin the rest toward the edge
    def is_arterial(e: tuple[int, int, int, int, int]) -> bool:
        return (e[2] == 0 and e[3] in art_rows) or (e[2] == 1 and e[3] in art_cols)

    ends = {int(grid_id[j, c]) for c, hj, lj in bridges for j in (hj, lj)}
    all_edges = edges + [(int(grid_id[hj, c]), int(grid_id[lj, c]), 2, c, 0) for c, hj, lj in bridges]
    forced = np.array([e[2] == 2 or is_arterial(e) or e[0] in ends or e[1] in ends for e in all_edges])
    weight = rng.uniform(size=len(all_edges)) - forced.astype(float)
    dsu = _DisjointSet(len(gxy))
    in_tree = np.zeros(len(all_edges), dtype=bool)
    for k in np.argsort(weight, kind="stable").tolist():
        in_tree[k] = dsu.union(all_edges[k][0], all_edges[k][1])
    mid = (gxy[[e[0] for e in all_edges]] + gxy[[e[1] for e in all_edges]]) / 2
    far = np.sqrt(((mid - core) ** 2).sum(axis=1)) / radius
    p_drop = np.clip(0.03 + 0.3 * far**2, 0.0, 0.35)
    keep = in_tree | forced | (rng.uniform(size=len(all_edges)) >= p_drop)
    roots = np.array([dsu.find(a) for a in range(len(gxy))])
    main_root = int(np.bincount(roots).argmax())
    keep &= np.array([roots[e[0]] == main_root for e in all_edges])
    kept = [e for e, k in zip(all_edges, keep.tolist(), strict=True) if k]

    # ways: maximal runs of kept edges along each grid line
    row_edges = {(e[3], e[4]) for e in kept if e[2] == 0}
    col_edges = {(e[3], e[4]) for e in kept if e[2] == 1}
    raw_ways: list[tuple[list[int], dict[str, str]]] = []

    def line_tags(kind: int, line: int) -> dict[str, str]:
        if kind == 0:
            base = _STREET_BASES[line % len(_STREET_BASES)]
            if line == primary_row:
                return {"highway": "primary", "name": f"{base} Boulevard", "maxspeed": "40 mph"}
            if line in art_rows:
                tags = {"highway": "secondary", "name": f"{base} Road"}
                if art_rows.index(line) % 2 == 0:
                    tags["maxspeed"] = "35 mph"
                return tags
            suffix = _STREET_SUFFIXES[(line // len(_STREET_BASES)) % len(_STREET_SUFFIXES)]
            return {"highway": "residential", "name": f"{base} {suffix}"}
        name = f"{_ordinal(line + 1)} Avenue"
        if line == primary_col:
            return {"highway": "primary", "name": "Central Avenue", "maxspeed": "40 mph"}
        if line in art_cols:
            tags = {"highway": "secondary", "name": name}
            if art_cols.index(line) % 2 == 1:
                tags["maxspeed"] = "35 mph"
            return tags
        return {"highway": "residential", "name": name}

    for kind, n_lines, n_pos, present in (
        (0, n_rows, n_cols, row_edges),
        (1, n_cols, n_rows, col_edges),
    ):
        for line in range(n_lines):
            run: list[int] = []
            for pos in range(n_pos):
                j, i = (line, pos) if kind == 0 else (pos, line)
                if (line, pos) in present:
                    j2, i2 = (j, i + 1) if kind == 0 else (j + 1, i)
                    if not run:
                        run = [int(grid_id[j, i])]
                    run.append(int(grid_id[j2, i2]))
                elif run:
                    raw_ways.append((run, line_tags(kind, line)))
                    run = []
            if run:
                raw_ways.append((run, line_tags(kind, line)))
    for c, hj, lj in bridges:
        tags = dict(line_tags(1, c))
        tags.update({"bridge": "yes", "layer": "1", "bridge:name": f"{tags['name']} Bridge"})
        raw_ways.append(([int(grid_id[hj, c]), int(grid_id[lj, c])], tags))
    logger.debug("bridges on grid columns %s", sorted(bridge_cols))

    raw_ways = _with_one_way_couplet(raw_ways, gxy, core=core, radius=radius)

    # renumber the nodes that ways use, in grid order
    used = sorted({n for nodes, _ in raw_ways for n in nodes})
    new_id = {old: k + 1 for k, old in enumerate(used)}
    ways = [(w + 1, [new_id[n] for n in nodes], tags) for w, (nodes, tags) in enumerate(raw_ways)]
    return gxy[used], ways


def _with_one_way_couplet(
    raw_ways: list[tuple[list[int], dict[str, str]]],
    gxy: np.ndarray,
    *,
    core: np.ndarray,
    radius: float,
    n_blocks: int = 6,
) -> list[tuple[list[int], dict[str, str]]]:
    """Make ``n_blocks`` blocks of two parallel residential streets near the core one-way.

    The two streets run in opposite directions (a couplet), 300-700 m apart. Each is split
    into up to three ways so that only the middle stretch is one-way. A couplet is only used
    if the directed network stays strongly connected.

    Parameters
    ----------
    raw_ways : list of tuple
        ``([node indices], tags)``.
    gxy : numpy.ndarray
        Node coordinates (metres).
    core : numpy.ndarray
        Centre of the dense core.
    radius : float
        District radius in metres.
    n_blocks : int, default 6
        Length of each one-way stretch, in blocks.

    Returns
    -------
    list of tuple
        The ways, with the couplet split out (unchanged if none fits).
    """

    def orientation(nodes: list[int]) -> int:
        d = np.abs(gxy[nodes[-1]] - gxy[nodes[0]])
        return int(d[1] > d[0])

    def window(nodes: list[int], target: np.ndarray) -> tuple[int, np.ndarray]:
        starts = range(len(nodes) - n_blocks)
        mids = [gxy[nodes[a : a + n_blocks + 1]].mean(axis=0) for a in starts]
        best = min(starts, key=lambda a: (float(np.hypot(*(mids[a] - target))), a))
        return best, mids[best]

    cand = [
        k
        for k, (nodes, tags) in enumerate(raw_ways)
        if tags["highway"] == "residential" and len(nodes) > n_blocks + 2
    ]
    spans = {k: window(raw_ways[k][0], core) for k in cand}
    dist = {k: float(np.hypot(*(spans[k][1] - core))) for k in cand}
    cand = sorted((k for k in cand if dist[k] < 0.5 * radius), key=lambda k: (dist[k], k))
    for first in cand:
        o = orientation(raw_ways[first][0])
        start1, mid1 = spans[first]
        for second in cand:
            if second == first or orientation(raw_ways[second][0]) != o:
                continue
            start2, mid2 = window(raw_ways[second][0], mid1)
            if not (300.0 < abs(mid2[1 - o] - mid1[1 - o]) < 700.0):
                continue
            if abs(mid2[o] - mid1[o]) > 150.0:
                continue
            chosen = {first: (start1, False), second: (start2, True)}
            ways: list[tuple[list[int], dict[str, str]]] = []
            for k, (nodes, tags) in enumerate(raw_ways):
                if k not in chosen:
                    ways.append((nodes, tags))
                    continue
                a, flip = chosen[k]
                b = a + n_blocks
                middle = nodes[a : b + 1][::-1] if flip else nodes[a : b + 1]
                if a > 0:
                    ways.append((nodes[: a + 1], dict(tags)))
                ways.append((middle, {**tags, "oneway": "yes"}))
                if b < len(nodes) - 1:
                    ways.append((nodes[b:], dict(tags)))
            if nx.is_strongly_connected(_directed(ways)):
                return ways
    logger.info("no one-way couplet fits this small synthetic street grid")
    return raw_ways


def _directed(ways: Sequence[tuple[list[int], dict[str, str]]]) -> nx.DiGraph:
    """Return the directed node graph of ways (one-ways in node order only).

    Parameters
    ----------
    ways : sequence of tuple
        ``([node ids], tags)``.

    Returns
    -------
    networkx.DiGraph
        One edge per direction of travel.
    """
    g = nx.DiGraph()
    for nodes, tags in ways:
        pairs = list(zip(nodes[:-1], nodes[1:], strict=True))
        g.add_edges_from(pairs)
        if tags.get("oneway") != "yes":
            g.add_edges_from((b, a) for a, b in pairs)
    return g


# --- coordinates ---------------------------------------------------------------------------


def _lonlat_transform() -> Callable[[np.ndarray], np.ndarray]:
    """Return a function mapping local metric coordinates to lon/lat.

    Local (0, 0) is the district centre (``CENTER_LON``, ``CENTER_LAT``) in ``METRIC_CRS``.

    Returns
    -------
    callable
        ``f(xy) -> lonlat``, both arrays of shape (n, 2).
    """
    to_metric = Transformer.from_crs("EPSG:4326", METRIC_CRS, always_xy=True)
    x0, y0 = to_metric.transform(CENTER_LON, CENTER_LAT)
    to_wgs = Transformer.from_crs(METRIC_CRS, "EPSG:4326", always_xy=True)

    def transform(xy: np.ndarray) -> np.ndarray:
        xy = np.asarray(xy, dtype=float).reshape(-1, 2)
        lon, lat = to_wgs.transform(xy[:, 0] + x0, xy[:, 1] + y0)
        return np.column_stack([lon, lat])

    return transform


def _to_lonlat_geoms(
    geoms: Sequence[BaseGeometry], to_lonlat: Callable[[np.ndarray], np.ndarray]
) -> list[BaseGeometry]:
    """Project geometries to lon/lat and snap them to a 1e-6 degree grid (about 0.1 m).

    Snapping here, not only when writing, makes shared borders identical and keeps the saved
    files equal to the objects in memory.

    Parameters
    ----------
    geoms : sequence of shapely geometry
        Geometries in local metres.
    to_lonlat : callable
        From `_lonlat_transform`.

    Returns
    -------
    list of shapely geometry
        Valid geometries in EPSG:4326.
    """
    projected = shapely.transform(np.asarray(geoms, dtype=object), to_lonlat)
    return list(shapely.set_precision(projected, 1e-6))


def _check_units(units: gpd.GeoDataFrame, n_units: int) -> None:
    """Raise if a unit was lost or is not a valid single Polygon.

    Parameters
    ----------
    units : geopandas.GeoDataFrame
        The generated units.
    n_units : int
        The requested count.

    Raises
    ------
    RuntimeError
        On any broken invariant (a generator bug).
    """
    bad = [
        g
        for g, geom in units.geometry.items()
        if not isinstance(geom, Polygon) or geom.is_empty or not geom.is_valid
    ]
    if len(units) != n_units or bad:  # pragma: no cover
        raise RuntimeError(f"synthetic units broken: {len(units)} of {n_units} made, bad geometry in {bad}")


# --- output --------------------------------------------------------------------------------


def to_osm_xml(district: SyntheticDistrict) -> str:
    """Return the district's roads as OSM XML 0.6 text, readable by ``osmnx.graph_from_xml``.

    Parameters
    ----------
    district : SyntheticDistrict
        A generated district.

    Returns
    -------
    str
        Deterministic XML: nodes by id (lat/lon with 7 decimals), then ways by id with their
        ``nd`` refs and tags sorted by key.
    """
    nodes = district.road_nodes
    lines = [
        "<?xml version='1.0' encoding='UTF-8'?>",
        f'<osm version="0.6" generator="{OSM_GENERATOR}">',
        f"  <!-- {escape(_SYNTHETIC_NOTE)} -->",
        '  <bounds minlat="{:.7f}" minlon="{:.7f}" maxlat="{:.7f}" maxlon="{:.7f}"/>'.format(
            nodes["lat"].min(), nodes["lon"].min(), nodes["lat"].max(), nodes["lon"].max()
        ),
    ]
    for node_id, lon, lat in zip(
        nodes["id"].tolist(), nodes["lon"].tolist(), nodes["lat"].tolist(), strict=True
    ):
        lines.append(f'  <node id="{node_id}" lat="{lat:.7f}" lon="{lon:.7f}" version="1"/>')
    for way_id, refs, tags in district.road_ways:
        lines.append(f'  <way id="{way_id}" version="1">')
        lines.extend(f'    <nd ref="{ref}"/>' for ref in refs)
        lines.extend(f"    <tag k={quoteattr(k)} v={quoteattr(v)}/>" for k, v in sorted(tags.items()))
        lines.append("  </way>")
    lines.append("</osm>")
    return "\n".join(lines) + "\n"


def build_road_graph(district: SyntheticDistrict) -> nx.MultiDiGraph:
    """Return the district's roads as an unsimplified osmnx-style graph, without parsing XML.

    Parameters
    ----------
    district : SyntheticDistrict
        A generated district.

    Returns
    -------
    networkx.MultiDiGraph
        Graph attribute ``crs="EPSG:4326"``; nodes keyed by OSM id with ``x`` (lon) and
        ``y`` (lat); one edge per direction of travel (one-ways in way order only) with
        ``osmid``, ``oneway``, ``reversed``, ``length`` (great-circle metres, as osmnx computes
        it) and the way's OSM tags (``highway``, ``name``, ``maxspeed``, ``bridge``...).
    """
    g = nx.MultiDiGraph(crs="EPSG:4326", created_with=OSM_GENERATOR)
    nodes = district.road_nodes
    lon = dict(zip(nodes["id"].tolist(), nodes["lon"].tolist(), strict=True))
    lat = dict(zip(nodes["id"].tolist(), nodes["lat"].tolist(), strict=True))
    g.add_nodes_from((n, {"x": lon[n], "y": lat[n]}) for n in nodes["id"].tolist())
    for way_id, refs, tags in district.road_ways:
        one_way = tags.get("oneway") == "yes"
        attrs = {k: v for k, v in tags.items() if k != "oneway"}
        for u, v in zip(refs[:-1], refs[1:], strict=True):
            length = _great_circle_m(lat[u], lon[u], lat[v], lon[v])
            g.add_edge(u, v, osmid=way_id, oneway=one_way, reversed=False, length=length, **attrs)
            if not one_way:
                g.add_edge(v, u, osmid=way_id, oneway=False, reversed=True, length=length, **attrs)
    return g


def _great_circle_m(lat1: float, lon1: float, lat2: float, lon2: float) -> float:
    """Return the haversine distance in metres (``EARTH_RADIUS_M``, like osmnx).

    Parameters
    ----------
    lat1, lon1, lat2, lon2 : float
        Coordinates in degrees.

    Returns
    -------
    float
        Distance in metres.
    """
    y1, y2 = math.radians(lat1), math.radians(lat2)
    dy, dx = y2 - y1, math.radians(lon2 - lon1)
    h = math.sin(dy / 2) ** 2 + math.cos(y1) * math.cos(y2) * math.sin(dx / 2) ** 2
    return 2 * EARTH_RADIUS_M * math.asin(min(1.0, math.sqrt(h)))


def _geojson_coords(geom: BaseGeometry) -> dict[str, Any]:
    """Return a GeoJSON geometry dict with coordinates rounded to 6 decimals (RFC 7946 rings).

    Parameters
    ----------
    geom : shapely geometry
        Point, Polygon or MultiPolygon in EPSG:4326.

    Returns
    -------
    dict
        ``{"type": ..., "coordinates": ...}``.

    Raises
    ------
    TypeError
        For other geometry types.
    """

    def ring(coords: np.ndarray) -> list[list[float]]:
        return [[round(float(x), 6), round(float(y), 6)] for x, y in coords]

    def polygon(p: Polygon) -> list[list[list[float]]]:
        p = shapely.orient_polygons(p)
        return [ring(np.asarray(p.exterior.coords))] + [ring(np.asarray(r.coords)) for r in p.interiors]

    if isinstance(geom, Point):
        return {"type": "Point", "coordinates": [round(geom.x, 6), round(geom.y, 6)]}
    if isinstance(geom, Polygon):
        return {"type": "Polygon", "coordinates": polygon(geom)}
    if geom.geom_type == "MultiPolygon":
        return {"type": "MultiPolygon", "coordinates": [polygon(p) for p in geom.geoms]}
    raise TypeError(f"cannot write a {geom.geom_type} to GeoJSON here; expected a Point or Polygon")


def _geojson_text(frame: gpd.GeoDataFrame, *, columns: Sequence[str], name: str, description: str) -> str:
    """Return a FeatureCollection as text: one feature per line, stable key order.

    Parameters
    ----------
    frame : geopandas.GeoDataFrame
        Rows to write, in order; the index must be reset so ids are columns.
    columns : sequence of str
        Property columns, in order.
    name : str
        The collection's ``name``.
    description : str
        The collection's ``description``.

    Returns
    -------
    str
        GeoJSON text ending in a newline.
    """
    head = json.dumps({"type": "FeatureCollection", "name": name, "description": description})
    features = []
    records = frame[list(columns)].to_dict("records")
    for props, geom in zip(records, frame.geometry, strict=True):
        clean = {k: (v.item() if isinstance(v, np.generic) else v) for k, v in props.items()}
        feature = {"type": "Feature", "properties": clean, "geometry": _geojson_coords(geom)}
        features.append(json.dumps(feature, separators=(",", ":")))
    return head[:-1] + ', "features": [\n' + ",\n".join(features) + "\n]}\n"


def _write_atomic(path: Path, text: str) -> None:
    """Write UTF-8 text with LF line ends through a temporary file in the same folder.

    Parameters
    ----------
    path : pathlib.Path
        Destination.
    text : str
        Content.
    """
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "wb") as handle:
            handle.write(text.encode("utf-8"))
        os.chmod(tmp, 0o644)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def save_district(district: SyntheticDistrict, folder: str | Path) -> list[Path]:
    """Write the district as GeoJSON and OSM XML files, byte-identical across runs.

    Parameters
    ----------
    district : SyntheticDistrict
        A generated district.
    folder : str or pathlib.Path
        Output folder; created if missing. Existing files are replaced.

    Returns
    -------
    list of pathlib.Path
        ``units.geojson``, ``schools.geojson``, ``current_zones.geojson``, ``roads.osm``.
    """
    out = Path(folder)
    out.mkdir(parents=True, exist_ok=True)
    about = f"{_SYNTHETIC_NOTE} District {district.name!r}, seed {district.seed}."
    texts = {
        "units.geojson": _geojson_text(
            district.units.reset_index(),
            columns=("geoid", *_UNIT_COLUMNS),
            name=f"{district.name} planning units",
            description=f"{about} Units are fictional block groups; students and low_income "
            "are counts of elementary students and of those eligible for free/reduced lunch.",
        ),
        "schools.geojson": _geojson_text(
            district.schools.reset_index(),
            columns=("school_id", "name", "capacity"),
            name=f"{district.name} schools",
            description=f"{about} Capacity is in students.",
        ),
        "current_zones.geojson": _geojson_text(
            district.current_zones,
            columns=("school_id",),
            name=f"{district.name} current attendance zones",
            description=f"{about} Today's boundaries; they do not follow unit borders.",
        ),
        "roads.osm": to_osm_xml(district),
    }
    paths = []
    for filename, text in texts.items():
        path = out / filename
        _write_atomic(path, text)
        paths.append(path)
        logger.info("wrote %s (%d bytes)", path, path.stat().st_size)
    return paths


def main(argv: Sequence[str] | None = None) -> int:
    """Generate a synthetic district and save it: ``python -m zoning.synthetic FOLDER``.

    Parameters
    ----------
    argv : sequence of str, optional
        Command-line arguments (default: ``sys.argv[1:]``).

    Returns
    -------
    int
        Exit code 0.
    """
    parser = argparse.ArgumentParser(
        prog="python -m zoning.synthetic",
        description="Write a synthetic district (units, schools, current zones, roads).",
    )
    parser.add_argument("folder", nargs="?", default="data/demo", help="output folder")
    parser.add_argument("--n-units", type=int, default=DEMO_N_UNITS)
    parser.add_argument("--n-schools", type=int, default=DEMO_N_SCHOOLS)
    parser.add_argument("--seed", type=int, default=DEMO_SEED)
    parser.add_argument("--name", default=DEMO_NAME)
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(message)s")
    district = make_district(n_units=args.n_units, n_schools=args.n_schools, seed=args.seed, name=args.name)
    save_district(district, args.folder)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
