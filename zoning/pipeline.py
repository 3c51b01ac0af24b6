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
from .checks import Violation, check_plan, glance_checks
from .compare import (
    Proposal,
    change_matrix,
    changed_units,
    load_proposals,
    metrics_table,
    render_compare_page,
)
from .errors import InfeasibleError, InputError, SolverError, format_problems
from .files import read_table
from .io import (
    check_output_folder,
    csv_text,
    geojson_text,
    geopackage_writer,
    save_folder,
    shapefile_zip_writer,
    text_writer,
    to_json_text,
)
from .maps import render_map
from .metrics import district_metrics, unit_travel_s, zone_geometries, zone_table
from .model import Policy, Problem, SolveOptions, ZoningModel
from .network import district_polygon, download_graph, load_graph
from .report import render_summary
from .scenario import CurrentConfig, Scenario, load_scenario
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
    walk_locks: dict[str, str] = field(default_factory=dict)

    def problem(self) -> Problem:
        """The plain-data problem for :mod:`zoning.model`."""
        return Problem(
            travel_time_s=self.travel.seconds,
            students=self.units["students"],
            low_income=self.units["low_income"],
            capacity=self.schools["capacity"],
            neighbours=neighbours(self.adjacency, self.units.index),
            home_unit=self.home_unit,
            locked={**{u: s for u, s in self.walk_locks.items() if u not in set(self.home_unit)},
                    **self.scenario.policy.locks},
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
        max_travel_increase=p.max_travel_increase,
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
            problems.append(f"`[policy] locks` names school {s!r} for unit {u!r}, which is not in the"
                            " schools file")
    if problems:
        raise InputError(format_problems("scenario locks", problems))


def check_files(scenario: Scenario) -> None:
    """Raise one :class:`InputError` naming every input file of the scenario that is missing.

    Raises
    ------
    InputError
        Listing each missing file with the scenario key that names it.
    """
    problems = []
    for key, path in scenario.input_files().items():
        if not path.exists():
            problems.append(f"`{key}`: file `{path}` does not exist")
        elif not (path.is_file() or path.suffix.lower() == ".gdb"):
            problems.append(f"`{key}`: `{path}` is a folder, not a file")
    if problems:
        where = f"`{scenario.source}`" if scenario.source else f"scenario `{scenario.name}`"
        raise InputError(format_problems(
            f"{where} names input files that cannot be read (paths are relative to the scenario's"
            " folder); fix the paths", problems))


def load_inputs(scenario: Scenario, *, progress: Progress = _quiet) -> Inputs:
    """Load and validate every input of a scenario and compute travel times and adjacency.

    Raises
    ------
    InputError
        Missing files (all listed at once, before anything is read), unreadable files, missing
        columns, bad values.
    """
    check_files(scenario)
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
    walk_locks: dict[str, str] = {}
    if scenario.policy.walk_zone_min is not None:
        progress(f"finding walk zones ({scenario.policy.walk_zone_min:g} min)")
        walk_locks = compute_walk_locks(units, schools, scenario, cache)
        notes["walk_zones"] = {"minutes": scenario.policy.walk_zone_min, "units": len(walk_locks)}
    progress("building unit adjacency")
    adjacency = build_adjacency(units, graph, max_gap_m=None if scenario.policy.contiguity else math.inf)
    return Inputs(scenario, units, schools, home, travel, adjacency, current, zones, graph, notes,
                  walk_locks)


def compute_walk_locks(units: gpd.GeoDataFrame, schools: gpd.GeoDataFrame, scenario: Scenario,
                       cache: Path | None) -> dict[str, str]:
    """Units within ``[policy] walk_zone_min`` minutes' walk of a school, locked to the nearest.

    Walking times come from the scenario's road network read in walk mode (footways included,
    every street two-way). Returns ``geoid -> school_id``.
    """
    net = scenario.network
    if net.path:
        walk_graph = load_graph(scenario.resolve(net.path), mode="walk", cache_folder=cache)
    else:
        walk_graph = download_graph(district_polygon(units, schools), mode="walk", cache_folder=cache)
    walk = compute_travel_times(units, schools, walk_graph, mode="walk", snap=net.snap,
                                max_snap_m=net.max_snap_m, cache_folder=cache).seconds
    limit = float(scenario.policy.walk_zone_min) * 60.0
    nearest = walk.idxmin(axis=1, skipna=True)
    best = walk.min(axis=1, skipna=True)
    return {str(u): str(nearest[u]) for u in walk.index if best[u] <= limit}


#: ``status`` of a plan that was read and checked, not solved (``zoning check-plan``).
CHECKED = "checked"


@dataclass
class PlanResult:
    """A checked plan with everything needed to report and save it.

    ``model`` is the solved :class:`~zoning.model.ZoningModel`, or None for a plan that was read
    and checked without solving (``zoning check-plan``); ``source`` then says where it came from.
    ``scenario`` is the scenario the plan was solved or checked under (default: the inputs').
    """

    inputs: Inputs
    model: ZoningModel | None
    plan: pd.Series
    table: pd.DataFrame
    district: dict[str, Any]
    violations: list[Violation] = field(default_factory=list)
    source: str = "solver"
    scenario: Scenario | None = None

    @property
    def status(self) -> str:
        if self.model is None:
            return f"checked plan, not solved ({len(self.violations)} violations)"
        return self.model.status_text()

    def metrics_json(self) -> dict[str, Any]:
        """The content of ``metrics.json`` (every field is listed in the README).

        Only what the inputs determine: the solve time is printed by the CLI but not stored, so
        the same inputs give byte-identical files.
        """
        m = self.model
        scenario = self.scenario or self.inputs.scenario
        return {
            "scenario": scenario.name,
            "zoning_version": __version__,
            "source": self.source,
            "status": CHECKED if m is None else m.status_,
            "status_text": self.status,
            "objective": None if m is None else m.objective_,
            "bound": None if m is None else m.bound_,
            "gap": None if m is None else m.gap_,
            "rounds": 0 if m is None else m.rounds_,
            "solver": scenario.solver.name,
            "travel_time_method": self.inputs.travel.method,
            "district": self.district,
            "violations": [str(v) for v in self.violations],
            "inputs": self.inputs.notes,
            **scenario.policy_dict(),
        }


def solve(inputs: Inputs, *, progress: Progress = _quiet, scenario: Scenario | None = None,
          warm_start: pd.Series | None = None) -> PlanResult:
    """Solve the scenario's program, check the plan independently and compute its metrics.

    Parameters
    ----------
    inputs
        Loaded inputs (:func:`load_inputs`); they are reused unchanged, so one load serves many
        solves (a sweep).
    scenario
        Policy, objective and solver settings to solve under (default: the inputs' scenario).
    warm_start
        A plan (``geoid -> school_id``) offered to the solver as a starting incumbent; the solver
        uses it only when it meets the policy.

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
    if warm_start is not None:
        model.solve(progress=progress, warm_start=warm_start)
    else:
        model.solve(progress=progress)
    assert model.plan_ is not None
    plan = model.plan_.rename("school_id")
    violations = check_plan(plan, problem, policy)
    if violations:
        raise SolverError(format_problems("the solver's plan fails the independent check",
                                          [str(v) for v in violations]))
    table, district = _measure(inputs, scenario, plan)
    return PlanResult(inputs, model, plan, table, district, violations, scenario=scenario)


def _measure(inputs: Inputs, scenario: Scenario, plan: pd.Series) -> tuple[pd.DataFrame, dict[str, Any]]:
    """Per-zone table and district metrics of a plan (which may leave units without a school)."""
    problem = inputs.problem()
    policy = build_policy(scenario)
    table = zone_table(plan, problem.students, problem.low_income, problem.capacity,
                       problem.travel_time_s, names=inputs.schools["name"])
    compactness = zone_geometries(inputs.units, plan)["polsby_popper"]
    district = district_metrics(
        plan, problem.students, problem.low_income, problem.capacity, problem.travel_time_s,
        band=policy.band, min_utilization=policy.min_utilization,
        max_utilization=policy.max_utilization,
        beyond_min=scenario.policy.max_travel_min or 20.0, current=inputs.current,
        compactness=compactness,
    )
    return table, district


def check_inputs(inputs: Inputs, *, scenario: Scenario | None = None) -> dict[str, Any]:
    """Check that a scenario's policy is feasible at a glance, without solving.

    Runs :func:`zoning.checks.glance_checks` (necessary conditions: seats against students,
    reachability within the travel cap, what each school can reach) and summarises the inputs.

    Returns
    -------
    dict
        ``units``, ``schools``, ``students``, ``low_income``, ``district_low_income_share``,
        ``seats``, ``seats_min``/``seats_max`` (seats x min/max utilization),
        ``travel_time_method``, ``unreachable_pairs`` (unit-school pairs with no route),
        ``max_travel_to_nearest_s`` (the longest trip to a unit's nearest school) and
        ``current_units`` (units with a current school, None without current boundaries).

    Raises
    ------
    InfeasibleError
        Listing every clash visible at a glance, with the numbers and the relaxation needed.
    """
    scenario = scenario or inputs.scenario
    problem = inputs.problem()
    policy = build_policy(scenario)
    problems = glance_checks(problem, policy)
    if problems:
        raise InfeasibleError(
            format_problems(f"scenario `{scenario.name}`: the policy cannot be met", problems), problems)
    tt = inputs.travel.seconds
    seats = float(inputs.schools["capacity"].sum())
    students = float(inputs.units["students"].sum())
    return {
        "scenario": scenario.name,
        "units": len(inputs.units),
        "schools": len(inputs.schools),
        "students": round(students, 3),
        "low_income": round(float(inputs.units["low_income"].sum()), 3),
        "district_low_income_share": round(problem.district_share, 6),
        "seats": round(seats, 3),
        "seats_min": round(seats * policy.min_utilization, 3),
        "seats_max": round(seats * policy.max_utilization, 3),
        "travel_time_method": inputs.travel.method,
        "unreachable_pairs": int(tt.isna().to_numpy().sum()),
        "max_travel_to_nearest_s": round(float(tt.min(axis=1).max()), 1),
        "current_units": None if inputs.current is None else int(inputs.current.notna().sum()),
    }


def read_plan(path: Path, inputs: Inputs) -> pd.Series:
    """Read a plan to check: a CSV ``geoid,school_id`` or a file of zone polygons.

    A CSV (such as a hand-edited ``assignment.csv``) is taken as written: duplicated, unknown or
    unassigned units are kept so that :func:`zoning.checks.check_plan` names them. A vector file
    (GeoJSON, GeoPackage, shapefile) of zones with a ``school_id`` column (or the column named by
    ``[current] school_id``) gives each unit the zone holding the largest part of it, as for
    today's boundaries.

    Raises
    ------
    InputError
        Missing or unreadable file, missing columns.
    """
    path = Path(path)
    if not path.is_file():
        raise InputError(f"plan file `{path}` does not exist; give a CSV with columns geoid,school_id"
                         " (such as `assignment.csv` of an output folder) or a file of zone polygons")
    if path.suffix.lower() == ".csv":
        df = read_table(path, "plan", key="PLAN", string_columns=("geoid", "school_id"))
        missing = [c for c in ("geoid", "school_id") if c not in df.columns]
        if missing:
            raise InputError(f"plan file `{path}` has no column {' or '.join(f'`{c}`' for c in missing)};"
                             f" found columns {list(df.columns)}. A plan CSV has the header"
                             " `geoid,school_id`, like `assignment.csv` of an output folder")
        geoid = df["geoid"].astype(str).str.strip()
        school = df["school_id"].where(df["school_id"].notna()).astype(object)
        school = school.map(lambda s: s.strip() if isinstance(s, str) and s.strip() else None)
        return pd.Series(school.to_numpy(), index=pd.Index(geoid.to_numpy(), name="geoid"),
                         name="school_id", dtype=object)
    config = inputs.scenario.current
    zones = load_current_zones(path, CurrentConfig(path=str(path), school_id=config.school_id),
                               inputs.schools)
    weight = config.weight or ("population" if "population" in inputs.units else None)
    plan, _ = assign_current(inputs.units, zones, weight=weight)
    return plan.reindex(inputs.units.index).astype(object).rename("school_id")


def evaluate_plan(inputs: Inputs, plan: pd.Series, *, source: str,
                  scenario: Scenario | None = None) -> PlanResult:
    """Check any plan against the policy and compute its metrics, without solving.

    Parameters
    ----------
    inputs
        Loaded inputs.
    plan
        ``geoid -> school_id``; may name unknown units or schools, repeat units or leave units
        without a school: every such case is a named violation, and metrics count the units that
        do have a known school.
    source
        Where the plan came from (a file path, "current boundaries"), for reports.
    scenario
        Policy to check against (default: the inputs' scenario).

    Returns
    -------
    PlanResult
        With ``model = None`` and every violation in ``violations``.
    """
    scenario = scenario or inputs.scenario
    violations = check_plan(plan, inputs.problem(), build_policy(scenario))
    clean = plan[~plan.index.duplicated(keep="first")].reindex(inputs.units.index)
    clean = clean.where(clean.isin(set(inputs.schools.index))).astype(object).rename("school_id")
    clean.index.name = "geoid"
    table, district = _measure(inputs, scenario, clean)
    return PlanResult(inputs, None, clean, table, district, violations, source=source, scenario=scenario)


def output_layers(result: PlanResult) -> tuple[gpd.GeoDataFrame, gpd.GeoDataFrame]:
    """The ``units`` and ``zones`` layers of the output contract."""
    inp = result.inputs
    plan = result.plan
    units = inp.units
    travel = unit_travel_s(plan.reindex(units.index), inp.travel.seconds)
    out = gpd.GeoDataFrame(
        {
            "school_id": plan.reindex(units.index).to_numpy(),
            "students": units["students"].round(3).to_numpy(),
            "low_income": units["low_income"].round(3).to_numpy(),
            "travel_time_s": travel.round(1).to_numpy(),
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


#: Shapefile field names (dBase allows 10 characters) of the output layers' longer columns.
SHAPEFILE_FIELDS = {
    "current_school_id": "cur_school",
    "travel_time_s": "travel_s",
    "median_income": "med_income",
    "students_moe": "stud_moe",
    "low_income_moe": "li_moe",
    "median_income_moe": "mi_moe",
    "utilization": "util",
    "low_income_share": "li_share",
    "mean_travel_s": "mean_tt_s",
    "max_travel_s": "max_tt_s",
    "polsby_popper": "polsby_pop",
}


def metrics_rows(metrics: dict[str, Any]) -> pd.DataFrame:
    """``metrics.json`` as a two-column table ``metric,value`` (nested keys joined by dots).

    The ``inputs`` notes are left out (they are lists of units); ``violations`` becomes its count.
    """
    rows: list[tuple[str, Any]] = []

    def walk(prefix: str, value: Any) -> None:
        if isinstance(value, dict):
            for k in sorted(value):
                walk(f"{prefix}.{k}" if prefix else str(k), value[k])
        elif not isinstance(value, list):
            rows.append((prefix, value))

    for key in sorted(metrics):
        if key == "inputs":
            continue
        if key == "violations":
            rows.append(("violations", len(metrics[key])))
        else:
            walk(key, metrics[key])
    return pd.DataFrame(rows, columns=["metric", "value"])


def export_writers(result: PlanResult, units: gpd.GeoDataFrame,
                   zones: gpd.GeoDataFrame) -> dict[str, Callable[[Path], None]]:
    """Writers of the GIS and table exports that sit beside the contract files.

    ``plan.gpkg`` (layers ``units``, ``zones``, ``schools``), ``plan_shapefile.zip`` (the same
    three layers as shapefiles, long column names shortened by :data:`SHAPEFILE_FIELDS`),
    ``units.csv`` and ``zones.csv`` (the layers' attributes) and ``metrics.csv``
    (``metrics.json`` as ``metric,value`` rows).
    """
    schools = result.inputs.schools[["name", "capacity", "geometry"]].copy()
    schools.index.name = "school_id"
    layers = {"units": units, "zones": zones, "schools": schools}
    return {
        "plan.gpkg": geopackage_writer(layers),
        "plan_shapefile.zip": shapefile_zip_writer(layers, field_names=SHAPEFILE_FIELDS),
        "units.csv": text_writer(csv_text(pd.DataFrame(units.drop(columns=units.geometry.name)))),
        "zones.csv": text_writer(csv_text(pd.DataFrame(zones.drop(columns=zones.geometry.name)))),
        "metrics.csv": text_writer(csv_text(metrics_rows(result.metrics_json()), index=False)),
    }


def _require_complete(result: PlanResult) -> None:
    missing = result.plan.reindex(result.inputs.units.index)
    missing = missing.index[missing.isna().to_numpy()]
    if len(missing):
        raise InputError(
            f"plan `{result.source}` leaves {len(missing)} units without a known school (e.g."
            f" {sorted(missing)[:5]}); its outputs cannot be written: give every unit a school of the"
            " schools file (the check above names them)"
        )


def save_plan(result: PlanResult, folder: Path, *, offline: bool | None = None) -> Path:
    """Write the output contract into ``folder`` atomically.

    Files: ``units.geojson``, ``zones.geojson``, ``assignment.csv``, ``schools.csv``,
    ``metrics.json``, ``map.html`` (interactive map) and ``summary.html`` (printable page),
    and the exports of :func:`export_writers` (``plan.gpkg``, ``plan_shapefile.zip``,
    ``units.csv``, ``zones.csv``, ``metrics.csv``).
    ``offline`` (default: the scenario's ``[output] offline``) inlines every asset of the map.

    Raises
    ------
    InputError
        When the plan leaves units without a known school (a checked plan): there is no map of it;
        or when ``folder`` is a file or a folder of other files (see
        :func:`~zoning.io.check_output_folder`).
    """
    check_output_folder(folder)
    _require_complete(result)
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
        "assignment.csv": text_writer(
            csv_text(result.plan.rename("school_id").rename_axis("geoid").to_frame())),
        "schools.csv": text_writer(csv_text(table)),
        "metrics.json": text_writer(to_json_text(result.metrics_json())),
        "map.html": text_writer(html),
        "summary.html": text_writer(summary),
    }
    writers.update(export_writers(result, units, zones))
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


def save_compare(proposals: list[Proposal], folder: Path, *, title: str = "Comparison of proposals") -> Path:
    """Write a comparison folder atomically.

    Files: ``compare.html`` (the page), ``metrics.csv`` (metrics side by side), ``pairs.csv``
    (units and students that change between each pair) and ``changes.csv`` (every unit whose
    school differs between proposals, with its school in each).

    Raises
    ------
    InputError
        When ``folder`` is one of the proposal folders or holds one (it would be replaced), or
        is a file or a folder of other files than an earlier comparison.
    """
    folder = Path(folder)
    target = folder.resolve()
    for p in proposals:
        source = p.folder.resolve()
        if target == source or target in source.parents:
            raise InputError(f"`--out {folder}` would replace the proposal folder `{p.folder}`;"
                             " write the comparison to a new folder")
    check_output_folder(folder, marker="compare.html")
    writers = {
        "compare.html": text_writer(render_compare_page(proposals, title=title)),
        "metrics.csv": text_writer(csv_text(metrics_table(proposals))),
        "pairs.csv": text_writer(csv_text(change_matrix(proposals), index=False)),
        "changes.csv": text_writer(csv_text(changed_units(proposals))),
    }
    return save_folder(folder, writers)


def run_compare(folders: list[Path], *, out: Path, title: str = "Comparison of proposals") -> tuple[
        list[Proposal], Path]:
    """Read proposal folders and write their comparison into ``out``."""
    proposals = load_proposals([Path(f) for f in folders])
    return proposals, save_compare(proposals, Path(out), title=title)
