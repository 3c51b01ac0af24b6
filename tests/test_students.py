"""Student counts: proxy scaled to the enrollment, and student records aggregated to units."""

from __future__ import annotations

import json
import zipfile
from pathlib import Path

import geopandas as gpd
import pandas as pd
import pytest
from _census_data import CELL, ORIGIN, block_groups
from shapely.geometry import LineString, Point, box

from zoning.census import build_units
from zoning.errors import InputError
from zoning.pipeline import run_plan
from zoning.scenario import StudentsConfig, scenario_from_dict
from zoning.students import aggregate_students, estimate_students, load_student_records, normalize_grade

GEOIDS = list(block_groups()["GEOID"])

#: Personal fields a district export carries; none may ever reach an output.
def _output_text(path: Path) -> str:
    """Everything an output file holds, as text: zip members unpacked, binary files as latin-1."""
    if path.suffix == ".zip":
        with zipfile.ZipFile(path) as zf:
            return "\n".join(zf.read(n).decode("latin-1") for n in sorted(zf.namelist()))
    data = path.read_bytes()
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError:
        return data.decode("latin-1")


PERSONAL = {
    "student_id": ["S-900111", "S-900222", "S-900333", "S-900444", "S-900555", "S-900666", "S-900777"],
    "first_name": ["Zebedee", "Quillon", "Marisol", "Thaddeus", "Ysolde", "Caspian", "Oriel"],
    "last_name": ["Varnakides", "Oyelaran", "Brightwater", "Kowalczyk", "Fennimore", "Delacroix", "Ashgrove"],
    "birth_date": [
        "2014-03-17",
        "2015-11-02",
        "2013-07-29",
        "2016-01-08",
        "2014-12-24",
        "2015-05-05",
        "2012-02-29",
    ],
    "address": ["12 Elm Rd", "4 Oak Ct", "77 Pine St", "9 Birch Ln", "31 Cedar Ave", "5 Ash Way", "8 Fir Pl"],
}


def centre(row: int, col: int, dx: float = 0.0) -> tuple[float, float]:
    return ORIGIN[0] + (col + 0.5) * CELL + dx, ORIGIN[1] + (row + 0.5) * CELL


@pytest.fixture()
def units() -> gpd.GeoDataFrame:
    return block_groups().set_index("GEOID").rename_axis("geoid").to_crs("EPSG:4326")


def records_csv(tmp_path: Path, *, frl: list[str] | None = None, grades: list[str] | None = None) -> Path:
    """Seven students: 3 in tract 020100 bg 1 (2 FRL), 1 in 020200 bg 2, one in grade 7, one
    outside every unit, one without a location."""
    pts = [
        centre(0, 0),
        centre(0, 0, 0.001),
        centre(0, 0, -0.001),
        centre(1, 1),
        centre(2, 2),
        (-80.0, 30.0),
        (None, None),
    ]
    df = pd.DataFrame(PERSONAL)
    df["lon"] = [p[0] for p in pts]
    df["lat"] = [p[1] for p in pts]
    df["grade"] = grades or ["K", "01", "2", "3", "7", "4", "5"]
    df["frl"] = frl or ["Y", "N", "Y", "N", "Y", "Y", "N"]
    path = tmp_path / "students.csv"
    df.to_csv(path, index=False)
    return path


# ------------------------------------------------------------------------------ estimate
def test_estimate_students_scales_proxy_to_total() -> None:
    proxy = pd.Series([10.0, 30.0, 0.0, 60.0], index=["a", "b", "c", "d"])
    out = estimate_students(proxy, 4000)
    assert out.tolist() == [400.0, 1200.0, 0.0, 2400.0]


@pytest.mark.parametrize(
    ("values", "total", "match"),
    [
        ([1.0, None], 10, r"proxy `p` is missing for units \['b'\]"),
        ([1.0, -1.0], 10, r"proxy `p` has negative values"),
        ([0.0, 0.0], 10, r"is 0 in every unit, so it cannot be scaled to 10 students"),
        ([1.0, 1.0], 0, r"`\[students\] total` must be > 0"),
    ],
)
def test_estimate_errors(values: list, total: float, match: str) -> None:
    with pytest.raises(InputError, match=match):
        estimate_students(pd.Series(values, index=["a", "b"], dtype=float), total, column="p")


@pytest.mark.parametrize(
    ("raw", "norm"), [("01", "1"), ("kg", "K"), (3.0, "3"), (" jk ", "JK"), ("PK", "PK")]
)
def test_normalize_grade(raw: object, norm: str) -> None:
    assert normalize_grade(raw) == norm


# ------------------------------------------------------------------------------ records
def test_records_csv_aggregated_with_outside_and_unlocated_counted(
    tmp_path: Path, units: gpd.GeoDataFrame, caplog: pytest.LogCaptureFixture
) -> None:
    config = StudentsConfig(grades=["K", "1", "2", "3", "4", "5"])
    points = load_student_records(records_csv(tmp_path), config)
    assert list(points.columns) == ["grade", "frl", "geometry"]  # nothing personal survives loading
    with caplog.at_level("WARNING"):
        counts, report = aggregate_students(points, units)
    a, b = "010010201001", "010010202002"
    assert counts.loc[a].tolist() == [3.0, 2.0]
    assert counts.loc[b].tolist() == [1.0, 0.0]
    assert counts["students"].sum() == 4 and len(counts) == 9
    assert report == {
        "source": str(tmp_path / "students.csv"),
        "records": 7,
        "without_location": 1,
        "other_grades": 1,
        "grades": ["1", "2", "3", "4", "5", "K"],
        "outside_units": 1,
        "counted": 4,
        "low_income": 2,
    }
    assert "1 students lie outside every unit" in caplog.text
    assert "1 records have no location" in caplog.text
    for values in PERSONAL.values():
        assert not any(v in caplog.text for v in values)


def test_frl_true_false_columns_and_lunch_status_codes(tmp_path: Path, units: gpd.GeoDataFrame) -> None:
    tf = load_student_records(records_csv(tmp_path, frl=["T", "F", "T", "F", "F", "F", "F"]))
    assert tf["frl"].tolist() == [True, False, True, False, False, False, False]
    status = load_student_records(records_csv(tmp_path, frl=["F", "R", "P", "paid", "Free", "1", "0"]))
    assert status["frl"].tolist() == [True, True, False, False, True, True, False]
    counts, report = aggregate_students(status, units)  # no grade filter: grade 7 counted
    assert counts["students"].sum() == 5 and report["other_grades"] == 0


def test_records_geopackage_points(tmp_path: Path, units: gpd.GeoDataFrame) -> None:
    gdf = gpd.GeoDataFrame(
        {"pupil": ["x1", "x2", "x3"], "gr": ["K", "1", "2"], "lunch": [1, 0, 1]},
        geometry=[Point(centre(0, 0)), Point(centre(2, 1)), None],
        crs="EPSG:4326",
    )
    path = tmp_path / "students.gpkg"
    gdf.to_file(path, layer="enrolled")
    points = load_student_records(path, StudentsConfig(layer="enrolled", grade="gr", frl="lunch"))
    counts, report = aggregate_students(points, units)
    assert counts.loc["010010201001"].tolist() == [1.0, 1.0]
    assert counts.loc["010010202003"].tolist() == [1.0, 0.0]
    assert report["without_location"] == 1 and report["counted"] == 2


def test_records_in_a_projected_crs(tmp_path: Path, units: gpd.GeoDataFrame) -> None:
    pts = gpd.GeoSeries([Point(centre(1, 2))], crs="EPSG:4326").to_crs("EPSG:26916")
    pd.DataFrame({"x": pts.x, "y": pts.y, "frl": ["yes"]}).to_csv(tmp_path / "s.csv", index=False)
    points = load_student_records(tmp_path / "s.csv", StudentsConfig(lon="x", lat="y", crs="EPSG:26916"))
    counts, _ = aggregate_students(points, units)
    assert counts.loc["010010203002"].tolist() == [1.0, 1.0]


@pytest.mark.parametrize(
    ("change", "match"),
    [
        ("no_frl", r"no column `frl` \(set `\[students\] frl`\)"),
        ("blank_frl", r"1 rows have no FRL flag in `frl` \(rows \[3\]\)"),
        ("odd_frl", r"FRL codes \['maybe'\] that are neither eligible"),
        ("text_lon", r"`lon`/`lat` are not numbers in rows \[2\]"),
        ("out_of_range", r"rows \[2, 3, 4, 5, 6\] have coordinates outside -180..180"),
        ("no_grade", r"no column `grade` \(set `\[students\] grade`\)"),
    ],
)
def test_records_csv_errors(tmp_path: Path, change: str, match: str) -> None:
    path = records_csv(tmp_path)
    df = pd.read_csv(path, dtype=str, keep_default_na=False)
    config = StudentsConfig()
    if change == "no_frl":
        df = df.drop(columns="frl")
    elif change == "blank_frl":
        df.loc[1, "frl"] = ""
    elif change == "odd_frl":
        df.loc[2, "frl"] = "maybe"
    elif change == "text_lon":
        df.loc[0, "lon"] = "north"
    elif change == "out_of_range":
        df.loc[:4, "lat"] = "132.5"
    elif change == "no_grade":
        df = df.drop(columns="grade")
        config = StudentsConfig(grades=["K"])
    df.to_csv(path, index=False)
    with pytest.raises(InputError, match=match) as info:
        load_student_records(path, config)
    for values in PERSONAL.values():
        assert not any(v in str(info.value) for v in values)


def test_all_students_outside_is_an_error(tmp_path: Path, units: gpd.GeoDataFrame) -> None:
    pd.DataFrame({"lon": [centre(0, 0)[1]], "lat": [centre(0, 0)[0]], "frl": [1]}).to_csv(
        tmp_path / "s.csv", index=False
    )
    points = load_student_records(tmp_path / "s.csv")
    with pytest.raises(
        InputError, match=r"none of the 1 located students lies inside a unit; check the coordinate"
    ):
        aggregate_students(points, units)


def test_records_must_be_points(tmp_path: Path) -> None:
    gdf = gpd.GeoDataFrame({"frl": [1]}, geometry=[LineString([(0, 0), (1, 1)])], crs="EPSG:4326")
    gdf.to_file(tmp_path / "s.gpkg")
    with pytest.raises(InputError, match=r"hold \['LineString'\] geometries; expected one point per student"):
        load_student_records(tmp_path / "s.gpkg")


# ------------------------------------------------------------------------------ end to end
def write_district(tmp_path: Path) -> None:
    units = block_groups().rename(columns={"GEOID": "geoid"}).to_crs("EPSG:4326")
    units[["geoid", "ALAND", "geometry"]].to_file(tmp_path / "units.geojson")
    schools = gpd.GeoDataFrame(
        {"school_id": ["west", "east"], "name": ["West", "East"], "capacity": [10, 10]},
        geometry=[Point(centre(1, 0)), Point(centre(1, 2))],
        crs="EPSG:4326",
    )
    schools.to_file(tmp_path / "schools.geojson")
    x0, y0 = ORIGIN
    zones = gpd.GeoDataFrame(
        {"school_id": ["west", "east"]},
        geometry=[
            box(x0, y0, x0 + 1.5 * CELL, y0 + 3 * CELL),
            box(x0 + 1.5 * CELL, y0, x0 + 3 * CELL, y0 + 3 * CELL),
        ],
        crs="EPSG:4326",
    )
    zones.to_file(tmp_path / "current.geojson")


def test_plan_from_student_records_writes_no_personal_field(tmp_path: Path) -> None:
    write_district(tmp_path)
    records_csv(tmp_path)
    data = {
        "name": "records",
        "units": {"path": "units.geojson"},
        "schools": {"path": "schools.geojson"},
        "current": {"path": "current.geojson", "weight": "students"},
        "students": {"records": "students.csv", "grades": ["K", "1", "2", "3", "4", "5"]},
        "policy": {"band": 1.0, "max_utilization": 1.0},
        "solver": {"time_limit_s": 30},
    }
    scenario = scenario_from_dict(data, base_dir=tmp_path)
    units, report = build_units(scenario)
    assert units["students"].sum() == 4 and units["low_income"].sum() == 2
    result, folder = run_plan(scenario, out=tmp_path / "out")
    written = {p.name: _output_text(p) for p in folder.iterdir()}
    assert {"units.geojson", "zones.geojson", "assignment.csv", "metrics.json", "map.html"} <= set(written)
    for name, text in written.items():
        for field_name, values in PERSONAL.items():
            assert field_name not in text, (name, field_name)
            for v in values:
                assert v not in text, (name, v)
    metrics = json.loads(written["metrics.json"])
    assert metrics["inputs"]["records"]["counted"] == 4
    assert metrics["inputs"]["records"]["outside_units"] == 1
    assert metrics["inputs"]["students"]["method"] == "student records"
    # the middle column is split between today's two zones
    split = metrics["inputs"]["current"]["units_split"]
    assert sorted(split) == sorted(g for g in GEOIDS if g[8] == "2")
