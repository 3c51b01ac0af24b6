"""A small district written to disk in code, for scenario, sweep, check-plan and compare tests.

A 4 x 4 grid of square units (``u<row><col>``, row 0 at the south), 20 students each. The two
west columns are poor (16 low-income students per unit), the east columns rich (2 each, 3 in
``u33``): district share 145/320 = 0.453125. School A stands in ``u10`` (west), school B in
``u23`` (east), 200 seats each. Today's zones split west (A, share 0.80) from east (B, 0.10625).
A zone mixes incomes only with as many poor as rich units, e.g. the north/south split (shares
0.450 and 0.45625). No zone of whole units has exactly 0.453125 (20 n students would need
145 n / 16 low-income ones), so a band of 0 is infeasible.

Travel times are straight-line distance x circuity (no road file).
"""

from __future__ import annotations

from pathlib import Path

import geopandas as gpd
import pandas as pd
from shapely.geometry import Point, box

SIZE = 0.01
X0, Y0 = -95.0, 40.0


def unit_id(r: int, c: int) -> str:
    return f"u{r}{c}"


def district_units() -> gpd.GeoDataFrame:
    rows = []
    for r in range(4):
        for c in range(4):
            x, y = X0 + c * SIZE, Y0 + r * SIZE
            low = 16.0 if c < 2 else 2.0
            if (r, c) == (3, 3):
                low = 3.0
            rows.append({"geoid": unit_id(r, c), "students": 20.0, "low_income": low,
                         "geometry": box(x, y, x + SIZE, y + SIZE)})
    return gpd.GeoDataFrame(rows, crs="EPSG:4326")


def centre(r: int, c: int) -> Point:
    return Point(X0 + (c + 0.5) * SIZE, Y0 + (r + 0.5) * SIZE)


SCENARIO = """
name = "grid"

[units]
path = "units.geojson"

[schools]
path = "schools.geojson"

[current]
path = "current.geojson"

[policy]
min_utilization = 0.0
max_utilization = 1.0
band = 0.40
contiguity = true

[solver]
time_limit_s = 60
gap = 0.0
"""


def write_district(folder: Path, *, scenario: str = SCENARIO) -> Path:
    """Write the district's files and scenario into ``folder``; return the scenario path."""
    folder.mkdir(parents=True, exist_ok=True)
    units = district_units()
    units.to_file(folder / "units.geojson", driver="GeoJSON")
    schools = gpd.GeoDataFrame(
        {"school_id": ["A", "B"], "name": ["West", "East"], "capacity": [200, 200]},
        geometry=[centre(1, 0), centre(2, 3)], crs="EPSG:4326",
    )
    schools.to_file(folder / "schools.geojson", driver="GeoJSON")
    current = gpd.GeoDataFrame(
        {"school_id": ["A", "B"]},
        geometry=[box(X0, Y0, X0 + 2 * SIZE, Y0 + 4 * SIZE),
                  box(X0 + 2 * SIZE, Y0, X0 + 4 * SIZE, Y0 + 4 * SIZE)],
        crs="EPSG:4326",
    )
    current.to_file(folder / "current.geojson", driver="GeoJSON")
    path = folder / "scenario.toml"
    path.write_text(scenario, encoding="utf-8")
    return path


def row_split_plan() -> pd.Series:
    """South half to A, north half to B: the only mixed split."""
    return pd.Series({unit_id(r, c): ("A" if r < 2 else "B") for r in range(4) for c in range(4)},
                     name="school_id").rename_axis("geoid")


def column_split_plan() -> pd.Series:
    """West half to A, east half to B: today's zones."""
    return pd.Series({unit_id(r, c): ("A" if c < 2 else "B") for r in range(4) for c in range(4)},
                     name="school_id").rename_axis("geoid")
