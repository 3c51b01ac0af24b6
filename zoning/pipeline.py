"""The whole flow: scenario -> inputs -> travel times -> integer program -> checks -> metrics ->
map -> outputs. The only module that knows every step."""

from __future__ import annotations

import logging
import math
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import geopandas as gpd
import networkx as nx
import pandas as pd

from . import __version__, settings
from .adjacency import build_adjacency, neighbours
from .census import build_units
from .checks import Violation, check_plan
from .errors import InputError, SolverError, format_problems
from .io import check_output_folder, csv_text, geojson_text, save_folder, text_writer, to_json_text
from .maps import render_map
from .metrics import district_metrics, zone_geometries, zone_table
from .model import Policy, Problem, SolveOptions, ZoningModel
from .network import district_polygon, download_graph, load_graph
from .report import render_summary
from .scenario import Scenario, load_scenario
from .schools import assign_current, find_home_units, load_current_zones, load_schools
from .traveltime import TravelTimes, compute_straight_line, compute_travel_times

log = logging.getLogger(__name__)

Progress = Callable[[str], None]


def _quiet(_: str) -> None:
    return None


@dataclass
class Inputs:
    """Everything loaded and derived from a scenario before solving."""

    scenario: Scenario
    units: gpd.GeoDataFrame
    schools: gpd.GeoDataFrame
    home_unit: pd.Series
    travel: TravelTimes
    adjacency: pd.DataFrame
    current: pd.Series | None = None
    current_zones: gpd.GeoDataFrame | None = None
    graph: nx.MultiDiGraph | None = None
    notes: dict[str, Any] = field(default_factory=dict)

    def problem(self) -> Problem:
        """The plain-data problem for :mod:`zoning.model`."""
        return Problem(
            travel_time_s=self.travel.seconds,
            students=self.units["students"],
            low_income=self.units["low_income"],
            capacity=self.schools["capacity"],
            neighbours=neighbours(self.adjacency, self.units.index),
            home_unit=self.home_unit,
            locked=dict(self.scenario.policy.locks),
            current=self.current,
        )


def build_policy(scenario: Scenario) -> Policy:
    """The model's :class:`Policy` from a scenario's ``[policy]`` and ``[objective]``."""
    p, o = scenario.policy, scenario.objective
    return Policy(
        min_utilization=p.min_utilization,
        max_utilization=p.max_utilization,
        band=p.band,
        band_mode=p.band_mode,
        max_travel_s=None if p.max_travel_min is None else p.max_travel_min * 60.0,
        contiguity=p.contiguity,
        max_moved_share=p.max_moved_share,
        travel_weight=o.travel_weight,
        band_weight=o.band_weight,
        moved_weight=o.moved_weight,
    )


def build_options(scenario: Scenario) -> SolveOptions:
    """The model's :class:`SolveOptions` from a scenario's ``[solver]``."""
    s = scenario.solver
    return SolveOptions(solver=s.name, time_limit_s=s.time_limit_s, gap=s.gap, threads=s.threads,
                        candidate_schools=s.candidate_schools)


def _check_locks(scenario: Scenario, units: gpd.GeoDataFrame, schools: gpd.GeoDataFrame) -> None:
    problems = []
    for u, s in scenario.policy.locks.items():
        if u not in units.index:
            problems.append(f"`[policy] locks` names unit {u!r}, which is not in the units file")
        if s not in schools.index:
            problems.append(f"`[policy] locks` names school {s!r} for unit {u!r}, which is not in the schools file")
    if problems:
        raise InputError(format_problems("scenario locks", problems))


def load_inputs(scenario: Scenario, *, progress: Progress = _quiet) -> Inputs:
    """Load and validate every input of a scenario and compute travel times and adjacency."""
    progress("loading units and schools")
    units, notes = build_units(scenario)
    table = scenario.resolve(scenario.schools.table) if scenario.schools.table else None
    schools = load_schools(scenario.resolve(scenario.schools.path), scenario.schools, table=table)
    home = find_home_units(schools, units, source=scenario.resolve(scenario.schools.path))
    _check_locks(scenario, units, schools)
    current = zones = None
    if scenario.current.path:
        zones = load_current_zones(scenario.resolve(scenario.current.path), scenario.current, schools)
        weight = scenario.current.weight or ("population" if "population" in units else None)
        current, overlap = assign_current(units, zones, weight=weight)
        notes["current"] = {
            "units_without_zone": sorted(overlap.index[overlap["school_id"].isna()]),
            "units_split": {g: {"school_id": r.school_id, "share": r.share,
                                "second_school_id": r.second_school_id, "second_share": r.second_share}
                            for g, r in overlap[overlap["split"]].iterrows()},
        }
        if weight is not None:
            notes["current"]["weight"] = weight
            notes["current"]["people_in_other_zones"] = round(float(overlap["people_elsewhere"].sum()), 1)
    graph = None
    net = scenario.network
    cache = settings.cache_folder if net.cache else None
    if net.path or net.download:
        if net.path:
            progress(f"reading road network {net.path}")
            graph = load_graph(scenario.resolve(net.path), mode=net.mode, cache_folder=cache)
        else:
            progress("downloading the road network from OpenStreetMap (or reading it from the cache)")
            graph = download_graph(district_polygon(units, schools), mode=net.mode, cache_folder=cache)
        progress("computing travel times over the road network")
        travel = compute_travel_times(units, schools, graph, mode=net.mode, snap=net.snap,
                                      max_snap_m=net.max_snap_m, cache_folder=cache)
    else:
        progress("no road network given: using straight-line distance x circuity")
        travel = compute_straight_line(units, schools, circuity=scenario.network.circuity,
                                       speed_kph=scenario.network.straight_line_speed_kph)
    progress("building unit adjacency")
    adjacency = build_adjacency(units, graph, max_gap_m=None if scenario.policy.contiguity else math.inf)
    return Inputs(scenario, units, schools, home, travel, adjacency, current, zones, graph, notes)


@dataclass
class PlanResult:
    """A solved and checked plan with everything needed to report and save it."""

    inputs: Inputs
    model: ZoningModel
    plan: pd.Series
    table: pd.DataFrame
    district: dict[str, Any]
    violations: list[Violation] = field(default_factory=list)

    @property
    def status(self) -> str:
        return self.model.status_text()

    def metrics_json(self) -> dict[str, Any]:
        """The content of ``metrics.json``.

        Only what the inputs determine: the solve time is printed by the CLI but not stored, so
        the same inputs give byte-identical files.
        """
        m = self.model
        settings_used = self.inputs.scenario.policy_dict()
        return {
            "scenario": self.inputs.scenario.name,
            "zoning_version": __version__,
            "status": m.status_,
            "status_text": m.status_text(),
            "objective": m.objective_,
            "bound": m.bound_,
            "gap": m.gap_,
            "rounds": m.rounds_,
            "travel_time_method": self.inputs.travel.method,
            "district": self.district,
            "violations": [str(v) for v in self.violations],
            "inputs": self.inputs.notes,
            "policy": settings_used["policy"],
            # the scenario's [objective] weights; "objective" above is the plan's value
            "objective_weights": settings_used["objective"],
            "solver": settings_used["solver"],
        }


def solve(inputs: Inputs, *, progress: Progress = _quiet, scenario: Scenario | None = None) -> PlanResult:
    """Solve the scenario's program, check the plan independently and compute its metrics.

    Raises
    ------
    InfeasibleError, NoPlanInTimeError
        When no plan meets the policy, or none was found in time.
    SolverError
        When the returned plan fails the independent checker (a bug, reported loudly).
    """
    scenario = scenario or inputs.scenario
    policy = build_policy(scenario)
    problem = inputs.problem()
    model = ZoningModel(problem, policy, build_options(scenario))
    progress(f"solving the integer program ({len(model.pairs)} unit-school pairs, {scenario.solver.name})")
    model.solve(progress=progress)
    assert model.plan_ is not None
    plan = model.plan_.rename("school_id")
    violations = check_plan(plan, problem, policy)
    if violations:
        raise SolverError(format_problems("the solver's plan fails the independent check",
                                          [str(v) for v in violations]))
    table = zone_table(plan, problem.students, problem.low_income, problem.capacity,
                       problem.travel_time_s, names=inputs.schools["name"])
    district = district_metrics(
        plan, problem.students, problem.low_income, problem.capacity, problem.travel_time_s,
        band=policy.band, min_utilization=policy.min_utilization,
        max_utilization=policy.max_utilization,
        beyond_min=scenario.policy.max_travel_min or 20.0, current=inputs.current,
    )
    return PlanResult(inputs, model, plan, table, district, violations)


def output_layers(result: PlanResult) -> tuple[gpd.GeoDataFrame, gpd.GeoDataFrame]:
    """The ``units`` and ``zones`` layers of the output contract."""
    inp = result.inputs
    plan = result.plan
    units = inp.units
    tt = inp.travel.seconds
    out = gpd.GeoDataFrame(
        {
            "school_id": plan.reindex(units.index).to_numpy(),
            "students": units["students"].round(3).to_numpy(),
            "low_income": units["low_income"].round(3).to_numpy(),
            "travel_time_s": [round(float(tt.at[u, s]), 1) for u, s in plan.reindex(units.index).items()],
        },
        geometry=units.geometry.to_numpy(), index=units.index.copy(), crs=units.crs,
    )
    if inp.current is not None:
        out.insert(1, "current_school_id", inp.current.reindex(units.index).to_numpy())
    for col in ("median_income", "students_moe", "low_income_moe", "median_income_moe"):
        if col in units:
            out[col] = units[col].round(3).to_numpy()
    geoms = zone_geometries(units, plan)
    t = result.table
    zones = gpd.GeoDataFrame(
        {
            "name": t["name"].to_numpy(),
            "capacity": t["capacity"].to_numpy(),
            "students": t["students"].round(3).to_numpy(),
            "utilization": t["utilization"].round(6).to_numpy(),
            "low_income": t["low_income"].round(3).to_numpy(),
            "low_income_share": t["low_income_share"].round(6).to_numpy(),
            "deviation": t["deviation"].round(6).to_numpy(),
            "mean_travel_s": t["mean_travel_s"].round(1).to_numpy(),
            "max_travel_s": t["max_travel_s"].round(1).to_numpy(),
            "units": t["units"].to_numpy(),
            "polsby_popper": geoms["polsby_popper"].reindex(t.index).to_numpy(),
        },
        geometry=geoms.geometry.reindex(t.index).to_numpy(),
        index=pd.Index(t.index, name="school_id"), crs=units.crs,
    )
    return out, zones


def save_plan(result: PlanResult, folder: Path, *, offline: bool | None = None) -> Path:
    """Write the output contract into ``folder`` atomically.

    Files: ``units.geojson``, ``zones.geojson``, ``assignment.csv``, ``schools.csv``,
    ``metrics.json``, ``map.html`` (interactive map) and ``summary.html`` (printable page).
    ``offline`` (default: the scenario's ``[output] offline``) inlines every asset of the map.

    Raises
    ------
    InputError
        When ``folder`` is a file or a folder of other files (see :func:`~zoning.io.check_output_folder`).
    """
    check_output_folder(folder)
    units, zones = output_layers(result)
    inp = result.inputs
    sc = inp.scenario
    map_units = units
    if inp.current is not None:
        tt = inp.travel.seconds
        cur = inp.current.reindex(units.index)
        map_units = units.assign(current_travel_time_s=[
            float(tt.at[u, s]) if isinstance(s, str) and s in tt.columns else float("nan")
            for u, s in cur.items()
        ])
    fmap = render_map(map_units, zones, inp.schools, result.table, result.district, title=sc.name,
                      status=result.status, current=inp.current, current_zones=inp.current_zones,
                      offline=sc.output.offline if offline is None else offline, band=sc.policy.band,
                      travel_method=inp.travel.method, summary_href="summary.html")
    html = fmap.get_root().render()
    summary = render_summary(map_units, zones, inp.schools, result.table, result.district, title=sc.name,
                             status=result.status, current=inp.current, band=sc.policy.band,
                             max_utilization=sc.policy.max_utilization, travel_method=inp.travel.method,
                             map_href="map.html")
    table = result.table.copy()
    writers = {
        "units.geojson": text_writer(geojson_text(units, name="units")),
        "zones.geojson": text_writer(geojson_text(zones, name="zones")),
        "assignment.csv": text_writer(csv_text(result.plan.rename("school_id").rename_axis("geoid").to_frame())),
        "schools.csv": text_writer(csv_text(table)),
        "metrics.json": text_writer(to_json_text(result.metrics_json())),
        "map.html": text_writer(html),
        "summary.html": text_writer(summary),
    }
    return save_folder(folder, writers)


def run_plan(scenario: Scenario | str | Path, *, out: Path | None = None,
             progress: Progress = _quiet) -> tuple[PlanResult, Path]:
    """Load, solve, check, measure and save one scenario; returns the result and its folder."""
    if not isinstance(scenario, Scenario):
        scenario = load_scenario(scenario)
    folder = Path(out) if out is not None else scenario.output_folder()
    check_output_folder(folder)  # before the slow steps: a bad --out fails at once
    inputs = load_inputs(scenario, progress=progress)
    result = solve(inputs, progress=progress)
    progress(f"writing outputs to {folder}")
    save_plan(result, folder)
    return result, folder
