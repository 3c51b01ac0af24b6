"""The real district: ``bench/cambridge/scenario.toml`` end to end through the CLI.

Reads ``../shared/data/cambridge-ma`` in place; skipped, with the reason, when it is absent.
"""

from __future__ import annotations

import json
from pathlib import Path

import geopandas as gpd
import networkx as nx
import pandas as pd
import pytest

from zoning.adjacency import boundary_links
from zoning.cli import main
from zoning.pipeline import load_inputs
from zoning.scenario import load_scenario

SCENARIO = Path(__file__).resolve().parents[1] / "bench" / "cambridge" / "scenario.toml"
JK5 = {
    "amigos",
    "baldwin",
    "cambridgeport",
    "fma",
    "grahamparks",
    "haggerty",
    "kingopen",
    "mlk",
    "morse",
    "peabody",
    "tobin",
}


@pytest.mark.shared_data
def test_cambridge_inputs(shared_data: Path) -> None:
    inputs = load_inputs(load_scenario(SCENARIO))
    units, schools = inputs.units, inputs.schools
    assert len(units) == 88 and all(g.startswith("25017") and len(g) == 12 for g in units.index)
    assert units["students"].sum() == pytest.approx(4000)
    assert set(schools.index) == JK5
    assert schools.loc["baldwin", "capacity"] == 600 and schools.loc["tobin", "capacity"] == 480
    assert int(schools["capacity"].sum()) == 5520
    share = units["low_income"].sum() / units["students"].sum()
    assert 0.2 < share < 0.35  # households under $50k, weighted by households
    assert inputs.notes["selection"]["kept"] == 88 and inputs.notes["selection"]["slivers"] == []
    assert inputs.travel.method == "road network (drive) from cambridge_centerlines_drive.graphml"
    assert inputs.travel.seconds.notna().all().all()


@pytest.mark.shared_data
@pytest.mark.slow
def test_cambridge_plan_through_the_cli(
    shared_data: Path, tmp_path: Path, capsys: pytest.CaptureFixture
) -> None:
    out = tmp_path / "cambridge"
    assert main(["plan", str(SCENARIO), "--out", str(out)]) == 0
    printed = capsys.readouterr().out
    assert "district: 4000 students" in printed

    units = gpd.read_file(out / "units.geojson")
    zones = gpd.read_file(out / "zones.geojson")
    assignment = pd.read_csv(out / "assignment.csv", dtype=str)
    metrics = json.loads((out / "metrics.json").read_text())
    assert len(units) == 88 and len(zones) == 11 and len(assignment) == 88
    assert set(zones["school_id"]) == JK5 and set(assignment["school_id"]) == JK5
    assert (out / "map.html").stat().st_size > 10_000
    assert metrics["status"] in ("optimal", "feasible") and metrics["violations"] == []

    # every zone is contiguous over shared unit boundaries (checked here, not trusted)
    links = boundary_links(units.set_index("geoid"))
    plan = assignment.set_index("geoid")["school_id"]
    for school, members in plan.groupby(plan):
        g = nx.Graph()
        g.add_nodes_from(members.index)
        g.add_edges_from((a, b) for a, b in links if a in g and b in g)
        assert nx.is_connected(g), school

    # policy: 60-100% of capacity, low-income share within 10 points, nobody beyond 20 minutes
    assert zones["utilization"].between(0.6 - 1e-6, 1.0 + 1e-6).all()
    assert zones["deviation"].abs().max() <= 0.10 + 1e-6
    assert units["travel_time_s"].max() <= 20 * 60
