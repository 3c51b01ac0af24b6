"""Reading vector and table files with errors that name the file and the fix.

Every loader (units, schools, current boundaries, student records) reads through here, so
the messages for a missing, empty or unreadable file are the same everywhere.
"""

from __future__ import annotations

import logging
from pathlib import Path

import geopandas as gpd
import pandas as pd
import pyogrio
import shapely

from . import settings
from .errors import InputError

log = logging.getLogger(__name__)

VECTOR_SUFFIXES = {".geojson", ".json", ".gpkg", ".shp", ".zip", ".fgb", ".parquet"}


def check_file(path: Path, what: str, *, key: str) -> None:
    """Raise :class:`InputError` unless ``path`` is an existing, non-empty file."""
    if not path.exists():
        raise InputError(f"{what} file `{path}` does not exist; fix `{key}` in the scenario")
    if not path.is_file():
        raise InputError(f"{what} path `{path}` is a folder, not a file; fix `{key}` in the scenario")
    if path.stat().st_size == 0:
        raise InputError(f"{what} file `{path}` is empty; export the layer again")


def read_vector(
    path: Path,
    what: str,
    *,
    key: str,
    layer: str | None = None,
    string_columns: tuple[str, ...] = (),
) -> gpd.GeoDataFrame:
    """Read a vector file (GeoJSON, GeoPackage, shapefile or zipped shapefile) in EPSG:4326.

    Parameters
    ----------
    path
        The file.
    what
        What the file holds, for messages ("units", "schools", ...).
    key
        The scenario key that named the file, for messages.
    layer
        Layer of a multi-layer file (GeoPackage).
    string_columns
        Columns read as text so identifiers keep their leading zeros.

    Raises
    ------
    InputError
        Missing, empty, unreadable or CRS-less files.
    """
    check_file(path, what, key=key)
    if path.suffix.lower() not in VECTOR_SUFFIXES:
        raise InputError(
            f"{what} file `{path}` has suffix `{path.suffix}`; expected one of"
            f" {sorted(VECTOR_SUFFIXES)} (GeoJSON, GeoPackage or shapefile)"
        )
    source = f"zip://{path}" if path.suffix.lower() == ".zip" else str(path)
    if layer is not None:
        _check_layer(source, path, what, key=key, layer=layer)
    try:
        gdf = gpd.read_file(source, layer=layer, engine="pyogrio")
    except Exception as exc:  # pyogrio raises several unrelated types for unreadable data
        raise InputError(
            f"{what} file `{path}` cannot be read as a vector file ({type(exc).__name__}: {exc});"
            " check that it is a complete GeoJSON, GeoPackage or shapefile"
        ) from exc
    if string_columns:
        gdf = _restore_strings(gdf, path, string_columns)
    if len(gdf) == 0:
        raise InputError(f"{what} file `{path}` has no features; export the layer again")
    if "geometry" not in gdf or gdf.geometry.isna().all():
        raise InputError(f"{what} file `{path}` has no geometry column")
    if gdf.crs is None:
        raise InputError(
            f"{what} file `{path}` has no coordinate reference system; save it with a CRS"
            " (for a shapefile, include the .prj file)"
        )
    if gdf.crs.is_geographic:
        _check_degrees(gdf, path, what)
    if not gdf.crs.equals(settings.default_crs):
        gdf = gdf.to_crs(settings.default_crs)
    return gdf


def _check_layer(source: str, path: Path, what: str, *, key: str, layer: str) -> None:
    """Raise :class:`InputError` naming the layers of ``path`` when ``layer`` is not one of them."""
    try:
        names = [str(n) for n in pyogrio.list_layers(source)[:, 0]]
    except Exception:  # unreadable: read_file below reports it
        return
    if layer not in names:
        section = key.split()[0] if key.startswith("[") else "[...]"
        raise InputError(
            f"{what} file `{path}` has no layer {layer!r}; its layers are {names}: fix `{section} layer`"
        )


def _check_degrees(gdf: gpd.GeoDataFrame, path: Path, what: str) -> None:
    """Coordinates of a file in a geographic CRS must be degrees (|lon| <= 180, |lat| <= 90)."""
    geoms = gdf.geometry.to_numpy()
    present = geoms[~(shapely.is_missing(geoms) | shapely.is_empty(geoms))]
    if len(present) == 0:
        return
    xmin, ymin, xmax, ymax = (float(v) for v in shapely.total_bounds(present))
    if max(abs(xmin), abs(xmax)) <= 180 and max(abs(ymin), abs(ymax)) <= 90:
        return
    found = (f"{what} file `{path}` has coordinates outside longitude/latitude range (x {xmin:,.0f} to"
             f" {xmax:,.0f}, y {ymin:,.0f} to {ymax:,.0f}) although its CRS is {gdf.crs.to_string()}")
    if max(abs(xmin), abs(xmax)) <= 90 and max(abs(ymin), abs(ymax)) <= 180:
        raise InputError(f"{found}; they look swapped: longitude (x) comes first, then latitude (y)")
    raise InputError(
        f"{found} (degrees); they look projected (metres or feet): save the file with the CRS it"
        " really uses (GeoJSON is always longitude/latitude, so reproject it to EPSG:4326)"
    )


def _restore_strings(gdf: gpd.GeoDataFrame, path: Path, columns: tuple[str, ...]) -> gpd.GeoDataFrame:
    """Keep identifier columns as text; reject ones stored as numbers that may have lost zeros."""
    for col in columns:
        if col not in gdf.columns:
            continue
        series = gdf[col]
        if pd.api.types.is_numeric_dtype(series):
            raise InputError(
                f"`{path}` column `{col}` holds numbers, not text: identifiers such as GEOIDs"
                " lose their leading zeros as numbers; store the column as text"
                " (quote the values)"
            )
        gdf[col] = series.astype("string").astype(object)
    return gdf


def read_table(path: Path, what: str, *, key: str, string_columns: tuple[str, ...] = ()) -> pd.DataFrame:
    """Read a CSV table; identifier columns are read as text.

    Raises
    ------
    InputError
        Missing, empty or unparseable files.
    """
    check_file(path, what, key=key)
    try:
        df = pd.read_csv(path, dtype={c: str for c in string_columns}, encoding="utf-8-sig")
    except (pd.errors.ParserError, pd.errors.EmptyDataError, UnicodeDecodeError) as exc:
        raise InputError(
            f"{what} file `{path}` cannot be read as CSV ({exc}); save it as comma-separated UTF-8"
        ) from exc
    if len(df) == 0:
        raise InputError(f"{what} file `{path}` has a header but no rows")
    return df


def require_columns(df: pd.DataFrame, columns: dict[str, str], path: Path, what: str) -> None:
    """Raise one :class:`InputError` naming every missing column and the scenario key to set.

    ``columns`` maps a column name to the scenario key that names it.
    """
    missing = [(c, k) for c, k in columns.items() if c not in df.columns]
    if missing:
        found = [c for c in df.columns if c != "geometry"]
        parts = "; ".join(f"no column `{c}` (set `{k}`)" for c, k in missing)
        raise InputError(f"{what} file `{path}`: {parts}; found columns {found}")
