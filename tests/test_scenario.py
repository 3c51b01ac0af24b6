"""Scenario validation (every problem in one error) and the README's key and metrics tables."""

from __future__ import annotations

import dataclasses
import re
from pathlib import Path
from typing import Any

import pytest
from _scenario_data import write_district

from zoning.errors import ScenarioError
from zoning.pipeline import evaluate_plan, load_inputs, solve
from zoning.scenario import _SECTIONS, load_scenario, scenario_from_dict

ROOT = Path(__file__).resolve().parents[1]
README = (ROOT / "README.md").read_text(encoding="utf-8")
BASE = {"name": "x", "units": {"path": "u.geojson"}, "schools": {"path": "s.geojson"}}


def build(**sections: Any) -> dict[str, Any]:
    data = {k: dict(v) if isinstance(v, dict) else v for k, v in BASE.items()}
    for section, values in sections.items():
        data[section] = {**data.get(section, {}), **values} if isinstance(values, dict) else values
    return data


def test_every_problem_is_listed_in_one_error() -> None:
    data = build(policy={"band": 2.0, "max_utilisation": 1.1, "band_mode": "medium"},
                 solver={"time_limit_s": "fast", "name": "gurobi"}, polcy={"band": 0.1}, colour="red")
    with pytest.raises(ScenarioError) as err:
        scenario_from_dict(data, base_dir=Path("."))
    lines = str(err.value).splitlines()
    assert lines[0] == "scenario is not a valid scenario:"
    problems = [line for line in lines[1:] if line.startswith("  - ")]
    assert len(problems) == 7
    text = str(err.value)
    assert "unknown key `[policy] max_utilisation`; did you mean `max_utilization`?" in text
    assert "unknown section `polcy`; did you mean `policy`?" in text
    assert "unknown key `colour`;" in text and "(check the spelling, or remove it)" in text
    assert "`[solver] time_limit_s` must be a number; found 'fast'" in text
    assert "`[solver] name` must be \"highs\" or \"cbc\"; found 'gurobi'" in text
    assert "`[policy] band` is a fraction of students (0.10 = +/-10 points); found 2.0" in text
    assert "`[policy] band_mode` must be \"hard\" or \"soft\"; found 'medium'" in text


@pytest.mark.parametrize(("sections", "match"), [
    ({"policy": {"min_utilization": -0.1}}, r"`\[policy\] min_utilization` must be >= 0; found -0.1"),
    ({"policy": {"max_utilization": 0}}, r"`\[policy\] max_utilization` must be > 0; found 0"),
    ({"policy": {"min_utilization": 0.9, "max_utilization": 0.8}},
     r"`\[policy\] min_utilization` \(0.9\) is above `max_utilization` \(0.8\); set min <= max"),
    ({"policy": {"max_travel_min": 0}}, r"`\[policy\] max_travel_min` must be > 0 minutes"),
    ({"policy": {"max_moved_share": 1.5}}, r"`\[policy\] max_moved_share` is a fraction of students in 0..1"),
    ({"policy": {"max_moved_share": 0.2}}, r"`\[policy\] max_moved_share` needs current boundaries"),
    ({"policy": {"locks": {"u1": 5}}}, r"`\[policy\] locks` must be a table of strings"),
    ({"policy": {"contiguity": "yes"}}, r"`\[policy\] contiguity` must be true/false; found 'yes'"),
    ({"objective": {"band_weight": -1}}, r"`\[objective\] band_weight` must be >= 0; found -1"),
    ({"network": {"mode": "bike"}}, r"`\[network\] mode` must be \"drive\" or \"walk\"; found 'bike'"),
    ({"network": {"circuity": 0.9}}, r"`\[network\] circuity` must be >= 1; found 0.9"),
    ({"network": {"straight_line_speed_kph": 0}}, r"`\[network\] straight_line_speed_kph` must be > 0"),
    ({"solver": {"time_limit_s": 0}}, r"`\[solver\] time_limit_s` must be > 0 seconds; found 0"),
    ({"solver": {"gap": 1.0}}, r"`\[solver\] gap` is a relative gap in \[0, 1\); found 1.0"),
    ({"solver": {"threads": 0}}, r"`\[solver\] threads` must be >= 1; found 0"),
    ({"solver": {"threads": 1.5}}, r"`\[solver\] threads` must be an integer; found 1.5"),
    ({"solver": {"candidate_schools": -1}}, r"`\[solver\] candidate_schools` must be >= 0 \(0 = all\)"),
    ({"solver": {"gap": float("nan")}}, r"`\[solver\] gap` must be a finite number; found nan"),
    ({"name": "my plan"}, r"`name` must use letters, digits, '.', '_' or '-'"),
    ({"name": 3}, r"`name` must be a string; found 3"),
    ({"description": ["a"]}, r"`description` must be a string"),
    ({"policy": 0.1}, r"`policy` must be a table like `\[policy\]`; found 0.1"),
    ({"schools": {"path": ""}}, r"`\[schools\] path` is required"),
])
def test_bad_values_are_named_with_the_fix(sections: dict[str, Any], match: str) -> None:
    with pytest.raises(ScenarioError, match=match):
        scenario_from_dict(build(**sections), base_dir=Path("."))


def test_name_is_required() -> None:
    data = build()
    del data["name"]
    with pytest.raises(ScenarioError, match=r'`name` is required: a short name for the scenario'):
        scenario_from_dict(data, base_dir=Path("."))


def test_scenario_file_errors(tmp_path: Path) -> None:
    with pytest.raises(ScenarioError, match=r"scenario file `.*none.toml` does not exist"):
        load_scenario(tmp_path / "none.toml")
    bad = tmp_path / "bad.toml"
    bad.write_text("name = \n", encoding="utf-8")
    with pytest.raises(ScenarioError, match=r"is not valid TOML: .*; fix the syntax"):
        load_scenario(bad)
    binary = tmp_path / "binary.toml"
    binary.write_bytes(b"\xff\xfe\x00")
    with pytest.raises(ScenarioError, match=r"cannot be read as UTF-8 text"):
        load_scenario(binary)


def test_input_files_are_listed_and_resolved(tmp_path: Path) -> None:
    sc = load_scenario(write_district(tmp_path))
    files = sc.input_files()
    assert list(files) == ["[units] path", "[schools] path", "[current] path"]
    assert files["[units] path"] == tmp_path / "units.geojson"


# --------------------------------------------------------------------------- README


def _readme_table(heading: str) -> list[list[str]]:
    """Rows (cells) of the first table after a heading line of the README."""
    start = README.index(heading + "\n")
    rows: list[list[str]] = []
    for line in README[start:].splitlines()[1:]:
        if line.startswith("#"):
            break
        if line.startswith("|") and not line.startswith("|---"):
            rows.append([c.strip() for c in line.strip().strip("|").split("|")])
        elif rows and not line.startswith("|"):
            break
    return rows[1:]  # without the header


def _readme_default(value: Any) -> str:
    if value is None:
        return "–"
    if isinstance(value, bool):
        return f"`{str(value).lower()}`"
    if isinstance(value, str):
        return f'`"{value}"`'
    if isinstance(value, float):
        return f"`{value:g}`"
    if isinstance(value, list | dict):
        return f"`{value!r}`"
    return f"`{value}`"


@pytest.mark.parametrize("section", list(_SECTIONS))
def test_readme_documents_every_key_with_its_default(section: str) -> None:
    rows = _readme_table(f"#### `[{section}]`")
    documented = {r[0].strip("`"): r for r in rows}
    fields = {f.name: f for f in dataclasses.fields(_SECTIONS[section])}
    assert set(documented) == set(fields), f"[{section}]: README and scenario.py disagree"
    for name, f in fields.items():
        default = f.default if f.default is not dataclasses.MISSING else f.default_factory()  # type: ignore[misc]
        assert documented[name][1] == _readme_default(default), (section, name)
        assert documented[name][2] and documented[name][3], (section, name)  # a unit and a meaning


def test_readme_documents_every_metrics_json_field(tmp_path: Path) -> None:
    inputs = load_inputs(load_scenario(write_district(tmp_path)))
    documented: set[str] = set()
    for row in _readme_table("### `metrics.json` fields"):
        documented |= set(re.findall(r"`([a-z_.]+)`", row[0]))
    for result in (solve(inputs), evaluate_plan(inputs, inputs.current, source="current")):
        metrics = result.metrics_json()
        fields = {k for k in metrics if k != "district"} | {f"district.{k}" for k in metrics["district"]}
        assert fields - documented == set()
    assert "district.moved_share" in documented and "district.mean_polsby_popper" in documented
