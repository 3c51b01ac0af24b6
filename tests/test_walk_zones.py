"""Walk zones: units within W minutes' walk of a school stay with it."""

from __future__ import annotations

import pytest
from conftest import DEMO

from zoning.checks import check_plan
from zoning.errors import ScenarioError
from zoning.pipeline import build_policy, load_inputs, solve
from zoning.scenario import load_scenario


def test_walk_zone_units_are_locked_to_their_nearest_school_by_foot() -> None:
    scenario = load_scenario(DEMO / "scenario.toml").replace(
        policy={"walk_zone_min": 6.0, "contiguity": False, "band": 0.2},
        solver={"time_limit_s": 60.0, "gap": 0.01},
    )
    inputs = load_inputs(scenario)
    locks = inputs.walk_locks
    assert locks, "some demo units lie within a 6-minute walk of a school"
    homes = set(inputs.home_unit)
    # every school's own unit is within a short walk of it
    assert sum(1 for u in homes if u in locks) >= len(homes) // 2
    problem = inputs.problem()
    for u, s in locks.items():
        if u not in homes:
            assert problem.locked[u] == s
    result = solve(inputs)
    assert check_plan(result.plan, problem, build_policy(scenario)) == []
    for u, s in problem.locked.items():
        assert result.plan[u] == s


def test_walk_zone_needs_a_road_network(tmp_path) -> None:
    text = (DEMO / "scenario.toml").read_text().replace('path = "roads.osm"\n', "")
    text = text.replace("[policy]\n", "[policy]\nwalk_zone_min = 5\n")
    for name in ("units.geojson", "schools.geojson", "current_zones.geojson"):
        (tmp_path / name).write_bytes((DEMO / name).read_bytes())
    (tmp_path / "scenario.toml").write_text(text)
    with pytest.raises(ScenarioError, match=r"walk_zone_min` needs walking times"):
        load_scenario(tmp_path / "scenario.toml")
