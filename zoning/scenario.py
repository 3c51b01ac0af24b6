"""Scenario files: read and validate a TOML file describing inputs, policy, objective and solver.

Every key has a typed default; unknown keys, wrong types and bad values are all collected and
reported in one :class:`~zoning.errors.ScenarioError`. Paths in the file are relative to the
folder that holds the scenario file.

A minimal scenario::

    name = "demo"

    [units]
    path = "units.geojson"

    [schools]
    path = "schools.geojson"

See the README for every key, its default and its unit.
"""

from __future__ import annotations

import dataclasses
import difflib
import math
import re
import tomllib
import types
import typing
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from . import settings
from .errors import ScenarioError, format_problems


@dataclass(frozen=True)
class UnitsConfig:
    """``[units]``: the planning units file and its column mapping."""

    path: str = ""
    layer: str | None = None
    id: str = "geoid"
    students: str = "students"
    low_income: str = "low_income"
    low_income_share: str | None = None
    median_income: str | None = None
    population: str | None = None
    boundary: str | None = None
    boundary_layer: str | None = None
    min_inside_share: float = 0.5
    sliver_share: float = 0.05
    geoid_prefix: str | None = None


@dataclass(frozen=True)
class SchoolsConfig:
    """``[schools]``: the schools file (GeoJSON/GeoPackage points, or CSV with lon/lat)."""

    path: str = ""
    layer: str | None = None
    id: str = "school_id"
    name: str = "name"
    capacity: str = "capacity"
    lon: str = "lon"
    lat: str = "lat"
    table: str | None = None
    table_match: str | None = None


@dataclass(frozen=True)
class CurrentConfig:
    """``[current]``: today's attendance-zone polygons (optional)."""

    path: str | None = None
    layer: str | None = None
    school_id: str = "school_id"
    weight: str | None = None


@dataclass(frozen=True)
class StudentsConfig:
    """``[students]``: where student counts come from when the units file has none.

    Either ``proxy`` (a units column, or an ACS-derived column such as ``acs_children_5_14``)
    scaled so that the units add up to ``total`` enrolled students, or ``records``: a file of
    student points (CSV with lon/lat, or GeoPackage/GeoJSON points) with a grade and an FRL flag.
    """

    proxy: str | None = None
    total: float | None = None
    records: str | None = None
    layer: str | None = None
    lon: str = "lon"
    lat: str = "lat"
    crs: str = "EPSG:4326"
    grade: str | None = "grade"
    frl: str = "frl"
    grades: list[str] = field(default_factory=list)


@dataclass(frozen=True)
class CensusConfig:
    """``[census]``: ACS tables (local files) or a download of block groups and ACS tables.

    Local tables: ``b01001``, ``c17002``, ``b19013`` name Census API JSON responses or
    data.census.gov CSV exports. Download: ``state`` (2-digit FIPS) and ``county`` (3-digit),
    optionally ``place`` (7-digit place GEOID or exact place name) to clip to a city.
    """

    b01001: str | None = None
    c17002: str | None = None
    b19013: str | None = None
    state: str | None = None
    county: str | None = None
    place: str | None = None
    year: int = settings.census_year
    api_key_env: str = "CENSUS_API_KEY"
    api_url: str = settings.census_api_url
    tiger_url: str = settings.tiger_url
    cache_folder: str | None = None
    refresh: bool = False
    timeout_s: float = settings.download_timeout_s


@dataclass(frozen=True)
class NetworkConfig:
    """``[network]``: road network file; without one, straight-line distance x circuity is used."""

    path: str | None = None
    mode: str = "drive"
    circuity: float = settings.circuity_factor
    straight_line_speed_kph: float = settings.straight_line_speed_kph
    #: Download the roads of the district from OpenStreetMap (cached; reruns work offline).
    download: bool = False
    #: "largest_component" or "nearest_node" (then units that cannot reach a school are an error).
    snap: str = "largest_component"
    #: Units and schools farther than this (m) from their road node are listed in a warning.
    max_snap_m: float = settings.max_snap_m
    #: Cache built road graphs and travel-time matrices in ``zoning.settings.cache_folder``.
    cache: bool = True


@dataclass(frozen=True)
class PolicyConfig:
    """``[policy]``: the rules every plan must meet."""

    min_utilization: float = 0.0
    max_utilization: float = 1.0
    band: float | None = 0.10
    band_mode: str = "hard"
    max_travel_min: float | None = None
    contiguity: bool = True
    max_moved_share: float | None = None
    max_travel_increase: float | None = None
    walk_zone_min: float | None = None
    locks: dict[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class ObjectiveConfig:
    """``[objective]``: weights of the objective terms (travel is in student-minutes)."""

    travel_weight: float = 1.0
    band_weight: float = 100.0
    moved_weight: float = 0.0


@dataclass(frozen=True)
class SolverConfig:
    """``[solver]``: which open solver, and its limits."""

    name: str = settings.solver
    time_limit_s: float = settings.time_limit_s
    gap: float = settings.mip_gap
    threads: int | None = None
    candidate_schools: int = settings.candidate_schools


@dataclass(frozen=True)
class OutputConfig:
    """``[output]``: where and how outputs are written."""

    folder: str | None = None
    offline: bool = True


_SECTIONS: dict[str, type] = {
    "units": UnitsConfig,
    "schools": SchoolsConfig,
    "current": CurrentConfig,
    "students": StudentsConfig,
    "census": CensusConfig,
    "network": NetworkConfig,
    "policy": PolicyConfig,
    "objective": ObjectiveConfig,
    "solver": SolverConfig,
    "output": OutputConfig,
}
_TOP_LEVEL = {"name": str, "description": str}


@dataclass(frozen=True)
class Scenario:
    """A validated scenario. ``base_dir`` is the folder relative paths are resolved against."""

    name: str
    base_dir: Path
    description: str = ""
    source: Path | None = None
    units: UnitsConfig = field(default_factory=UnitsConfig)
    schools: SchoolsConfig = field(default_factory=SchoolsConfig)
    current: CurrentConfig = field(default_factory=CurrentConfig)
    students: StudentsConfig = field(default_factory=StudentsConfig)
    census: CensusConfig = field(default_factory=CensusConfig)
    network: NetworkConfig = field(default_factory=NetworkConfig)
    policy: PolicyConfig = field(default_factory=PolicyConfig)
    objective: ObjectiveConfig = field(default_factory=ObjectiveConfig)
    solver: SolverConfig = field(default_factory=SolverConfig)
    output: OutputConfig = field(default_factory=OutputConfig)

    def resolve(self, path: str | Path) -> Path:
        """Return ``path`` resolved against the scenario's folder."""
        p = Path(path).expanduser()
        return p if p.is_absolute() else (self.base_dir / p)

    def output_folder(self) -> Path:
        """Folder for this scenario's outputs: ``[output] folder`` or ``maps/<name>``."""
        if self.output.folder:
            return self.resolve(self.output.folder)
        return Path("maps") / self.name

    def replace(self, **sections: Any) -> Scenario:
        """Return a copy with some section values replaced, e.g. ``policy={"band": 0.05}``."""
        changes: dict[str, Any] = {}
        for section, values in sections.items():
            if section in _SECTIONS:
                changes[section] = dataclasses.replace(getattr(self, section), **values)
            else:
                changes[section] = values
        return dataclasses.replace(self, **changes)

    def input_files(self) -> dict[str, Path]:
        """Every input file the scenario names, as ``"[section] key" -> resolved path``."""
        keys = [("units", "path"), ("units", "boundary"), ("schools", "path"), ("schools", "table"),
                ("current", "path"), ("students", "records"), ("census", "b01001"),
                ("census", "c17002"), ("census", "b19013"), ("network", "path")]
        out: dict[str, Path] = {}
        for section, key in keys:
            value = getattr(getattr(self, section), key)
            if value:
                out[f"[{section}] {key}"] = self.resolve(value)
        return out

    def policy_dict(self) -> dict[str, Any]:
        """Policy, objective weights and solver settings, for ``metrics.json``.

        Keys ``policy``, ``objective_weights`` and ``solver_settings``: they sit beside the
        solver's ``objective`` value and the ``solver`` name in ``metrics.json``, so they must
        not reuse those names.
        """
        return {
            "policy": dataclasses.asdict(self.policy),
            "objective_weights": dataclasses.asdict(self.objective),
            "solver_settings": dataclasses.asdict(self.solver),
        }


def _type_name(hint: Any) -> str:
    args = typing.get_args(hint)
    if typing.get_origin(hint) in (types.UnionType, typing.Union):
        return " or ".join(_type_name(a) for a in args if a is not type(None))
    if typing.get_origin(hint) is dict:
        return "a table of strings"
    if typing.get_origin(hint) is list:
        return "a list of strings"
    return {str: "a string", int: "an integer", float: "a number", bool: "true/false"}.get(
        hint, str(hint)
    )


def _matches(value: Any, hint: Any) -> bool:
    origin = typing.get_origin(hint)
    if origin in (types.UnionType, typing.Union):
        return any(_matches(value, a) for a in typing.get_args(hint) if a is not type(None))
    if origin is dict:
        return isinstance(value, dict) and all(
            isinstance(k, str) and isinstance(v, str) for k, v in value.items()
        )
    if origin is list:
        return isinstance(value, list) and all(isinstance(v, str) for v in value)
    if hint is float:
        return isinstance(value, int | float) and not isinstance(value, bool)
    if hint is int:
        return isinstance(value, int) and not isinstance(value, bool)
    return isinstance(value, hint)


def _did_you_mean(key: str, known: list[str]) -> str:
    close = difflib.get_close_matches(key, known, n=1, cutoff=0.6)
    return f"did you mean `{close[0]}`? " if close else ""


def _build_section(
    section: str, cls: type, raw: Any, where: str, problems: list[str]
) -> Any:
    if raw is None:
        return cls()
    if not isinstance(raw, dict):
        problems.append(f"`{section}` must be a table like `[{section}]`; found {raw!r}")
        return cls()
    hints = typing.get_type_hints(cls)
    known = {f.name for f in dataclasses.fields(cls)}
    values: dict[str, Any] = {}
    for key, value in raw.items():
        if key not in known:
            problems.append(
                f"unknown key `[{section}] {key}`; {_did_you_mean(key, sorted(known))}known keys are"
                f" {sorted(known)} (check the spelling, or remove the key){where}"
            )
            continue
        hint = hints[key]
        if not _matches(value, hint):
            problems.append(
                f"`[{section}] {key}` must be {_type_name(hint)}; found {value!r}"
            )
            continue
        if hint is float or (typing.get_args(hint) and float in typing.get_args(hint)):
            if isinstance(value, int | float) and not math.isfinite(value):
                problems.append(f"`[{section}] {key}` must be a finite number; found {value!r}")
                continue
            value = float(value) if isinstance(value, int) else value
        values[key] = value
    return cls(**values)


def _check_values(s: Scenario, problems: list[str]) -> None:
    if not s.units.path and not s.census.state:
        problems.append(
            "`[units] path` is required: the planning units file (GeoJSON, GeoPackage, shapefile),"
            " unless `[census] state` and `county` ask for a download of block groups"
        )
    _check_census_inputs(s, problems)
    if not s.schools.path:
        problems.append("`[schools] path` is required: the schools file with capacity and location")
    p = s.policy
    if p.min_utilization < 0:
        problems.append(f"`[policy] min_utilization` must be >= 0; found {p.min_utilization}")
    if p.max_utilization <= 0:
        problems.append(f"`[policy] max_utilization` must be > 0; found {p.max_utilization}")
    if p.min_utilization > p.max_utilization:
        problems.append(
            f"`[policy] min_utilization` ({p.min_utilization}) is above `max_utilization`"
            f" ({p.max_utilization}); set min <= max"
        )
    if p.band is not None and not 0 <= p.band <= 1:
        problems.append(
            f"`[policy] band` is a fraction of students (0.10 = +/-10 points); found {p.band}"
        )
    if p.band_mode not in ("hard", "soft"):
        problems.append(f"`[policy] band_mode` must be \"hard\" or \"soft\"; found {p.band_mode!r}")
    if p.max_travel_min is not None and p.max_travel_min <= 0:
        problems.append(f"`[policy] max_travel_min` must be > 0 minutes; found {p.max_travel_min}")
    if p.max_moved_share is not None and not 0 <= p.max_moved_share <= 1:
        problems.append(
            f"`[policy] max_moved_share` is a fraction of students in 0..1; found {p.max_moved_share}"
        )
    if p.max_travel_increase is not None and p.max_travel_increase < 0:
        problems.append(
            f"`[policy] max_travel_increase` is a fraction (0.25 = at most 25% longer than today);"
            f" found {p.max_travel_increase}"
        )
    if p.max_travel_increase is not None and not s.current.path:
        problems.append("`[policy] max_travel_increase` needs current boundaries; set `[current] path`")
    if p.walk_zone_min is not None and p.walk_zone_min <= 0:
        problems.append(f"`[policy] walk_zone_min` must be > 0 minutes; found {p.walk_zone_min}")
    if p.walk_zone_min is not None and not (s.network.path or getattr(s.network, "download", False)):
        problems.append(
            "`[policy] walk_zone_min` needs walking times over a road network; set `[network] path`"
        )
    if p.max_moved_share is not None and not s.current.path:
        problems.append(
            "`[policy] max_moved_share` needs current boundaries; set `[current] path`"
        )
    o = s.objective
    for key in ("travel_weight", "band_weight", "moved_weight"):
        if getattr(o, key) < 0:
            problems.append(f"`[objective] {key}` must be >= 0; found {getattr(o, key)}")
    if s.network.mode not in ("drive", "walk"):
        problems.append(f"`[network] mode` must be \"drive\" or \"walk\"; found {s.network.mode!r}")
    if s.network.path and s.network.download:
        problems.append(
            "`[network] path` and `download = true` are both set; give a road file or ask for a download,"
            " not both"
        )
    if s.network.snap not in ("largest_component", "nearest_node"):
        problems.append(
            f"`[network] snap` must be \"largest_component\" or \"nearest_node\"; found {s.network.snap!r}"
        )
    if s.network.max_snap_m <= 0:
        problems.append(f"`[network] max_snap_m` must be > 0 metres; found {s.network.max_snap_m}")
    if s.network.circuity < 1:
        problems.append(f"`[network] circuity` must be >= 1; found {s.network.circuity}")
    if s.network.straight_line_speed_kph <= 0:
        problems.append(
            f"`[network] straight_line_speed_kph` must be > 0; found {s.network.straight_line_speed_kph}"
        )
    v = s.solver
    if v.name not in ("highs", "cbc"):
        problems.append(f"`[solver] name` must be \"highs\" or \"cbc\"; found {v.name!r}")
    if v.time_limit_s <= 0:
        problems.append(f"`[solver] time_limit_s` must be > 0 seconds; found {v.time_limit_s}")
    if not 0 <= v.gap < 1:
        problems.append(f"`[solver] gap` is a relative gap in [0, 1); found {v.gap}")
    if v.threads is not None and v.threads < 1:
        problems.append(f"`[solver] threads` must be >= 1; found {v.threads}")
    if v.candidate_schools < 0:
        problems.append(f"`[solver] candidate_schools` must be >= 0 (0 = all); found {v.candidate_schools}")
    if not re.fullmatch(r"[A-Za-z0-9._-]+", s.name or "-"):
        problems.append(
            f"`name` must use letters, digits, '.', '_' or '-' (it names the output folder); found {s.name!r}"
        )


def _check_census_inputs(s: Scenario, problems: list[str]) -> None:
    """Values of ``[units]`` selection keys, ``[schools] table``, ``[students]`` and ``[census]``."""
    u, st, c = s.units, s.students, s.census
    if not 0 < u.min_inside_share <= 1:
        problems.append(
            f"`[units] min_inside_share` is a share of a unit's area in 0..1; found {u.min_inside_share}"
        )
    if not 0 <= u.sliver_share < max(u.min_inside_share, 1e-9):
        problems.append(
            f"`[units] sliver_share` must be >= 0 and below `min_inside_share` ({u.min_inside_share});"
            f" found {u.sliver_share}"
        )
    if s.schools.table and not s.schools.table_match:
        problems.append(
            "`[schools] table` needs `table_match`: the column of the schools file whose values"
            " the table lists (e.g. table_match = \"SITE_NAME\")"
        )
    if st.total is not None and st.total <= 0:
        problems.append(f"`[students] total` is the district's enrollment and must be > 0; found {st.total}")
    if st.proxy and not st.total:
        problems.append(
            f"`[students] proxy = {st.proxy!r}` needs `[students] total`: the district enrollment the"
            " proxy is scaled to (e.g. total = 4000)"
        )
    if st.records and (st.proxy or st.total):
        problems.append(
            "`[students] records` gives the counts itself; remove `[students] proxy` and `total`"
        )
    if st.records and s.units.low_income_share:
        problems.append(
            "`[students] records` gives low-income counts from the FRL flag; remove"
            " `[units] low_income_share`"
        )
    if c.state is not None and not re.fullmatch(r"\d{2}", c.state):
        problems.append(f"`[census] state` is a 2-digit FIPS code as text, e.g. \"25\"; found {c.state!r}")
    if c.county is not None and not re.fullmatch(r"\d{3}", c.county):
        problems.append(f"`[census] county` is a 3-digit FIPS code as text, e.g. \"017\"; found {c.county!r}")
    if c.state and not c.county:
        problems.append("`[census] state` needs `[census] county` (3-digit FIPS code) for a download")
    if (c.county or c.place) and not c.state:
        problems.append("`[census] county` and `place` need `[census] state` (2-digit FIPS code)")
    if c.state and s.units.path:
        problems.append(
            "`[census] state` downloads the block groups, so `[units] path` must be empty; keep one"
        )
    if c.state and (c.b01001 or c.c17002 or c.b19013):
        problems.append(
            "`[census] state` downloads the ACS tables, so `b01001`, `c17002` and `b19013` must be"
            " empty; keep one"
        )
    if not 2009 <= c.year <= 2100:
        problems.append(f"`[census] year` is the ACS 5-year release year, e.g. 2022; found {c.year}")
    if c.timeout_s <= 0:
        problems.append(f"`[census] timeout_s` must be > 0 seconds; found {c.timeout_s}")
    for key in ("api_url", "tiger_url"):
        value = getattr(c, key)
        if not re.match(r"https?://", value):
            problems.append(f"`[census] {key}` must be an http(s) URL; found {value!r}")


def scenario_from_dict(data: dict[str, Any], *, base_dir: Path, source: Path | None = None) -> Scenario:
    """Validate a parsed TOML document and return a :class:`Scenario`.

    Raises
    ------
    ScenarioError
        Listing every unknown key, wrong type and bad value at once.
    """
    label = f"`{source}`" if source else "scenario"
    problems: list[str] = []
    sections: dict[str, Any] = {}
    for key, value in data.items():
        if key in _SECTIONS:
            continue
        if key not in _TOP_LEVEL:
            known = sorted([*_TOP_LEVEL, *_SECTIONS])
            what = "section" if isinstance(value, dict) else "key"
            problems.append(
                f"unknown {what} `{key}`; {_did_you_mean(key, known)}known top-level keys and"
                f" sections are {known} (check the spelling, or remove it)"
            )
        elif not isinstance(value, _TOP_LEVEL[key]):
            problems.append(f"`{key}` must be a string; found {value!r}")
    for section, cls in _SECTIONS.items():
        sections[section] = _build_section(section, cls, data.get(section), "", problems)
    name = data.get("name")
    if not isinstance(name, str) or not name:
        if "name" not in data:
            problems.append('`name` is required: a short name for the scenario, e.g. name = "demo"')
        name = "scenario"
    description = data.get("description", "")
    scenario = Scenario(
        name=name,
        base_dir=base_dir,
        description=description if isinstance(description, str) else "",
        source=source,
        **sections,
    )
    _check_values(scenario, problems)
    if problems:
        raise ScenarioError(format_problems(f"{label} is not a valid scenario", problems))
    return scenario


def load_scenario(path: str | Path) -> Scenario:
    """Read and validate a scenario TOML file.

    Parameters
    ----------
    path
        The ``.toml`` file. Relative paths inside it are resolved against its folder.

    Raises
    ------
    ScenarioError
        The file is missing, not TOML, or has bad keys or values (all listed at once).
    """
    path = Path(path)
    if not path.is_file():
        raise ScenarioError(f"scenario file `{path}` does not exist; give the path of a .toml file")
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise ScenarioError(
            f"scenario file `{path}` cannot be read as UTF-8 text ({exc}); save it as UTF-8 (TOML files"
            " are UTF-8)"
        ) from exc
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise ScenarioError(f"scenario file `{path}` is not valid TOML: {exc}; fix the syntax") from exc
    return scenario_from_dict(data, base_dir=path.resolve().parent, source=path)
