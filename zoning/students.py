"""Student counts per unit: an estimate scaled to the enrollment, or student points aggregated.

Two sources:

- An estimate: a proxy column per unit (ACS children aged 5-14, households, population...)
  scaled so the units add up to the district's enrollment total.
- Student records: one point per student (CSV with lon/lat, or GeoPackage/GeoJSON points) with
  a grade and a free/reduced-price lunch (FRL) flag, aggregated to ``students`` and
  ``low_income`` per unit.

Privacy: only the location, the grade and the FRL flag of a record are read into memory past
the loader; every other column (names, ids, birth dates, addresses) is dropped on reading, and
only counts per unit leave this module. Messages name row numbers and codes, never a value of a
personal field.
"""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Any

import geopandas as gpd
import numpy as np
import pandas as pd
import pyproj

from . import settings
from .errors import InputError
from .files import read_table, read_vector, require_columns
from .scenario import StudentsConfig

log = logging.getLogger(__name__)

#: FRL flag values read as eligible / not eligible (case-insensitive). ``F`` means "free" unless
#: the column only holds ``T``/``F`` (then it means "false").
FRL_YES = frozenset({"1", "1.0", "y", "yes", "true", "t", "free", "reduced", "f", "r", "frl", "eligible"})
FRL_NO = frozenset({"0", "0.0", "n", "no", "false", "paid", "p", "not eligible", "none", "ineligible"})

_KINDERGARTEN = {"KG", "KF", "KH", "KDG", "KINDERGARTEN"}


def estimate_students(proxy: pd.Series, total: float, *, column: str = "proxy",
                      source: str = "units") -> pd.Series:
    """Scale a proxy per unit so the units add up to ``total`` students.

    Parameters
    ----------
    proxy
        Non-negative values per unit (indexed by geoid), e.g. ACS children aged 5-14.
    total
        The district's enrollment (students in the grades planned for).
    column, source
        Names for messages.

    Returns
    -------
    Series
        ``proxy * total / proxy.sum()`` (float students per unit).

    Raises
    ------
    InputError
        Negative or missing values, or a proxy that sums to zero.
    """
    values = pd.to_numeric(proxy, errors="coerce")
    if values.isna().any():
        raise InputError(
            f"`{source}`: the student proxy `{column}` is missing for units"
            f" {sorted(values.index[values.isna()])[:5]}; fill it in or pick another proxy"
        )
    if (values < 0).any():
        raise InputError(f"`{source}`: the student proxy `{column}` has negative values; it must be >= 0")
    if total <= 0:
        raise InputError(f"`[students] total` must be > 0; found {total}")
    base = float(values.sum())
    if base <= 0:
        raise InputError(
            f"`{source}`: the student proxy `{column}` is 0 in every unit, so it cannot be scaled to"
            f" {total:g} students; pick a proxy that is larger where children live"
        )
    return (values * (total / base)).astype(float).rename("students")


def normalize_grade(value: Any) -> str:
    """``"01"`` -> ``"1"``, ``"kg"`` -> ``"K"``, ``3.0`` -> ``"3"``; other codes upper-cased."""
    text = str(value).strip().upper()
    if text in _KINDERGARTEN:
        return "K"
    try:
        number = float(text)
    except ValueError:
        return text
    return str(int(number)) if number.is_integer() else text


def _frl_flags(values: pd.Series, path: Path, column: str) -> pd.Series:
    text = values.map(lambda v: "" if v is None or (isinstance(v, float) and np.isnan(v)) else str(v))
    text = text.str.strip().str.lower()
    if (text == "").any():
        rows = (np.flatnonzero((text == "").to_numpy()) + 2).tolist()
        raise InputError(
            f"student records `{path}`: {len(rows)} rows have no FRL flag in `{column}` (rows"
            f" {rows[:5]}); give every student 1/0, yes/no or free/reduced/paid"
        )
    boolean = set(text.unique()) <= {"t", "f", "true", "false"}
    yes = {"t", "true"} if boolean else FRL_YES
    no = {"f", "false"} if boolean else FRL_NO
    unknown = sorted(set(text) - yes - no)
    if unknown:
        raise InputError(
            f"student records `{path}` column `{column}` holds FRL codes {unknown[:5]} that are"
            " neither eligible (1, yes, true, free, reduced) nor not eligible (0, no, false, paid);"
            " recode them"
        )
    return text.isin(yes)


def _coordinates(df: pd.DataFrame, config: StudentsConfig, path: Path) -> tuple[np.ndarray, np.ndarray]:
    lon_raw, lat_raw = df[config.lon], df[config.lat]
    lon = pd.to_numeric(lon_raw, errors="coerce")
    lat = pd.to_numeric(lat_raw, errors="coerce")
    text = (lon.isna() & lon_raw.notna() & (lon_raw.astype(str).str.strip() != "")) | (
        lat.isna() & lat_raw.notna() & (lat_raw.astype(str).str.strip() != ""))
    if text.any():
        rows = (np.flatnonzero(text.to_numpy()) + 2).tolist()
        raise InputError(
            f"student records `{path}`: `{config.lon}`/`{config.lat}` are not numbers in rows"
            f" {rows[:5]}; give decimal coordinates"
        )
    crs = pyproj.CRS.from_user_input(config.crs)
    if crs.is_geographic:
        bad = (lon.abs() > 180) | (lat.abs() > 90)
        if bad.any():
            rows = (np.flatnonzero(bad.to_numpy()) + 2).tolist()
            raise InputError(
                f"student records `{path}`: rows {rows[:5]} have coordinates outside -180..180 /"
                f" -90..90; check the lon/lat order or set `[students] crs` to the file's projection"
            )
    return lon.to_numpy(dtype=float), lat.to_numpy(dtype=float)


def load_student_records(path: Path, config: StudentsConfig | None = None) -> gpd.GeoDataFrame:
    """Read student points, keeping only location, grade and FRL flag.

    Parameters
    ----------
    path
        CSV with ``[students] lon``/``lat`` columns (in ``[students] crs``, WGS84 by default),
        or a GeoPackage/GeoJSON of points.
    config
        The ``[students]`` section: column names, layer, grades to keep.

    Returns
    -------
    GeoDataFrame
        Columns ``grade`` (normalised text, or None), ``frl`` (bool) and Point geometry in
        EPSG:4326 (None for records without a location). No other column.

    Raises
    ------
    InputError
        Missing columns, unreadable coordinates, unknown FRL codes, non-point geometry.
    """
    config = config or StudentsConfig()
    key = "[students] records"
    grade_col = config.grade or ""
    if path.suffix.lower() in (".csv", ".txt"):
        df = read_table(path, "student records", key=key)
        needed = {config.lon: "[students] lon", config.lat: "[students] lat", config.frl: "[students] frl"}
        if config.grades:
            needed[grade_col or "grade"] = "[students] grade"
        require_columns(df, needed, path, "student records")
        lon, lat = _coordinates(df, config, path)
        located = ~(np.isnan(lon) | np.isnan(lat))
        points = gpd.points_from_xy(np.where(located, lon, 0.0), np.where(located, lat, 0.0), crs=config.crs)
        geometry = gpd.GeoSeries(points, index=df.index, crs=config.crs)
        geometry[~located] = None
    else:
        df = read_vector(path, "student records", key=key, layer=config.layer)
        needed = {config.frl: "[students] frl"}
        if config.grades:
            needed[grade_col or "grade"] = "[students] grade"
        require_columns(df, needed, path, "student records")
        geometry = df.geometry
        kinds = set(geometry.dropna().geom_type)
        if not kinds <= {"Point"}:
            raise InputError(
                f"student records `{path}` hold {sorted(kinds)} geometries; expected one point per student"
            )
    frl = _frl_flags(df[config.frl], path, config.frl)
    grades = (df[grade_col].map(lambda v: None if pd.isna(v) else normalize_grade(v))
              if grade_col and grade_col in df.columns else pd.Series(None, index=df.index, dtype=object))
    dropped = [c for c in df.columns if c not in (config.lon, config.lat, config.frl, grade_col, "geometry")]
    if dropped:
        log.info("student records %s: %d other columns not read (kept only location, grade, FRL)",
                 path, len(dropped))
    out = gpd.GeoDataFrame({"grade": grades.to_numpy(), "frl": frl.to_numpy(dtype=bool)},
                           geometry=geometry.to_numpy(), crs=geometry.crs)
    if out.crs is not None and not out.crs.equals(settings.default_crs):
        out = out.to_crs(settings.default_crs)
    out.attrs["source"] = str(path)
    out.attrs["grades"] = list(config.grades)
    return out


def aggregate_students(
    points: gpd.GeoDataFrame,
    units: gpd.GeoDataFrame,
    *,
    grades: list[str] | None = None,
) -> tuple[pd.DataFrame, dict[str, Any]]:
    """Count students and FRL-eligible students per unit.

    Parameters
    ----------
    points
        From :func:`load_student_records` (``grade``, ``frl``, Point or None geometry).
    units
        Unit polygons indexed by geoid (EPSG:4326).
    grades
        Grades to count (normalised as :func:`normalize_grade` does); all when empty. Defaults
        to the ``grades`` the records were loaded with, if recorded.

    Returns
    -------
    (DataFrame, dict)
        ``students`` and ``low_income`` per unit (every unit, zeros included) and a report of
        counts: records read, without a location, in other grades, outside every unit, counted.

    Raises
    ------
    InputError
        When no record falls inside any unit (a CRS or lon/lat mix-up).
    """
    source = points.attrs.get("source", "student records")
    if grades is None:
        grades = points.attrs.get("grades", [])
    keep_grades = {normalize_grade(g) for g in grades or []}
    total = len(points)
    located = points.geometry.notna() & ~points.geometry.is_empty
    in_grade = points["grade"].isin(keep_grades) if keep_grades else pd.Series(True, index=points.index)
    other_grades = int((~in_grade).sum())
    selected = points[located & in_grade]
    joined = gpd.sjoin(selected[["frl", "geometry"]], units[["geometry"]], how="left", predicate="intersects")
    unit_col = "geoid" if "geoid" in joined.columns else "index_right"
    joined = joined.sort_values(unit_col, na_position="last")
    joined = joined[~joined.index.duplicated(keep="first")]
    inside = joined[joined[unit_col].notna()]
    outside = int(joined[unit_col].isna().sum())
    if len(selected) and not len(inside):
        raise InputError(
            f"student records `{source}`: none of the {len(selected)} located students lies inside a"
            " unit; check the coordinate order (lon, lat) and `[students] crs`"
        )
    counts = inside.groupby(unit_col).agg(students=("frl", "size"), low_income=("frl", "sum"))
    counts = counts.reindex(units.index, fill_value=0).astype(float)
    counts.index.name = "geoid"
    report = {
        "source": str(source),
        "records": total,
        "without_location": int((~located).sum()),
        "other_grades": other_grades,
        "grades": sorted(keep_grades),
        "outside_units": outside,
        "counted": int(len(inside)),
        "low_income": int(inside["frl"].sum()),
    }
    if outside:
        log.warning("student records %s: %d students lie outside every unit and are not counted",
                    source, outside)
    if report["without_location"]:
        log.warning("student records %s: %d records have no location and are not counted", source,
                    report["without_location"])
    log.info("student records %s: %d students counted in %d units (%d FRL)", source, len(inside),
             int((counts["students"] > 0).sum()), report["low_income"])
    return counts, report
