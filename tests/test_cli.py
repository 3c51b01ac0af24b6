"""The `check` and `check-plan` commands: reports, exit codes and error messages."""

from __future__ import annotations

import json
import re
from pathlib import Path

import geopandas as gpd
import pytest
from _scenario_data import SCENARIO, row_split_plan, write_district

from zoning.cli import EXIT_VIOLATIONS, main

ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture
def district(tmp_path: Path) -> Path:
    return write_district(tmp_path / "grid")


def test_check_reports_without_solving(district: Path, capsys: pytest.CaptureFixture) -> None:
    assert main(["check", str(district)]) == 0
    out = capsys.readouterr().out
    assert "scenario `grid`: inputs read, policy feasible at a glance (not solved)" in out
    assert "units 16, schools 2, students 320, low-income 45.3%" in out
    assert "students must fit in 0..400" in out
    assert "current boundaries give a school to 16 of 16 units" in out


def test_check_names_every_clash(tmp_path: Path, capsys: pytest.CaptureFixture) -> None:
    text = SCENARIO.replace("max_utilization = 1.0", "max_utilization = 0.5").replace(
        "band = 0.40", "band = 0.40\nmax_travel_min = 3")
    path = write_district(tmp_path / "grid", scenario=text)
    assert main(["check", str(path)]) == 2
    err = capsys.readouterr().err
    assert "zoning: error: scenario `grid`: the policy cannot be met:" in err
    assert "320 students but 400 seats x max_utilization 0.5 = 200" in err
    assert "units have no school within `[policy] max_travel_min` = 3" in err


def test_check_lists_every_bad_key_at_once(tmp_path: Path, capsys: pytest.CaptureFixture) -> None:
    text = SCENARIO.replace("[policy]", "[policy]\nmax_utilisation = 1.2\nband_mode = \"strict\"")
    path = write_district(tmp_path / "grid", scenario=text + "\n[polcy]\nband = 0.1\n")
    assert main(["check", str(path)]) == 2
    err = capsys.readouterr().err
    assert "unknown key `[policy] max_utilisation`; did you mean `max_utilization`?" in err
    assert "`[policy] band_mode` must be \"hard\" or \"soft\"; found 'strict'" in err
    assert "unknown section `polcy`; did you mean `policy`?" in err


def test_check_names_missing_files(tmp_path: Path, capsys: pytest.CaptureFixture) -> None:
    path = write_district(tmp_path / "grid", scenario=SCENARIO.replace("units.geojson", "gone.geojson")
                          .replace("current.geojson", "old.geojson"))
    assert main(["check", str(path)]) == 2
    err = capsys.readouterr().err
    assert "`[units] path`: file" in err and "gone.geojson" in err and "old.geojson" in err


def test_check_plan_on_the_current_boundaries(district: Path, tmp_path: Path,
                                              capsys: pytest.CaptureFixture) -> None:
    # today's west/east zones meet the grid's +/-0.40 band: a report and exit code 0
    assert main(["check-plan", str(district), "--current", "--out", str(tmp_path / "today")]) == 0
    out = capsys.readouterr().out
    assert "plan: current boundaries (current.geojson) (checked, not solved)" in out
    assert "worst deviation 34.7 pts" in out and "no violations: the plan meets the policy" in out
    metrics = json.loads((tmp_path / "today" / "metrics.json").read_text())
    assert metrics["status"] == "checked" and metrics["violations"] == []
    assert (tmp_path / "today" / "map.html").exists()


def test_check_plan_names_each_violation(district: Path, tmp_path: Path,
                                         capsys: pytest.CaptureFixture) -> None:
    plan = row_split_plan()
    plan["u33"] = "A"  # cut off from zone A, and no longer in zone B
    csv = tmp_path / "edited.csv"
    csv.write_text("geoid,school_id\n" + "".join(f"{g},{s}\n" for g, s in plan.items()) + "u99,B\n",
                   encoding="utf-8")
    assert main(["check-plan", str(district), str(csv)]) == EXIT_VIOLATIONS == 4
    out = capsys.readouterr().out
    assert "violations of the policy:" in out
    assert "assignment [u99]: unit is not in the district's units" in out
    assert "contiguity [A]: zone is in 2 pieces" in out and "u33" in out


def test_check_plan_on_the_demo_today(capsys: pytest.CaptureFixture) -> None:
    """Today's demo boundaries: today's metrics and each violation named (exit code 4)."""
    units = gpd.read_file(ROOT / "data" / "demo" / "units.geojson")
    students, low = units["students"].sum(), units["low_income"].sum()
    code = main(["check-plan", str(ROOT / "data" / "demo" / "scenario.toml"), "--current"])
    out = capsys.readouterr().out
    assert code == EXIT_VIOLATIONS
    assert f"district: {students:.0f} students, low-income {low / students:.1%}" in out
    assert "plan: current boundaries (current_zones.geojson) (checked, not solved)" in out
    outside = int(re.search(r"(\d+) zones outside the band", out).group(1))
    assert outside > 0 and out.count("  - band [") == outside
    assert "violations of the policy:" in out and "  - capacity [" in out


@pytest.mark.parametrize(("args", "message"), [
    (["plan.csv", "--current"], "either a PLAN file"),
    ([], "either a PLAN file"),
    (["missing.csv"], "plan file `missing.csv` does not exist"),
])
def test_check_plan_argument_errors(district: Path, args: list[str], message: str,
                                    capsys: pytest.CaptureFixture) -> None:
    assert main(["check-plan", str(district), *args]) == 2
    assert message in capsys.readouterr().err


def test_check_plan_current_needs_current_boundaries(tmp_path: Path,
                                                     capsys: pytest.CaptureFixture) -> None:
    text = SCENARIO.replace('[current]\npath = "current.geojson"\n', "")
    path = write_district(tmp_path / "grid", scenario=text)
    assert main(["check-plan", str(path), "--current"]) == 2
    assert "has no current boundaries; set `[current] path`" in capsys.readouterr().err


def test_check_plan_out_needs_every_unit_assigned(district: Path, tmp_path: Path,
                                                  capsys: pytest.CaptureFixture) -> None:
    plan = row_split_plan().drop("u33")
    csv = tmp_path / "partial.csv"
    csv.write_text("geoid,school_id\n" + "".join(f"{g},{s}\n" for g, s in plan.items()), encoding="utf-8")
    assert main(["check-plan", str(district), str(csv), "--out", str(tmp_path / "out")]) == 2
    captured = capsys.readouterr()
    assert "assignment [u33]: unit has no school" in captured.out  # the report comes first
    assert ("leaves 1 units without a known school (e.g. ['u33']); its outputs cannot be written"
            in captured.err)
    assert not (tmp_path / "out").exists()
