"""A small valid district written as files, for tests that break or rerun it.

A 4 x 3 grid of square units (10 students each, GEOIDs with a leading zero), two schools, today's
zones, an OSM road file, student records and an ACS C17002 table, all consistent, plus the
scenario that plans it. Tests edit :class:`District` data before :meth:`District.write`.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

# ------------------------------------------------------------------------- the valid district
X0, Y0 = -95.0, 40.0
CELL = 0.01  # degrees: about 850 m east-west, 1,110 m north-south here
COLS, ROWS = 4, 3
LOW_BY_COL = (6, 4, 2, 0)  # low-income students per unit, by column (10 students each)


def geoid(row: int, col: int) -> str:
    """12-character GEOID with a leading zero (state 01): lost zeros are detectable."""
    return f"01001{row:03d}{col:03d}1"


def square(x0: float, y0: float, x1: float, y1: float) -> list[list[list[float]]]:
    return [[[x0, y0], [x1, y0], [x1, y1], [x0, y1], [x0, y0]]]


def unit_features() -> list[dict[str, Any]]:
    out = []
    for r in range(ROWS):
        for c in range(COLS):
            x, y = X0 + c * CELL, Y0 + r * CELL
            out.append({
                "type": "Feature",
                "properties": {"geoid": geoid(r, c), "students": 10, "low_income": LOW_BY_COL[c],
                               "population": 60},
                "geometry": {"type": "Polygon", "coordinates": square(x, y, x + CELL, y + CELL)},
            })
    return out


def centre(row: int, col: int) -> list[float]:
    return [round(X0 + (col + 0.5) * CELL, 6), round(Y0 + (row + 0.5) * CELL, 6)]


def school_features() -> list[dict[str, Any]]:
    return [
        {"type": "Feature", "properties": {"school_id": "A", "name": "West", "capacity": 80},
         "geometry": {"type": "Point", "coordinates": centre(0, 0)}},
        {"type": "Feature", "properties": {"school_id": "B", "name": "East", "capacity": 80},
         "geometry": {"type": "Point", "coordinates": centre(2, 3)}},
    ]


def current_features() -> list[dict[str, Any]]:
    mid = X0 + 2 * CELL
    top = Y0 + ROWS * CELL
    return [
        {"type": "Feature", "properties": {"school_id": "A"},
         "geometry": {"type": "Polygon", "coordinates": square(X0, Y0, mid, top)}},
        {"type": "Feature", "properties": {"school_id": "B"},
         "geometry": {"type": "Polygon", "coordinates": square(mid, Y0, X0 + COLS * CELL, top)}},
    ]


def osm_text(highway: str = "residential", *, cut_column: int | None = None) -> str:
    """OSM XML: a street through every row and every column of unit centres.

    Each centre also has a short dead-end spur, so it stays a graph node after simplification.
    With ``cut_column``, that column's units sit on a street of their own that joins no other.
    """
    lines = ["<?xml version='1.0' encoding='UTF-8'?>", '<osm version="0.6" generator="test">']
    nid = {}
    runs = []
    for r in range(ROWS):
        for c in range(COLS):
            nid[r, c] = 1 + r * COLS + c
            lon, lat = centre(r, c)
            lines.append(f'  <node id="{nid[r, c]}" lat="{lat:.7f}" lon="{lon:.7f}"/>')
            lines.append(f'  <node id="{100 + nid[r, c]}" lat="{lat + 0.001:.7f}" lon="{lon:.7f}"/>')
            runs.append([nid[r, c], 100 + nid[r, c]])
    way = 1000
    runs += [[nid[r, c] for c in range(COLS) if c != cut_column] for r in range(ROWS)]
    runs += [[nid[r, c] for r in range(ROWS)] for c in range(COLS)]
    for refs in runs:
        way += 1
        lines.append(f'  <way id="{way}">')
        lines += [f'    <nd ref="{n}"/>' for n in refs]
        lines.append(f'    <tag k="highway" v="{highway}"/>')
        lines.append("  </way>")
    lines.append("</osm>")
    return "\n".join(lines) + "\n"


def records_csv() -> str:
    """Student records: 10 students at every unit centre, FRL as in the units file."""
    rows = ["student_id,lon,lat,grade,frl"]
    n = 0
    for r in range(ROWS):
        for c in range(COLS):
            lon, lat = centre(r, c)
            for k in range(10):
                n += 1
                rows.append(f"s{n},{lon},{lat},3,{'yes' if k < LOW_BY_COL[c] else 'no'}")
    return "\n".join(rows) + "\n"


def acs_json(*, zeros: bool = True) -> str:
    """A Census API answer for C17002 covering every unit (geography columns as text)."""
    header = ["NAME", *[f"C17002_00{i}E" for i in range(1, 7)], "state", "county", "tract", "block group"]
    rows: list[list[Any]] = [header]
    for r in range(ROWS):
        for c in range(COLS):
            g = geoid(r, c)
            below = [str(LOW_BY_COL[c]), "0", "0", "0", "0"]
            state = g[:2] if zeros else str(int(g[:2]))
            rows.append([f"Block Group {g[-1]}", "10", *below, state, g[2:5], g[5:11], g[11]])
    return json.dumps(rows) + "\n"


def _toml_value(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, str):
        return json.dumps(value)
    if isinstance(value, list):
        return "[" + ", ".join(_toml_value(v) for v in value) + "]"
    return repr(value)


def toml_text(data: dict[str, Any]) -> str:
    """TOML text of a scenario dict: top-level keys, ``[section]`` tables and one level below."""
    lines = [f"{k} = {_toml_value(v)}" for k, v in data.items() if not isinstance(v, dict)]
    for section, table in data.items():
        if not isinstance(table, dict):
            continue
        lines.append(f"\n[{section}]")
        lines += [f"{k} = {_toml_value(v)}" for k, v in table.items() if not isinstance(v, dict)]
        for key, sub in table.items():
            if isinstance(sub, dict):
                lines.append(f"\n[{section}.{key}]")
                lines += [f"{json.dumps(k)} = {_toml_value(v)}" for k, v in sub.items()]
    return "\n".join(lines) + "\n"


def base_scenario() -> dict[str, Any]:
    return {
        "name": "tiny",
        "units": {"path": "units.geojson", "population": "population"},
        "schools": {"path": "schools.geojson"},
        "current": {"path": "current.geojson"},
        "policy": {"min_utilization": 0.5, "max_utilization": 1.0, "band": 0.15, "band_mode": "hard",
                   "contiguity": True},
        "solver": {"name": "highs", "time_limit_s": 30, "gap": 0.0},
    }


def feature_collection(features: list[dict[str, Any]]) -> str:
    return json.dumps({"type": "FeatureCollection", "features": features}) + "\n"


@dataclass
class District:
    """The files of a small valid district; cases edit the data, then :meth:`write` saves it."""

    scenario: dict[str, Any] = field(default_factory=base_scenario)
    units: list[dict[str, Any]] = field(default_factory=unit_features)
    schools: list[dict[str, Any]] = field(default_factory=school_features)
    current: list[dict[str, Any]] = field(default_factory=current_features)
    #: Replacements: text, bytes, a function that writes the file, or None (not written).
    files: dict[str, Any] = field(default_factory=dict)

    def write(self, folder: Path) -> Path:
        """Write every file into ``folder``; returns the scenario path."""
        folder.mkdir(parents=True, exist_ok=True)
        texts: dict[str, Any] = {
            "units.geojson": feature_collection(self.units),
            "schools.geojson": feature_collection(self.schools),
            "current.geojson": feature_collection(self.current),
            "roads.osm": osm_text(),
            "records.csv": records_csv(),
            "c17002.json": acs_json(),
            "scenario.toml": toml_text(self.scenario),
        }
        texts.update(self.files)
        for name, content in texts.items():
            if content is None:
                continue
            path = folder / name
            if callable(content):
                content(path)
            elif isinstance(content, bytes):
                path.write_bytes(content)
            else:
                path.write_text(content, encoding="utf-8")
        return folder / "scenario.toml"

    def prop(self, layer: str, index: int, key: str, value: Any) -> None:
        """Set property ``key`` of feature ``index`` of ``units``/``schools``/``current``."""
        getattr(self, layer)[index]["properties"][key] = value

    def drop(self, name: str) -> None:
        """The file ``name`` is not written."""
        self.files[name] = None
