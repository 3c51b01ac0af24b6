"""The comparison page (read back, tables, opened in headless Chromium) and the frontier chart."""

from __future__ import annotations

import json
import os
import select
import shutil
import subprocess
import tempfile
import time
from pathlib import Path
from typing import Any

import pandas as pd
import pytest
from _scenario_data import column_split_plan, row_split_plan, write_district

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

CHROMIUM = os.environ.get("ZONING_CHROMIUM", "/usr/bin/chromium")


class Chromium:
    """Minimal headless Chromium over the DevTools pipe (fd 3 in, fd 4 out, NUL-separated JSON).

    Records console errors, uncaught exceptions, log errors and network requests of one page.
    """

    FLAGS = ["--headless", "--no-sandbox", "--disable-gpu", "--no-first-run",
             "--disable-background-networking", "--disable-component-update", "--disable-sync",
             "--remote-debugging-pipe"]

    def __init__(self) -> None:
        self.profile = tempfile.mkdtemp(prefix="zoning-test-chromium-")
        to_r, self._to = os.pipe()
        self._from, from_w = os.pipe()

        def wire() -> None:
            a, b = os.dup(to_r), os.dup(from_w)
            os.dup2(a, 3)
            os.dup2(b, 4)

        command = [CHROMIUM, *self.FLAGS, f"--user-data-dir={self.profile}", "about:blank"]
        self.proc = subprocess.Popen(command, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                                     stderr=subprocess.DEVNULL, preexec_fn=wire, pass_fds=(3, 4))
        os.close(to_r)
        os.close(from_w)
        self._buf, self._id, self._replies = b"", 0, {}
        self.errors: list[str] = []
        self.requests: list[str] = []
        self.loaded = False
        self.session: str | None = None

    def _read(self, timeout: float) -> None:
        if not select.select([self._from], [], [], timeout)[0]:
            return
        chunk = os.read(self._from, 1 << 20)
        if not chunk:
            raise RuntimeError("Chromium closed the DevTools pipe")
        self._buf += chunk
        while b"\0" in self._buf:
            raw, self._buf = self._buf.split(b"\0", 1)
            msg = json.loads(raw)
            if "id" in msg:
                self._replies[msg["id"]] = msg
                continue
            method, params = msg.get("method"), msg.get("params", {})
            if method == "Runtime.consoleAPICalled" and params.get("type") in ("error", "assert"):
                self.errors.append(str([a.get("value", a.get("description")) for a in params["args"]]))
            elif method == "Runtime.exceptionThrown":
                self.errors.append(str(params["exceptionDetails"]))
            elif method == "Log.entryAdded" and params["entry"].get("level") == "error":
                self.errors.append(params["entry"].get("text", ""))
            elif method == "Network.requestWillBeSent":
                self.requests.append(params["request"]["url"])
            elif method == "Page.loadEventFired":
                self.loaded = True

    def send(self, method: str, params: dict[str, Any] | None = None, *, page: bool = True) -> Any:
        self._id += 1
        msg: dict[str, Any] = {"id": self._id, "method": method, "params": params or {}}
        if page and self.session:
            msg["sessionId"] = self.session
        os.write(self._to, json.dumps(msg).encode() + b"\0")
        end = time.monotonic() + 30
        while self._id not in self._replies:
            if time.monotonic() > end:
                raise RuntimeError(f"no reply to {method}")
            self._read(0.5)
        reply = self._replies.pop(self._id)
        if "error" in reply:
            raise RuntimeError(f"{method}: {reply['error']}")
        return reply.get("result", {})

    def open(self, path: Path) -> None:
        target = self.send("Target.createTarget", {"url": "about:blank"}, page=False)["targetId"]
        self.session = self.send("Target.attachToTarget", {"targetId": target, "flatten": True},
                                 page=False)["sessionId"]
        for domain in ("Page", "Runtime", "Log", "Network"):
            self.send(f"{domain}.enable")
        self.send("Page.navigate", {"url": path.resolve().as_uri()})
        end = time.monotonic() + 30
        while not self.loaded and time.monotonic() < end:
            self._read(0.5)
        assert self.loaded, f"{path} did not load"
        end = time.monotonic() + 0.5
        while time.monotonic() < end:  # late messages
            self._read(0.1)

    def evaluate(self, expression: str) -> Any:
        res = self.send("Runtime.evaluate", {"expression": expression, "returnByValue": True})
        assert "exceptionDetails" not in res, res
        return res["result"].get("value")

    def close(self) -> None:
        try:
            self.send("Browser.close", page=False)
            self.proc.wait(timeout=10)
        except (RuntimeError, OSError, subprocess.TimeoutExpired):
            self.proc.kill()
            self.proc.wait(timeout=10)
        os.close(self._to)
        os.close(self._from)
        shutil.rmtree(self.profile, ignore_errors=True)


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
    if not (os.path.isfile(CHROMIUM) and os.access(CHROMIUM, os.X_OK)):
        pytest.skip(f"Chromium not found at {CHROMIUM} (apt-get install chromium)")
    _, folder = run_compare(proposals, out=tmp_path / "cmp", title="Grid proposals")
    page = folder / "compare.html"
    assert {p.name for p in folder.iterdir()} == {"compare.html", "metrics.csv", "pairs.csv", "changes.csv"}
    browser = Chromium()
    try:
        browser.open(page)
        assert browser.errors == []
        assert [u for u in browser.requests if not u.startswith(("file:", "data:"))] == []
        assert browser.evaluate("document.title") == "Grid proposals"
        assert browser.evaluate("document.querySelectorAll('svg.map').length") == 3
        assert browser.evaluate("document.querySelectorAll('svg.map .units path').length") == 3 * 16
        # the row split differs from today's zones in 8 units, marked on its map
        assert browser.evaluate("document.querySelectorAll('svg.map')[2]"
                                ".querySelectorAll('.changed path').length") == 8
        # pointing at a unit highlights it on every map and names its school in each proposal
        box = browser.evaluate("(() => { const e = document.querySelector('path[data-g=\"u30\"]');"
                               " e.scrollIntoView({block: 'center'}); const r = e.getBoundingClientRect();"
                               " return [r.x + r.width / 2, r.y + r.height / 2]; })()")
        browser.send("Input.dispatchMouseEvent", {"type": "mouseMoved", "x": box[0], "y": box[1]})
        assert browser.evaluate("document.querySelectorAll('path.hl').length") == 3
        info = browser.evaluate("document.getElementById('unit').textContent")
        assert info.startswith("u30: ") and "today: A" in info and "rows: B" in info
        assert browser.errors == []
    finally:
        browser.close()


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
