"""Census inputs in their real formats, built in code for the tests.

- block groups with the TIGER/Line attribute table (STATEFP, COUNTYFP, TRACTCE, BLKGRPCE, GEOID,
  NAMELSAD, MTFCC, FUNCSTAT, ALAND, AWATER, INTPTLAT, INTPTLON) in NAD83, for Alabama (state
  "01", so every GEOID starts with a zero), zipped like ``tl_2022_01_bg.zip``;
- Census API JSON answers (``[[header], [row], ...]``, values as text, geography columns last);
- data.census.gov CSV exports (two header rows, ``GEO_ID`` = ``1500000US...``).
"""

from __future__ import annotations

import csv
import io
import json
import tempfile
import zipfile
from pathlib import Path

import geopandas as gpd
import pandas as pd
from shapely.geometry import box

#: Autauga County, Alabama: south-west corner of the test grid (lon, lat) and cell size (deg).
ORIGIN = (-86.50, 32.45)
CELL = 0.01


def block_groups(counties: dict[str, int] | None = None, *, state: str = "01") -> gpd.GeoDataFrame:
    """A row of ``n`` x 3 block groups per county, side by side, with TIGER/Line fields.

    County "001" gets tracts 020100 (block groups 1-3), 020200 (1-3), 020300 (1-3) for n = 3.
    """
    counties = counties or {"001": 3}
    rows = []
    col0 = 0
    for county, n in counties.items():
        for t in range(n):
            tract = f"020{t + 1}00"
            for b in range(3):
                x0 = ORIGIN[0] + (col0 + t) * CELL
                y0 = ORIGIN[1] + b * CELL
                geom = box(x0, y0, x0 + CELL, y0 + CELL)
                rows.append(
                    {
                        "STATEFP": state,
                        "COUNTYFP": county,
                        "TRACTCE": tract,
                        "BLKGRPCE": str(b + 1),
                        "GEOID": f"{state}{county}{tract}{b + 1}",
                        "NAMELSAD": f"Block Group {b + 1}",
                        "MTFCC": "G5030",
                        "FUNCSTAT": "S",
                        "ALAND": 1_000_000.0 + 1000 * b,
                        "AWATER": 0.0,
                        "INTPTLAT": f"+{y0 + CELL / 2:.7f}",
                        "INTPTLON": f"{x0 + CELL / 2:.7f}",
                        "geometry": geom,
                    }
                )
        col0 += n
    return gpd.GeoDataFrame(rows, geometry="geometry", crs="EPSG:4269")


def shapefile_zip(gdf: gpd.GeoDataFrame, stem: str) -> bytes:
    """The bytes of a zip holding ``stem``.shp/.shx/.dbf/.prj/.cpg, as TIGER/Line publishes."""
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / f"{stem}.shp"
        gdf.to_file(path, driver="ESRI Shapefile", engine="pyogrio")
        buf = io.BytesIO()
        with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as archive:
            for part in sorted(Path(tmp).iterdir()):
                archive.write(part, part.name)
        return buf.getvalue()


def places(state: str = "01") -> gpd.GeoDataFrame:
    """TIGER/Line places: one town over the first two tracts' columns of the grid, one far away."""
    town = box(
        ORIGIN[0] - 0.001, ORIGIN[1] - 0.001, ORIGIN[0] + 2 * CELL - 0.004, ORIGIN[1] + 3 * CELL + 0.001
    )
    far = box(-87.9, 33.9, -87.8, 34.0)
    return gpd.GeoDataFrame(
        {
            "STATEFP": [state, state],
            "PLACEFP": ["62328", "99999"],
            "GEOID": [f"{state}62328", f"{state}99999"],
            "NAME": ["Prattville", "Faraway"],
            "NAMELSAD": ["Prattville city", "Faraway town"],
            "LSAD": ["25", "43"],
            "ALAND": [1.0, 1.0],
            "AWATER": [0.0, 0.0],
        },
        geometry=[town, far],
        crs="EPSG:4269",
    )


def acs_value(variable: str, geoid: str) -> str:
    """A deterministic, plausible value (as text, like the API) for one variable and unit."""
    k = int(geoid[-4:]) % 97
    table, rest = variable.split("_")
    number, kind = int(rest[:3]), rest[3]
    if table == "B19013":
        return str(40000 + 500 * k) if kind == "E" else str(8000 + 10 * k)
    if kind == "M":
        return str(10 + number + k % 7)
    if table == "B01001":
        return str(20 + 3 * number + k % 11)
    if table == "C17002":
        if number == 1:
            return str(900 + 10 * k % 50)
        return str(30 + 5 * number + k % 13)
    return "0"


def api_json(variables: list[str], geoids: list[str], *, overrides: dict | None = None) -> str:
    """A Census API answer for block groups: NAME, the variables, then the geography columns."""
    header = ["NAME", *variables, "state", "county", "tract", "block group"]
    rows: list[list[str | None]] = [header]
    for g in geoids:
        name = f"Block Group {g[11]}; Census Tract {int(g[5:11]) / 100:g}; Autauga County; Alabama"
        values = [acs_value(v, g) for v in variables]
        for (og, ov), val in (overrides or {}).items():
            if og == g and ov in variables:
                values[variables.index(ov)] = val
        rows.append([name, *values, g[:2], g[2:5], g[5:11], g[11]])
    return json.dumps(rows)


def census_csv(path: Path, variables: list[str], geoids: list[str], *, overrides: dict | None = None) -> Path:
    """A data.census.gov CSV export: codes row, labels row, one row per block group."""
    labels = {"E": "Estimate!!Total:", "M": "Margin of Error!!Total:"}
    with path.open("w", newline="", encoding="utf-8") as fh:
        w = csv.writer(fh, quoting=csv.QUOTE_ALL)
        w.writerow(["GEO_ID", "NAME", *variables, ""])
        w.writerow(["Geography", "Geographic Area Name", *[labels[v[-1]] for v in variables], ""])
        for g in geoids:
            values = [acs_value(v, g) for v in variables]
            for (og, ov), val in (overrides or {}).items():
                if og == g and ov in variables:
                    values[variables.index(ov)] = val
            w.writerow(
                [
                    f"1500000US{g}",
                    f"Block Group {g[11]}; Census Tract {int(g[5:11]) / 100:g}; Autauga County; Alabama",
                    *values,
                    "",
                ]
            )
    return path


def variables(table: str) -> list[str]:
    """Every E/M variable of a supported table (as the downloader asks for them)."""
    from zoning.download import ACS_VARIABLES

    return [f"{v}{k}" for v in ACS_VARIABLES[table] for k in ("E", "M")]


def expected(variable: str, geoids: list[str]) -> pd.Series:
    """The numbers :func:`acs_value` gives, as floats indexed by geoid."""
    return pd.Series([float(acs_value(variable, g)) for g in geoids], index=geoids, dtype=float)
