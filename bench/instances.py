"""Benchmark instances for the zoning integer program.

Synthetic instances come from the project's own generator (:func:`zoning.synthetic.make_district`:
a spatial income gradient, uneven density, a river crossed by a few bridges) and go through the
same steps as a real district: its street network with drive speeds, a travel-time matrix over it
(one Dijkstra per school), unit adjacency with links across the river where a bridge lands, and
each school's home unit. Everything is deterministic in the seed.

The real case is Cambridge, Massachusetts (``bench/cambridge/scenario.toml``), read in place from
``../shared/data`` beside the checkout.

``INSTANCES`` names every instance; :func:`build_instance` builds one by name.
"""

from __future__ import annotations

import logging
import re
import sys
from dataclasses import dataclass
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from zoning.adjacency import build_adjacency, neighbours  # noqa: E402
from zoning.errors import InputError  # noqa: E402
from zoning.model import Policy, Problem  # noqa: E402
from zoning.network import add_speeds  # noqa: E402
from zoning.schools import find_home_units  # noqa: E402
from zoning.synthetic import build_road_graph, make_district  # noqa: E402
from zoning.traveltime import compute_travel_times  # noqa: E402

log = logging.getLogger(__name__)

SHARED_DATA = ROOT.parent / "shared" / "data"
CAMBRIDGE_SCENARIO = HERE / "cambridge" / "scenario.toml"

#: Policy of the synthetic instances: the generator sizes each school at 80-100 % of a compact
#: region's students (total capacity about 1.12 x students), so 60-100 % utilization leaves room,
#: as in Cambridge; a 20-minute drive cap and the +/-10 point band.
SYNTHETIC_POLICY = {"min_utilization": 0.6, "max_utilization": 1.0, "max_travel_min": 20.0}

#: Strength of the generator's spatial income gradient in the benchmark districts (the demo's
#: default is 1.0). Calibrated on the real case: with 0.5 the nearest-school zones' low-income
#: shares spread about as in Cambridge (standard deviation, weighted by students, 16-19 % of the
#: district share on S, M and L; Cambridge 18 %), where 1.0 spreads them twice as far (30-33 %).
BENCH_SEGREGATION = 0.5


class InstanceUnavailable(RuntimeError):
    """An instance cannot be built here (its data is absent); the message says why."""


@dataclass(frozen=True)
class Instance:
    """One benchmark case: the plain-data problem and the policy to solve it under."""

    name: str
    problem: Problem
    policy: Policy
    description: str

    @property
    def units(self) -> int:
        return len(self.problem.units)

    @property
    def schools(self) -> int:
        return len(self.problem.schools)


@dataclass(frozen=True)
class SyntheticSpec:
    """Arguments of :func:`synthetic_instance` for a named instance."""

    n_units: int
    n_schools: int
    seed: int
    band: float = 0.10
    segregation: float = BENCH_SEGREGATION


#: The synthetic instances of the benchmark (issue sizes: S ~100 x 8, M ~400 x 24, L ~1,000 x 60).
SYNTHETIC: dict[str, SyntheticSpec] = {
    "S": SyntheticSpec(n_units=100, n_schools=8, seed=11),
    "M": SyntheticSpec(n_units=400, n_schools=24, seed=12),
    "L": SyntheticSpec(n_units=1000, n_schools=60, seed=13),
}

#: The Cambridge instances: band +/-10 and +/-5 points.
CAMBRIDGE: dict[str, float] = {"cambridge-0.10": 0.10, "cambridge-0.05": 0.05}

INSTANCES: tuple[str, ...] = (*SYNTHETIC, *CAMBRIDGE)

_SYN_NAME = re.compile(
    r"syn-(?P<units>\d+)x(?P<schools>\d+)-s(?P<seed>\d+)(?:-g(?P<segregation>\d+(?:\.\d+)?))?")


def synthetic_problem(*, n_units: int, n_schools: int, seed: int,
                      segregation: float = BENCH_SEGREGATION) -> Problem:
    """The plain-data problem of a generated district.

    Parameters
    ----------
    n_units, n_schools, seed, segregation
        Passed to :func:`zoning.synthetic.make_district`.

    Returns
    -------
    Problem
        Drive travel times (s) over the district's streets, students and low-income students per
        unit, school capacities, unit adjacency (boundary links, and road links across the river)
        and each school's home unit.
    """
    district = make_district(n_units=n_units, n_schools=n_schools, seed=seed, name=f"bench-{seed}",
                             segregation=segregation)
    graph = add_speeds(build_road_graph(district), mode="drive")
    units, schools = district.units, district.schools
    travel = compute_travel_times(units, schools, graph, mode="drive")
    adjacency = build_adjacency(units, graph)
    return Problem(
        travel_time_s=travel.seconds,
        students=units["students"].astype(float),
        low_income=units["low_income"].astype(float),
        capacity=schools["capacity"].astype(float),
        neighbours=neighbours(adjacency, units.index),
        home_unit=find_home_units(schools, units),
    )


def synthetic_policy(*, band: float) -> Policy:
    """:data:`SYNTHETIC_POLICY` with the given income band (hard, contiguous zones)."""
    return Policy(
        min_utilization=SYNTHETIC_POLICY["min_utilization"],
        max_utilization=SYNTHETIC_POLICY["max_utilization"],
        band=band,
        band_mode="hard",
        max_travel_s=SYNTHETIC_POLICY["max_travel_min"] * 60.0,
        contiguity=True,
    )


def synthetic_instance(name: str, spec: SyntheticSpec) -> Instance:
    """A named synthetic instance built from ``spec``."""
    problem = synthetic_problem(n_units=spec.n_units, n_schools=spec.n_schools, seed=spec.seed,
                                segregation=spec.segregation)
    return Instance(
        name=name, problem=problem, policy=synthetic_policy(band=spec.band),
        description=(f"synthetic district (seed {spec.seed}, segregation {spec.segregation:g}):"
                     f" {spec.n_units} units, {spec.n_schools} schools, capacity 60-100%, 20-minute cap,"
                     f" band +/-{spec.band * 100:g} points"),
    )


def cambridge_instance(name: str, band: float, *, scenario_path: Path = CAMBRIDGE_SCENARIO) -> Instance:
    """Cambridge MA with the given band (capacity 60-100 %, 20-minute cap, as in the scenario).

    Raises
    ------
    InstanceUnavailable
        When ``../shared/data/cambridge-ma`` is absent.
    """
    folder = SHARED_DATA / "cambridge-ma"
    if not folder.is_dir():
        raise InstanceUnavailable(f"{name}: real data not available ({folder} is missing)")
    from zoning.pipeline import build_policy, load_inputs
    from zoning.scenario import load_scenario

    scenario = load_scenario(scenario_path).replace(
        policy={"band": band, "band_mode": "hard", "min_utilization": 0.6, "max_utilization": 1.0,
                "max_travel_min": 20.0, "contiguity": True},
        network={"cache": False},
    )
    inputs = load_inputs(scenario)
    return Instance(
        name=name, problem=inputs.problem(), policy=build_policy(scenario),
        description=(f"Cambridge MA: {len(inputs.units)} block groups, {len(inputs.schools)} JK-5"
                     f" schools, capacity 60-100%, 20-minute cap, band +/-{band * 100:g} points"),
    )


def parse_synthetic(name: str) -> SyntheticSpec | None:
    """The spec named ``syn-<units>x<schools>-s<seed>[-g<segregation>]`` (e.g. ``syn-30x3-s1``,
    ``syn-400x24-s12-g1``), or None. Without ``-g`` the segregation is :data:`BENCH_SEGREGATION`."""
    m = _SYN_NAME.fullmatch(name)
    if m is None:
        return None
    segregation = BENCH_SEGREGATION if m["segregation"] is None else float(m["segregation"])
    return SyntheticSpec(n_units=int(m["units"]), n_schools=int(m["schools"]), seed=int(m["seed"]),
                         segregation=segregation)


def build_instance(name: str) -> Instance:
    """Build the instance called ``name``: one of :data:`INSTANCES` or
    ``syn-<units>x<schools>-s<seed>[-g<segregation>]``.

    Raises
    ------
    InputError
        For an unknown name or a generated size the generator refuses (the message lists the
        known names or the generator's limits).
    InstanceUnavailable
        When the instance's data is absent.
    """
    if name in SYNTHETIC:
        return synthetic_instance(name, SYNTHETIC[name])
    if name in CAMBRIDGE:
        return cambridge_instance(name, CAMBRIDGE[name])
    spec = parse_synthetic(name)
    if spec is None:
        raise InputError(
            f"`--only` names unknown instance {name!r}; expected one of {', '.join(INSTANCES)}"
            " or syn-<units>x<schools>-s<seed>[-g<segregation>] such as syn-30x3-s1"
        )
    try:
        return synthetic_instance(name, spec)
    except ValueError as exc:
        if isinstance(exc, InputError):
            raise
        raise InputError(f"`--only` instance {name!r}: {exc}") from exc


