"""Sweeps: ranges, honest statuses, warm starts, the frontier table and chart."""

from __future__ import annotations

import json
import math
import time
from pathlib import Path

import pandas as pd
import pytest
from _scenario_data import SIZE, column_split_plan, district_units, write_district

from zoning.checks import check_plan
from zoning.cli import main
from zoning.errors import ScenarioError
from zoning.pipeline import build_policy, load_inputs
from zoning.scenario import load_scenario
from zoning.sweep import FRONTIER_COLUMNS, parse_range, parse_weight, point_scenario, run_sweep

ROOT = Path(__file__).resolve().parents[1]
REQUIRED = ["band", "worst_deviation", "mean_travel_s", "moved_share", "status", "gap"]


def test_parse_range_known_answers() -> None:
    assert parse_range("0.20:0.04:0.03") == [0.2, 0.17, 0.14, 0.11, 0.08, 0.05]
    assert parse_range("0.20:0.04:-0.03") == [0.2, 0.17, 0.14, 0.11, 0.08, 0.05]
    assert parse_range("0.04:0.20:0.04") == [0.04, 0.08, 0.12, 0.16, 0.2]  # stop included when hit
    assert parse_range("0:100:25") == [0, 25, 50, 75, 100]
    assert parse_range("0.1") == [0.1]


@pytest.mark.parametrize(("text", "message"), [
    ("a:b:c", r"`--band a:b:c` must be START:STOP:STEP, three numbers"),
    ("0.2:0.1", r"must be START:STOP:STEP"),
    ("0.2:0.1:0", r"has a step of 0; give a step such as 0.01"),
    ("0:1:0.001", r"gives 1001 points, more than 200; use a larger step"),
    ("0.2:inf:0.1", r"must be START:STOP:STEP"),
])
def test_parse_range_errors(text: str, message: str) -> None:
    with pytest.raises(ScenarioError, match=message):
        parse_range(text, option="--band")


def test_parse_weight() -> None:
    assert parse_weight("moved_weight=0:50:25") == ("moved_weight", [0, 25, 50])
    with pytest.raises(ScenarioError, match=r"NAME one of \['travel_weight', 'band_weight',"
                       r" 'moved_weight'\]"):
        parse_weight("speed=1:2:1")
    with pytest.raises(ScenarioError, match=r"weights must be >= 0; found -1"):
        parse_weight("band_weight=-1:1:1")


def test_point_scenario_values_are_checked(tmp_path: Path) -> None:
    sc = load_scenario(write_district(tmp_path))
    assert point_scenario(sc, "band", 0.05).policy.band == 0.05
    assert point_scenario(sc, "moved_weight", 3, time_limit_s=5).objective.moved_weight == 3.0
    assert point_scenario(sc, "moved_weight", 3, time_limit_s=5).solver.time_limit_s == 5.0
    with pytest.raises(ScenarioError, match=r"`--band` values are fractions of students in 0..1.*found 1.5"):
        point_scenario(sc, "band", 1.5)
    with pytest.raises(ScenarioError, match=r"`--time-limit` must be > 0 seconds; found 0"):
        point_scenario(sc, "band", 0.1, time_limit_s=0)
    assert point_scenario(sc, "band", 0.1, gap=0.02).solver.gap == 0.02
    assert point_scenario(sc, "band", 0.1).solver.gap == sc.solver.gap
    with pytest.raises(ScenarioError, match=r"`--gap` is a relative gap in 0..1 \(0.01 = 1%\); found 1.5"):
        point_scenario(sc, "band", 0.1, gap=1.5)
    with pytest.raises(ScenarioError, match=r"sweep parameter `speed` is unknown"):
        point_scenario(sc, "speed", 1.0)
    with pytest.raises(ScenarioError, match=r"`travel_weight` must be >= 0; found -2"):
        point_scenario(sc, "travel_weight", -2.0)
    with pytest.raises(ScenarioError, match="the sweep has no values"):
        run_sweep(sc, "band", [], out=tmp_path / "none")


def nearest_school_plan() -> dict[str, str]:
    """Each unit of the grid district to its nearest school by straight-line distance (by hand)."""
    units = district_units()
    kx = math.cos(math.radians(40.02))
    schools = {"A": (1, 0), "B": (2, 3)}
    out = {}
    for geoid in units["geoid"]:
        r, c = int(geoid[1]), int(geoid[2])
        dist = {s: math.hypot((c - sc) * SIZE * kx, (r - sr) * SIZE) for s, (sr, sc) in schools.items()}
        out[geoid] = min(dist, key=dist.get)
    return out


def test_band_sweep_on_a_small_district(tmp_path: Path) -> None:
    scenario = load_scenario(write_district(tmp_path / "grid"))
    inputs = load_inputs(scenario)
    out = tmp_path / "sweep"
    said: list[str] = []
    frontier = run_sweep(scenario, "band", parse_range("0.4:0:0.1"), out=out, inputs=inputs,
                         progress=said.append)
    assert list(frontier.columns[:6]) == REQUIRED and list(frontier.columns) == FRONTIER_COLUMNS
    assert frontier["band"].tolist() == [0.4, 0.3, 0.2, 0.1, 0.0]
    # band 0 is infeasible (no zone of whole units has the district share): recorded, not dropped
    assert frontier["status"].tolist() == ["optimal"] * 4 + ["infeasible"]
    last = frontier.iloc[-1]
    assert math.isnan(last["worst_deviation"]) and last["folder"] == ""
    assert "infeasible" in last["note"]
    assert not (out / "band-0").exists()

    solved = frontier[frontier["status"] == "optimal"]
    # tightening the band never shortens travel, and every zone keeps inside its band
    travel = solved["mean_travel_s"].tolist()
    assert all(b >= a * (1 - 1e-4) for a, b in zip(travel, travel[1:], strict=False))
    assert (solved["worst_deviation"] <= solved["band"] + 1e-9).all()
    assert travel[-1] > travel[0]
    # a loose band leaves every unit at its nearest school (worked out from the geometry)
    plan = pd.read_csv(out / "band-0.4" / "assignment.csv", dtype=str).set_index("geoid")["school_id"]
    assert plan.to_dict() == nearest_school_plan()
    # band 0.4's plan (worst deviation 0.259) also meets 0.3: offered as the warm start
    assert frontier.loc[1, "warm_start"] == "band-0.4"
    assert any("warm start from band-0.4" in s for s in said)

    # each solved point is a full output folder, and its plan passes the checker at its band
    problem = inputs.problem()
    for _, row in solved.iterrows():
        folder = out / row["folder"]
        assert {"units.geojson", "zones.geojson", "assignment.csv", "metrics.json", "map.html",
                "plan.gpkg"} <= {p.name for p in folder.iterdir()}
        plan = pd.read_csv(folder / "assignment.csv", dtype=str).set_index("geoid")["school_id"]
        policy = build_policy(scenario.replace(policy={"band": float(row["band"])}))
        assert check_plan(plan, problem, policy) == []
        metrics = json.loads((folder / "metrics.json").read_text())
        assert metrics["policy"]["band"] == row["band"] and metrics["status"] == "optimal"

    # the table as written, the chart and the record
    written = pd.read_csv(out / "frontier.csv")
    assert written["status"].tolist() == frontier["status"].tolist()
    assert written["moved_share"].iloc[:4].notna().all()
    assert (out / "frontier.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert (out / "frontier.svg").read_text().lstrip().startswith("<?xml")
    record = json.loads((out / "sweep.json").read_text())
    assert record["parameter"] == "band" and len(record["points"]) == 5


def test_weight_sweep_trades_travel_for_stability(tmp_path: Path) -> None:
    # at +/-0.35 today's west/east zones (deviation 0.347) are allowed, but the nearest-school
    # plan is shorter; a heavy price on moving students keeps everybody at today's school
    scenario = load_scenario(write_district(tmp_path / "grid"))
    out = tmp_path / "sweep"
    frontier = run_sweep(scenario.replace(policy={"band": 0.35}), "moved_weight", [0.0, 1000.0], out=out)
    assert list(frontier.columns[:7]) == ["moved_weight", *REQUIRED]
    assert frontier["status"].tolist() == ["optimal", "optimal"]
    assert frontier["moved_share"].tolist() == [pytest.approx(0.125), 0.0]
    assert frontier.loc[1, "mean_travel_s"] > frontier.loc[0, "mean_travel_s"]
    plan = pd.read_csv(out / "moved_weight-1000" / "assignment.csv", dtype=str)
    plan = plan.set_index("geoid")["school_id"]
    assert plan.to_dict() == column_split_plan().to_dict()
    assert plan.to_dict() != nearest_school_plan()


def test_sweep_through_the_cli(tmp_path: Path, capsys: pytest.CaptureFixture) -> None:
    path = write_district(tmp_path / "grid")
    out = tmp_path / "sweep"
    assert main(["sweep", str(path), "--band", "0.3:0.1:0.1", "--out", str(out), "--time-limit", "30"]) == 0
    printed = capsys.readouterr().out
    assert "optimal" in printed and "frontier.csv" in printed
    assert len(pd.read_csv(out / "frontier.csv")) == 3
    assert main(["sweep", str(path), "--out", str(out)]) == 2
    assert "exactly one of --band" in capsys.readouterr().err
    assert main(["sweep", str(path), "--band", "0.3:0.1", "--out", str(out)]) == 2
    assert main(["sweep", str(path), "--weight", "speed=1:2:1", "--out", str(out)]) == 2


@pytest.mark.shared_data
@pytest.mark.slow
def test_band_sweep_on_cambridge(shared_data: Path, tmp_path: Path) -> None:
    start = time.perf_counter()
    frontier = run_sweep(ROOT / "bench" / "cambridge" / "scenario.toml", "band",
                         parse_range("0.20:0.08:0.03"), out=tmp_path / "sweep")
    assert frontier["band"].tolist() == [0.2, 0.17, 0.14, 0.11, 0.08]
    assert set(frontier["status"]) <= {"optimal", "feasible", "infeasible", "no plan found in time"}
    optimal = frontier[frontier["status"] == "optimal"]
    assert len(optimal) >= 3
    travel = optimal["mean_travel_s"].tolist()
    assert all(b >= a * (1 - 1e-4) for a, b in zip(travel, travel[1:], strict=False))
    assert (optimal["worst_deviation"] <= optimal["band"] + 1e-9).all()
    print(f"cambridge sweep of 5 points: {time.perf_counter() - start:.1f} s")


@pytest.mark.slow
def test_demo_band_sweep(tmp_path: Path) -> None:
    """The demo district over 0.20..0.04: at least 6 points, and among the points proven optimal
    (sweeps solve to optimality by default) mean travel never falls as the band tightens.

    A 30-second limit per point keeps the test short; the wide bands are proven within it.
    """
    out = tmp_path / "sweep"
    assert main(["sweep", str(ROOT / "data" / "demo" / "scenario.toml"), "--band", "0.20:0.04:0.03",
                 "--out", str(out), "--time-limit", "30"]) == 0
    frontier = pd.read_csv(out / "frontier.csv")
    assert len(frontier) >= 6
    assert list(frontier.columns[:6]) == REQUIRED
    assert set(frontier["status"]) <= {"optimal", "feasible", "infeasible", "no plan found in time"}
    optimal = frontier[frontier["status"] == "optimal"].sort_values("band", ascending=False)
    assert len(optimal) >= 2, frontier[["band", "status", "gap"]]
    assert (optimal["gap"] <= 1e-4).all()
    travel = optimal["mean_travel_s"].tolist()
    assert all(b >= a * (1 - 1e-4) for a, b in zip(travel, travel[1:], strict=False))
    for _, row in frontier[frontier["folder"].notna()].iterrows():
        assert (out / row["folder"] / "metrics.json").exists()
