"""The comparison page (read back, tables, opened in headless Chromium) and the frontier chart."""

from __future__ import annotations

import json
import os
import shutil
from pathlib import Path

import pandas as pd
import pytest
from _scenario_data import column_split_plan, row_split_plan, write_district
from browser import Browser, chromium_path

from zoning.cli import main
from zoning.compare import (
    change_matrix,
    changed_units,
    figure_bytes,
    load_proposal,
    load_proposals,
    metrics_table,
    render_frontier_chart,
)
from zoning.errors import InputError
from zoning.pipeline import evaluate_plan, load_inputs, run_compare, save_plan, solve
from zoning.scenario import load_scenario


@pytest.fixture(scope="module")
def proposals(tmp_path_factory: pytest.TempPathFactory) -> list[Path]:
    """Three output folders of the small district: today's zones, a solved plan, the row split."""
    root = tmp_path_factory.mktemp("proposals")
    inputs = load_inputs(load_scenario(write_district(root / "grid")))
    today = save_plan(evaluate_plan(inputs, inputs.current, source="current boundaries"), root / "today")
    tighter = inputs.scenario.replace(policy={"band": 0.1})
    solved = save_plan(solve(inputs, scenario=tighter), root / "band-0.1")
    rows = save_plan(evaluate_plan(inputs, row_split_plan(), source="rows.csv"), root / "rows")
    return [today, solved, rows]


def test_change_matrix_known_answer(proposals: list[Path]) -> None:
    today, _, rows = proposals
    pair = load_proposals([today, rows])
    m = change_matrix(pair)
    # west/east to south/north: 8 units of 20 students change school, half the district
    assert m.to_dict("records") == [{"from": "today", "to": "rows", "units_changed": 8,
                                     "students_changed": 160.0, "students_share": 0.5}]
    changed = changed_units(pair)
    expected = {g for g in column_split_plan().index if column_split_plan()[g] != row_split_plan()[g]}
    assert set(changed.index) == expected
    assert (changed["today"] != changed["rows"]).all()


def test_metrics_table_side_by_side(proposals: list[Path]) -> None:
    table = metrics_table(load_proposals(proposals))
    assert list(table.columns) == ["today", "band-0.1", "rows"]
    assert table.loc["Worst deviation from district share", "rows"] == pytest.approx(0.003125)
    assert table.loc["Students who change school", "rows"] == pytest.approx(0.5)
    assert table.loc["Solver status", "band-0.1"] == "optimal"


def test_compare_page_opens_in_chromium_without_errors(proposals: list[Path], tmp_path: Path) -> None:
    if chromium_path() is None:
        reason = "headless Chromium not found at /usr/bin/chromium (install Debian's `chromium`)"
        if os.environ.get("CI"):
            pytest.fail(f"{reason}: CI must install it so the page tests run")
        pytest.skip(reason)
    _, folder = run_compare(proposals, out=tmp_path / "cmp", title="Grid proposals")
    assert {p.name for p in folder.iterdir()} == {"compare.html", "metrics.csv", "pairs.csv", "changes.csv"}
    with Browser.launch() as browser:
        page = browser.open(folder / "compare.html")
        page.settle(0.5)
        assert page.errors == [] and page.requests == []
        assert page.evaluate("document.title") == "Grid proposals"
        assert page.evaluate("document.querySelectorAll('svg.map').length") == 3
        assert page.evaluate("document.querySelectorAll('svg.map .units path').length") == 3 * 16
        assert page.evaluate("document.querySelectorAll('svg.map .schools circle').length") == 3 * 2
        # the row split differs from today's zones in 8 units, marked on its map
        assert page.evaluate("document.querySelectorAll('svg.map')[2]"
                             ".querySelectorAll('.changed path').length") == 8
        # pointing at a unit highlights it on every map and names its school in each proposal
        x, y = page.evaluate("(() => { const e = document.querySelector('path[data-g=\"u30\"]');"
                             " e.scrollIntoView({block: 'center'}); const r = e.getBoundingClientRect();"
                             " return [r.x + r.width / 2, r.y + r.height / 2]; })()")
        page.hover(x, y)
        page.settle(0.2)
        assert page.evaluate("document.querySelectorAll('path.hl').length") == 3
        info = page.evaluate("document.getElementById('unit').textContent")
        assert info.startswith("u30: ") and "today: A" in info and "rows: B" in info
        assert page.errors == []


def test_compare_through_the_cli(proposals: list[Path], tmp_path: Path,
                                 capsys: pytest.CaptureFixture) -> None:
    out = tmp_path / "cmp"
    assert main(["compare", str(proposals[0]), str(proposals[2]), "--out", str(out)]) == 0
    printed = capsys.readouterr().out
    assert "today -> rows: 8 units, 160 students (50.0%) change school" in printed
    pairs = pd.read_csv(out / "pairs.csv")
    assert pairs["units_changed"].tolist() == [8]
    assert main(["compare", str(proposals[0]), "--out", str(out)]) == 2
    assert "at least two proposal folders" in capsys.readouterr().err


def test_proposal_errors(proposals: list[Path], tmp_path: Path) -> None:
    with pytest.raises(InputError, match=r"proposal folder `.*nowhere` does not exist"):
        load_proposal(tmp_path / "nowhere")
    partial = tmp_path / "partial"
    partial.mkdir()
    (partial / "metrics.json").write_text("{", encoding="utf-8")
    with pytest.raises(InputError, match=r"has no `units.geojson`, `zones.geojson`; give a complete output"):
        load_proposal(partial)
    for name in ("units.geojson", "zones.geojson"):
        shutil.copy(proposals[0] / name, partial / name)
    with pytest.raises(InputError, match=r"metrics.json` is not valid JSON"):
        load_proposal(partial)
    (partial / "metrics.json").write_text("{}", encoding="utf-8")
    with pytest.raises(InputError, match=r"has no `district` metrics"):
        load_proposal(partial)
    with pytest.raises(InputError, match=r"compare needs at least two proposal folders; found 1"):
        load_proposals([proposals[0]])
    other = tmp_path / "other"
    shutil.copytree(proposals[0], other)
    units = json.loads((other / "units.geojson").read_text())
    units["features"] = units["features"][:-1]
    (other / "units.geojson").write_text(json.dumps(units), encoding="utf-8")
    with pytest.raises(InputError, match=r"\(16 units\) and .* \(15 units\) cover different units"
                       r".*same district"):
        load_proposals([proposals[0], other])
    with pytest.raises(InputError, match=r"would replace the proposal folder"):
        run_compare([proposals[0], proposals[2]], out=proposals[2])


def test_same_folder_names_are_told_apart(proposals: list[Path], tmp_path: Path) -> None:
    copy = tmp_path / "elsewhere" / "today"
    shutil.copytree(proposals[0], copy)
    names = [p.name for p in load_proposals([proposals[0], copy])]
    assert len(set(names)) == 2 and all(n.endswith("/today") for n in names)


def test_frontier_chart_is_deterministic() -> None:
    frontier = pd.DataFrame({
        "band": [0.2, 0.15, 0.1, 0.05],
        "worst_deviation": [0.18, 0.14, 0.1, None],
        "mean_travel_s": [300.0, 310.0, 330.0, None],
        "moved_share": [0.1, 0.2, 0.3, None],
        "status": ["optimal", "optimal", "feasible", "infeasible"],
        "gap": [0.0, 0.0, 0.02, None],
    })
    fig = render_frontier_chart(frontier, parameter="band")
    png, svg = figure_bytes(fig, fmt="png"), figure_bytes(fig, fmt="svg")
    again = render_frontier_chart(frontier, parameter="band")
    assert figure_bytes(again, fmt="png") == png and figure_bytes(again, fmt="svg") == svg
    assert png[:8] == b"\x89PNG\r\n\x1a\n"
    text = svg.decode()
    assert "<dc:date>" not in text and "No plan (infeasible: band 0.05)" in text
    assert "Mean travel time (min)" in text and "Students who change school (%)" in text
