"""Shared fixtures: small districts built in code, and the real data beside the checkout."""

from __future__ import annotations

from pathlib import Path

import geopandas as gpd
import networkx as nx
import pandas as pd
import pytest
from shapely.geometry import Point, box

ROOT = Path(__file__).resolve().parents[1]
SHARED_DATA = ROOT.parent / "shared" / "data"
DEMO = ROOT / "data" / "demo"


def shared_path(*parts: str) -> Path:
    """A file under ``../shared/data``; skips the test (with the reason) when it is absent."""
    path = SHARED_DATA.joinpath(*parts)
    if not path.exists():
        pytest.skip(f"real data not available: {path} is missing (../shared/data beside the checkout)")
    return path


@pytest.fixture
def shared_data() -> Path:
    """The ``../shared/data`` folder; skips when it is absent."""
    if not SHARED_DATA.is_dir():
        pytest.skip(f"real data not available: {SHARED_DATA} is missing")
    return SHARED_DATA


@pytest.fixture
def shared_file():
    """``shared_file("reno-nv-osm/reno_east3.osm")``: a file under ``../shared/data``, or skip."""

    def get(relative: str) -> Path:
        return shared_path(*relative.split("/"))

    return get


@pytest.fixture(autouse=True)
def _private_cache(tmp_path_factory: pytest.TempPathFactory, monkeypatch: pytest.MonkeyPatch) -> Path:
    """Point ``zoning.settings.cache_folder`` at a fresh folder so tests never write to ~/.cache."""
    from zoning import settings

    folder = tmp_path_factory.mktemp("cache")
    monkeypatch.setattr(settings, "cache_folder", folder)
    return folder


def grid_units(n: int = 3, *, size_deg: float = 0.01, students: float = 10.0) -> gpd.GeoDataFrame:
    """An n x n grid of square units near (40N, 95W), ids ``g<row><col>``, row 0 at the south."""
    rows = []
    for r in range(n):
        for c in range(n):
            x0, y0 = -95.0 + c * size_deg, 40.0 + r * size_deg
            rows.append({"geoid": f"g{r}{c}", "students": students, "low_income": 0.0,
                         "geometry": box(x0, y0, x0 + size_deg, y0 + size_deg)})
    return gpd.GeoDataFrame(rows, crs="EPSG:4326").set_index("geoid")


@pytest.fixture
def grid() -> gpd.GeoDataFrame:
    """A 3x3 grid of units with 10 students each; the left column is poorer."""
    units = grid_units(3)
    units.loc[[f"g{r}0" for r in range(3)], "low_income"] = 8.0
    units.loc[[f"g{r}1" for r in range(3)], "low_income"] = 3.0
    units.loc[[f"g{r}2" for r in range(3)], "low_income"] = 1.0
    return units


@pytest.fixture
def two_schools() -> gpd.GeoDataFrame:
    """Schools in the bottom-left and top-right grid units."""
    return gpd.GeoDataFrame(
        {"name": ["West", "East"], "capacity": [50, 50]},
        geometry=[Point(-94.995, 40.005), Point(-94.975, 40.025)],
        index=pd.Index(["A", "B"], name="school_id"), crs="EPSG:4326",
    )


@pytest.fixture
def toy_graph() -> nx.MultiDiGraph:
    """A two-way street grid through the 3x3 units' centres, osmnx-style, 30 km/h."""
    G = nx.MultiDiGraph(crs="EPSG:4326")
    for r in range(3):
        for c in range(3):
            G.add_node(r * 3 + c, x=-94.995 + c * 0.01, y=40.005 + r * 0.01)
    for r in range(3):
        for c in range(3):
            for dr, dc in ((0, 1), (1, 0)):
                if r + dr < 3 and c + dc < 3:
                    a, b = r * 3 + c, (r + dr) * 3 + c + dc
                    length = 853.0 if dc else 1112.0
                    for u, v in ((a, b), (b, a)):
                        G.add_edge(u, v, length=length, highway="residential",
                                   speed_kph=30.0, travel_time=length / (30 / 3.6))
    return G
