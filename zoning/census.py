"""Planning units: block groups (or any small areas) with student and low-income counts.

Data contract: units are a GeoDataFrame indexed by ``geoid`` (str, leading zeros kept) in
EPSG:4326, with integer-valued columns ``students`` and ``low_income`` (count, never above
``students``), optionally ``median_income`` and ``population``, and polygon geometry.
"""

from __future__ import annotations

import logging
from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely

from .errors import InputError, format_problems
from .files import read_vector, require_columns
from .scenario import UnitsConfig

log = logging.getLogger(__name__)


def load_units(path: Path, config: UnitsConfig | None = None) -> gpd.GeoDataFrame:
    """Read planning units and map their columns to the data contract.

    Parameters
    ----------
    path
        GeoJSON, GeoPackage or (zipped) shapefile of unit polygons.
    config
        The scenario's ``[units]`` section (column names); defaults apply when omitted.

    Returns
    -------
    GeoDataFrame
        Indexed by ``geoid`` (str), columns ``students``, ``low_income`` (float counts),
        optional ``median_income``/``population``, polygons in EPSG:4326.

    Raises
    ------
    InputError
        Missing columns, bad counts, duplicate or numeric GEOIDs, bad geometries; all problems
        of one kind are listed together.
    """
    config = config or UnitsConfig()
    raw = read_vector(path, "units", key="[units] path", layer=config.layer, string_columns=(config.id,))
    needed = {config.id: "[units] id", config.students: "[units] students"}
    if config.low_income_share:
        needed[config.low_income_share] = "[units] low_income_share"
    else:
        needed[config.low_income] = "[units] low_income"
    for opt, key in ((config.median_income, "median_income"), (config.population, "population")):
        if opt:
            needed[opt] = f"[units] {key}"
    require_columns(raw, needed, path, "units")

    geoid = raw[config.id]
    problems: list[str] = []
    if geoid.isna().any():
        problems.append(f"{int(geoid.isna().sum())} rows have no `{config.id}`")
    geoid = geoid.fillna("").astype(str).str.strip()
    dup = geoid[geoid.duplicated(keep=False) & (geoid != "")].unique()
    if len(dup):
        problems.append(f"duplicate `{config.id}` values {sorted(dup)[:10]}; each unit needs its own id")
    if problems:
        raise InputError(format_problems(f"units file `{path}`", problems))

    students = _counts(raw[config.students], path, config.students)
    if config.low_income_share:
        share = _counts(raw[config.low_income_share], path, config.low_income_share)
        if (share > 1).any():
            bad = list(geoid[share.to_numpy() > 1][:5])
            raise InputError(
                f"units file `{path}` column `{config.low_income_share}` is a share and must be"
                f" within 0..1; units {bad} are above 1 (use a fraction, not a percentage)"
            )
        low_income = share * students
    else:
        low_income = _counts(raw[config.low_income], path, config.low_income)
    over = low_income.to_numpy() > students.to_numpy() + 1e-9
    if over.any():
        bad = list(geoid[over][:5])
        raise InputError(
            f"units file `{path}`: `{config.low_income}` is above `{config.students}` for"
            f" {int(over.sum())} units (e.g. {bad}); low-income students are a subset of students"
        )

    units = gpd.GeoDataFrame(
        {"students": students.to_numpy(), "low_income": low_income.to_numpy()},
        geometry=_polygons(raw.geometry, geoid, path).to_numpy(),
        index=pd.Index(geoid.to_numpy(), name="geoid"),
        crs=raw.crs,
    )
    if config.median_income:
        units["median_income"] = pd.to_numeric(raw[config.median_income], errors="coerce").to_numpy()
    if config.population:
        units["population"] = _counts(raw[config.population], path, config.population).to_numpy()
    units = units.sort_index()
    log.info("loaded %d units from %s (%.0f students)", len(units), path, units["students"].sum())
    return units


def _counts(series: pd.Series, path: Path, column: str) -> pd.Series:
    """Numeric, finite, non-negative counts; otherwise an error naming the column."""
    values = pd.to_numeric(series, errors="coerce")
    bad_text = values.isna() & series.notna()
    if bad_text.any():
        examples = list(series[bad_text].astype(str).unique()[:3])
        raise InputError(
            f"units file `{path}` column `{column}` must be numbers; found {examples}"
        )
    if values.isna().any():
        raise InputError(
            f"units file `{path}` column `{column}` is missing for {int(values.isna().sum())}"
            " units; fill in the counts (0 if none)"
        )
    if not np.isfinite(values).all():
        raise InputError(f"units file `{path}` column `{column}` holds infinite values")
    if (values < 0).any():
        raise InputError(
            f"units file `{path}` column `{column}` has {int((values < 0).sum())} negative"
            " values; counts must be >= 0"
        )
    return values.astype(float)


def _polygons(geoms: gpd.GeoSeries, geoid: pd.Series, path: Path) -> gpd.GeoSeries:
    """Polygons only; invalid ones are repaired (with a warning), empty ones rejected."""
    missing = geoms.isna() | geoms.is_empty
    if missing.any():
        raise InputError(
            f"units file `{path}`: units {list(geoid[missing.to_numpy()][:5])} have empty or"
            " missing geometry; every unit needs a polygon"
        )
    kinds = geoms.geom_type
    wrong = ~kinds.isin(["Polygon", "MultiPolygon"])
    if wrong.any():
        raise InputError(
            f"units file `{path}`: units {list(geoid[wrong.to_numpy()][:5])} are"
            f" {sorted(set(kinds[wrong]))}, not polygons; units must be areas"
        )
    invalid = ~geoms.is_valid
    if invalid.any():
        log.warning("repairing %d invalid unit polygons in %s", int(invalid.sum()), path)
        fixed = shapely.make_valid(geoms[invalid].to_numpy())
        fixed = [
            shapely.unary_union([p for p in shapely.get_parts(g) if p.geom_type in ("Polygon", "MultiPolygon")])
            for g in fixed
        ]
        geoms = geoms.copy()
        geoms[invalid] = fixed
    return geoms
