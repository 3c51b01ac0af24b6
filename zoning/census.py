"""Planning units: block groups (or any small areas) with student and low-income counts.

Block groups come from TIGER/Line files (zip or shapefile), GeoPackage or GeoJSON; ACS 5-year
tables from Census API JSON responses (``[[header], [row], ...]``) or data.census.gov CSV
exports, with their margins of error. Census annotation codes (``-666666666`` and the like) and
the CSV symbols (``**``, ``(X)``, ...) become missing values with a warning that counts them;
they are never read as numbers.

Data contract: units are a GeoDataFrame indexed by ``geoid`` (str, leading zeros kept) in
EPSG:4326, with columns ``students`` and ``low_income`` (float counts, ``low_income`` never above
``students``), optionally ``median_income``, ``population`` and the margins of error
``students_moe``, ``low_income_moe``, ``median_income_moe`` (90% MOE, same units), and polygon
geometry.

Derived ACS columns (added to the raw units before the column mapping is applied, so a
scenario can name them):

==============================  ===============================================================
``acs_children_5_14``           B01001 _004 + _005 + _028 + _029 (boys and girls aged 5-14)
``acs_poverty_universe``        C17002 _001 (people whose poverty status is determined)
``acs_below_185``               C17002 _002 ... _006 (income below 1.85 x the poverty line)
``acs_below_185_share``         ``acs_below_185 / acs_poverty_universe``
``acs_median_income``           B19013 _001 (median household income, dollars)
==============================  ===============================================================

each with a ``*_moe`` column (sums: root of the summed squared MOEs; the share: the Census
Bureau's formula for a proportion).
"""

from __future__ import annotations

import json
import logging
import math
import os
import re
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely

from . import settings
from .errors import InputError, format_problems
from .files import _restore_strings, check_file, read_vector, require_columns
from .scenario import CensusConfig, Scenario, StudentsConfig, UnitsConfig

log = logging.getLogger(__name__)

#: Census Data API annotation codes that stand in for an estimate or a margin of error.
SENTINELS: dict[int, str] = {
    -666666666: "estimate not computed (too few sample observations)",
    -999999999: "margin of error not computed (too few sample observations)",
    -888888888: "not applicable or not available",
    -222222222: "margin of error not computed (too few sample observations)",
    -333333333: "median in an open-ended interval; no margin of error",
    -555555555: "estimate is controlled; no sampling error",
}

#: Symbols data.census.gov writes in CSV exports in place of a number.
SYMBOLS: dict[str, str] = {
    "-": "estimate not computed (too few sample observations)",
    "**": "margin of error not computed (too few sample observations)",
    "***": "median in an open-ended interval; no margin of error",
    "*****": "estimate is controlled; no sampling error",
    "(X)": "not applicable",
    "N": "not available for this geography",
    "null": "missing",
    "": "missing",
}

#: The ACS variables each supported table needs (estimate ``E`` and margin ``M`` columns).
TABLE_VARIABLES: dict[str, tuple[str, ...]] = {
    "B01001": ("B01001_004", "B01001_005", "B01001_028", "B01001_029"),
    "C17002": tuple(f"C17002_00{i}" for i in range(1, 7)),
    "B19013": ("B19013_001",),
}

_VARIABLE = re.compile(r"^[BC]\d{5}[A-Z]{0,2}_\d{3}(E|M)$")
_GEO_PARTS = (("state", 2), ("county", 3), ("tract", 6), ("block group", 1))
_TIGER_AREAS = (("ALAND", "AWATER"), ("ALAND20", "AWATER20"), ("ALAND10", "AWATER10"))
_GEOID_COLUMNS = ("GEOID", "GEOID20", "GEOID10")


# ---------------------------------------------------------------------------------- ACS tables
@dataclass
class AcsTable:
    """ACS values read from one file.

    Attributes
    ----------
    values
        DataFrame indexed by ``geoid`` (str) with one float column per variable (``..._001E``
        estimates, ``..._001M`` margins of error); annotation codes are NaN.
    source
        The file (or URL) it came from, for messages.
    missing_codes
        How many values were annotation codes or symbols, by code.
    coded
        How many values were top- or bottom-coded (``250,000+``) and read as their bound.
    """

    values: pd.DataFrame
    source: str
    missing_codes: dict[str, int] = field(default_factory=dict)
    coded: int = 0


def _parse_values(frame: pd.DataFrame, source: str) -> AcsTable:
    """Turn text cells of ACS variable columns into floats; codes and symbols become NaN."""
    codes: Counter[str] = Counter()
    coded = 0
    out: dict[str, np.ndarray] = {}
    bad: dict[str, list[str]] = {}
    for col in frame.columns:
        values = np.full(len(frame), np.nan)
        for i, cell in enumerate(frame[col].tolist()):
            if cell is None or (isinstance(cell, float) and math.isnan(cell)):
                codes["null"] += 1
                continue
            if isinstance(cell, bool):
                bad.setdefault(col, []).append(repr(cell))
                continue
            if isinstance(cell, int | float):
                number = float(cell)
            else:
                text = str(cell).strip()
                if text in SYMBOLS:
                    codes[text or "empty"] += 1
                    continue
                plain = text.replace(",", "")
                if plain[-1:] in ("+", "-") and _is_number(plain[:-1]):
                    coded += 1
                    values[i] = float(plain[:-1])
                    continue
                if not _is_number(plain):
                    bad.setdefault(col, []).append(text)
                    continue
                number = float(plain)
            if number in SENTINELS:
                codes[str(int(number))] += 1
                continue
            values[i] = number
        out[col] = values
    if bad:
        parts = [f"`{c}` holds {sorted(set(v))[:3]}" for c, v in bad.items()]
        raise InputError(
            f"ACS table `{source}`: values must be numbers or Census annotation codes; "
            + "; ".join(parts) + ". Export the table again (estimates and margins of error only)"
        )
    values_frame = pd.DataFrame(out, index=frame.index)
    table = AcsTable(values_frame, source, dict(sorted(codes.items())), coded)
    if codes:
        described = ", ".join(
            f"{code} x{n} ({SENTINELS.get(int(code)) if _is_number(code) else SYMBOLS.get(code, 'missing')})"
            for code, n in sorted(codes.items())
        )
        log.warning(
            "ACS table %s: %d values are Census annotation codes and were read as missing, not"
            " numbers: %s", source, sum(codes.values()), described,
        )
    if coded:
        log.warning("ACS table %s: %d top- or bottom-coded values (e.g. 250,000+) were read as their"
                    " bound", source, coded)
    return table


def _is_number(text: str) -> bool:
    try:
        float(text)
    except ValueError:
        return False
    return text.strip().lower() not in ("nan", "inf", "-inf", "+inf", "infinity")


def _strip_geo_id(values: pd.Series, source: str, column: str) -> pd.Series:
    """``1500000US250173521011`` -> ``250173521011`` (summary level and ``US`` prefix removed)."""
    text = values.astype(str).str.strip()
    out = text.str.replace(r"^\d{7}US", "", regex=True)
    bad = ~out.str.fullmatch(r"\d+")
    if bad.any():
        raise InputError(
            f"ACS table `{source}` column `{column}` must hold Census geography ids such as"
            f" 1500000US010010201001; found {sorted(set(text[bad]))[:3]}"
        )
    return out


def _variable_columns(columns: list[str]) -> list[str]:
    return [c for c in columns if _VARIABLE.match(c)]


def parse_acs_json(text: str, *, source: str = "Census API response") -> AcsTable:
    """Read a Census Data API response: ``[["NAME", "B01001_001E", ..., "state", "county",
    "tract", "block group"], [...], ...]``.

    The GEOID is built from the geography columns (``state`` + ``county`` + ``tract`` +
    ``block group``, as many as present) or taken from ``GEO_ID``/``ucgid`` when requested.

    Raises
    ------
    InputError
        Not JSON, not an array of rows, no geography column, bad codes, duplicate geographies.
    """
    try:
        data = json.loads(text)
    except json.JSONDecodeError as exc:
        start = text.strip()[:80]
        raise InputError(
            f"ACS table `{source}` is not JSON ({exc.msg} at line {exc.lineno}); it starts with"
            f" {start!r}. Save the Census API response as it came"
        ) from exc
    if (not isinstance(data, list) or len(data) < 1 or not all(isinstance(r, list) for r in data)
            or not all(isinstance(h, str) for h in data[0])):
        raise InputError(
            f"ACS table `{source}` is not a Census API response: expected an array of rows whose"
            ' first row is the header, e.g. [["NAME","B01001_001E","state",...],[...]]'
        )
    header = data[0]
    rows = data[1:]
    if not rows:
        raise InputError(f"ACS table `{source}` has a header but no rows; check the geography requested")
    width = len(header)
    short = [i + 2 for i, r in enumerate(rows) if len(r) != width]
    if short:
        raise InputError(
            f"ACS table `{source}`: rows {short[:5]} do not have {width} values like the header"
        )
    frame = pd.DataFrame(rows, columns=header, dtype=object)
    geoid = _geoid_from_api(frame, source)
    variables = _variable_columns(header)
    if not variables:
        raise InputError(
            f"ACS table `{source}` has no ACS variable columns (such as B01001_004E); found {header}"
        )
    frame = frame[variables].copy()
    frame.index = pd.Index(geoid.to_numpy(), name="geoid")
    _check_unique(frame.index, source)
    return _parse_values(frame, source)


def _geoid_from_api(frame: pd.DataFrame, source: str) -> pd.Series:
    for column in ("GEO_ID", "ucgid"):
        if column in frame.columns:
            return _strip_geo_id(frame[column], source, column)
    parts = [(name, width) for name, width in _GEO_PARTS if name in frame.columns]
    if not parts:
        raise InputError(
            f"ACS table `{source}` has no geography columns (`state`, `county`, `tract`, `block"
            f" group`) and no `GEO_ID`; found {list(frame.columns)}. Request the table with"
            " for=block group:* and keep the geography columns"
        )
    pieces = []
    for name, width in parts:
        col = frame[name].astype(str).str.strip()
        bad = ~col.str.fullmatch(rf"\d{{{width}}}")
        if bad.any():
            raise InputError(
                f"ACS table `{source}` column `{name}` must hold {width}-digit codes as text (leading"
                f" zeros kept); found {sorted(set(col[bad]))[:3]}"
            )
        pieces.append(col)
    geoid = pieces[0]
    for col in pieces[1:]:
        geoid = geoid + col
    return geoid


def _check_unique(index: pd.Index, source: str) -> None:
    dup = index[index.duplicated()].unique().tolist()
    if dup:
        raise InputError(f"ACS table `{source}` lists geographies {sorted(dup)[:5]} more than once")


def read_acs_csv(path: Path) -> AcsTable:
    """Read a data.census.gov CSV export (or a plain CSV with a ``GEOID`` column).

    data.census.gov writes two header rows: variable codes (``GEO_ID``, ``NAME``,
    ``B01001_001E``, ``B01001_001M``, ...), then labels (``Geography``, ``Geographic Area Name``,
    ``Estimate!!Total:``, ...). ``GEO_ID`` values such as ``1500000US010010201001`` lose their
    summary-level prefix. Every cell is read as text, so no GEOID loses a leading zero.

    Raises
    ------
    InputError
        Unreadable file, no GEOID column, bad values, duplicate geographies.
    """
    check_file(path, "ACS table", key="[census]")
    try:
        frame = pd.read_csv(path, dtype=str, keep_default_na=False, encoding="utf-8-sig")
    except (pd.errors.ParserError, pd.errors.EmptyDataError, UnicodeDecodeError) as exc:
        raise InputError(
            f"ACS table `{path}` cannot be read as CSV ({exc}); export it again from"
            " data.census.gov as CSV"
        ) from exc
    frame = frame.loc[:, [c for c in frame.columns if not c.startswith("Unnamed:")]]
    if "GEO_ID" in frame.columns:
        labels = frame["GEO_ID"].str.strip().isin(["Geography", "id", "Id"])
        frame = frame[~labels]
        geo_column = "GEO_ID"
        geoid = _strip_geo_id(frame["GEO_ID"], str(path), "GEO_ID")
    else:
        geo_column = next((c for c in (*_GEOID_COLUMNS, "geoid") if c in frame.columns), "")
        if not geo_column:
            raise InputError(
                f"ACS table `{path}` has no `GEO_ID` or `GEOID` column; found {list(frame.columns)[:8]}."
                " Export the table from data.census.gov (it writes GEO_ID) or add a GEOID column"
            )
        geoid = frame[geo_column].str.strip()
        bad = ~geoid.str.fullmatch(r"\d+")
        if bad.any():
            raise InputError(
                f"ACS table `{path}` column `{geo_column}` must hold digits; found"
                f" {sorted(set(geoid[bad]))[:3]}"
            )
    if len(frame) == 0:
        raise InputError(f"ACS table `{path}` has header rows but no data rows")
    variables = _variable_columns(list(frame.columns))
    if not variables:
        raise InputError(
            f"ACS table `{path}` has no ACS variable columns (such as B01001_004E); found"
            f" {list(frame.columns)[:8]}"
        )
    values = frame[variables].copy()
    values.index = pd.Index(geoid.to_numpy(), name="geoid")
    _check_unique(values.index, str(path))
    return _parse_values(values, str(path))


def read_acs(path: Path) -> AcsTable:
    """Read an ACS table from a Census API JSON response or a data.census.gov CSV export.

    The format is told by the content (a JSON array starts with ``[``), not only the suffix.
    """
    check_file(path, "ACS table", key="[census]")
    try:
        text = path.read_text(encoding="utf-8-sig")
    except UnicodeDecodeError as exc:
        raise InputError(f"ACS table `{path}` is not UTF-8 text ({exc}); save it as UTF-8") from exc
    if text.lstrip().startswith("[") or path.suffix.lower() == ".json":
        return parse_acs_json(text, source=str(path))
    return read_acs_csv(path)


def _require_variables(acs: AcsTable, table: str, *, margins: bool = False) -> None:
    need = [f"{v}E" for v in TABLE_VARIABLES[table]]
    if margins:
        need += [f"{v}M" for v in TABLE_VARIABLES[table]]
    missing = [v for v in need if v not in acs.values.columns]
    if missing:
        raise InputError(
            f"ACS table `{acs.source}` should hold {table} but lacks {missing}; found"
            f" {list(acs.values.columns)[:8]}. Request or export every {table} variable"
            f" ({', '.join(f'{v}E/{v}M' for v in TABLE_VARIABLES[table])})"
        )


def _moe_sum(values: pd.DataFrame, names: list[str]) -> pd.Series:
    cols = [f"{n}M" for n in names]
    if not all(c in values.columns for c in cols):
        return pd.Series(np.nan, index=values.index)
    return np.sqrt((values[cols] ** 2).sum(axis=1, min_count=len(cols)))


def derive_children(acs: AcsTable) -> pd.DataFrame:
    """B01001 -> ``acs_children_5_14`` (boys and girls aged 5-9 and 10-14) and its MOE."""
    _require_variables(acs, "B01001")
    names = list(TABLE_VARIABLES["B01001"])
    v = acs.values
    children = v[[f"{n}E" for n in names]].sum(axis=1, min_count=len(names))
    return pd.DataFrame({"acs_children_5_14": children,
                         "acs_children_5_14_moe": _moe_sum(v, names)})


def derive_low_income(acs: AcsTable) -> pd.DataFrame:
    """C17002 -> people below 1.85 x the poverty line (the reduced-price-lunch threshold).

    ``acs_below_185`` = _002 + ... + _006 (ratios under .50, .50-.99, 1.00-1.24, 1.25-1.49,
    1.50-1.84); ``acs_below_185_share`` divides by the universe _001 (NaN where it is 0).
    """
    _require_variables(acs, "C17002")
    v = acs.values
    below_names = [f"C17002_00{i}" for i in range(2, 7)]
    universe = v["C17002_001E"]
    below = v[[f"{n}E" for n in below_names]].sum(axis=1, min_count=len(below_names))
    below_moe = _moe_sum(v, below_names)
    share = below / universe.where(universe > 0)
    universe_moe = v["C17002_001M"] if "C17002_001M" in v.columns else pd.Series(np.nan, index=v.index)
    radicand = below_moe**2 - share**2 * universe_moe**2
    radicand = radicand.where(radicand >= 0, below_moe**2 + share**2 * universe_moe**2)
    share_moe = np.sqrt(radicand) / universe.where(universe > 0)
    return pd.DataFrame({
        "acs_poverty_universe": universe,
        "acs_below_185": below,
        "acs_below_185_moe": below_moe,
        "acs_below_185_share": share.clip(upper=1.0),
        "acs_below_185_share_moe": share_moe,
    })


def derive_median_income(acs: AcsTable) -> pd.DataFrame:
    """B19013 -> ``acs_median_income`` (dollars, for display) and its MOE."""
    _require_variables(acs, "B19013")
    v = acs.values
    moe = v["B19013_001M"] if "B19013_001M" in v.columns else pd.Series(np.nan, index=v.index)
    return pd.DataFrame({"acs_median_income": v["B19013_001E"], "acs_median_income_moe": moe})


_DERIVE = {"b01001": derive_children, "c17002": derive_low_income, "b19013": derive_median_income}


def derive_acs(tables: dict[str, AcsTable]) -> pd.DataFrame:
    """Derived ACS columns of every given table (``{"b01001": table, ...}``), joined on geoid."""
    frames = [_DERIVE[name](table) for name, table in sorted(tables.items())]
    out = pd.concat(frames, axis=1, join="outer") if frames else pd.DataFrame()
    out.index.name = "geoid"
    return out


def join_acs(units: gpd.GeoDataFrame, derived: pd.DataFrame, *, source: str) -> gpd.GeoDataFrame:
    """Add derived ACS columns to raw units (indexed by geoid).

    Raises
    ------
    InputError
        Units without an ACS row (named), with a hint when GEOIDs lost their leading zeros or
        the block-group vintages differ.
    """
    missing = units.index.difference(derived.index)
    if len(missing):
        hint = "check that the ACS tables cover the same state and county"
        stripped = {g.lstrip("0") for g in derived.index}
        if all(g.lstrip("0") in stripped for g in missing):
            hint = ("the GEOIDs of one file lost their leading zeros (stored as numbers); GEOIDs"
                    " are 12-character text such as 010010201001")
        elif len(units.index.intersection(derived.index)) == 0:
            hint = ("no GEOID matches at all: the ACS tables must cover the same state and county as"
                    " the units, and the ACS release and the block groups must use the same census"
                    " geography (ACS 2020-2029 releases use 2020 block groups)")
        raise InputError(
            f"{len(missing)} units have no row in the ACS tables ({source}), e.g."
            f" {sorted(missing)[:5]}; {hint}"
        )
    extra = derived.columns.intersection(units.columns)
    if len(extra):
        units = units.drop(columns=list(extra))
    out = units.join(derived, how="left")
    return out


def load_acs_tables(paths: dict[str, Path]) -> dict[str, AcsTable]:
    """Read the ACS tables named in ``[census]`` (``{"b01001": path, ...}``)."""
    tables = {}
    for name, path in sorted(paths.items()):
        table = read_acs(path)
        _require_variables(table, name.upper())
        tables[name] = table
    return tables


# ---------------------------------------------------------------------------------- unit files
def _geoid_column(raw: pd.DataFrame, config: UnitsConfig) -> str:
    if config.id in raw.columns or config.id != UnitsConfig.id:
        return config.id
    return next((c for c in _GEOID_COLUMNS if c in raw.columns), config.id)


def read_units_file(path: Path, config: UnitsConfig | None = None, *,
                    geoid_prefix: str | None = None) -> gpd.GeoDataFrame:
    """Read unit polygons with every attribute column, indexed by ``geoid`` (text).

    The id column is ``[units] id``; when that is left at its default and the file has no
    ``geoid`` column, the TIGER/Line ``GEOID`` (or ``GEOID20``/``GEOID10``) is used.

    Parameters
    ----------
    path
        TIGER/Line zip or shapefile, GeoPackage or GeoJSON.
    config
        ``[units]``: id column and layer.
    geoid_prefix
        Keep only units whose GEOID starts with it (``"25017"``: one county of a state file).

    Raises
    ------
    InputError
        Missing id column, numeric or duplicate ids, no unit with the prefix, bad geometries.
    """
    config = config or UnitsConfig()
    key = "[units] path"
    raw = read_vector(path, "units", key=key, layer=config.layer)
    id_col = _geoid_column(raw, config)
    require_columns(raw, {id_col: "[units] id"}, path, "units")
    raw = _restore_strings(raw, path, (id_col,))
    geoid = raw[id_col].fillna("").astype(str).str.strip()
    problems: list[str] = []
    blank = geoid == ""
    if blank.any():
        rows = (blank.to_numpy().nonzero()[0] + 1).tolist()
        problems.append(f"{int(blank.sum())} rows have no `{id_col}` (features {rows[:5]}, counting from 1);"
                        " give every unit its id")
    dup = geoid[geoid.duplicated(keep=False) & (geoid != "")].unique()
    if len(dup):
        problems.append(f"duplicate `{id_col}` values {sorted(dup)[:10]}; each unit needs its own id")
    for state_col in ("STATEFP", "STATEFP20", "STATEFP10"):
        if state_col in raw.columns and not problems:
            state = raw[state_col].astype(str).str.strip()
            lost = ~pd.Series([g.startswith(s) for g, s in zip(geoid, state, strict=True)], index=raw.index)
            if lost.any():
                problems.append(
                    f"`{id_col}` values {sorted(geoid[lost])[:3]} do not start with their `{state_col}`"
                    f" {sorted(state[lost])[:3]}: GEOIDs lost their leading zeros; store them as"
                    " 12-character text such as 010010201001"
                )
            break
    if problems:
        raise InputError(format_problems(f"units file `{path}`", problems))
    raw = raw.drop(columns=[id_col])
    raw.index = pd.Index(geoid.to_numpy(), name="geoid")
    prefix = geoid_prefix or config.geoid_prefix
    if prefix:
        keep = raw.index.str.startswith(prefix)
        if not keep.any():
            raise InputError(
                f"units file `{path}` has no unit whose `{id_col}` starts with {prefix!r} (found e.g."
                f" {sorted(raw.index)[:3]}); fix `[units] geoid_prefix` (state + county FIPS)"
            )
        log.info("kept %d of %d units with GEOID prefix %s", int(keep.sum()), len(raw), prefix)
        raw = raw[keep]
    raw = raw.set_geometry(_polygons(raw.geometry, raw.index.to_series(), path).to_numpy(), crs=raw.crs)
    return raw


def load_boundary(path: Path, *, layer: str | None = None, key: str = "[units] boundary") -> shapely.Geometry:
    """The district boundary: the union of the polygons of a vector file, in EPSG:4326."""
    gdf = read_vector(path, "district boundary", key=key, layer=layer)
    kinds = set(gdf.geometry.geom_type.dropna())
    if not kinds <= {"Polygon", "MultiPolygon"}:
        raise InputError(
            f"district boundary file `{path}` holds {sorted(kinds)}; expected polygons (the"
            " district's outline)"
        )
    return shapely.make_valid(gdf.geometry.union_all())


def select_to_boundary(
    units: gpd.GeoDataFrame,
    boundary: shapely.Geometry,
    *,
    min_inside_share: float = 0.5,
    sliver_share: float = 0.05,
) -> tuple[gpd.GeoDataFrame, dict[str, Any]]:
    """Keep the units lying mostly inside a district boundary; report what was dropped.

    A unit's inside share is the area of its part inside the boundary over its whole area. The
    whole area is the polygon's, or the TIGER/Line ``ALAND + AWATER`` when the file carries it
    and it is larger (files clipped at a city line keep the full Census area there, which is how
    clipped slivers of neighbouring block groups are recognised). Units are kept whole.

    Parameters
    ----------
    units
        Raw units indexed by geoid (EPSG:4326).
    boundary
        The district polygon (EPSG:4326).
    min_inside_share
        Units with less of their area inside are dropped as mostly outside (reported).
    sliver_share
        Units touching the boundary with less than this share inside are slivers: dropped and
        counted (they are neighbours meeting the line, or remnants of clipping).

    Returns
    -------
    (GeoDataFrame, dict)
        The kept units and a report: counts and GEOIDs of kept, partly outside, mostly outside,
        sliver and untouched units.

    Raises
    ------
    InputError
        When no unit lies mostly inside the boundary.
    """
    crs = units.estimate_utm_crs()
    geoms = units.geometry.to_crs(crs)
    bnd = gpd.GeoSeries([boundary], crs=settings.default_crs).to_crs(crs).iloc[0]
    inside = geoms.intersection(bnd).area
    whole = geoms.area
    area_source = "polygon area"
    for land, water in _TIGER_AREAS:
        if land in units.columns and water in units.columns:
            census_area = (pd.to_numeric(units[land], errors="coerce").fillna(0)
                           + pd.to_numeric(units[water], errors="coerce").fillna(0))
            whole = np.maximum(whole, census_area)
            area_source = f"the larger of polygon area and {land} + {water}"
            break
    share = (inside / whole.where(whole > 0)).fillna(0.0).clip(0.0, 1.0)
    kept = share >= min_inside_share
    mostly_out = (share < min_inside_share) & (share >= sliver_share) & (share > 0)
    slivers = (share < sliver_share) & (share > 0)
    untouched = share <= 0
    partly = kept & (share < 1.0 - sliver_share)
    report: dict[str, Any] = {
        "units_read": len(units),
        "kept": int(kept.sum()),
        "min_inside_share": min_inside_share,
        "sliver_share": sliver_share,
        "area": area_source,
        "mostly_outside": {g: round(float(s), 4) for g, s in share[mostly_out].items()},
        "slivers": sorted(share.index[slivers]),
        "outside": int(untouched.sum()),
        "kept_partly_outside": {g: round(float(s), 4) for g, s in share[partly].items()},
    }
    if not kept.any():
        raise InputError(
            f"no unit lies mostly inside the district boundary (largest inside share"
            f" {float(share.max()):.2f}, {int(untouched.sum())} of {len(units)} units do not touch it);"
            " check that the boundary and the units cover the same place"
        )
    if mostly_out.any():
        log.warning(
            "dropped %d units lying mostly outside the district boundary (inside share below"
            " %.2f): %s", int(mostly_out.sum()), min_inside_share, report["mostly_outside"],
        )
    if slivers.any():
        log.warning("removed %d sliver units with less than %.0f%% of their area inside the"
                    " boundary: %s", int(slivers.sum()), sliver_share * 100, report["slivers"][:10])
    if partly.any():
        log.info("kept %d units that are partly outside the boundary: %s", int(partly.sum()),
                 report["kept_partly_outside"])
    return units[kept.to_numpy()], report


# ---------------------------------------------------------------------------------- contract
def _counts(series: pd.Series, path: Path | str, column: str) -> pd.Series:
    """Numeric, finite, non-negative counts; otherwise an error naming the column."""
    values = pd.to_numeric(series, errors="coerce")
    bad_text = values.isna() & series.notna()
    if bad_text.any():
        examples = list(series[bad_text].astype(str).unique()[:3])
        raise InputError(
            f"units file `{path}` column `{column}` must be numbers; found {examples} for units"
            f" {sorted(series.index[bad_text])[:5]}; write the counts as plain numbers (0 if none)"
        )
    if values.isna().any():
        raise InputError(
            f"units file `{path}` column `{column}` is missing for {int(values.isna().sum())}"
            f" units (e.g. {sorted(values.index[values.isna()])[:5]}); fill in the counts (0 if none)"
        )
    if not np.isfinite(values).all():
        raise InputError(
            f"units file `{path}` column `{column}` holds infinite values (units"
            f" {sorted(values.index[~np.isfinite(values)])[:5]}); counts must be finite numbers"
        )
    if (values < 0).any():
        raise InputError(
            f"units file `{path}` column `{column}` has {int((values < 0).sum())} negative"
            f" values (units {sorted(values.index[values < 0])[:5]}); counts must be >= 0"
        )
    return values.astype(float)


def _mask_sentinels(raw: gpd.GeoDataFrame, columns: list[str], source: Path | str,
                    report: dict[str, Any]) -> gpd.GeoDataFrame:
    """Census annotation codes in unit columns become missing (never numbers), counted."""
    codes = {float(c) for c in SENTINELS}
    found: dict[str, int] = {}
    raw = raw.copy()
    for col in columns:
        values = pd.to_numeric(raw[col], errors="coerce")
        hit = values.isin(codes)
        if hit.any():
            found[col] = int(hit.sum())
            raw[col] = raw[col].where(~hit.to_numpy(), np.nan)
    if found:
        log.warning("units file %s: %d values are Census annotation codes (such as -666666666) and were"
                    " read as missing, not numbers: %s", source, sum(found.values()), found)
        report["annotation_codes"] = found
    return raw


def _share(series: pd.Series, path: Path | str, column: str, students: pd.Series,
           report: dict[str, Any]) -> pd.Series:
    """A low-income share column in 0..1; missing shares take the district share (reported)."""
    values = pd.to_numeric(series, errors="coerce")
    bad_text = values.isna() & series.notna()
    if bad_text.any():
        raise InputError(
            f"units file `{path}` column `{column}` must be numbers; found"
            f" {list(series[bad_text].astype(str).unique()[:3])}"
        )
    out_of_range = (values < 0) | (values > 1)
    if out_of_range.any():
        raise InputError(
            f"units file `{path}` column `{column}` is a share and must be within 0..1; units"
            f" {sorted(values.index[out_of_range])[:5]} have {sorted(values[out_of_range].round(3))[:5]}"
            " (use a fraction, not a percentage)"
        )
    missing = values.isna()
    if missing.any():
        known = ~missing & (students > 0)
        weight = float(students[known].sum())
        district = float((values[known] * students[known]).sum() / weight) if weight > 0 else 0.0
        needed = missing & (students > 0)
        if needed.any():
            log.warning(
                "units file %s: `%s` is missing for %d units with students (%s); they take the"
                " district share %.3f", path, column, int(needed.sum()), sorted(values.index[needed])[:10],
                district,
            )
        report["share_filled_with_district_share"] = sorted(values.index[needed])
        values = values.where(~missing, district)
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
        areas = ("Polygon", "MultiPolygon")
        fixed = [shapely.unary_union([p for p in shapely.get_parts(g) if p.geom_type in areas])
                 for g in fixed]
        reasons = [shapely.is_valid_reason(g) for g in geoms[invalid]]
        lost = [i for i, g in enumerate(fixed) if g.is_empty or g.area <= 0]
        if lost:
            names = list(geoid[invalid.to_numpy()].iloc[lost][:5])
            raise InputError(
                f"units file `{path}`: units {names} have invalid polygons with no area"
                f" ({'; '.join(reasons[i] for i in lost[:3])}); repairing them leaves nothing, so"
                " redraw or remove them (e.g. with QGIS 'Fix geometries')"
            )
        geoms = geoms.copy()
        geoms[invalid] = fixed
    return geoms


def assemble_units(
    raw: gpd.GeoDataFrame,
    config: UnitsConfig | None = None,
    *,
    students: StudentsConfig | None = None,
    records: pd.DataFrame | None = None,
    source: Path | str = "units",
) -> tuple[gpd.GeoDataFrame, dict[str, Any]]:
    """Apply the column mapping to raw units and return the units contract and a report.

    Students, in order of precedence: ``records`` (student points aggregated per unit); the
    ``[students] proxy`` column (or ``acs_children_5_14`` when the ACS B01001 columns are there
    and the units have no ``[units] students`` column) scaled to ``[students] total``; the
    ``[units] students`` column. Low-income students: the records' FRL counts;
    ``[units] low_income_share`` x students; the ``[units] low_income`` column; or the ACS
    share below 185% of poverty x students when C17002 was given.

    Parameters
    ----------
    raw
        Units indexed by geoid with attribute columns (and derived ``acs_*`` columns).
    config, students
        ``[units]`` and ``[students]`` sections.
    records
        Per-unit ``students`` and ``low_income`` counts from student records.
    source
        The units file, for messages.

    Raises
    ------
    InputError
        Missing columns (named, with the key to set), bad counts or shares, low-income above
        students.
    """
    from .students import estimate_students

    config = config or UnitsConfig()
    students = students or StudentsConfig()
    report: dict[str, Any] = {}
    index = raw.index
    has_acs_children = "acs_children_5_14" in raw.columns
    has_acs_share = "acs_below_185_share" in raw.columns
    needed: dict[str, str] = {}
    for opt, key in ((config.median_income, "median_income"), (config.population, "population")):
        if opt:
            needed[opt] = f"[units] {key}"
    proxy = students.proxy
    if records is None and proxy is None and config.students not in raw.columns and has_acs_children:
        proxy = "acs_children_5_14"
        if not students.total:
            raise InputError(
                "the ACS B01001 table gives children aged 5-14 per unit, not enrolled students:"
                " set `[students] total` to the district's enrollment so the estimate is scaled to it"
            )
    if records is None:
        needed[proxy or config.students] = "[students] proxy" if proxy else "[units] students"
    share_col = config.low_income_share
    if records is None and not share_col and config.low_income not in raw.columns and has_acs_share:
        share_col = "acs_below_185_share"
    if records is None:
        if share_col:
            needed[share_col] = "[units] low_income_share"
        else:
            needed[config.low_income] = "[units] low_income"
    require_columns(raw, needed, Path(str(source)), "units")
    used = [*needed, share_col or "", config.median_income or "", "acs_median_income"]
    used += [f"{c}_moe" for c in list(used)]
    raw = _mask_sentinels(raw, [c for c in dict.fromkeys(used) if c in raw.columns], source, report)

    moe_students: pd.Series | None = None
    if records is not None:
        counts = records.reindex(index).fillna(0.0)
        n_students = counts["students"].astype(float)
        n_low = counts["low_income"].astype(float)
        report["students"] = {"method": "student records", "total": float(n_students.sum())}
        report["low_income"] = {"method": "FRL flag of student records"}
    else:
        if proxy:
            base = _counts(raw[proxy], source, proxy)
            assert students.total is not None
            n_students = estimate_students(base, students.total, column=proxy, source=str(source))
            factor = students.total / float(base.sum())
            if f"{proxy}_moe" in raw.columns:
                moe_students = pd.to_numeric(raw[f"{proxy}_moe"], errors="coerce") * factor
            report["students"] = {"method": f"`{proxy}` scaled to the enrollment total",
                                  "proxy": proxy, "total": students.total, "scale": factor}
        else:
            n_students = _counts(raw[config.students], source, config.students)
            report["students"] = {"method": f"units column `{config.students}`",
                                  "total": float(n_students.sum())}
        if share_col:
            share = _share(raw[share_col], source, share_col, n_students, report)
            n_low = share * n_students
            report["low_income"] = {"method": f"share column `{share_col}` x students"}
            share_moe_col = f"{share_col}_moe"
            if share_moe_col in raw.columns:
                share_moe = pd.to_numeric(raw[share_moe_col], errors="coerce")
                s_moe = moe_students if moe_students is not None else pd.Series(0.0, index=index)
                low_moe = np.sqrt(n_students**2 * share_moe**2 + share**2 * s_moe**2)
                raw = raw.assign(_low_income_moe=low_moe)
        else:
            n_low = _counts(raw[config.low_income], source, config.low_income)
            report["low_income"] = {"method": f"units column `{config.low_income}`"}
    if len(n_students) and float(n_students.sum()) <= 0:
        raise InputError(
            f"no unit of `{source}` has any student (students from {report['students']['method']}:"
            " 0 in every unit); check the column mapping (`[units] students`, `[students] proxy`)"
            " or, with student records, `[students] grades`"
        )
    over = n_low.to_numpy() > n_students.to_numpy() + 1e-9
    if over.any():
        raise InputError(
            f"units file `{source}`: low-income students exceed students for {int(over.sum())}"
            f" units (e.g. {list(index[over][:5])}); low-income students are a subset of students"
        )
    units = gpd.GeoDataFrame(
        {"students": n_students.to_numpy(), "low_income": n_low.to_numpy()},
        geometry=raw.geometry.to_numpy(),
        index=pd.Index(index.to_numpy(), name="geoid"),
        crs=raw.crs,
    )
    if moe_students is not None:
        units["students_moe"] = moe_students.to_numpy()
    if "_low_income_moe" in raw.columns:
        units["low_income_moe"] = raw["_low_income_moe"].to_numpy()
    median = config.median_income
    if median is None and "acs_median_income" in raw.columns:
        median = "acs_median_income"
    if median:
        units["median_income"] = pd.to_numeric(raw[median], errors="coerce").to_numpy()
        if f"{median}_moe" in raw.columns:
            units["median_income_moe"] = pd.to_numeric(raw[f"{median}_moe"], errors="coerce").to_numpy()
    if config.population:
        units["population"] = _counts(raw[config.population], source, config.population).to_numpy()
    units = units.sort_index()
    report["units"] = len(units)
    report["students"]["total"] = round(float(units["students"].sum()), 3)
    report["low_income"]["total"] = round(float(units["low_income"].sum()), 3)
    log.info("units from %s: %d units, %.0f students, %.0f low-income", source, len(units),
             units["students"].sum(), units["low_income"].sum())
    return units, report


def load_units(path: Path, config: UnitsConfig | None = None, *,
               students: StudentsConfig | None = None) -> gpd.GeoDataFrame:
    """Read planning units and map their columns to the data contract.

    Parameters
    ----------
    path
        TIGER/Line zip or shapefile, GeoPackage or GeoJSON of unit polygons.
    config
        The scenario's ``[units]`` section (column names); defaults apply when omitted. A
        ``boundary`` here is read relative to the current folder (use :func:`build_units` for
        scenario-relative paths).
    students
        The scenario's ``[students]`` section (proxy and enrollment total).

    Returns
    -------
    GeoDataFrame
        Indexed by ``geoid`` (str), columns ``students``, ``low_income`` (float counts),
        optional ``median_income``/``population``, polygons in EPSG:4326.

    Raises
    ------
    InputError
        Missing columns, bad counts, duplicate or numeric GEOIDs, bad geometries.
    """
    config = config or UnitsConfig()
    raw = read_units_file(path, config)
    if config.boundary:
        boundary = load_boundary(Path(config.boundary), layer=config.boundary_layer)
        raw, _ = select_to_boundary(raw, boundary, min_inside_share=config.min_inside_share,
                                    sliver_share=config.sliver_share)
    units, _ = assemble_units(raw, config, students=students, source=path)
    return units


def _api_key(config: CensusConfig) -> str | None:
    key = os.environ.get(config.api_key_env, "").strip()
    return key or None


def build_units(scenario: Scenario) -> tuple[gpd.GeoDataFrame, dict[str, Any]]:
    """Every step from a scenario's ``[units]``, ``[census]`` and ``[students]`` to units.

    Reads (or downloads and caches) the block groups, keeps those in the district (GEOID
    prefix, boundary file or Census place), joins the ACS tables, and computes students and
    low-income students from the student records, a proxy scaled to the enrollment, or the
    units' own columns.

    Returns
    -------
    (GeoDataFrame, dict)
        The units contract and a report of every choice and every dropped unit or point
        (counts and GEOIDs only, never a personal field).

    Raises
    ------
    InputError, DownloadError
        With the file or field, what was expected, what was found and the fix.
    """
    from .students import aggregate_students, load_student_records

    cfg, census, st = scenario.units, scenario.census, scenario.students
    report: dict[str, Any] = {}
    boundary = None
    acs_paths: dict[str, Path] = {}
    if census.state:
        from .download import CensusSource, download_district

        assert census.county is not None
        source = CensusSource(
            api_url=census.api_url, tiger_url=census.tiger_url, year=census.year,
            api_key=_api_key(census),
            cache_folder=scenario.resolve(census.cache_folder) if census.cache_folder else None,
            refresh=census.refresh, timeout_s=census.timeout_s,
        )
        files = download_district(census.state, census.county, source=source, place=census.place is not None)
        path = files.block_groups
        raw = read_units_file(path, cfg, geoid_prefix=census.state + census.county)
        acs_paths = dict(files.acs)
        report["download"] = {"state": census.state, "county": census.county, "year": census.year,
                              "files": {k: str(v) for k, v in files.all().items()}}
        if census.place is not None:
            assert files.places is not None
            boundary = place_boundary(files.places, census.place)
            report["place"] = census.place
    else:
        path = scenario.resolve(cfg.path)
        raw = read_units_file(path, cfg)
        for name in ("b01001", "c17002", "b19013"):
            value = getattr(census, name)
            if value:
                acs_paths[name] = scenario.resolve(value)
    report["source"] = os.path.normpath(path)
    if cfg.boundary:
        boundary_path = scenario.resolve(cfg.boundary)
        own = load_boundary(boundary_path, layer=cfg.boundary_layer)
        boundary = own if boundary is None else shapely.intersection(boundary, own)
    if boundary is not None:
        raw, report["selection"] = select_to_boundary(
            raw, boundary, min_inside_share=cfg.min_inside_share, sliver_share=cfg.sliver_share)
    if acs_paths:
        tables = load_acs_tables(acs_paths)
        report["acs"] = {name: {"source": t.source, "rows": len(t.values),
                                "missing_codes": t.missing_codes, "top_or_bottom_coded": t.coded}
                         for name, t in tables.items()}
        raw = join_acs(raw, derive_acs(tables), source=", ".join(t.source for t in tables.values()))
    records = None
    if st.records:
        points = load_student_records(scenario.resolve(st.records), st)
        records, report["records"] = aggregate_students(points, raw, grades=st.grades)
    units, counts_report = assemble_units(raw, cfg, students=st, records=records, source=path)
    report.update(counts_report)
    return units, report


def place_boundary(path: Path, place: str) -> shapely.Geometry:
    """The polygon of a Census place from a TIGER/Line place file, by 7-digit GEOID or name.

    Raises
    ------
    InputError
        No place or several places with that name (listing the candidates).
    """
    places = read_vector(path, "Census places", key="[census] place", string_columns=("GEOID",))
    require_columns(places, {"GEOID": "[census] place", "NAME": "[census] place"}, path, "Census places")
    wanted = place.strip()
    if re.fullmatch(r"\d{7}", wanted):
        hit = places[places["GEOID"] == wanted]
    else:
        hit = places[places["NAME"].str.casefold() == wanted.casefold()]
        if len(hit) == 0:
            hit = places[places["NAMELSAD"].str.casefold() == wanted.casefold()] \
                if "NAMELSAD" in places.columns else hit
    if len(hit) == 0:
        near = sorted(n for n in places["NAME"].astype(str) if n[:3].casefold() == wanted[:3].casefold())
        raise InputError(
            f"`[census] place` {place!r} is not a place in `{path.name}`; give the exact name or the"
            f" 7-digit GEOID (state + place FIPS){'; similar: ' + str(near[:8]) if near else ''}"
        )
    if len(hit) > 1:
        options = [f"{g} {n}" for g, n in zip(hit["GEOID"], hit.get("NAMELSAD", hit["NAME"]), strict=True)]
        raise InputError(
            f"`[census] place` {place!r} matches {len(hit)} places ({options}); give the 7-digit GEOID"
        )
    return shapely.make_valid(hit.geometry.union_all())
