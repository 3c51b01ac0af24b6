"""Current boundaries -> current school per unit; school points joined to a capacity table."""

from __future__ import annotations

import logging
from pathlib import Path

import geopandas as gpd
import pytest
from _census_data import CELL, ORIGIN, block_groups
from shapely.geometry import Point, box

from zoning.errors import InputError
from zoning.scenario import SchoolsConfig
from zoning.schools import assign_current, load_schools

X0, Y0 = ORIGIN


def unit(row: int, col: int) -> str:
    """GEOID of the grid cell in column ``col`` (tract 0201+col) and row ``row`` (block group)."""
    return f"01001020{col + 1}00{row + 1}"


@pytest.fixture()
def units() -> gpd.GeoDataFrame:
    gdf = block_groups().set_index("GEOID").rename_axis("geoid").to_crs("EPSG:4326")
    gdf["population"] = 100.0
    return gdf[["population", "geometry"]]


@pytest.fixture()
def zones() -> gpd.GeoDataFrame:
    a = box(X0, Y0, X0 + 1.3 * CELL, Y0 + 2 * CELL).union(box(X0, Y0 + 2 * CELL, X0 + CELL, Y0 + 2.5 * CELL))
    b = box(X0 + 1.3 * CELL, Y0, X0 + 3 * CELL, Y0 + 2 * CELL)
    return gpd.GeoDataFrame({"school_id": ["A", "B"]}, geometry=[a, b], crs="EPSG:4326")


def test_largest_overlap_split_units_and_units_in_no_zone(
    units: gpd.GeoDataFrame, zones: gpd.GeoDataFrame, caplog: pytest.LogCaptureFixture
) -> None:
    with caplog.at_level(logging.WARNING, logger="zoning.schools"):
        current, report = assign_current(units, zones, weight="population")
    assert current.to_dict() == {
        unit(0, 0): "A",
        unit(1, 0): "A",
        unit(2, 0): "A",
        unit(0, 1): "B",
        unit(1, 1): "B",
        unit(0, 2): "B",
        unit(1, 2): "B",
    }
    assert unit(2, 1) not in current.index and unit(2, 2) not in current.index
    r = report.loc[unit(0, 1)]
    assert r["school_id"] == "B" and r["second_school_id"] == "A" and bool(r["split"])
    assert r["share"] == pytest.approx(0.7, abs=0.01) and r["second_share"] == pytest.approx(0.3, abs=0.01)
    assert r["people_elsewhere"] == pytest.approx(30, abs=1)
    half = report.loc[unit(2, 0)]
    assert half["school_id"] == "A" and bool(half["split"])
    assert half["outside_share"] == pytest.approx(0.5, abs=0.01)
    whole = report.loc[unit(0, 0)]
    assert whole["share"] == pytest.approx(1.0, abs=1e-4) and not bool(whole["split"])
    assert whole["people_elsewhere"] == pytest.approx(0.0, abs=0.01)
    assert sorted(report.index[report["split"]]) == sorted([unit(0, 1), unit(1, 1), unit(2, 0)])
    assert "3 units are split between current zones" in caplog.text
    assert "2 units overlap no current zone" in caplog.text


def test_several_polygons_of_one_school_add_up(units: gpd.GeoDataFrame) -> None:
    # a unit 45% in one polygon of A, 40% in B, 15% in a second polygon of A -> A (60%)
    g = unit(0, 0)
    pieces = [
        box(X0, Y0, X0 + 0.45 * CELL, Y0 + CELL),
        box(X0 + 0.45 * CELL, Y0, X0 + 0.85 * CELL, Y0 + CELL),
        box(X0 + 0.85 * CELL, Y0, X0 + CELL, Y0 + CELL),
    ]
    zones = gpd.GeoDataFrame({"school_id": ["A", "B", "A"]}, geometry=pieces, crs="EPSG:4326")
    current, report = assign_current(units.loc[[g]], zones)
    assert current[g] == "A" and report.at[g, "share"] == pytest.approx(0.6, abs=0.01)


def test_weight_must_be_a_units_column(units: gpd.GeoDataFrame, zones: gpd.GeoDataFrame) -> None:
    with pytest.raises(InputError, match=r"`\[current\] weight` names `pop`, which is not a units column"):
        assign_current(units, zones, weight="pop")


# ------------------------------------------------------------------------------ school table
def write_points(tmp_path: Path) -> Path:
    gdf = gpd.GeoDataFrame(
        {
            "SITE_NAME": ["North School", "South School", "Upper School", "High School"],
            "SHEL_CAP": [300, 0, 9, 4000],
        },
        geometry=[Point(X0 + 0.005, Y0 + 0.005 * i) for i in range(1, 5)],
        crs="EPSG:4326",
    )
    path = tmp_path / "sites.geojson"
    gdf.to_file(path)
    return path


def write_table(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "capacity.csv"
    path.write_text(text, encoding="utf-8")
    return path


def test_table_keeps_listed_schools_with_its_ids_and_capacity(tmp_path: Path) -> None:
    points = write_points(tmp_path)
    table = write_table(
        tmp_path, "school_id,SITE_NAME,name,capacity\n007,South School,South,480\nn1,North School,North,600\n"
    )
    schools = load_schools(points, SchoolsConfig(table="capacity.csv", table_match="SITE_NAME"), table=table)
    assert list(schools.index) == ["007", "n1"]
    assert schools["capacity"].tolist() == [480, 600] and schools["name"].tolist() == ["South", "North"]
    assert schools.geometry.y.tolist() == pytest.approx([Y0 + 0.010, Y0 + 0.005])


@pytest.mark.parametrize(
    ("text", "match"),
    [
        (
            "school_id,SITE_NAME,capacity\ns,South Schol,480\n",
            r"`SITE_NAME` values \['South Schol'\] match no school in .*fix the spelling",
        ),
        (
            "school_id,SITE_NAME,capacity\na,South School,1\nb,South School,2\n",
            r"table rows repeat `SITE_NAME` values \['South School'\]",
        ),
        ("school_id,SITE_NAME\na,South School\n", r"no column `capacity` \(set `\[schools\] capacity`\)"),
        (
            "school_id,site,capacity\na,South School,1\n",
            r"no column `SITE_NAME` \(set `\[schools\] table_match`\)",
        ),
    ],
)
def test_table_errors(tmp_path: Path, text: str, match: str) -> None:
    points = write_points(tmp_path)
    table = write_table(tmp_path, text)
    with pytest.raises(InputError, match=match):
        load_schools(points, SchoolsConfig(table="capacity.csv", table_match="SITE_NAME"), table=table)


def test_table_value_matching_two_points(tmp_path: Path) -> None:
    gdf = gpd.read_file(write_points(tmp_path))
    gdf.loc[3, "SITE_NAME"] = "North School"
    gdf.to_file(tmp_path / "sites.geojson")
    table = write_table(tmp_path, "school_id,SITE_NAME,capacity\nn,North School,5\n")
    with pytest.raises(InputError, match=r"values \['North School'\] match several points"):
        load_schools(
            tmp_path / "sites.geojson", SchoolsConfig(table="t", table_match="SITE_NAME"), table=table
        )
