"""Schools with capacity, their home units, and the current assignment from today's boundaries.

Data contract: schools are a GeoDataFrame indexed by ``school_id`` (str) in EPSG:4326 with
``name`` (str), ``capacity`` (int) and Point geometry. A plan or a current assignment is a
Series ``geoid -> school_id``.
"""

from __future__ import annotations

import logging
import math
from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely

from .errors import InputError, format_problems
from .files import read_table, read_vector, require_columns
from .scenario import CurrentConfig, SchoolsConfig

log = logging.getLogger(__name__)


def join_school_table(points: gpd.GeoDataFrame, table_path: Path, config: SchoolsConfig, *,
                      path: Path) -> gpd.GeoDataFrame:
    """Keep the school points listed in a table and take their id, name and capacity from it.

    The table (CSV) has a column named like ``[schools] table_match`` whose values equal that
    column of the points file (e.g. ``SITE_NAME``), and the ``[schools] id``, ``capacity`` and
    optionally ``name`` columns. Points not in the table are dropped (a city's file of every
    school site -> the elementary schools planned for).

    Raises
    ------
    InputError
        Missing columns, table rows matching no point, points matched twice.
    """
    match = config.table_match or ""
    table = read_table(table_path, "school table", key="[schools] table", string_columns=(match, config.id))
    require_columns(table, {match: "[schools] table_match", config.id: "[schools] id",
                            config.capacity: "[schools] capacity"}, table_path, "school table")
    require_columns(points, {match: "[schools] table_match"}, path, "schools")
    keys = points[match].astype(str).str.strip()
    wanted = table[match].astype(str).str.strip()
    problems: list[str] = []
    dup_rows = sorted(wanted[wanted.duplicated()].unique())
    if dup_rows:
        problems.append(f"table rows repeat `{match}` values {dup_rows}")
    unmatched = sorted(set(wanted) - set(keys))
    if unmatched:
        problems.append(
            f"`{match}` values {unmatched} match no school in `{path}` (its values include"
            f" {sorted(set(keys))[:12]}); fix the spelling in the table"
        )
    twice = sorted(k for k in set(wanted) if int((keys == k).sum()) > 1)
    if twice:
        problems.append(f"`{match}` values {twice} match several points in `{path}`; make them unique")
    if problems:
        raise InputError(format_problems(f"school table `{table_path}`", problems))
    columns = [c for c in (config.id, config.name, config.capacity) if c in table.columns]
    info = table.assign(_key=wanted)[["_key", *columns]].set_index("_key")
    kept = points[keys.isin(set(wanted)).to_numpy()].copy()
    kept_keys = keys[keys.isin(set(wanted))]
    for col in columns:
        kept[col] = info[col].reindex(kept_keys.to_numpy()).to_numpy()
    log.info("kept %d of %d school points listed in %s", len(kept), len(points), table_path)
    return kept


def load_schools(path: Path, config: SchoolsConfig | None = None, *,
                 table: Path | None = None) -> gpd.GeoDataFrame:
    """Read schools from GeoJSON/GeoPackage points or a CSV with lon/lat columns.

    With ``[schools] table``, only the points listed in that CSV are kept, and their id, name
    and capacity come from it (see :func:`join_school_table`); ``table`` is its resolved path.

    Returns
    -------
    GeoDataFrame
        Indexed by ``school_id`` (str): ``name``, ``capacity`` (int), Point geometry (EPSG:4326).

    Raises
    ------
    InputError
        Missing columns, duplicate ids, bad capacities or locations.
    """
    config = config or SchoolsConfig()
    key = "[schools] path"
    if path.suffix.lower() in (".csv", ".txt"):
        df = read_table(path, "schools", key=key, string_columns=(config.id,))
        require_columns(
            df, {config.id: "[schools] id", config.lon: "[schools] lon", config.lat: "[schools] lat",
                 config.capacity: "[schools] capacity"}, path, "schools",
        )
        lon = pd.to_numeric(df[config.lon], errors="coerce")
        lat = pd.to_numeric(df[config.lat], errors="coerce")
        bad = lon.isna() | lat.isna() | (lon.abs() > 180) | (lat.abs() > 90)
        if bad.any():
            raise InputError(
                f"schools file `{path}`: rows {list(df.index[bad][:5] + 2)} have no valid"
                f" `{config.lon}`/`{config.lat}` (decimal degrees, WGS84)"
            )
        raw = gpd.GeoDataFrame(df, geometry=gpd.points_from_xy(lon, lat), crs="EPSG:4326")
    else:
        raw = read_vector(path, "schools", key=key, layer=config.layer,
                          string_columns=() if config.table else (config.id,))
        if config.table:
            raw = join_school_table(raw, Path(table) if table else Path(config.table), config, path=path)
        require_columns(raw, {config.id: "[schools] id", config.capacity: "[schools] capacity"},
                        path, "schools")
    ids = raw[config.id].astype(str).str.strip()
    problems: list[str] = []
    if (ids == "").any() or raw[config.id].isna().any():
        problems.append(f"some rows have no `{config.id}`")
    dup = sorted(ids[ids.duplicated()].unique())
    if dup:
        problems.append(f"duplicate school ids {dup}; each school needs its own id")
    cap = pd.to_numeric(raw[config.capacity], errors="coerce")
    bad_cap = cap.isna() | ~np.isfinite(cap.fillna(0)) | (cap < 0) | (cap.fillna(0) % 1 != 0)
    if bad_cap.any():
        problems.append(
            f"`{config.capacity}` must be a whole number of seats >= 0; schools"
            f" {list(ids[bad_cap][:5])} have {list(raw[config.capacity][bad_cap][:5])}"
        )
    kinds = raw.geometry.geom_type
    not_point = raw.geometry.isna() | (kinds != "Point")
    if not_point.any():
        problems.append(f"schools {list(ids[not_point][:5])} are not points; give each school a location")
    if problems:
        raise InputError(format_problems(f"schools file `{path}`", problems))
    names = raw[config.name].astype(str) if config.name in raw.columns else ids
    schools = gpd.GeoDataFrame(
        {"name": names.to_numpy(), "capacity": cap.astype(int).to_numpy()},
        geometry=raw.geometry.to_numpy(),
        index=pd.Index(ids.to_numpy(), name="school_id"),
        crs=raw.crs,
    ).sort_index()
    log.info("loaded %d schools from %s (%d seats)", len(schools), path, schools["capacity"].sum())
    return schools


def find_home_units(schools: gpd.GeoDataFrame, units: gpd.GeoDataFrame, *,
                    source: Path | str | None = None) -> pd.Series:
    """The unit that contains each school: ``school_id -> geoid``.

    Parameters
    ----------
    schools, units
        Schools and units (contracts above), in the same CRS.
    source
        The schools file, for messages.

    Raises
    ------
    InputError
        When a school lies outside every unit (named, with the fix; the message says when the
        coordinates look swapped or when the two files do not overlap at all).
    """
    joined = gpd.sjoin(schools[["geometry"]], units[["geometry"]], how="left", predicate="within")
    joined = joined[~joined.index.duplicated(keep="first")]
    home = joined["geoid"] if "geoid" in joined else joined["index_right"]
    outside = home[home.isna()].index.tolist()
    if outside:
        where = f" (schools file `{source}`)" if source else ""
        hint = "check their coordinates (lon/lat order, CRS) or add the units around them"
        points = schools.geometry.loc[outside]
        swapped = gpd.GeoSeries(gpd.points_from_xy(points.y, points.x), crs=schools.crs)
        if gpd.sjoin(gpd.GeoDataFrame(geometry=swapped), units[["geometry"]], predicate="within").index.size:
            hint = "their coordinates look swapped: give longitude first (x = lon, y = lat)"
        elif len(outside) == len(schools) and _far_apart(schools, units):
            hint = (f"the schools ({_extent(schools)}) and the units ({_extent(units)}) do not overlap at"
                    " all: one of the two files has the wrong coordinate reference system")
        raise InputError(f"schools {outside}{where} lie outside every planning unit; {hint}")
    return home.astype(str).rename("geoid").reindex(schools.index)


def _far_apart(schools: gpd.GeoDataFrame, units: gpd.GeoDataFrame) -> bool:
    """True when the schools lie farther from the units' extent than that extent is wide."""
    area = shapely.box(*units.total_bounds)
    x0, y0, x1, y1 = area.bounds
    return shapely.box(*schools.total_bounds).distance(area) > max(math.hypot(x1 - x0, y1 - y0), 1e-6)


def _extent(gdf: gpd.GeoDataFrame) -> str:
    x0, y0, x1, y1 = gdf.total_bounds
    return f"lon {x0:.4f} to {x1:.4f}, lat {y0:.4f} to {y1:.4f}"


def load_current_zones(path: Path, config: CurrentConfig, schools: gpd.GeoDataFrame) -> gpd.GeoDataFrame:
    """Read today's attendance-zone polygons, one or more per ``school_id``.

    Raises
    ------
    InputError
        Missing column, school ids not among the schools, non-polygon geometry.
    """
    zones = read_vector(path, "current boundaries", key="[current] path", layer=config.layer,
                        string_columns=(config.school_id,))
    require_columns(zones, {config.school_id: "[current] school_id"}, path, "current boundaries")
    zones = zones.rename(columns={config.school_id: "school_id"})[["school_id", "geometry"]]
    unknown = sorted(set(zones["school_id"]) - set(schools.index))
    if unknown:
        raise InputError(
            f"current boundaries file `{path}` names schools {unknown} that are not in the schools"
            f" file (known: {sorted(schools.index)[:10]}...); fix the ids"
        )
    empty = zones.geometry.isna() | zones.geometry.is_empty
    if empty.any():
        raise InputError(
            f"current boundaries file `{path}` has {int(empty.sum())} features without geometry (zones"
            f" {sorted(zones.loc[empty, 'school_id'].astype(str))[:5]}); draw them or remove them"
        )
    wrong = ~zones.geometry.geom_type.isin(["Polygon", "MultiPolygon"])
    if wrong.any():
        raise InputError(f"current boundaries file `{path}` has non-polygon features; zones must be areas")
    invalid = ~zones.geometry.is_valid
    if invalid.any():
        log.warning("repairing %d invalid current-zone polygons in %s (zones %s)", int(invalid.sum()), path,
                    sorted(zones.loc[invalid, "school_id"].astype(str))[:10])
        zones = zones.copy()
        zones.loc[invalid, "geometry"] = zones.geometry[invalid].make_valid().apply(
            lambda g: shapely.unary_union([p for p in shapely.get_parts(g)
                                           if p.geom_type in ("Polygon", "MultiPolygon")]))
    return zones


def assign_current(
    units: gpd.GeoDataFrame,
    zones: gpd.GeoDataFrame,
    *,
    weight: str | None = None,
    split_share: float = 0.05,
) -> tuple[pd.Series, pd.DataFrame]:
    """Current school of each unit: the zone holding the largest part of it.

    Parameters
    ----------
    units
        Units (contract above).
    zones
        Current zones with ``school_id`` and polygons (several polygons may share a school).
    weight
        Column of ``units`` (e.g. ``population`` or ``students``) measuring the people a unit
        holds. People are taken as spread evenly over a unit's area, so a unit goes to the
        zone with the most of its people (which is the largest piece by area), and the report
        states how many people live in the other pieces.
    split_share
        A unit is reported as split when more than this share of it lies outside its zone.

    Returns
    -------
    (Series, DataFrame)
        ``geoid -> school_id`` (units overlapping no zone are left out, and logged), and per
        unit (every unit): ``school_id``, ``share`` (of the unit in that zone),
        ``second_school_id``, ``second_share``, ``outside_share`` (in no zone), ``split`` and,
        with ``weight``, ``people_elsewhere`` (weight living outside the chosen zone).

    Raises
    ------
    InputError
        When ``weight`` is not a column of the units, or no unit overlaps any zone.
    """
    if weight is not None and weight not in units.columns:
        raise InputError(
            f"`[current] weight` names `{weight}`, which is not a units column; use one of"
            f" {[c for c in units.columns if c != 'geometry']}"
        )
    crs = units.estimate_utm_crs()
    u = units[["geometry"]].to_crs(crs)
    area = u.geometry.area
    u = u.reset_index()
    z = zones[["school_id", "geometry"]].to_crs(crs)
    pieces = gpd.overlay(u, z, how="intersection", keep_geom_type=True)
    columns = ["school_id", "share", "second_school_id", "second_share", "outside_share", "split"]
    report = pd.DataFrame(index=units.index.copy(), columns=columns)
    report["share"] = 0.0
    report["second_share"] = 0.0
    report["outside_share"] = 1.0
    report["split"] = False
    if not pieces.empty:
        pieces["area"] = pieces.geometry.area
        by = pieces.groupby(["geoid", "school_id"], sort=True)["area"].sum().reset_index()
        by["share"] = by["area"] / area.reindex(by["geoid"]).to_numpy()
        by = by[by["share"] > 1e-4]  # zones that only touch a unit along its edge
        by = by.sort_values(["geoid", "share", "school_id"], ascending=[True, False, True])
        ranked = by.assign(rank=by.groupby("geoid").cumcount())
        first = ranked[ranked["rank"] == 0].set_index("geoid")
        second = ranked[ranked["rank"] == 1].set_index("geoid")
        covered = by.groupby("geoid")["share"].sum().clip(upper=1.0)
        report.loc[first.index, "school_id"] = first["school_id"]
        report.loc[first.index, "share"] = first["share"].clip(upper=1.0)
        report.loc[second.index, "second_school_id"] = second["school_id"]
        report.loc[second.index, "second_share"] = second["share"].clip(upper=1.0)
        report.loc[covered.index, "outside_share"] = (1.0 - covered).clip(lower=0.0)
    report["share"] = report["share"].astype(float).round(6)
    report["second_share"] = report["second_share"].astype(float).round(6)
    report["outside_share"] = report["outside_share"].astype(float).round(6)
    report["split"] = report["school_id"].notna() & (report["share"] < 1.0 - split_share)
    if weight is not None:
        people = pd.to_numeric(units[weight], errors="coerce").fillna(0.0)
        report["people_elsewhere"] = (people * (1.0 - report["share"])).round(3)
    current = report["school_id"].dropna().astype(str).rename("school_id")
    current.index.name = "geoid"
    if len(current) == 0 and len(units):
        raise InputError(
            f"the current boundaries ({_extent(zones)}) overlap none of the units ({_extent(units)});"
            " check the coordinate reference system of `[current] path`, or that it is this district's"
        )
    outside = report.index[report["school_id"].isna()]
    if len(outside):
        log.warning("%d units overlap no current zone and have no current school: %s",
                    len(outside), sorted(outside)[:10])
    split = report[report["split"]]
    if len(split):
        detail = "; ".join(
            f"{g}: {r.share:.0%} {r.school_id}"
            + (f", {r.second_share:.0%} {r.second_school_id}" if isinstance(r.second_school_id, str) else "")
            + (f", {r.outside_share:.0%} in no zone" if r.outside_share > 0.005 else "")
            for g, r in split.head(10).iterrows()
        )
        log.warning("%d units are split between current zones (largest part used): %s", len(split), detail)
    return current, report
