"""Schools with capacity, their home units, and the current assignment from today's boundaries.

Data contract: schools are a GeoDataFrame indexed by ``school_id`` (str) in EPSG:4326 with
``name`` (str), ``capacity`` (int) and Point geometry. A plan or a current assignment is a
Series ``geoid -> school_id``.
"""

from __future__ import annotations

import logging
from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd

from .errors import InputError, format_problems
from .files import read_table, read_vector, require_columns
from .scenario import CurrentConfig, SchoolsConfig

log = logging.getLogger(__name__)


def load_schools(path: Path, config: SchoolsConfig | None = None) -> gpd.GeoDataFrame:
    """Read schools from GeoJSON/GeoPackage points or a CSV with lon/lat columns.

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
        raw = read_vector(path, "schools", key=key, layer=config.layer, string_columns=(config.id,))
        require_columns(raw, {config.id: "[schools] id", config.capacity: "[schools] capacity"}, path, "schools")
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


def find_home_units(schools: gpd.GeoDataFrame, units: gpd.GeoDataFrame) -> pd.Series:
    """The unit that contains each school: ``school_id -> geoid``.

    Raises
    ------
    InputError
        When a school lies outside every unit (named, with the fix).
    """
    joined = gpd.sjoin(schools[["geometry"]], units[["geometry"]], how="left", predicate="within")
    joined = joined[~joined.index.duplicated(keep="first")]
    home = joined["geoid"] if "geoid" in joined else joined["index_right"]
    outside = home[home.isna()].index.tolist()
    if outside:
        raise InputError(
            f"schools {outside} lie outside every planning unit; check their coordinates (lon/lat"
            " order, CRS) or add the units around them"
        )
    return home.astype(str).rename("geoid").reindex(schools.index)


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
    wrong = ~zones.geometry.geom_type.isin(["Polygon", "MultiPolygon"])
    if wrong.any():
        raise InputError(f"current boundaries file `{path}` has non-polygon features; zones must be areas")
    return zones


def assign_current(
    units: gpd.GeoDataFrame, zones: gpd.GeoDataFrame, *, weight: str | None = None
) -> tuple[pd.Series, pd.Series]:
    """Current school of each unit by largest overlap with today's zones.

    Parameters
    ----------
    units
        Units (contract above).
    zones
        Current zones with ``school_id`` and polygons.
    weight
        Column of ``units`` that weights overlaps (e.g. population); overlap area is
        proportional to it within a unit, so the choice only matters for reporting shares.

    Returns
    -------
    (Series, Series)
        ``geoid -> school_id`` (units overlapping no zone are left out), and the share of each
        unit's area in its largest zone (below 1 means the unit is split between zones).
    """
    crs = units.estimate_utm_crs()
    u = units[["geometry"]].to_crs(crs).reset_index()
    z = zones[["school_id", "geometry"]].to_crs(crs)
    pieces = gpd.overlay(u, z, how="intersection", keep_geom_type=True)
    if pieces.empty:
        return pd.Series(dtype=object, name="school_id"), pd.Series(dtype=float)
    pieces["area"] = pieces.geometry.area
    by = pieces.groupby(["geoid", "school_id"], sort=True)["area"].sum().reset_index()
    by = by.sort_values(["geoid", "area", "school_id"], ascending=[True, False, True])
    best = by.drop_duplicates("geoid")
    total = by.groupby("geoid")["area"].sum()
    share = (best.set_index("geoid")["area"] / total).rename("overlap_share")
    current = best.set_index("geoid")["school_id"].rename("school_id")
    split = share[share < 0.95]
    if len(split):
        log.info("%d units are split between current zones (largest share used)", len(split))
    return current.reindex(units.index).dropna(), share
