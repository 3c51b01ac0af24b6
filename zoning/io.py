"""Every file write: atomic (temporary file or folder, then rename) and deterministic.

An output folder is either complete or absent; a previous folder at the same path stays intact
until the new one is complete.
"""

from __future__ import annotations

import json
import math
import os
import shutil
import tempfile
from collections.abc import Callable
from pathlib import Path
from typing import Any

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely

from .errors import InputError

#: Decimal places kept for coordinates in exported files (about 1 cm).
COORD_DECIMALS = 7


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
    """Write ``text`` to ``path`` through a temporary file in the same folder, then rename."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", dir=path.parent)
    try:
        with os.fdopen(fd, "w", encoding="utf-8", newline="") as fh:
            fh.write(text)
        os.chmod(tmp, _umask_mode(0o666))
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    return path


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
