"""The flow around the model: file checks, glance checks, checking any plan, exports."""

from __future__ import annotations

import json
import zipfile
from pathlib import Path

import geopandas as gpd
import pandas as pd
import pyogrio
import pytest
from _scenario_data import column_split_plan, row_split_plan, write_district

from zoning.errors import InfeasibleError, InputError
from zoning.pipeline import (
    check_files,
    check_inputs,
    evaluate_plan,
    load_inputs,
    metrics_rows,
    read_plan,
    save_plan,
    solve,
)
from zoning.scenario import load_scenario


@pytest.fixture(scope="module")
def district(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return write_district(tmp_path_factory.mktemp("grid"))


@pytest.fixture(scope="module")
def inputs(district: Path):  # noqa: ANN201 - Inputs
    return load_inputs(load_scenario(district))


def test_every_missing_input_file_is_named_at_once(tmp_path: Path) -> None:
    path = write_district(tmp_path, scenario="""
name = "broken"
[units]
path = "nope/units.geojson"
[schools]
path = "schools.geojson"
table = "missing.csv"
table_match = "name"
[network]
path = "roads.osm"
""")
    with pytest.raises(InputError, match=r"(?s)names input files that cannot be read.*\[units\] path"
                       r".*nope.*\[schools\] table.*missing\.csv.*\[network\] path.*roads\.osm"):
        check_files(load_scenario(path))
    (tmp_path / "folder.geojson").mkdir()
    with pytest.raises(InputError, match=r"`\[units\] path`: `.*folder\.geojson` is a folder, not a file"):
        check_files(load_scenario(path).replace(units={"path": "folder.geojson"}, schools={"table": None},
                                                network={"path": None}))


def test_check_inputs_reports_the_district(inputs) -> None:  # noqa: ANN001
    report = check_inputs(inputs)
    assert report["units"] == 16 and report["schools"] == 2
    assert report["students"] == 320 and report["seats"] == 400
    assert report["district_low_income_share"] == pytest.approx(145 / 320)
    assert report["current_units"] == 16 and report["unreachable_pairs"] == 0
    assert report["travel_time_method"].startswith("straight-line estimate")


def test_check_inputs_names_every_clash(inputs) -> None:  # noqa: ANN001
    tight = inputs.scenario.replace(policy={"max_utilization": 0.5, "max_travel_min": 3.0})
    with pytest.raises(InfeasibleError, match=r"(?s)policy cannot be met.*320 students but 400 seats x"
                       r" max_utilization 0.5.*units have no school within") as err:
        check_inputs(inputs, scenario=tight)
    assert len(err.value.diagnosis) >= 2


def test_read_plan_csv_keeps_what_the_checker_must_name(inputs, tmp_path: Path) -> None:  # noqa: ANN001
    csv = tmp_path / "plan.csv"
    csv.write_text("geoid,school_id\nu00,A\nu00,B\nu01,\nzz,A\nu02,Q\n", encoding="utf-8")
    plan = read_plan(csv, inputs)
    assert list(plan.index) == ["u00", "u00", "u01", "zz", "u02"]
    assert pd.isna(plan.iloc[2])
    result = evaluate_plan(inputs, plan, source=str(csv))
    named = {(v.rule, v.where) for v in result.violations}
    assert {("assignment", "u00"), ("assignment", "zz"), ("assignment", "u01"), ("assignment", "u02"),
            ("assignment", "u03")} <= named
    # metrics count only the units with a known school: u00 (first line wins)
    assert result.district["unassigned_units"] == 15
    assert result.model is None and result.metrics_json()["status"] == "checked"


def test_read_plan_errors(inputs, tmp_path: Path) -> None:  # noqa: ANN001
    with pytest.raises(InputError, match=r"plan file `.*none\.csv` does not exist"):
        read_plan(tmp_path / "none.csv", inputs)
    bad = tmp_path / "bad.csv"
    bad.write_text("unit,school\nu00,A\n", encoding="utf-8")
    with pytest.raises(InputError, match=r"no column `geoid` or `school_id`; found columns"
                       r" \['unit', 'school'\]\. A plan CSV has the header `geoid,school_id`"):
        read_plan(bad, inputs)
    empty = tmp_path / "empty.csv"
    empty.write_text("geoid,school_id\n", encoding="utf-8")
    with pytest.raises(InputError, match="has a header but no rows"):
        read_plan(empty, inputs)


def test_read_plan_from_zone_polygons(inputs, district: Path) -> None:  # noqa: ANN001
    plan = read_plan(district.parent / "current.geojson", inputs)
    assert plan.to_dict() == column_split_plan().to_dict()


def test_evaluate_plan_known_answers(inputs) -> None:  # noqa: ANN001
    # row split: A 160 students / 72 low-income (0.45), B 160 / 73 (0.45625); P = 145/320
    result = evaluate_plan(inputs, row_split_plan(), source="rows")
    d = result.district
    assert d["worst_deviation"] == pytest.approx(0.003125)
    assert d["dissimilarity"] == pytest.approx(0.5 * (2 * abs(72 / 145 - 88 / 175)), abs=1e-6)
    # today's zones split west from east: 8 units of 20 students change school
    assert d["moved_share"] == pytest.approx(0.5) and d["moved_students"] == pytest.approx(160)
    assert result.violations == []
    today = evaluate_plan(inputs, inputs.current, source="current")
    # west 128/160 = 0.80, east 17/160 = 0.10625: both 0.346875 from the district share
    assert today.district["worst_deviation"] == pytest.approx(0.8 - 145 / 320)
    assert today.district["moved_share"] == 0.0
    assert today.violations == []  # within the scenario's +/-0.40
    tighter = inputs.scenario.replace(policy={"band": 0.3})
    today = evaluate_plan(inputs, inputs.current, source="current", scenario=tighter)
    assert [(v.rule, v.where) for v in today.violations] == [("band", "A"), ("band", "B")]
    assert today.district["zones_outside_band"] == 2


def test_metrics_json_keeps_objective_value_and_settings_apart(inputs) -> None:  # noqa: ANN001
    result = solve(inputs)
    m = result.metrics_json()
    assert isinstance(m["objective"], float) and m["solver"] == "highs"
    assert m["objective_weights"]["travel_weight"] == 1.0 and m["solver_settings"]["name"] == "highs"
    rows = metrics_rows(m).set_index("metric")["value"]
    assert rows["district.worst_deviation"] == m["district"]["worst_deviation"]
    assert rows["violations"] == 0 and "inputs" not in " ".join(rows.index)


def test_exports_beside_the_contract_files(inputs, tmp_path: Path) -> None:  # noqa: ANN001
    result = evaluate_plan(inputs, row_split_plan(), source="rows")
    a = save_plan(result, tmp_path / "a")
    names = {p.name for p in a.iterdir()}
    assert {"units.geojson", "zones.geojson", "assignment.csv", "schools.csv", "metrics.json",
            "map.html"} <= names
    assert {"plan.gpkg", "plan_shapefile.zip", "units.csv", "zones.csv", "metrics.csv"} <= names

    layers = {name for name, _ in pyogrio.list_layers(a / "plan.gpkg")}
    assert layers == {"units", "zones", "schools"}
    units = gpd.read_file(a / "plan.gpkg", layer="units")
    zones = gpd.read_file(a / "plan.gpkg", layer="zones")
    assert len(units) == 16 and units.crs.to_epsg() == 4326
    assert units.set_index("geoid")["school_id"].to_dict() == row_split_plan().to_dict()
    assert sorted(zones["school_id"]) == ["A", "B"]
    assert zones.set_index("school_id").loc["B", "low_income_share"] == pytest.approx(73 / 160)

    with zipfile.ZipFile(a / "plan_shapefile.zip") as zf:
        members = set(zf.namelist())
    for layer in ("units", "zones", "schools"):
        assert {f"{layer}.{ext}" for ext in ("shp", "shx", "dbf", "prj", "cpg")} <= members
    shp_zones = gpd.read_file(f"zip://{a / 'plan_shapefile.zip'}!zones.shp")
    assert {"li_share", "mean_tt_s", "polsby_pop", "util"} <= set(shp_zones.columns)
    assert all(len(c) <= 10 for c in shp_zones.columns)
    shp_units = gpd.read_file(f"zip://{a / 'plan_shapefile.zip'}!units.shp")
    assert {"cur_school", "travel_s"} <= set(shp_units.columns) and len(shp_units) == 16

    units_csv = pd.read_csv(a / "units.csv", dtype={"geoid": str, "school_id": str})
    assert len(units_csv) == 16 and "geometry" not in units_csv.columns
    metrics_csv = pd.read_csv(a / "metrics.csv")
    assert list(metrics_csv.columns) == ["metric", "value"]
    assert "district.moved_share" in set(metrics_csv["metric"])

    # the same plan gives the same bytes
    b = save_plan(result, tmp_path / "b")
    for name in ("plan.gpkg", "plan_shapefile.zip", "units.csv", "zones.csv", "metrics.csv"):
        assert (a / name).read_bytes() == (b / name).read_bytes(), name
    assert json.loads((a / "metrics.json").read_text())["source"] == "rows"
