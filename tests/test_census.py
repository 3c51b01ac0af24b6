"""Block groups (TIGER/Line), ACS tables (API JSON, data.census.gov CSV), selection, units contract."""

from __future__ import annotations

import json
import logging
import math
from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd
import pytest
from _census_data import (
    CELL,
    ORIGIN,
    acs_value,
    api_json,
    block_groups,
    census_csv,
    expected,
    places,
    shapefile_zip,
    variables,
)
from shapely.geometry import Point, box

from zoning.census import (
    SENTINELS,
    build_units,
    derive_acs,
    derive_children,
    derive_low_income,
    derive_median_income,
    join_acs,
    load_acs_tables,
    load_boundary,
    load_units,
    parse_acs_json,
    place_boundary,
    read_acs,
    read_acs_csv,
    read_units_file,
    select_to_boundary,
)
from zoning.errors import InputError, ScenarioError
from zoning.scenario import StudentsConfig, UnitsConfig, scenario_from_dict

GEOIDS = list(block_groups()["GEOID"])  # 9 Alabama block groups, all starting with "01"


def write_json(path: Path, text: str) -> Path:
    path.write_text(text, encoding="utf-8")
    return path


@pytest.fixture()
def tiger_zip(tmp_path: Path) -> Path:
    path = tmp_path / "tl_2022_01_bg.zip"
    path.write_bytes(shapefile_zip(block_groups({"001": 3, "003": 1}), "tl_2022_01_bg"))
    return path


# ------------------------------------------------------------------------------ API JSON
def test_api_json_keeps_leading_zero_geoids_and_reads_estimates_and_margins() -> None:
    table = parse_acs_json(api_json(variables("B01001"), GEOIDS))
    assert list(table.values.index) == GEOIDS
    assert all(len(g) == 12 and g.startswith("01") for g in table.values.index)
    assert all(isinstance(g, str) for g in table.values.index)
    assert set(table.values.columns) == set(variables("B01001"))
    pd.testing.assert_series_equal(
        table.values["B01001_028E"],
        expected("B01001_028E", GEOIDS),
        check_names=False,
        check_index_type=False,
    )
    pd.testing.assert_series_equal(
        table.values["B01001_028M"],
        expected("B01001_028M", GEOIDS),
        check_names=False,
        check_index_type=False,
    )
    assert table.missing_codes == {}


@pytest.mark.parametrize("code", sorted(SENTINELS))
def test_each_sentinel_code_becomes_missing_never_a_number(
    code: int, caplog: pytest.LogCaptureFixture
) -> None:
    g = GEOIDS[4]
    text = api_json(
        variables("B19013"), GEOIDS, overrides={(g, "B19013_001E"): str(code), (g, "B19013_001M"): str(code)}
    )
    with caplog.at_level(logging.WARNING, logger="zoning.census"):
        table = parse_acs_json(text, source="b19013.json")
    assert math.isnan(table.values.at[g, "B19013_001E"])
    assert math.isnan(table.values.at[g, "B19013_001M"])
    assert (table.values.dropna() >= 0).all().all()
    assert table.missing_codes == {str(code): 2}
    assert "2 values are Census annotation codes" in caplog.text
    assert str(code) in caplog.text and "b19013.json" in caplog.text


def test_sentinels_sent_as_json_numbers_and_nulls_are_counted(caplog: pytest.LogCaptureFixture) -> None:
    rows = [
        ["NAME", "B19013_001E", "B19013_001M", "state", "county", "tract", "block group"],
        ["a", -666666666, -222222222, "01", "001", "020100", "1"],
        ["b", 61250, 9031, "01", "001", "020100", "2"],
        ["c", None, -333333333, "01", "001", "020100", "3"],
    ]
    with caplog.at_level(logging.WARNING):
        table = parse_acs_json(json.dumps(rows))
    v = table.values
    assert v.loc["010010201002"].tolist() == [61250.0, 9031.0]
    assert v.loc[["010010201001", "010010201003"]].isna().all().all()
    assert table.missing_codes == {"-222222222": 1, "-333333333": 1, "-666666666": 1, "null": 1}
    assert "4 values are Census annotation codes" in caplog.text


def test_geo_id_column_is_used_when_requested() -> None:
    rows = [["GEO_ID", "B19013_001E"], ["1500000US010010201001", "51000"]]
    table = parse_acs_json(json.dumps(rows))
    assert list(table.values.index) == ["010010201001"]


@pytest.mark.parametrize(
    ("text", "match"),
    [
        ("<html><title>Invalid Key</title></html>", r"is not JSON .*Invalid Key"),
        ('{"error": "x"}', r"not a Census API response: expected an array of rows"),
        ('[["NAME","B19013_001E","state"]]', r"has a header but no rows"),
        ('[["NAME","B19013_001E"],["a","1"]]', r"no geography columns .*for=block group"),
        (
            '[["NAME","B19013_001E","state","county"],["a","1","1","001"]]',
            r"column `state` must hold 2-digit codes as text \(leading zeros kept\); found \['1'\]",
        ),
        ('[["NAME","state"],["a","01"]]', r"no ACS variable columns"),
        ('[["NAME","B19013_001E","state"],["a","1"]]', r"rows \[2\] do not have 3 values"),
        ('[["B19013_001E","state"],["1","01"],["2","01"]]', r"lists geographies \['01'\] more than once"),
        ('[["B19013_001E","state"],["lots","01"]]', r"`B19013_001E` holds \['lots'\]"),
        ('[["GEO_ID","B19013_001E"],["Alabama","1"]]', r"`GEO_ID` must hold Census geography ids"),
    ],
)
def test_api_json_errors(text: str, match: str) -> None:
    with pytest.raises(InputError, match=match):
        parse_acs_json(text, source="t.json")


# ------------------------------------------------------------------------------ CSV export
def test_data_census_gov_csv_two_header_rows_prefix_symbols_and_margins(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    g0, g1, g2 = GEOIDS[:3]
    overrides = {
        (g0, "B19013_001E"): "250,000+",
        (g0, "B19013_001M"): "***",
        (g1, "B19013_001E"): "-",
        (g1, "B19013_001M"): "**",
        (g2, "B19013_001M"): "-555555555",
    }
    path = census_csv(
        tmp_path / "ACSDT5Y2022.B19013-Data.csv", variables("B19013"), GEOIDS, overrides=overrides
    )
    with caplog.at_level(logging.WARNING):
        table = read_acs(path)
    v = table.values
    assert list(v.index) == GEOIDS  # "1500000US" stripped, leading zero kept
    assert v.at[g0, "B19013_001E"] == 250000.0 and table.coded == 1
    assert math.isnan(v.at[g0, "B19013_001M"]) and math.isnan(v.at[g1, "B19013_001E"])
    assert math.isnan(v.at[g1, "B19013_001M"]) and math.isnan(v.at[g2, "B19013_001M"])
    assert v.at[g2, "B19013_001E"] == float(acs_value("B19013_001E", g2))
    assert table.missing_codes == {"-": 1, "-555555555": 1, "**": 1, "***": 1}
    assert "4 values are Census annotation codes" in caplog.text
    assert "top- or bottom-coded" in caplog.text


def test_plain_csv_with_geoid_text_column(tmp_path: Path) -> None:
    path = tmp_path / "b19013.csv"
    path.write_text('GEOID,B19013_001E,B19013_001M\n010010201001,"52,100",7000\n', encoding="utf-8")
    table = read_acs_csv(path)
    assert table.values.loc["010010201001"].tolist() == [52100.0, 7000.0]


@pytest.mark.parametrize(
    ("content", "match"),
    [
        ("NAME,B19013_001E\nx,1\n", r"no `GEO_ID` or `GEOID` column"),
        ("GEOID,B19013_001E\n01-001,1\n", r"column `GEOID` must hold digits"),
        (
            "GEO_ID,NAME\nGeography,Geographic Area Name\n1500000US010010201001,x\n",
            r"no ACS variable columns",
        ),
        ("GEO_ID,B19013_001E\nGeography,Estimate\n", r"header rows but no data rows"),
        ("GEO_ID,B19013_001E\n1500000US010010201001,(none)\n", r"holds \['\(none\)'\]"),
    ],
)
def test_csv_errors(tmp_path: Path, content: str, match: str) -> None:
    path = tmp_path / "t.csv"
    path.write_text(content, encoding="utf-8")
    with pytest.raises(InputError, match=match):
        read_acs(path)


def test_read_acs_missing_file(tmp_path: Path) -> None:
    with pytest.raises(InputError, match=r"ACS table file .*nope.json` does not exist"):
        read_acs(tmp_path / "nope.json")


def test_read_acs_not_utf8(tmp_path: Path) -> None:
    path = tmp_path / "t.csv"
    path.write_bytes(b"GEO_ID,B19013_001E\n\xff\xfe\x00\x81,1\n")
    with pytest.raises(InputError, match=r"is not UTF-8 text"):
        read_acs(path)


# ------------------------------------------------------------------------------ derived values
def test_children_known_answer_and_moe() -> None:
    table = parse_acs_json(api_json(variables("B01001"), GEOIDS))
    out = derive_children(table)
    g = GEOIDS[2]
    names = ["B01001_004", "B01001_005", "B01001_028", "B01001_029"]
    assert out.at[g, "acs_children_5_14"] == sum(float(acs_value(n + "E", g)) for n in names)
    assert out.at[g, "acs_children_5_14_moe"] == pytest.approx(
        math.sqrt(sum(float(acs_value(n + "M", g)) ** 2 for n in names))
    )


def test_low_income_share_below_185_known_answer() -> None:
    rows = [
        ["C17002_001E", "C17002_001M"]
        + [f"C17002_00{i}{k}" for i in range(2, 9) for k in "EM"]
        + ["state", "county", "tract", "block group"]
    ]
    # universe 1000 (MOE 100); bins 002..006 = 10, 20, 30, 40, 50 (MOE 5 each); 007, 008 above 1.85
    rows.append(
        [
            "1000",
            "100",
            "10",
            "5",
            "20",
            "5",
            "30",
            "5",
            "40",
            "5",
            "50",
            "5",
            "60",
            "5",
            "790",
            "80",
            "01",
            "001",
            "020100",
            "1",
        ]
    )
    rows.append(["0", "12", *(["0", "12"] * 7), "01", "001", "020100", "2"])
    rows.append(
        [
            "1000",
            "10",
            "10",
            "5",
            "20",
            "5",
            "30",
            "5",
            "40",
            "5",
            "50",
            "5",
            "60",
            "5",
            "790",
            "80",
            "01",
            "001",
            "020100",
            "3",
        ]
    )
    out = derive_low_income(parse_acs_json(json.dumps(rows)))
    r = out.loc["010010201001"]
    assert r["acs_below_185"] == 150.0 and r["acs_poverty_universe"] == 1000.0
    assert r["acs_below_185_share"] == pytest.approx(0.15)
    assert r["acs_below_185_moe"] == pytest.approx(math.sqrt(5 * 25))
    # the proportion formula's radicand is negative here: the ratio formula is used instead
    assert r["acs_below_185_share_moe"] == pytest.approx(math.sqrt(125 + 0.15**2 * 100**2) / 1000)
    r3 = out.loc["010010201003"]
    assert r3["acs_below_185_share_moe"] == pytest.approx(math.sqrt(125 - 0.15**2 * 10**2) / 1000)
    assert math.isnan(out.at["010010201002", "acs_below_185_share"])  # empty universe: no share


def test_median_income_with_sentinel_is_missing() -> None:
    g = GEOIDS[0]
    table = parse_acs_json(
        api_json(variables("B19013"), GEOIDS, overrides={(g, "B19013_001E"): "-666666666"})
    )
    out = derive_median_income(table)
    assert math.isnan(out.at[g, "acs_median_income"])
    assert out.at[GEOIDS[1], "acs_median_income"] == float(acs_value("B19013_001E", GEOIDS[1]))


def test_missing_table_variables_are_named(tmp_path: Path) -> None:
    path = write_json(tmp_path / "b01001.json", api_json(["B01001_004E", "B01001_005E"], GEOIDS))
    with pytest.raises(InputError, match=r"should hold B01001 but lacks \['B01001_028E', 'B01001_029E'\]"):
        load_acs_tables({"b01001": path})


# ------------------------------------------------------------------------------ TIGER/Line units
def test_tiger_zip_block_groups_keep_text_geoids_and_county_prefix(tiger_zip: Path) -> None:
    raw = read_units_file(tiger_zip, UnitsConfig(), geoid_prefix="01001")
    assert list(raw.index) == GEOIDS
    assert raw.index.name == "geoid" and all(isinstance(g, str) for g in raw.index)
    assert raw.crs.to_epsg() == 4326
    assert {"ALAND", "AWATER", "STATEFP"} <= set(raw.columns)
    everything = read_units_file(tiger_zip, UnitsConfig())
    assert len(everything) == 12 and "010030201001" in everything.index


def test_numeric_geoids_are_rejected(tmp_path: Path) -> None:
    gdf = block_groups().drop(columns=["STATEFP"])
    gdf["GEOID"] = gdf["GEOID"].astype("int64")
    path = tmp_path / "bg.geojson"
    gdf.to_file(path)
    with pytest.raises(InputError, match=r"column `GEOID` holds numbers, not text.*leading zeros"):
        read_units_file(path, UnitsConfig())


def test_geoids_that_lost_their_zero_are_named(tmp_path: Path) -> None:
    gdf = block_groups()
    gdf["GEOID"] = gdf["GEOID"].str.lstrip("0")
    path = tmp_path / "bg.gpkg"
    gdf.to_file(path)
    with pytest.raises(InputError, match=r"do not start with their `STATEFP`.*lost their leading zeros"):
        read_units_file(path, UnitsConfig())


@pytest.mark.parametrize(
    ("change", "match"),
    [
        ("dup", r"duplicate `GEOID` values \['010010201001'\]"),
        ("prefix", r"no unit whose `GEOID` starts with '01999'"),
        ("point", r"are \['Point'\], not polygons"),
        ("noid", r"no column `zone` \(set `\[units\] id`\)"),
    ],
)
def test_units_file_errors(tmp_path: Path, change: str, match: str) -> None:
    gdf = block_groups()
    config = UnitsConfig()
    prefix = None
    if change == "dup":
        gdf.loc[1, "GEOID"] = gdf.loc[0, "GEOID"]
    elif change == "prefix":
        prefix = "01999"
    elif change == "point":
        gdf.loc[0, "geometry"] = Point(ORIGIN)
    elif change == "noid":
        config = UnitsConfig(id="zone")
    path = tmp_path / "bg.gpkg"
    gdf.to_file(path)
    with pytest.raises(InputError, match=match):
        read_units_file(path, config, geoid_prefix=prefix)


# ------------------------------------------------------------------------------ selection
def test_select_to_boundary_drops_mostly_outside_and_slivers() -> None:
    raw = block_groups().set_index("GEOID").to_crs("EPSG:4326")
    x0, y0 = ORIGIN
    # columns 0 and 1 (tracts 020100, 020200) inside; 2% of column 2 inside; plus 30% of its
    # first cell (block group 020300-1)
    boundary = box(x0, y0, x0 + 2 * CELL + 0.02 * CELL, y0 + 3 * CELL).union(
        box(x0 + 2 * CELL, y0, x0 + 2 * CELL + 0.3 * CELL, y0 + CELL)
    )
    kept, report = select_to_boundary(raw.drop(columns=["ALAND", "AWATER"]), boundary)
    assert sorted(kept.index) == GEOIDS[:6]
    assert list(report["mostly_outside"]) == ["010010203001"]
    assert report["mostly_outside"]["010010203001"] == pytest.approx(0.3, abs=0.01)
    assert report["slivers"] == ["010010203002", "010010203003"]
    assert report["kept"] == 6 and report["units_read"] == 9 and report["outside"] == 0


def test_select_uses_tiger_area_to_spot_clipped_slivers() -> None:
    raw = block_groups().set_index("GEOID").to_crs("EPSG:4326")
    x0, y0 = ORIGIN
    # a neighbour's block group clipped at the city line: a thin strip, but ALAND says 1 km2
    raw.loc["010010203001", "geometry"] = box(x0 + 2 * CELL, y0, x0 + 2 * CELL + 0.0002, y0 + CELL)
    boundary = box(x0 - 1, y0 - 1, x0 + 1, y0 + 1)  # everything lies inside the city line
    kept, report = select_to_boundary(raw, boundary)
    assert "010010203001" not in kept.index and len(kept) == 8
    assert report["slivers"] == ["010010203001"]
    assert "ALAND + AWATER" in report["area"]


def test_select_nothing_inside_is_an_error() -> None:
    raw = block_groups().set_index("GEOID").to_crs("EPSG:4326")
    with pytest.raises(InputError, match=r"no unit lies mostly inside the district boundary"):
        select_to_boundary(raw, box(0, 0, 1, 1))


def test_boundary_file_must_hold_polygons(tmp_path: Path) -> None:
    path = tmp_path / "line.geojson"
    gpd.GeoDataFrame(geometry=[Point(0, 0)], crs="EPSG:4326").to_file(path)
    with pytest.raises(InputError, match=r"holds \['Point'\]; expected polygons"):
        load_boundary(path)


@pytest.mark.shared_data
def test_real_cambridge_block_groups_select_to_city_line(shared_data: Path) -> None:
    """The city's 2010 block-group layer holds 88 real block groups and 25 clipped slivers."""
    folder = shared_data / "cambridge-ma"
    raw = read_units_file(folder / "raw" / "DEMOGRAPHICS_BlockGroups2010.geojson", UnitsConfig(id="GEOID10"))
    assert len(raw) == 113
    boundary = load_boundary(folder / "raw" / "BOUNDARY_CityBoundary.geojson")
    kept, report = select_to_boundary(raw, boundary)
    core = gpd.read_file(folder / "derived" / "cambridge_bg2010_acs2019.geojson")["GEOID10"]
    assert sorted(kept.index) == sorted(core)
    assert len(report["slivers"]) == 25 and report["mostly_outside"] == {}
    assert all(g.startswith("25017") and len(g) == 12 for g in kept.index)


# ------------------------------------------------------------------------------ ACS join and units
def test_join_acs_names_units_without_rows_and_lost_zeros(tiger_zip: Path, tmp_path: Path) -> None:
    raw = read_units_file(tiger_zip, UnitsConfig(), geoid_prefix="01001")
    path = tmp_path / "b19013.csv"
    lines = ["GEOID,B19013_001E,B19013_001M"] + [f"{g.lstrip('0')},50000,900" for g in GEOIDS]
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    derived = derive_acs(load_acs_tables({"b19013": path}))
    with pytest.raises(InputError, match=r"9 units have no row in the ACS tables .*lost their leading zeros"):
        join_acs(raw, derived, source=str(path))
    other = derived.rename(index=lambda g: "25017" + g[4:])
    with pytest.raises(InputError, match=r"no GEOID matches at all: .*same census geography"):
        join_acs(raw, other, source="x")
    with pytest.raises(InputError, match=r"2 units have no row .*same state and county"):
        join_acs(
            raw,
            derive_acs(load_acs_tables({"b19013": path}))
            .iloc[:0]
            .reindex([g for g in GEOIDS[:7]])
            .fillna(1.0),
            source="x",
        )


def local_acs_scenario(tmp_path: Path, tiger_zip: Path, **students: object) -> dict:
    b01001 = write_json(tmp_path / "b01001.json", api_json(variables("B01001"), GEOIDS))
    c17002 = census_csv(tmp_path / "c17002.csv", variables("C17002"), GEOIDS)
    b19013 = write_json(
        tmp_path / "b19013.json",
        api_json(variables("B19013"), GEOIDS, overrides={(GEOIDS[3], "B19013_001E"): "-666666666"}),
    )
    return {
        "name": "al",
        "units": {"path": str(tiger_zip), "geoid_prefix": "01001"},
        "schools": {"path": "schools.geojson"},
        "census": {"b01001": b01001.name, "c17002": c17002.name, "b19013": b19013.name},
        "students": dict(students),
    }


def test_build_units_from_tiger_and_local_acs_tables(
    tmp_path: Path, tiger_zip: Path, caplog: pytest.LogCaptureFixture
) -> None:
    data = local_acs_scenario(tmp_path, tiger_zip, total=900)
    scenario = scenario_from_dict(data, base_dir=tmp_path)
    with caplog.at_level(logging.WARNING):
        units, report = build_units(scenario)
    assert list(units.index) == GEOIDS
    children = sum(
        expected(f"{n}E", GEOIDS) for n in ("B01001_004", "B01001_005", "B01001_028", "B01001_029")
    )
    assert units["students"].sum() == pytest.approx(900)
    np.testing.assert_allclose(units["students"].to_numpy(), (children * 900 / children.sum()).to_numpy())
    below = sum(expected(f"C17002_00{i}E", GEOIDS) for i in range(2, 7))
    share = below / expected("C17002_001E", GEOIDS)
    np.testing.assert_allclose(units["low_income"].to_numpy(), (share * units["students"]).to_numpy())
    assert math.isnan(units.at[GEOIDS[3], "median_income"])
    assert units.at[GEOIDS[0], "median_income"] == float(acs_value("B19013_001E", GEOIDS[0]))
    assert {"students_moe", "low_income_moe", "median_income_moe"} <= set(units.columns)
    assert (units["students_moe"] > 0).all() and (units["low_income_moe"] > 0).all()
    assert report["acs"]["b19013"]["missing_codes"] == {"-666666666": 1}
    assert report["students"]["proxy"] == "acs_children_5_14"
    assert report["low_income"]["method"] == "share column `acs_below_185_share` x students"
    assert "1 values are Census annotation codes" in caplog.text


def test_build_units_acs_children_need_an_enrollment_total(tmp_path: Path, tiger_zip: Path) -> None:
    scenario = scenario_from_dict(local_acs_scenario(tmp_path, tiger_zip), base_dir=tmp_path)
    with pytest.raises(
        InputError, match=r"children aged 5-14 per unit, not enrolled students: set `\[students\] total`"
    ):
        build_units(scenario)


def test_build_units_clipped_to_a_boundary_file(tmp_path: Path, tiger_zip: Path) -> None:
    x0, y0 = ORIGIN
    gpd.GeoDataFrame(geometry=[box(x0, y0, x0 + 2 * CELL, y0 + 3 * CELL)], crs="EPSG:4326").to_file(
        tmp_path / "district.geojson"
    )
    data = local_acs_scenario(tmp_path, tiger_zip, total=600)
    data["units"]["boundary"] = "district.geojson"
    units, report = build_units(scenario_from_dict(data, base_dir=tmp_path))
    assert list(units.index) == GEOIDS[:6]
    assert units["students"].sum() == pytest.approx(600)
    assert report["selection"]["kept"] == 6 and report["selection"]["outside"] == 3


def test_place_boundary_by_name_and_geoid(tmp_path: Path) -> None:
    path = tmp_path / "tl_2022_01_place.zip"
    path.write_bytes(shapefile_zip(places(), "tl_2022_01_place"))
    a = place_boundary(path, "Prattville")
    b = place_boundary(path, "0162328")
    assert a.equals(b) and a.area > 0
    with pytest.raises(InputError, match=r"'Pratville' is not a place .*similar: \['Prattville'\]"):
        place_boundary(path, "Pratville")


def test_place_names_that_match_twice_need_the_geoid(tmp_path: Path) -> None:
    gdf = places()
    gdf.loc[1, "NAME"] = "Prattville"
    path = tmp_path / "p.zip"
    path.write_bytes(shapefile_zip(gdf, "tl_2022_01_place"))
    with pytest.raises(InputError, match=r"matches 2 places .*give the 7-digit GEOID"):
        place_boundary(path, "prattville")


# ------------------------------------------------------------------------------ column mapping
def units_file(tmp_path: Path, **columns: list) -> Path:
    gdf = block_groups().rename(columns={"GEOID": "geoid"})[["geoid", "geometry"]].to_crs("EPSG:4326")
    for k, v in columns.items():
        gdf[k] = v
    path = tmp_path / "units.geojson"
    gdf.to_file(path)
    return path


def test_share_column_times_students_and_missing_share_takes_district_share(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    share = [0.1, 0.2, 0.3, 0.4, None, 0.5, 0.0, 0.2, 0.1]
    path = units_file(tmp_path, students=[10.0] * 9, li=share)
    with caplog.at_level(logging.WARNING):
        units = load_units(path, UnitsConfig(low_income_share="li"))
    district = (0.1 + 0.2 + 0.3 + 0.4 + 0.5 + 0.0 + 0.2 + 0.1) / 8
    assert units.at[GEOIDS[4], "low_income"] == pytest.approx(10 * district)
    assert units.at[GEOIDS[0], "low_income"] == pytest.approx(1.0)
    assert "take the district share" in caplog.text


def test_proxy_scaled_to_total(tmp_path: Path) -> None:
    path = units_file(
        tmp_path, households=[100.0, 0, 300, 100, 100, 100, 100, 100, 100], low_income=[0.0] * 9
    )
    units = load_units(path, UnitsConfig(), students=StudentsConfig(proxy="households", total=50))
    assert units["students"].sum() == pytest.approx(50)
    assert units.at[GEOIDS[2], "students"] == pytest.approx(15.0)
    assert units.at[GEOIDS[1], "students"] == 0.0


@pytest.mark.parametrize(
    ("columns", "config", "match"),
    [
        (
            {"students": [1.0] * 9, "li": [1.5] + [0.1] * 8},
            UnitsConfig(low_income_share="li"),
            r"`li` is a share and must be within 0..1; units \['010010201001'\]",
        ),
        (
            {"students": [1.0] * 9, "li": ["x"] + ["0.1"] * 8},
            UnitsConfig(low_income_share="li"),
            r"`li` must be numbers; found \['x'\]",
        ),
        (
            {"students": [1.0] * 9},
            UnitsConfig(low_income_share="li"),
            r"no column `li` \(set `\[units\] low_income_share`\)",
        ),
        (
            {"students": [1.0] * 9, "low_income": [2.0] * 9},
            UnitsConfig(),
            r"low-income students exceed students for 9 units",
        ),
        (
            {"students": [-1.0] + [1.0] * 8, "low_income": [0.0] * 9},
            UnitsConfig(),
            r"column `students` has 1 negative values",
        ),
        (
            {"students": [None] + [1.0] * 8, "low_income": [0.0] * 9},
            UnitsConfig(),
            r"column `students` is missing for 1 units \(e.g. \['010010201001'\]\)",
        ),
        (
            {"students": ["many"] + ["1"] * 8, "low_income": [0.0] * 9},
            UnitsConfig(),
            r"column `students` must be numbers; found \['many'\]",
        ),
        ({"low_income": [0.0] * 9}, UnitsConfig(), r"no column `students` \(set `\[units\] students`\)"),
    ],
)
def test_units_column_errors(tmp_path: Path, columns: dict, config: UnitsConfig, match: str) -> None:
    path = units_file(tmp_path, **columns)
    with pytest.raises(InputError, match=match):
        load_units(path, config)


# ------------------------------------------------------------------------------ scenario keys
@pytest.mark.parametrize(
    ("data", "match"),
    [
        ({"census": {"state": "1", "county": "001"}}, r"`\[census\] state` is a 2-digit FIPS code"),
        ({"census": {"state": "01", "county": "1"}}, r"`\[census\] county` is a 3-digit FIPS code"),
        ({"census": {"state": "01"}}, r"`\[census\] state` needs `\[census\] county`"),
        ({"census": {"county": "001"}}, r"`\[census\] county` and `place` need `\[census\] state`"),
        (
            {"census": {"state": "01", "county": "001"}, "units": {"path": "u.geojson"}},
            r"`\[census\] state` downloads the block groups, so `\[units\] path` must be empty",
        ),
        (
            {"census": {"state": "01", "county": "001", "b01001": "t.json"}},
            r"downloads the ACS tables, so `b01001`, `c17002` and `b19013` must be empty",
        ),
        ({"census": {"year": 1990}}, r"`\[census\] year` is the ACS 5-year release year"),
        ({"census": {"timeout_s": 0}}, r"`\[census\] timeout_s` must be > 0"),
        ({"census": {"api_url": "ftp://x"}}, r"`\[census\] api_url` must be an http\(s\) URL"),
        ({"census": {"state": 25}}, r"`\[census\] state` must be a string; found 25"),
        ({"units": {"path": "u", "min_inside_share": 0}}, r"`\[units\] min_inside_share` is a share"),
        ({"units": {"path": "u", "sliver_share": 0.6}}, r"`\[units\] sliver_share` must be >= 0 and below"),
        ({"students": {"proxy": "pop"}}, r"`\[students\] proxy = 'pop'` needs `\[students\] total`"),
        ({"students": {"total": -5}}, r"`\[students\] total` is the district's enrollment and must be > 0"),
        ({"students": {"records": "s.csv", "total": 10}}, r"`\[students\] records` gives the counts itself"),
        (
            {"students": {"records": "s.csv"}, "units": {"path": "u", "low_income_share": "x"}},
            r"gives low-income counts from the FRL flag; remove `\[units\] low_income_share`",
        ),
        ({"students": {"grades": ["K", 1]}}, r"`\[students\] grades` must be a list of strings"),
        ({"schools": {"path": "s", "table": "t.csv"}}, r"`\[schools\] table` needs `table_match`"),
        ({"units": {}}, r"`\[units\] path` is required.*unless `\[census\] state`"),
    ],
)
def test_scenario_census_keys_are_validated(data: dict, match: str) -> None:
    full = {"name": "x", "units": {"path": "u.geojson"}, "schools": {"path": "s.geojson"}}
    for section, values in data.items():
        full[section] = values
    with pytest.raises(ScenarioError, match=match):
        scenario_from_dict(full, base_dir=Path("."))


def test_annotation_codes_in_a_units_file_are_missing_not_numbers(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    path = units_file(
        tmp_path,
        students=[10.0] * 9,
        li=[0.2, -666666666.0, 0.2, 0.2, 0.2, 0.2, 0.2, 0.2, 0.2],
        mhhi=[50000.0, 60000.0, -666666666.0, 1, 1, 1, 1, 1, 1],
    )
    with caplog.at_level(logging.WARNING):
        units = load_units(path, UnitsConfig(low_income_share="li", median_income="mhhi"))
    assert math.isnan(units.at[GEOIDS[2], "median_income"])
    assert units.at[GEOIDS[1], "low_income"] == pytest.approx(2.0)  # took the district share
    assert "2 values are Census annotation codes" in caplog.text
    bad = units_file(tmp_path, students=[-999999999.0] + [1.0] * 8, low_income=[0.0] * 9)
    with pytest.raises(InputError, match=r"column `students` is missing for 1 units"):
        load_units(bad, UnitsConfig())


def test_unparseable_csv(tmp_path: Path) -> None:
    path = tmp_path / "t.csv"
    path.write_text('GEO_ID,B19013_001E\n"1500000US010010201001,1\n', encoding="utf-8")
    with pytest.raises(InputError, match=r"cannot be read as CSV .*export it again"):
        read_acs(path)


@pytest.mark.parametrize(
    ("change", "match"),
    [
        ("no_id", r"1 rows have no `geoid`"),
        ("empty", r"units \['010010201002'\] have empty or missing geometry"),
        ("inf", r"column `students` holds infinite values"),
    ],
)
def test_more_units_errors(tmp_path: Path, change: str, match: str) -> None:
    gdf = block_groups().rename(columns={"GEOID": "geoid"})[["geoid", "geometry"]].to_crs("EPSG:4326")
    gdf["students"] = 1.0
    gdf["low_income"] = 0.0
    if change == "no_id":
        gdf.loc[0, "geoid"] = None
    elif change == "empty":
        gdf.loc[1, "geometry"] = None
    elif change == "inf":
        gdf.loc[2, "students"] = float("inf")
    path = tmp_path / "units.gpkg"
    gdf.to_file(path)
    with pytest.raises(InputError, match=match):
        load_units(path)
