"""Every file write: atomic (temporary file or folder, then rename) and deterministic.

An output folder is either complete or absent; a previous folder at the same path stays intact
until the new one is complete.
"""

from __future__ import annotations

import io
import json
import math
import os
import shutil
import tempfile
import zipfile
from collections.abc import Callable
from pathlib import Path
from typing import Any

import geopandas as gpd
import numpy as np
import pandas as pd
import pyogrio
import shapely

from .errors import InputError

#: Decimal places kept for coordinates in exported files (about 1 cm).
COORD_DECIMALS = 7

#: Date stamped into GeoPackage metadata and shapefile (dBase) headers, so that the same plan
#: gives the same bytes on every run.
FIXED_DATE = "2000-01-01"


def _clean(value: Any) -> Any:
    if isinstance(value, dict):
        return {str(k): _clean(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_clean(v) for v in value]
    if isinstance(value, np.integer):
        return int(value)
    if isinstance(value, np.floating | float):
        f = float(value)
        return None if not math.isfinite(f) else f
    if isinstance(value, np.bool_):
        return bool(value)
    if isinstance(value, Path):
        return str(value)
    if value is pd.NA or value is pd.NaT:
        return None
    return value


def to_json_text(data: Any) -> str:
    """JSON text with stable key order, NaN as null, and a final newline."""
    return json.dumps(_clean(data), indent=2, sort_keys=True, allow_nan=False) + "\n"


def geojson_text(gdf: gpd.GeoDataFrame, *, decimals: int = COORD_DECIMALS, name: str | None = None) -> str:
    """GeoJSON FeatureCollection text of ``gdf`` (EPSG:4326) with rounded coordinates.

    The index is written as an ordinary property when it is named. Output is byte-stable.
    """
    frame = gdf.reset_index() if gdf.index.name else gdf
    geoms = shapely.transform(frame.geometry.to_numpy(), lambda c: np.round(c, decimals))
    props = frame.drop(columns=frame.geometry.name)
    features = []
    for geom, rec in zip(geoms, props.to_dict(orient="records"), strict=True):
        features.append({"type": "Feature", "properties": _clean(rec),
                         "geometry": shapely.geometry.mapping(geom) if geom is not None else None})
    doc: dict[str, Any] = {"type": "FeatureCollection"}
    if name:
        doc["name"] = name
    doc["features"] = features
    return json.dumps(_clean(doc), separators=(",", ":"), allow_nan=False) + "\n"


def csv_text(df: pd.DataFrame, *, index: bool = True, float_format: str = "%.6g") -> str:
    """CSV text with ``\\n`` line ends and a fixed float format."""
    return df.to_csv(index=index, lineterminator="\n", float_format=float_format)


def _umask_mode(mode: int) -> int:
    """``mode`` less the process umask: what ``open``/``mkdir`` would give (temporaries are private)."""
    mask = os.umask(0)
    os.umask(mask)
    return mode & ~mask


def atomic_write_text(path: Path, text: str) -> Path:
    """Write ``text`` as UTF-8 (line ends as given) to ``path`` atomically, like
    :func:`atomic_write_bytes`."""
    return atomic_write_bytes(path, str.encode(text, "utf-8"))


def atomic_write_bytes(path: Path, data: bytes) -> Path:
    """Write ``data`` to ``path`` through a temporary file in the same folder, then rename.

    A reader never sees a partial file: the path holds either the previous content or ``data``.
    """
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", dir=path.parent)
    try:
        with os.fdopen(fd, "wb") as fh:
            fh.write(data)
        os.chmod(tmp, _umask_mode(0o666))
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    return path


def check_output_folder(folder: Path, *, marker: str = "metrics.json") -> None:
    """Raise :class:`InputError` unless ``folder`` may receive a run's outputs.

    Allowed: a path that does not exist yet, an empty folder, or a previous output folder
    (recognised by ``marker``), which :func:`save_folder` replaces once the new one is complete.
    Anything else (a file, or a folder holding other files) is refused, so a mistyped ``--out``
    never replaces someone's data.

    Raises
    ------
    InputError
        Naming the path, what it holds and the fix.
    """
    folder = Path(folder)
    if not folder.exists():
        if folder.is_symlink():
            raise InputError(f"output folder `{folder}` is a broken symbolic link; choose another folder")
        parent = next((p for p in folder.parents if p.exists()), None)
        if parent is not None and not parent.is_dir():
            raise InputError(f"output folder `{folder}` lies under `{parent}`, which is a file; choose"
                             " another folder (`--out` or `[output] folder`)")
        return
    if not folder.is_dir():
        raise InputError(
            f"output folder `{folder}` is an existing file, not a folder; choose another path with `--out`"
            " or `[output] folder`"
        )
    names = sorted(p.name for p in folder.iterdir())
    if names and marker not in names:
        raise InputError(
            f"output folder `{folder}` already holds other files ({names[:5]}) and no `{marker}` of an"
            " earlier plan; it would be replaced, so choose a new or empty folder with `--out` or"
            " `[output] folder`"
        )


def save_folder(folder: Path, writers: dict[str, Callable[[Path], None]]) -> Path:
    """Create ``folder`` atomically: every writer fills a temporary sibling folder, then it is
    renamed into place. A previous folder is replaced only once the new one is complete.

    Parameters
    ----------
    folder
        Destination folder.
    writers
        ``file name -> function(path)`` that writes that file.
    """
    folder = Path(folder)
    folder.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=f".{folder.name}.tmp-", dir=folder.parent))
    try:
        os.chmod(tmp, _umask_mode(0o777))  # mkdtemp makes it private; the result is an ordinary folder
        for name in sorted(writers):
            writers[name](tmp / name)
        old = None
        if folder.exists():
            old = Path(tempfile.mkdtemp(prefix=f".{folder.name}.old-", dir=folder.parent))
            os.replace(folder, old / "previous")
        try:
            os.replace(tmp, folder)
        except BaseException:
            if old is not None:
                os.replace(old / "previous", folder)
                old.rmdir()
            raise
        if old is not None:
            shutil.rmtree(old, ignore_errors=True)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    return folder


def text_writer(text: str) -> Callable[[Path], None]:
    """A writer for :func:`save_folder` that writes fixed text."""

    def write(path: Path) -> None:
        path.write_text(text, encoding="utf-8", newline="")

    return write


def bytes_writer(data: bytes) -> Callable[[Path], None]:
    """A writer for :func:`save_folder` that writes fixed bytes."""

    def write(path: Path) -> None:
        path.write_bytes(data)

    return write


def _layer_frame(gdf: gpd.GeoDataFrame, *, decimals: int) -> gpd.GeoDataFrame:
    """The layer as written: named index as a column, rounded coordinates, EPSG:4326."""
    frame = gdf.reset_index() if gdf.index.name else gdf.reset_index(drop=True)
    geoms = shapely.transform(frame.geometry.to_numpy(), lambda c: np.round(c, decimals))
    out = gpd.GeoDataFrame(frame.drop(columns=frame.geometry.name), geometry=geoms, crs=gdf.crs)
    for col in out.columns:
        if col != "geometry" and out[col].dtype == object:
            out[col] = out[col].map(lambda v: None if v is None or (isinstance(v, float) and math.isnan(v))
                                    else v)
    return out


def geopackage_writer(layers: dict[str, gpd.GeoDataFrame], *,
                      decimals: int = COORD_DECIMALS) -> Callable[[Path], None]:
    """A writer for :func:`save_folder` of one GeoPackage holding every layer of ``layers``.

    Each layer's named index becomes its first column; coordinates are rounded to ``decimals``
    and the metadata date is :data:`FIXED_DATE`, so the file is byte-stable.
    """

    def write(path: Path) -> None:
        pyogrio.set_gdal_config_options({"OGR_CURRENT_DATE": f"{FIXED_DATE}T00:00:00.000Z"})
        try:
            for name in layers:
                pyogrio.write_dataframe(_layer_frame(layers[name], decimals=decimals), path,
                                        layer=name, driver="GPKG")
        finally:
            pyogrio.set_gdal_config_options({"OGR_CURRENT_DATE": None})

    return write


def shapefile_zip_writer(layers: dict[str, gpd.GeoDataFrame], *, field_names: dict[str, str] | None = None,
                         decimals: int = COORD_DECIMALS) -> Callable[[Path], None]:
    """A writer for :func:`save_folder` of a zip holding one shapefile per layer.

    dBase limits column names to 10 characters: ``field_names`` maps longer names to short
    ones; any other long name is cut to 10 characters (made unique with a digit). Text is UTF-8
    (a ``.cpg`` file says so). Entries are sorted and dated :data:`FIXED_DATE`, so the zip is
    byte-stable.
    """
    field_names = dict(field_names or {})

    def short_names(columns: list[str]) -> dict[str, str]:
        out: dict[str, str] = {}
        used: set[str] = set()
        for col in columns:
            name = field_names.get(col, col)[:10]
            base, k = name, 1
            while name.lower() in used:
                name = f"{base[:10 - len(str(k))]}{k}"
                k += 1
            used.add(name.lower())
            out[col] = name
        return out

    def write(path: Path) -> None:
        year, month, day = (int(x) for x in FIXED_DATE.split("-"))
        buffer = io.BytesIO()
        with tempfile.TemporaryDirectory(prefix=".shp-", dir=path.parent) as tmp:
            for name in layers:
                frame = _layer_frame(layers[name], decimals=decimals)
                names = short_names([c for c in frame.columns if c != "geometry"])
                pyogrio.write_dataframe(frame.rename(columns=names), Path(tmp) / f"{name}.shp",
                                        driver="ESRI Shapefile", encoding="UTF-8",
                                        layer_options={"DBF_DATE_LAST_UPDATE": FIXED_DATE})
            with zipfile.ZipFile(buffer, "w", compression=zipfile.ZIP_DEFLATED) as zf:
                for file in sorted(Path(tmp).iterdir()):
                    info = zipfile.ZipInfo(file.name, date_time=(year, month, day, 0, 0, 0))
                    info.compress_type = zipfile.ZIP_DEFLATED
                    info.external_attr = 0o644 << 16
                    zf.writestr(info, file.read_bytes())
        path.write_bytes(buffer.getvalue())

    return write
