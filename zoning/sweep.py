"""Trade-off sweeps: solve one scenario over a range of band widths (or of an objective weight).

The inputs are loaded once (units, schools, roads, travel times, adjacency) and every point is
solved from them. Each point is offered the previous point's plan as a warm start when that plan
meets the new point's policy (checked by :func:`zoning.checks.check_plan`); otherwise the
latest earlier plan that does. Every point is recorded with its honest status: ``optimal``,
``feasible`` (time limit reached, with its gap), ``infeasible`` or ``no plan found in time``;
points without a plan stay in the table with empty metrics.

Outputs in the sweep folder: one subfolder per solved point (the output contract of
``zoning plan``), ``frontier.csv``, ``frontier.png``, ``frontier.svg`` and ``sweep.json``.
``frontier.csv`` and ``sweep.json`` are rewritten after every point, so a long sweep can be
followed (and an interrupted one still shows the points done).
"""

from __future__ import annotations

import dataclasses
import logging
import math
import re
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pandas as pd

from .checks import check_plan
from .compare import figure_bytes, render_frontier_chart
from .errors import InfeasibleError, NoPlanInTimeError, ScenarioError
from .io import atomic_write_bytes, atomic_write_text, csv_text, to_json_text
from .model import INFEASIBLE, NO_PLAN, OPTIMAL_GAP
from .pipeline import Inputs, PlanResult, build_policy, load_inputs, save_plan, solve
from .scenario import Scenario, load_scenario

log = logging.getLogger(__name__)

Progress = Callable[[str], None]

#: Parameters a sweep can vary: the band, or one of the objective weights.
PARAMETERS = ("band", "travel_weight", "band_weight", "moved_weight")

#: Columns of ``frontier.csv``, after the swept parameter when it is a weight.
FRONTIER_COLUMNS = [
    "band", "worst_deviation", "mean_travel_s", "moved_share", "status", "gap",
    "objective", "bound", "seconds", "dissimilarity", "normalized_exposure", "max_travel_s",
    "zones_outside_band", "warm_start", "folder", "note",
]

#: At most this many points in one sweep (a typo such as 0.20:0.04:0.0003 is caught).
MAX_POINTS = 200
#: Gap each sweep point is solved to unless told otherwise: proven optimal (points compare exactly).
SWEEP_GAP = OPTIMAL_GAP


def _quiet(_: str) -> None:
    return None


def parse_range(text: str, *, option: str = "--band") -> list[float]:
    """Values of ``START:STOP:STEP``, from START towards STOP, STOP included when it is hit.

    The step's sign is taken from the direction START -> STOP, so ``0.20:0.04:0.03`` and
    ``0.20:0.04:-0.03`` both give 0.20, 0.17, 0.14, 0.11, 0.08, 0.05. A single number is a
    one-point range.

    Raises
    ------
    ScenarioError
        Not three numbers, a zero step, or more than :data:`MAX_POINTS` points.
    """
    parts = text.split(":")
    try:
        numbers = [float(p) for p in parts]
    except ValueError:
        numbers = []
    if len(parts) == 1 and len(numbers) == 1:
        return [numbers[0]]
    if len(numbers) != 3 or not all(math.isfinite(n) for n in numbers):
        raise ScenarioError(f"`{option} {text}` must be START:STOP:STEP, three numbers such as"
                            " 0.20:0.04:0.03")
    start, stop, step = numbers
    if step == 0:
        raise ScenarioError(f"`{option} {text}` has a step of 0; give a step such as 0.01")
    step = abs(step) if stop >= start else -abs(step)
    count = math.floor((stop - start) / step + 1e-9) + 1
    if count > MAX_POINTS:
        raise ScenarioError(f"`{option} {text}` gives {count} points, more than {MAX_POINTS}; use a"
                            " larger step")
    decimals = max(_decimals(start), _decimals(step), 0) + 2
    return [round(start + i * step, decimals) for i in range(count)]


def _decimals(x: float) -> int:
    text = f"{x:.12g}"
    return len(text.split(".")[1]) if "." in text and "e" not in text else 0


def parse_weight(text: str) -> tuple[str, list[float]]:
    """``NAME=START:STOP:STEP`` for a weight sweep, e.g. ``moved_weight=0:50:10``.

    Raises
    ------
    ScenarioError
        Unknown weight name or a bad range.
    """
    m = re.fullmatch(r"\s*([a-z_]+)\s*=\s*(\S+)\s*", text)
    weights = [p for p in PARAMETERS if p != "band"]
    if not m or m.group(1) not in weights:
        raise ScenarioError(f"`--weight {text}` must be NAME=START:STOP:STEP with NAME one of {weights},"
                            " e.g. --weight moved_weight=0:50:10")
    values = parse_range(m.group(2), option=f"--weight {m.group(1)}=")
    if any(v < 0 for v in values):
        raise ScenarioError(f"`--weight {text}`: weights must be >= 0; found {min(values):g}")
    return m.group(1), values


def point_scenario(scenario: Scenario, parameter: str, value: float, *,
                   time_limit_s: float | None = None, gap: float | None = None) -> Scenario:
    """The scenario of one sweep point: ``[policy] band`` or ``[objective] <weight>`` set to ``value``.

    Raises
    ------
    ScenarioError
        An unknown parameter or a value the scenario rules reject (e.g. a band outside 0..1).
    """
    if parameter not in PARAMETERS:
        raise ScenarioError(f"sweep parameter `{parameter}` is unknown; use one of {list(PARAMETERS)}")
    if parameter == "band":
        if not 0 <= value <= 1:
            raise ScenarioError(f"`--band` values are fractions of students in 0..1 (0.10 = +/-10 points);"
                                f" found {value:g}")
        out = scenario.replace(policy={"band": float(value)})
    else:
        if value < 0:
            raise ScenarioError(f"`{parameter}` must be >= 0; found {value:g}")
        out = scenario.replace(objective={parameter: float(value)})
    if time_limit_s is not None:
        if time_limit_s <= 0:
            raise ScenarioError(f"`--time-limit` must be > 0 seconds; found {time_limit_s:g}")
        out = out.replace(solver={"time_limit_s": float(time_limit_s)})
    if gap is not None:
        if not 0 <= gap < 1:
            raise ScenarioError(f"`--gap` is a relative gap in 0..1 (0.01 = 1%); found {gap:g}")
        out = out.replace(solver={"gap": float(gap)})
    return out


def point_folder_name(parameter: str, value: float) -> str:
    """Subfolder of one point, e.g. ``band-0.14`` or ``moved_weight-20``."""
    return f"{parameter}-{value:g}"


@dataclass
class SweepPoint:
    """One solved (or unsolvable) point of a sweep."""

    parameter: str
    value: float
    band: float | None
    status: str
    gap: float | None = None
    objective: float | None = None
    bound: float | None = None
    seconds: float | None = None
    district: dict[str, Any] = field(default_factory=dict)
    warm_start: str = ""
    folder: str = ""
    note: str = ""
    result: PlanResult | None = None

    def row(self) -> dict[str, Any]:
        d = self.district
        row: dict[str, Any] = {} if self.parameter == "band" else {self.parameter: self.value}
        row.update({
            "band": self.band,
            "worst_deviation": d.get("worst_deviation"),
            "mean_travel_s": d.get("mean_travel_s"),
            "moved_share": d.get("moved_share"),
            "status": self.status,
            "gap": self.gap,
            "objective": self.objective,
            "bound": self.bound,
            "seconds": None if self.seconds is None else round(self.seconds, 3),
            "dissimilarity": d.get("dissimilarity"),
            "normalized_exposure": d.get("normalized_exposure"),
            "max_travel_s": d.get("max_travel_s"),
            "zones_outside_band": d.get("zones_outside_band"),
            "warm_start": self.warm_start,
            "folder": self.folder,
            "note": self.note,
        })
        return row


def frontier_table(points: list[SweepPoint], *, parameter: str) -> pd.DataFrame:
    """The rows of ``frontier.csv``: one per point, in sweep order (columns :data:`FRONTIER_COLUMNS`)."""
    columns = FRONTIER_COLUMNS if parameter == "band" else [parameter, *FRONTIER_COLUMNS]
    frame = pd.DataFrame([p.row() for p in points], columns=columns)
    for col in ("band", "worst_deviation", "mean_travel_s", "moved_share", "gap", "objective", "bound",
                "seconds", "dissimilarity", "normalized_exposure", "max_travel_s"):
        frame[col] = pd.to_numeric(frame[col], errors="coerce").astype(float)
    return frame


def _warm_start(inputs: Inputs, scenario: Scenario, points: list[SweepPoint]) -> tuple[pd.Series | None, str]:
    """The latest earlier plan that meets this point's policy, and the name of its point."""
    problem = inputs.problem()
    policy = build_policy(scenario)
    for p in reversed(points):
        if p.result is None:
            continue
        if not check_plan(p.result.plan, problem, policy):
            return p.result.plan, point_folder_name(p.parameter, p.value)
    return None, ""


def save_sweep(points: list[SweepPoint], folder: Path, *, parameter: str, scenario: Scenario,
               chart: bool = True) -> pd.DataFrame:
    """Write ``frontier.csv`` and ``sweep.json`` (and with ``chart`` the PNG and SVG chart).

    Each file is written atomically. Returns the frontier table.
    """
    frontier = frontier_table(points, parameter=parameter)
    folder.mkdir(parents=True, exist_ok=True)
    atomic_write_text(folder / "frontier.csv", csv_text(frontier, index=False, float_format="%.10g"))
    atomic_write_text(folder / "sweep.json", to_json_text({
        "scenario": scenario.name,
        "parameter": parameter,
        "values": [p.value for p in points],
        "points": [p.row() for p in points],
        **scenario.policy_dict(),
    }))
    if chart:
        fig = render_frontier_chart(frontier, parameter=parameter,
                                    title=f"{scenario.name}: trade-off over {parameter}")
        atomic_write_bytes(folder / "frontier.png", figure_bytes(fig, fmt="png"))
        atomic_write_bytes(folder / "frontier.svg", figure_bytes(fig, fmt="svg"))
    return frontier


def run_sweep(scenario: Scenario | str | Path, parameter: str, values: list[float], *, out: Path,
              time_limit_s: float | None = None, gap: float | None = SWEEP_GAP,
              inputs: Inputs | None = None,
              progress: Progress = _quiet) -> pd.DataFrame:
    """Solve the scenario at every value of ``parameter`` and write the sweep folder.

    Parameters
    ----------
    scenario
        A scenario or its TOML file.
    parameter
        ``band`` or an objective weight (:data:`PARAMETERS`).
    values
        The values, solved in this order (see :func:`parse_range`).
    out
        The sweep folder: a subfolder per solved point, ``frontier.csv``, ``frontier.png``,
        ``frontier.svg``, ``sweep.json``.
    time_limit_s
        Time limit per point (default: the scenario's ``[solver] time_limit_s``).
    gap
        Relative gap each point is solved to (default :data:`SWEEP_GAP`: proven optimal, so
        that the points of a frontier compare exactly; a point the time limit stops is
        ``feasible`` with its gap); None keeps the scenario's ``[solver] gap``.
    inputs
        Already loaded inputs of this scenario (loaded here when omitted).

    Returns
    -------
    DataFrame
        The frontier table, as written to ``frontier.csv``.

    Raises
    ------
    ScenarioError
        Bad parameter or values (checked for every value before anything is solved).
    SolverError
        A solver plan fails the independent checker (a bug; the sweep stops).
    """
    if not isinstance(scenario, Scenario):
        scenario = load_scenario(scenario)
    if not values:
        raise ScenarioError("the sweep has no values; give START:STOP:STEP")
    scenarios = [point_scenario(scenario, parameter, v, time_limit_s=time_limit_s, gap=gap) for v in values]
    out = Path(out)
    if inputs is None:
        inputs = load_inputs(scenario, progress=progress)
    points: list[SweepPoint] = []
    for i, (value, sc) in enumerate(zip(values, scenarios, strict=True)):
        name = point_folder_name(parameter, value)
        warm, warm_name = _warm_start(inputs, sc, points)
        progress(f"point {i + 1}/{len(values)}: {parameter} = {value:g}"
                 + (f" (warm start from {warm_name})" if warm_name else ""))
        point = SweepPoint(parameter, value, sc.policy.band, status="", warm_start=warm_name)
        start = time.perf_counter()
        try:
            # the point's own scenario travels with its inputs, so maps and reports show its policy
            result = solve(dataclasses.replace(inputs, scenario=sc), warm_start=warm)
        except InfeasibleError as exc:
            point.status, point.note = INFEASIBLE, str(exc)
            point.seconds = time.perf_counter() - start
        except NoPlanInTimeError as exc:
            point.status, point.note = NO_PLAN, str(exc)
            point.seconds = time.perf_counter() - start
        else:
            m = result.model
            assert m is not None
            point.status, point.gap, point.objective = m.status_, m.gap_, m.objective_
            point.bound, point.seconds = m.bound_, m.seconds_
            point.district, point.result = result.district, result
            save_plan(result, out / name)
            point.folder = name
        progress(f"point {i + 1}/{len(values)}: {point.status}"
                 + (f", gap {point.gap:.2%}" if point.gap is not None else "")
                 + (f", worst deviation {point.district['worst_deviation'] * 100:.1f} pts, mean travel"
                    f" {point.district['mean_travel_s'] / 60:.2f} min" if point.district else ""))
        points.append(point)
        save_sweep(points, out, parameter=parameter, scenario=scenario, chart=False)
    return save_sweep(points, out, parameter=parameter, scenario=scenario, chart=True)
