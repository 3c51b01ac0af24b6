"""The integer program: build, warm start, solve with exact contiguity, report status honestly.

Inputs are plain pandas objects (no geodata), so the model can be tested and benchmarked alone.

Binary ``x[u, s]`` exists only for allowed pairs (reachable within the travel cap, among the
nearest candidate schools, consistent with locks). Constraints: each unit in exactly one zone;
each school's home unit in its zone; locked units fixed; students per zone within
[min, max] x capacity; low-income share within P +/- band (hard, or soft with penalised
deviation); a cap on students moved from the current plan. Contiguity is exact: a zone's unit
that is not the home unit needs a neighbour in the zone (added up front); separator cuts
``x[u, s] <= sum_{w in C} x[w, s]`` (``C`` separating ``u`` from the school's unit, see
:mod:`.separation`) are found by max-flow at the LP relaxation's fractional points and from
every split plan the solver meets, and the program is re-solved until no zone is split. Every
cut is valid for all contiguous plans, so each solve's bound is a bound on the true problem.
With HiGHS one model is kept and grows by rows; a zone that splits in a round where few do
gets flow rows that keep it whole exactly from then on; split plans are polished into
contiguous ones by a small exact flow model over nearby pairs, and repaired and annealed; the
tightened LP relaxation is rounded into a start plan, and when that plan is far from the LP
bound, cut rounds on the pairs near the LP optimum seek a better one first. When the rounds
prove no plan, the end of the time limit goes to re-drawing a few touching zones at a time
exactly (:mod:`.lns`).
"""

from __future__ import annotations

import copy
import dataclasses
import functools
import heapq
import logging
import math
import re
import tempfile
import time
from collections.abc import Callable, Sequence, Sized
from dataclasses import dataclass, field
from pathlib import Path

import networkx as nx
import numpy as np
import pandas as pd
import pulp
import scipy.sparse as sp
from scipy.sparse.csgraph import connected_components

from . import heuristic, lns, separation
from .errors import InfeasibleError, NoPlanInTimeError, SolverError
from .program import Program, add_cut_rows, new_highs, quiet_stdout
from .separation import Cut

log = logging.getLogger(__name__)

OPTIMAL = "optimal"
FEASIBLE = "feasible"
INFEASIBLE = "infeasible"
NO_PLAN = "no plan found in time"

#: A plan is called optimal only when its gap to the best bound is at most this (0.01%).
OPTIMAL_GAP = 1e-4
#: Seconds the infeasibility diagnosis may take at most.
DIAGNOSIS_MAX_S = 30.0
#: Districts with at most this many units use the flow model of contiguity.
FLOW_MAX_UNITS = 40
#: Share of the time limit (at most 10 s) spent on the heuristic start plan.
HEURISTIC_SHARE = 0.1
HEURISTIC_S_PER_UNIT = 0.05
#: Moves the annealing tries per unit (its result depends on this, not on the clock).
ANNEAL_STEPS_PER_UNIT = 300
#: Moves the annealing tries per unit from a plan rounded from the LP relaxation, and its share
#: of the time limit at most (a safety stop: 1,000 moves per unit take 7-12 s on 1,000 units).
LP_ANNEAL_STEPS_PER_UNIT = 1000
LP_ANNEAL_SHARE = 0.2
#: Merge-and-split steps per school when annealing reaches no plan, and their share of the time
#: limit at most (a safety stop: the step count ends it in practice).
RECOMBINE_STEPS_PER_SCHOOL = 150
RECOMBINE_SHARE = 0.25
#: Share of the time limit that cutting planes on the LP relaxation may use, and their rounds.
ROOT_CUT_SHARE = 0.25
ROOT_CUT_ROUNDS = 50
#: Share of the time limit kept for the large-neighbourhood search (:mod:`.lns`) from the best
#: plan, when the rounds do not prove a plan before (it stops sooner when a pass over the
#: schools improves nothing).
LNS_SHARE = 0.1
#: Seconds at most for the search of a contiguous plan near each split one.
POLISH_S = 30.0
#: ... and branch-and-bound nodes at most (the node count, not the clock, ends it in practice).
POLISH_NODES = 1000
#: Once a plan is in hand, the polish takes at most this share of the time its round took.
POLISH_SHARE = 0.25
#: Share of the time left that a round may take while no plan in hand is proven (so its split
#: plan can still be polished); after a shortened round returns a whole plan, rounds run uncut.
FIRST_ROUND_SHARE = 0.4
#: When the plan in hand is more than this gap above the tightened LP bound (or there is none),
#: cut rounds on the pairs near the LP optimum seek a whole plan first, for at most a share of
#: the time limit (:meth:`ZoningModel._near_rounds`); pairs count as used above the tolerance.
NEAR_GAP = 0.03
NEAR_SHARE = 0.1
NEAR_TOLERANCE = 1e-6
#: A round whose plan splits at most this many zones makes those zones exactly contiguous in
#: the rounds after it (flow rows, :meth:`_HighsRounds.add_flow`), for at most this many
#: schools in all: a zone that splits where the rounds' plans meet few splits tends to split
#: again, in another place, round after round.
FLOW_SPLIT_ZONES = 2
FLOW_SCHOOLS_MAX = 4
#: A round stops at a plan HiGHS meets below the plan in hand when that plan splits zones that
#: can still get flow rows and lies at most this share below the plan in hand (a plan far below
#: it says more about the plan in hand than about the split zones: the round solves on, as it
#: may yet meet a whole plan below).
STOP_BELOW = 0.02
#: Most new cuts a round adds per unit of the district, beyond its own plan's: a round on a large
#: district can meet hundreds of split plans, and all their cuts make the next round's program
#: slow to load and presolve (HiGHS checks its time limit only after presolve).
ROUND_CUTS_PER_UNIT = 4


@dataclass
class Problem:
    """Everything the program needs, as plain labelled pandas objects.

    Attributes
    ----------
    travel_time_s
        DataFrame ``geoid x school_id`` in seconds; NaN = unreachable.
    students, low_income
        Series indexed by geoid (counts).
    capacity
        Series indexed by school_id (seats).
    neighbours
        ``geoid -> list of neighbouring geoids`` (symmetric).
    home_unit
        Series ``school_id -> geoid``: the unit each school stands in.
    locked
        ``geoid -> school_id`` that must hold.
    current
        Series ``geoid -> school_id`` of today's plan (optional).
    """

    travel_time_s: pd.DataFrame
    students: pd.Series
    low_income: pd.Series
    capacity: pd.Series
    neighbours: dict[str, list[str]]
    home_unit: pd.Series
    locked: dict[str, str] = field(default_factory=dict)
    current: pd.Series | None = None

    @property
    def units(self) -> pd.Index:
        return self.travel_time_s.index

    @property
    def schools(self) -> pd.Index:
        return self.travel_time_s.columns

    @property
    def district_share(self) -> float:
        total = float(self.students.sum())
        return float(self.low_income.sum()) / total if total > 0 else 0.0


@dataclass
class Policy:
    """Rules and weights. Travel weight is per student-minute; band and moved weights per student."""

    min_utilization: float = 0.0
    max_utilization: float = 1.0
    band: float | None = 0.10
    band_mode: str = "hard"
    max_travel_s: float | None = None
    contiguity: bool = True
    max_moved_share: float | None = None
    max_travel_increase: float | None = None
    travel_weight: float = 1.0
    band_weight: float = 100.0
    moved_weight: float = 0.0


@dataclass
class SolveOptions:
    """Solver choice and limits."""

    solver: str = "highs"
    time_limit_s: float = 120.0
    gap: float = 1e-4
    threads: int | None = None
    candidate_schools: int = 0
    neighbour_rows: bool = True
    contiguity_method: str = "auto"


def current_travel_s(problem: Problem) -> pd.Series:
    """Each unit's travel time to its school today (NaN without a current school)."""
    tt = problem.travel_time_s
    cur = (problem.current if problem.current is not None else pd.Series(dtype=object)).reindex(tt.index)
    cols = tt.columns.get_indexer(cur.fillna("").astype(str))
    vals = np.where(cols >= 0, tt.to_numpy()[np.arange(len(tt)), np.maximum(cols, 0)], np.nan)
    return pd.Series(vals, index=tt.index)


def allowed_pairs(problem: Problem, policy: Policy, *, candidate_schools: int = 0) -> pd.DataFrame:
    """The (unit, school) pairs that get a variable, with their travel time.

    Returns a DataFrame with columns ``geoid``, ``school_id``, ``travel_time_s``.
    """
    tt = problem.travel_time_s
    ok = tt.notna().to_numpy().copy()
    if policy.max_travel_s is not None:
        ok &= (tt.fillna(np.inf).to_numpy() <= policy.max_travel_s + 1e-9)
    if policy.max_travel_increase is not None and problem.current is not None:
        today = current_travel_s(problem).to_numpy()
        known = np.isfinite(today)
        ok[known] &= tt.fillna(np.inf).to_numpy()[known] <= (
            (1.0 + policy.max_travel_increase) * today[known, None] + 1e-6)
    if candidate_schools and candidate_schools < tt.shape[1]:
        ranks = tt.fillna(np.inf).rank(axis=1, method="first").to_numpy()
        ok &= ranks <= candidate_schools
    units, schools = tt.index, tt.columns
    upos = {u: i for i, u in enumerate(units)}
    spos = {s: j for j, s in enumerate(schools)}
    fixed = dict(problem.locked)
    for s, u in problem.home_unit.items():
        fixed[u] = s
    for u, s in fixed.items():
        # a home or lock holds even beyond the travel cap; the checker reports that case
        ok[upos[u], :] = False
        ok[upos[u], spos[s]] = True
    if policy.contiguity:
        ok = _connectable(ok, problem, policy, upos, spos, fixed)
    i, j = np.nonzero(ok)
    return pd.DataFrame({
        "geoid": units[i].astype(str),
        "school_id": schools[j].astype(str),
        "travel_time_s": tt.to_numpy()[i, j],
    })


def _connectable(ok: np.ndarray, problem: Problem, policy: Policy, upos: dict, spos: dict,
                 fixed: dict) -> np.ndarray:
    """Drop pairs (u, s) that no contiguous zone of s within its capacity can hold.

    A zone of s holds every unit fixed to s (its own unit and its locks) and links each of its
    other units to one of them through units of the same zone, so it holds at least the fixed
    units' students plus those of the lightest such path (a Dijkstra from the fixed units over
    the school's allowed units, each unit weighing its students). A pair with no path of
    allowed units, or whose fixed units and lightest path have more students than the school's
    maximum utilization seats, can never be used: removing it loses no plan.
    """
    students = problem.students.reindex(list(upos)).fillna(0.0).to_numpy(dtype=float)
    links = [[upos[w] for w in problem.neighbours.get(u, []) if w in upos] for u in upos]
    out = np.zeros_like(ok)
    for s, j in spos.items():
        home = problem.home_unit.get(s)
        if home is None or home not in upos:
            continue
        room = policy.max_utilization * float(problem.capacity[s]) + 1e-6
        allowed = ok[:, j]
        sources = [upos[u] for u, t in fixed.items() if t == s and u in upos]
        base = float(students[sources].sum())
        load = dict.fromkeys(sources, base)
        heap = [(base, u) for u in sources]
        heapq.heapify(heap)
        while heap:
            d, u = heapq.heappop(heap)
            if d > load[u]:
                continue
            out[u, j] = True
            for w in links[u]:
                nd = d + students[w]
                if allowed[w] and nd <= room and nd < load.get(w, math.inf):
                    load[w] = nd
                    heapq.heappush(heap, (nd, w))
    for u in fixed:  # keep fixed pairs; presolve_checks names those that cannot connect
        out[upos[u]] = ok[upos[u]]
    return out


def presolve_checks(problem: Problem, policy: Policy, pairs: pd.DataFrame) -> None:
    """Clashes visible before solving: capacity totals, unreachable units, contradictory locks.

    Raises
    ------
    InfeasibleError
        With a diagnosis naming the numbers that clash and the relaxation needed.
    """
    problems: list[str] = []
    total = float(problem.students.sum())
    cap = float(problem.capacity.sum())
    if cap * policy.max_utilization + 1e-6 < total:
        need = total / policy.max_utilization - cap
        problems.append(
            f"{total:.0f} students but {cap:.0f} seats x max utilization {policy.max_utilization:g}"
            f" = {cap * policy.max_utilization:.0f}: add {math.ceil(need)} seats or raise"
            f" max_utilization to {total / cap:.3f}"
        )
    if cap * policy.min_utilization - 1e-6 > total:
        problems.append(
            f"{total:.0f} students cannot fill {cap:.0f} seats x min utilization"
            f" {policy.min_utilization:g}: lower min_utilization to {total / cap:.3f}"
        )
    homes = problem.home_unit
    dup = homes[homes.duplicated(keep=False)]
    if len(dup):
        groups = dup.groupby(dup).apply(lambda s: sorted(s.index)).to_dict()
        problems.append(
            "schools standing in the same unit cannot each have it as home unit: "
            + "; ".join(f"unit {u}: {v}" for u, v in groups.items())
        )
    for u, s in problem.locked.items():
        if u in set(homes) and homes[homes == u].index[0] != s:
            problems.append(
                f"unit {u} is locked to {s} but school {homes[homes == u].index[0]} stands in it"
            )
    covered = set(pairs["geoid"])
    orphans = [u for u in problem.units if u not in covered]
    if orphans:
        tt = problem.travel_time_s.loc[orphans].min(axis=1)
        reach = [u for u in orphans if np.isfinite(tt[u])]
        never = [u for u in orphans if not np.isfinite(tt[u])]
        if never:
            problems.append(f"units {never[:10]} cannot reach any school over the road network")
        cap_s = math.inf if policy.max_travel_s is None else policy.max_travel_s + 1e-9
        beyond = [u for u in reach if tt[u] > cap_s]
        cut_off = [u for u in reach if tt[u] <= cap_s]
        if beyond:
            worst = float(tt[beyond].max())
            problems.append(
                f"units {beyond[:10]} have no school within the travel cap of"
                f" {policy.max_travel_s / 60:.1f} min; the cap must rise to {math.ceil(worst / 60)} min"
            )
        if cut_off:
            rules = [r for r, on in (("the travel cap", policy.max_travel_s is not None),
                                     ("the allowed increase over today's time",
                                      policy.max_travel_increase is not None)) if on]
            within = f" within {' and '.join(rules)}" if rules else ""
            problems.append(
                f"units {cut_off[:10]} can join no contiguous zone: every school{within}"
                " reaches them only through units it may not take (beyond the cap or fixed to"
                " another school) or through more students, with its own unit and locked units,"
                " than its seats x max_utilization;"
                " raise the travel cap or max_utilization, or unlock units between them and a school"
            )
    if problems:
        raise InfeasibleError("the policy cannot be met: " + "; ".join(problems), problems)


def split_pieces(plan: pd.Series, neighbours: dict[str, list[str]],
                 home_unit: pd.Series) -> dict[str, list[set[str]]]:
    """For each school, the pieces of its zone that do not contain its home unit."""
    out: dict[str, list[set[str]]] = {}
    for s, members in plan.groupby(plan).groups.items():
        zone = {str(u) for u in members}
        g = nx.Graph()
        g.add_nodes_from(zone)
        g.add_edges_from((u, v) for u in zone for v in neighbours.get(u, []) if v in zone)
        home = home_unit.get(s)
        bad = [c for c in nx.connected_components(g) if home not in c]
        if bad:
            out[str(s)] = sorted(bad, key=lambda c: min(c))
    return out


class _HiGHSWarm(pulp.HiGHS):  # type: ignore[misc]
    """PuLP's HiGHS API with a MIP start: values set on the variables are passed to HiGHS."""

    def createAndConfigureSolver(self, lp: pulp.LpProblem) -> None:  # noqa: N802 (PuLP's name)
        with quiet_stdout():
            super().createAndConfigureSolver(lp)

    def __init__(self, *args: object, warm: dict[str, float] | None = None, **kw: object) -> None:
        super().__init__(*args, **kw)
        self.warm = warm or {}

    def callSolver(self, lp: pulp.LpProblem) -> None:  # noqa: N802 (PuLP's name)
        if self.warm:
            import highspy

            variables = lp.variables()
            sol = highspy.HighsSolution()
            sol.col_value = [float(self.warm.get(v.name, 0.0)) for v in variables]
            sol.value_valid = True
            lp.solverModel.setSolution(sol)
        lp.solverModel.run()

    def findSolutionValues(self, lp: pulp.LpProblem) -> tuple[int, int]:  # noqa: N802 (PuLP's name)
        try:
            return super().findSolutionValues(lp)
        except KeyError:
            # a status PuLP's table lacks (a node or solution limit reached); the values are
            # already assigned and the caller reads HiGHS's own status
            return pulp.LpStatusNotSolved, pulp.LpSolutionNoSolutionFound


@dataclass
class _RoundResult:
    values: dict[str, float] | None
    proven: bool
    infeasible: bool
    objective: float | None
    bound: float | None
    seconds: float
    interrupted: bool = False  # stopped at a plan the caller asked to stop at


#: A row: name, entries ``(column, coefficient)``, lower and upper bound.
Row = tuple[str, list[tuple[int, float]], float, float]


def flow_rows(pair: dict, home: object, neighbours: Callable[[object], Sequence], big: float,
              first: int, tag: object) -> tuple[list[tuple], list[Row]]:
    """Single-commodity flow contiguity for one school's zone: its unit ``home`` sends one unit
    of flow to every other unit of the zone, along links between units of the zone.

    ``pair`` maps each unit the zone may take to the column of its pair. Arc ``e`` of the
    returned arcs ``(u, w)`` (``w`` never ``home``) is column ``first + e``, carrying at most
    ``big`` and only between units of the zone. Rows are ``(name, entries, lower, upper)``,
    named with ``tag`` (the school): two per arc, then one per unit other than ``home`` (what
    flows in and stays: one unit when the unit is in the zone).
    """
    units = sorted(pair)
    arcs = [(u, w) for u in units for w in neighbours(u) if w in pair and w != home]
    rows: list[Row] = []
    inflow: dict[object, list[int]] = {u: [] for u in units}
    outflow: dict[object, list[int]] = {u: [] for u in units}
    for e, (u, w) in enumerate(arcs):
        f = first + e
        rows.append((f"fu_{tag}_{u}_{w}", [(f, 1.0), (pair[u], -big)], -math.inf, 0.0))
        rows.append((f"fw_{tag}_{u}_{w}", [(f, 1.0), (pair[w], -big)], -math.inf, 0.0))
        outflow[u].append(f)
        inflow[w].append(f)
    for u in units:
        if u != home:
            rows.append((f"flow_{tag}_{u}", [(f, 1.0) for f in inflow[u]] + [(f, -1.0) for f in outflow[u]]
                         + [(pair[u], -1.0)], 0.0, 0.0))
    return arcs, rows


class _HighsRounds:
    """One HiGHS model kept across cut rounds: built once, then cut rows are added to it
    directly (never rebuilt), and every plan HiGHS finds on the way is kept.

    The formulation is :meth:`ZoningModel._program` (the same one PuLP gets for CBC), passed to
    a ``highspy.Highs`` object whose column of pair ``k`` is ``columns[k]``.
    """

    def __init__(self, model: ZoningModel) -> None:
        import highspy

        self.highspy = highspy
        prog = model._program()
        self.h = new_highs(model.options.threads)
        order = prog.to_highs(self.h)
        self.built_rows = len(prog.rows)
        self.names = [prog.names[j] for j in order]
        where = np.argsort(order)  # HiGHS position of each program column
        self.columns = where[:len(model.pairs)].astype(np.int64)  # x_k come first
        self.layout = model.layout()
        # schools given flow rows: their arcs (unit positions) and the HiGHS column of the first
        self.flows: dict[int, tuple[list[tuple[int, int]], int]] = {}
        self.found: list[np.ndarray] = []
        self.found_objective: list[float] = []  # HiGHS's objective of each plan in :attr:`found`
        self.stop_at: Callable[[np.ndarray, float], bool] | None = None
        self.stopping = False
        self.h.setCallback(self._on_event, None)

    def _on_event(self, kind: object, message: str, data_out: object, data_in: object,
                  user: object) -> None:
        """Keep every plan HiGHS finds; ask it to stop once :attr:`stop_at` holds for one."""
        if kind == self.highspy.cb.HighsCallbackType.kCallbackMipInterrupt:
            data_in.user_interrupt = self.stopping  # type: ignore[attr-defined]  # (HiGHS keeps a set flag)
            return
        values = np.array(data_out.mip_solution, dtype=float)  # type: ignore[attr-defined]
        objective = float(data_out.objective_function_value)  # type: ignore[attr-defined]
        self.found.append(values)
        self.found_objective.append(objective)
        if self.stop_at is not None and not self.stopping:
            self.stopping = self.stop_at(self.pair_values(values), objective)

    def add_cuts(self, cuts: Sequence[Cut]) -> None:
        """Add rows ``x[k] - sum x[seps] <= 0`` (pair positions)."""
        add_cut_rows(self.h, cuts, self.columns)

    def may_flow(self, zones: Sized) -> bool:
        """Whether the zones a plan splits may all get flow rows: few of them
        (:data:`FLOW_SPLIT_ZONES`), and room left for them (:data:`FLOW_SCHOOLS_MAX`)."""
        return 0 < len(zones) <= FLOW_SPLIT_ZONES and len(self.flows) + len(zones) <= FLOW_SCHOOLS_MAX

    def add_flow(self, school: int, most_units: int) -> None:
        """Make one school's zone exactly contiguous: single-commodity flow rows, as in
        :meth:`ZoningModel._add_flow`, over the units allowed for it. The school's unit sends one
        unit of flow to every other unit of the zone; ``most_units`` (the most units the zone can
        hold) bounds the flow on an arc."""
        hs, h, lay = self.highspy, self.h, self.layout
        if school in self.flows:
            return
        pair = {int(lay.unit_of[k]): int(self.columns[k]) for k in lay.by_school[school]}
        big = float(max(min(most_units, len(pair)) - 1, 0))
        first = int(h.getNumCol())
        arcs, rows = flow_rows(pair, int(lay.home[school]), lay.nbrs.__getitem__, big, first, school)
        n = len(arcs)
        h.addVars(n, np.zeros(n), np.full(n, big))
        self.names += [f"flow_{school}_{u}_{w}" for u, w in arcs]
        starts = np.cumsum([0] + [len(entries) for _, entries, _, _ in rows])[:-1]
        index = [j for _, entries, _, _ in rows for j, _ in entries]
        value = [c for _, entries, _, _ in rows for _, c in entries]
        lower = [-hs.kHighsInf if math.isinf(lo) else lo for _, _, lo, _ in rows]
        m = len(rows)
        h.addRows(m, np.array(lower), np.zeros(m), len(index), np.asarray(starts, dtype=np.int32),
                  np.array(index, dtype=np.int32), np.array(value, dtype=float))
        self.flows[school] = (arcs, first)

    def _flow_values(self, values: list[float]) -> None:
        """Fill in, in place, the flow columns of a start given by its pair columns: along a
        tree of each flowed zone grown from the school's unit, an arc carries the units beyond
        it."""
        lay = self.layout
        x = np.asarray(values)[self.columns]
        assign = lay.assignment(x)
        for school, (arcs, first) in self.flows.items():
            zone = set(np.nonzero(assign == school)[0].tolist())
            home = int(lay.home[school])
            parent = {home: home}
            order = [home]
            for u in order:  # breadth first, within the zone
                for w in lay.nbrs[u]:
                    if w in zone and w not in parent:
                        parent[w] = u
                        order.append(w)
            beyond = dict.fromkeys(order, 1)
            for w in reversed(order[1:]):
                beyond[parent[w]] += beyond[w]
            column = {arc: first + e for e, arc in enumerate(arcs)}
            for w in order[1:]:
                values[column[(parent[w], w)]] = float(beyond[w])

    def pair_values(self, col_value: Sequence[float] | np.ndarray) -> np.ndarray:
        return np.asarray(col_value, dtype=float)[self.columns]

    def relaxation(self, time_limit_s: float) -> tuple[float, np.ndarray] | None:
        """LP optimum and pair values of the relaxation (None when HiGHS does not reach one)."""
        h = self.h
        h.setOptionValue("solve_relaxation", True)
        h.setOptionValue("time_limit", max(time_limit_s, 0.01))
        try:
            h.run()
        finally:
            h.setOptionValue("solve_relaxation", False)
        if h.getModelStatus() != self.highspy.HighsModelStatus.kOptimal:
            return None
        return float(h.getInfo().objective_function_value), self.pair_values(h.getSolution().col_value)

    def solve(self, time_limit_s: float, gap: float, warm: dict[str, float] | None, *,
              stop_at: Callable[[np.ndarray, float], bool] | None = None) -> _RoundResult:
        """Solve the integer program as it stands; plans met on the way go to :attr:`found`.
        ``stop_at(pair values, objective)``, if given, is asked about each of them: the solve
        stops once it holds for one (its bound is still valid)."""
        hs, h = self.highspy, self.h
        t0 = time.perf_counter()
        h.setOptionValue("time_limit", max(time_limit_s, 0.01))
        h.setOptionValue("mip_rel_gap", gap)
        # HiGHS may restart the root after fixing columns there only while the program has no
        # rows added: a restart repeats presolve and the root cut loop over cut rows for little
        # (Cambridge at +/-5 points: the last round's proof from the optimum 3.6-5.6 s instead of
        # 10.8-11.2 s), while a program as built gains by it (S: 0.19 s instead of 0.3 s)
        h.setOptionValue("mip_allow_restart", h.getNumRow() == self.built_rows)
        if warm:
            sol = hs.HighsSolution()
            values = [float(warm.get(n, 0.0)) for n in self.names]
            if self.flows:
                self._flow_values(values)
            sol.col_value = values
            sol.value_valid = True
            h.setSolution(sol)
        self.found, self.found_objective = [], []
        self.stop_at, self.stopping = stop_at, False
        events = [hs.cb.HighsCallbackType.kCallbackMipSolution]
        if stop_at is not None:
            events.append(hs.cb.HighsCallbackType.kCallbackMipInterrupt)
        for event in events:
            h.startCallback(event)
        try:
            h.run()
        finally:
            for event in events:
                h.stopCallback(event)
            self.stop_at = None
        seconds = time.perf_counter() - t0
        status = h.getModelStatus()
        if status in (hs.HighsModelStatus.kInfeasible, hs.HighsModelStatus.kUnboundedOrInfeasible):
            return _RoundResult(None, True, True, None, None, seconds)
        info = h.getInfo()
        has_plan = info.primal_solution_status == 2 and math.isfinite(info.objective_function_value)
        values = dict(zip(self.names, h.getSolution().col_value, strict=True)) if has_plan else None
        bound = float(info.mip_dual_bound) if math.isfinite(info.mip_dual_bound) else None
        return _RoundResult(values, status == hs.HighsModelStatus.kOptimal, False,
                            float(info.objective_function_value) if has_plan else None, bound, seconds,
                            interrupted=status == hs.HighsModelStatus.kInterrupt and self.stopping)


class _Rules:
    """The hard rules by position, for quick tests of many plans (school position per unit):
    the heuristic's view of the model (:class:`heuristic.Instance`: loads, band, allowed pairs),
    today's schools, and the adjacency as an edge list."""

    def __init__(self, inst: heuristic.Instance, problem: Problem, pairs: pd.DataFrame) -> None:
        self.inst, self.pairs = inst, pairs
        self.allowed = np.isfinite(inst.cost)  # units x schools: the pair has a variable
        self.current = None  # school position today: -1 none, -2 a school not in the problem
        if problem.current is not None:
            today = problem.current.reindex(problem.units)
            known = problem.schools.get_indexer(today.to_numpy())
            self.current = np.where(today.isna().to_numpy(), -1, np.where(known >= 0, known, -2))
        self.ends = np.array([(u, w) for u, ws in enumerate(inst.nbrs) for w in ws],
                             dtype=np.int64).reshape(-1, 2)

    def split(self, cols: np.ndarray) -> bool:
        """Whether some unit's zone does not reach its school's unit inside the zone."""
        a, b = self.ends[:, 0], self.ends[:, 1]
        same = cols[a] == cols[b]
        n = len(cols)
        graph = sp.csr_matrix((np.ones(int(same.sum())), (a[same], b[same])), shape=(n, n))
        _, comp = connected_components(graph, directed=False)
        return bool((comp != comp[self.inst.home[cols]]).any())


class ZoningModel:
    """Build and solve the attendance-zone integer program.

    Parameters
    ----------
    problem
        The inputs (:class:`Problem`).
    policy
        Rules and weights (:class:`Policy`).
    options
        Solver and limits (:class:`SolveOptions`).

    Attributes (after :meth:`solve`)
    --------------------------------
    plan_ : Series geoid -> school_id, or None when no plan was found
    status_ : "optimal", "feasible", "infeasible" or "no plan found in time"
    objective_, bound_, gap_, seconds_, rounds_, cuts_
    """

    def __init__(self, problem: Problem, policy: Policy, options: SolveOptions | None = None) -> None:
        self.problem = problem
        self.policy = policy
        self.options = options or SolveOptions()
        self.pairs = allowed_pairs(problem, policy, candidate_schools=self.options.candidate_schools)
        if self.options.contiguity_method == "auto":
            # a compact flow model settles small districts (and proves infeasibility) in one
            # solve; larger ones are faster with cuts added only where zones split
            method = "flow" if len(problem.units) <= FLOW_MAX_UNITS else "cuts"
            self.options = dataclasses.replace(self.options, contiguity_method=method)
        self.plan_: pd.Series | None = None
        self.status_: str = "not solved"
        self.objective_: float | None = None
        self.bound_: float | None = None
        self.gap_: float | None = None
        self.seconds_: float = 0.0
        self.rounds_: int = 0
        self.cuts_: int = 0
        self._pair_cache: tuple[pd.DataFrame, dict[tuple[str, str], int]] | None = None
        self._rules_cache: _Rules | None = None

    # ----------------------------------------------------------------- building
    def _build(self, cuts: Sequence[Cut] = ()) -> pulp.LpProblem:
        """The program with the given separator cuts as a PuLP model (for CBC and the polish)."""
        return self._program(cuts).to_pulp()

    def _program(self, cuts: Sequence[Cut] = ()) -> Program:
        """The program with the given separator cuts (pair positions, see :mod:`.separation`):
        binary ``x_k`` per allowed pair ``k``; rows in a fixed order."""
        p, pol = self.problem, self.policy
        prog = Program()
        pairs = self.pairs
        keys = list(zip(pairs["geoid"], pairs["school_id"], strict=True))
        x = {key: k for k, key in enumerate(keys)}
        st = p.students.astype(float).to_dict()
        li = p.low_income.astype(float).to_dict()
        for k, ((u, _s), t) in enumerate(zip(keys, pairs["travel_time_s"], strict=True)):
            prog.column(f"x_{k}", cost=pol.travel_weight * st[u] * float(t) / 60.0, upper=1.0, binary=True)
        by_unit: dict[str, list[int]] = {}
        by_school: dict[str, list[tuple[str, int]]] = {}
        for (u, s), k in x.items():
            by_unit.setdefault(u, []).append(k)
            by_school.setdefault(s, []).append((u, k))
        for u in p.units:
            prog.row(f"one_{u}", [(k, 1.0) for k in by_unit[u]], 1.0, 1.0)
        for s in p.schools:
            members = by_school.get(s, [])
            load = [(k, st[u]) for u, k in members]
            cap = float(p.capacity[s])
            prog.row(f"capmax_{s}", load, -math.inf, pol.max_utilization * cap)
            if pol.min_utilization > 0:
                prog.row(f"capmin_{s}", load, pol.min_utilization * cap, math.inf)
            if pol.band is not None:
                share = p.district_share
                hi = [(k, li[u] - (share + pol.band) * st[u]) for u, k in members]
                lo = [(k, (share - pol.band) * st[u] - li[u]) for u, k in members]
                if pol.band_mode == "soft":
                    over = prog.column(f"over_{s}", cost=pol.band_weight)
                    under = prog.column(f"under_{s}", cost=pol.band_weight)
                    hi, lo = hi + [(over, -1.0)], lo + [(under, -1.0)]
                prog.row(f"bandhi_{s}", hi, -math.inf, 0.0)
                prog.row(f"bandlo_{s}", lo, -math.inf, 0.0)
        if p.current is not None:
            moved = [(k, st[u]) for (u, s), k in x.items() if p.current.get(u) not in (None, s)]
            if pol.max_moved_share is not None:
                prog.row("moved", moved, -math.inf, pol.max_moved_share * sum(st.values()))
            if pol.moved_weight > 0:
                for k, c in moved:  # on top of its travel term
                    prog.cost[k] += c * pol.moved_weight
        if pol.contiguity and self.options.contiguity_method == "flow":
            self._add_flow(prog, x, by_school)
        if pol.contiguity:
            homes = set(p.home_unit)
            for (u, s), k in (x.items() if self.options.neighbour_rows else ()):
                if u in homes and p.home_unit.get(s) == u:
                    continue
                nbr = [x[(w, s)] for w in p.neighbours.get(u, []) if (w, s) in x]
                prog.row(f"nb_{u}_{s}", [(k, 1.0)] + [(j, -1.0) for j in nbr], -math.inf, 0.0)
            for n, (left, seps) in enumerate(cuts):
                prog.row(f"cut_{n}", [(left, 1.0), *((j, -1.0) for j in seps)], -math.inf, 0.0)
        return prog

    def _add_flow(self, prog: Program, x: dict[tuple[str, str], int],
                  by_school: dict[str, list[tuple[str, int]]]) -> None:
        """Single-commodity flow contiguity: each school's unit sends one unit of flow to every
        other unit of its zone along links inside the zone (exact, compact, weak relaxation)."""
        p = self.problem
        for s, members in by_school.items():
            pair = {u: x[(u, s)] for u, _ in members}
            arcs, rows = flow_rows(pair, p.home_unit.get(s), lambda u: p.neighbours.get(u, []),
                                   float(len(pair)), len(prog.names), s)
            for u, w in arcs:
                prog.column(f"f_{s}_{u}_{w}")
            for name, entries, lower, upper in rows:
                prog.row(name, entries, lower, upper)

    # ----------------------------------------------------------------- solving
    def _run(self, prob: pulp.LpProblem, time_limit: float, warm: dict[str, float] | None,
             gap: float, *, max_nodes: int | None = None) -> _RoundResult:
        opts = self.options
        t0 = time.perf_counter()
        if opts.solver == "highs":
            extra = {} if max_nodes is None else {"mip_max_nodes": max_nodes}
            solver = _HiGHSWarm(msg=False, timeLimit=max(time_limit, 0.01), gapRel=gap,
                                threads=opts.threads, warm=warm, **extra)
            prob.solve(solver)
            h = prob.solverModel
            ms = h.getModelStatus()
            info = h.getInfo()
            import highspy

            seconds = time.perf_counter() - t0
            if ms in (highspy.HighsModelStatus.kInfeasible,):
                return _RoundResult(None, True, True, None, None, seconds)
            has_plan = info.primal_solution_status == 2 and math.isfinite(info.objective_function_value)
            if has_plan and warm:
                # HiGHS can report a better objective than the column values it returns after a
                # MIP start; never trust such values: solve again without the start.
                reported = float(info.objective_function_value)
                actual = float(pulp.value(prob.objective) or 0.0)
                if abs(actual - reported) > 1e-6 * max(1.0, abs(reported)):
                    log.info("solution values do not match the objective after a MIP start; re-solving")
                    return self._run(prob, max(time_limit - (time.perf_counter() - t0), 0.01), None, gap)
            values = {v.name: v.varValue for v in prob.variables()} if has_plan else None
            proven = ms == highspy.HighsModelStatus.kOptimal
            bound = float(info.mip_dual_bound) if math.isfinite(info.mip_dual_bound) else None
            if ms == highspy.HighsModelStatus.kUnboundedOrInfeasible:
                return _RoundResult(None, True, True, None, None, seconds)
            return _RoundResult(values, proven, False,
                                float(info.objective_function_value) if has_plan else None,
                                bound, seconds)
        if opts.solver == "cbc":
            with tempfile.TemporaryDirectory() as tmp:
                log_path = Path(tmp) / "cbc.log"
                extra = [] if max_nodes is None else [f"maxNodes {max_nodes}"]
                solver = pulp.PULP_CBC_CMD(msg=False, timeLimit=max(time_limit, 1), gapRel=gap,
                                           threads=opts.threads, logPath=str(log_path),
                                           warmStart=bool(warm), options=extra)
                if warm:
                    for v in prob.variables():
                        v.setInitialValue(warm.get(v.name, 0.0))
                prob.solve(solver)
                text = log_path.read_text(errors="replace") if log_path.exists() else ""
            seconds = time.perf_counter() - t0
            if prob.status == pulp.LpStatusInfeasible:
                return _RoundResult(None, True, True, None, None, seconds)
            has_plan = prob.sol_status in (pulp.LpSolutionOptimal, pulp.LpSolutionIntegerFeasible)
            values = {v.name: v.varValue for v in prob.variables()} if has_plan else None
            obj = pulp.value(prob.objective) if has_plan else None
            proven = prob.sol_status == pulp.LpSolutionOptimal and "Stopped on time" not in text
            m = re.findall(r"best possible\s+(-?[\d.eE+]+)", text) or re.findall(
                r"Lower bound:\s+(-?[\d.eE+]+)", text)
            bound = float(m[-1]) if m else (obj if proven else None)
            return _RoundResult(values, proven, False, obj, bound, seconds)
        raise SolverError(f"unknown solver {opts.solver!r}; use \"highs\" or \"cbc\"")

    def _plan_from(self, values: dict[str, float]) -> pd.Series:
        chosen = {}
        for i, (u, s) in enumerate(zip(self.pairs["geoid"], self.pairs["school_id"], strict=True)):
            if values.get(f"x_{i}", 0.0) > 0.5:
                chosen[u] = s
        plan = pd.Series(chosen, name="school_id", dtype=object)
        plan.index.name = "geoid"
        return plan.reindex(self.problem.units)

    def instance(self) -> heuristic.Instance:
        """The heuristic's positional view of this model (costs of allowed pairs only)."""
        p, pol = self.problem, self.policy
        units = [str(u) for u in p.units]
        schools = [str(s) for s in p.schools]
        upos = {u: i for i, u in enumerate(units)}
        spos = {s: j for j, s in enumerate(schools)}
        st = p.students.reindex(units).astype(float).to_numpy()
        li = p.low_income.reindex(units).astype(float).to_numpy()
        cost = np.full((len(units), len(schools)), np.inf)
        i = self.pairs["geoid"].map(upos).to_numpy()
        j = self.pairs["school_id"].map(spos).to_numpy()
        cost[i, j] = pol.travel_weight * st[i] * self.pairs["travel_time_s"].to_numpy() / 60.0
        if p.current is not None and pol.moved_weight > 0:
            cur = p.current.reindex(units)
            for ii, jj in zip(i, j, strict=True):
                c = cur.iloc[ii]
                if isinstance(c, str) and c != schools[jj]:
                    cost[ii, jj] += pol.moved_weight * st[ii]
        cap = p.capacity.reindex(schools).astype(float).to_numpy()
        band_lo = band_hi = None
        if pol.band is not None and pol.band_mode == "hard":
            share = p.district_share
            band_lo = np.full(len(schools), share - pol.band)
            band_hi = np.full(len(schools), share + pol.band)
        fixed = {upos[u]: spos[s] for u, s in p.locked.items()}
        fixed.update({upos[u]: spos[s] for s, u in p.home_unit.items()})
        return heuristic.Instance(
            units=units, schools=schools, students=st, low_income=li,
            cap_lo=pol.min_utilization * cap, cap_hi=pol.max_utilization * cap,
            band_lo=band_lo, band_hi=band_hi, cost=cost,
            nbrs=[[upos[w] for w in p.neighbours.get(u, []) if w in upos] for u in units],
            home=np.array([upos[p.home_unit[s]] for s in schools]), fixed=fixed,
        )

    def _pair_positions(self) -> dict[tuple[str, str], int]:
        """``(geoid, school_id) -> position`` of every allowed pair (kept until ``pairs`` is
        replaced)."""
        cached = self._pair_cache
        if cached is None or cached[0] is not self.pairs:
            keyed = {(u, s): i for i, (u, s) in
                     enumerate(zip(self.pairs["geoid"], self.pairs["school_id"], strict=True))}
            self._pair_cache = cached = (self.pairs, keyed)
        return cached[1]

    def _warm_values(self, plan: pd.Series) -> dict[str, float] | None:
        """Variable values of a plan (None when it uses a pair that has no variable)."""
        values: dict[str, float] = {}
        keyed = self._pair_positions()
        for u, s in plan.items():
            i = keyed.get((u, s))
            if i is None:
                return None
            values[f"x_{i}"] = 1.0
        pol, p = self.policy, self.problem
        if pol.band is not None and pol.band_mode == "soft":
            st = p.students.astype(float).groupby(plan).sum().reindex(p.schools, fill_value=0.0)
            li = p.low_income.astype(float).groupby(plan).sum().reindex(p.schools, fill_value=0.0)
            share = p.district_share
            for s in p.schools:
                values[f"over_{s}"] = max(0.0, li[s] - (share + pol.band) * st[s])
                values[f"under_{s}"] = max(0.0, (share - pol.band) * st[s] - li[s])
        return values

    def layout(self) -> separation.Layout:
        """The positional view of pairs, adjacency and home units used for cuts."""
        p = self.problem
        upos = {str(u): i for i, u in enumerate(p.units)}
        spos = {str(s): j for j, s in enumerate(p.schools)}
        return separation.Layout(
            unit_of=self.pairs["geoid"].map(upos).to_numpy(),
            school_of=self.pairs["school_id"].map(spos).to_numpy(),
            nbrs=[[upos[w] for w in p.neighbours.get(str(u), []) if w in upos] for u in p.units],
            home=np.array([upos[str(p.home_unit[s])] for s in p.schools]),
        )

    def solve(self, *, warm_start: pd.Series | None = None,
              progress: Callable[[str], None] | None = None) -> ZoningModel:
        """Solve to the gap tolerance or the time limit, cutting split zones until none is split.

        With HiGHS, one model is kept for the whole solve: the LP relaxation is first tightened
        with separator cuts found by max-flow at its fractional points and rounded into a plan
        (sought first by cut rounds on the pairs near the LP optimum when that plan is more than
        :data:`NEAR_GAP` above the bound), then the integer program is solved; every plan HiGHS
        meets on the way is tested, contiguous ones are kept as incumbents and split ones give
        cuts, which are added as rows before the next round; a zone split in a round where at
        most :data:`FLOW_SPLIT_ZONES` are gets flow rows, exact contiguity, for the rounds after.
        Split plans are also repaired and annealed into contiguous ones (merging and splitting
        zone pairs when annealing reaches no plan). Every round's program
        is a relaxation of the true problem, so the best of their dual bounds is a valid bound
        for the reported gap. CBC (through PuLP) runs the same rounds on a rebuilt model. With
        HiGHS, when no round proves the best plan, the last :data:`LNS_SHARE` of the time limit
        goes to the neighbourhood search of :mod:`.lns` from it.

        Raises
        ------
        InfeasibleError
            The policy cannot be met (with a diagnosis when the clash is visible up front).
        NoPlanInTimeError
            The time limit ran out before any contiguous plan was found.
        """
        start = time.perf_counter()
        presolve_checks(self.problem, self.policy, self.pairs)
        target = self.options.gap
        cuts: list[Cut] = []
        best: pd.Series | None = None
        best_obj = math.inf
        bound = -math.inf
        proven = False

        def offer(plan: pd.Series) -> None:
            nonlocal best, best_obj
            if self._feasible(plan):
                value = self.evaluate(plan)
                if value < best_obj - 1e-9:
                    best, best_obj = plan, value

        if warm_start is not None:
            offer(warm_start.reindex(self.problem.units))
        inst = self.instance()
        cutting = self.policy.contiguity and self.options.contiguity_method == "cuts"
        rounding = cutting and self.options.solver == "highs"  # a plan will be rounded from the LP

        def heuristic_line() -> str:
            return (f"heuristic plan: objective {best_obj:.1f}" if best is not None
                    else "heuristic found no plan meeting every rule")

        def reach_from_grown() -> None:
            if grown is None:
                return
            found = self._reach_plan(inst, grown, seed=0, recombine=True,
                                     time_limit_s=min(0.5 * self.options.time_limit_s,
                                                      HEURISTIC_S_PER_UNIT * len(inst.units)))
            if found is not None:
                offer(heuristic.to_series(inst, found))

        grown = heuristic.region_grow(inst) if self.policy.contiguity else None
        if grown is not None:
            offer(heuristic.to_series(inst, heuristic.local_search(inst, grown, time_limit_s=1.0)))
            if best is None and not rounding:
                reach_from_grown()
            if progress:
                progress(heuristic_line() if best is not None or not rounding
                         else "grown zones break some rule; a plan is first sought from the LP")
        layout = self.layout()
        engine = _HighsRounds(self) if self.options.solver == "highs" else None
        if engine is not None and cutting:
            lp_bound, lp_point = self._root_cuts(engine, layout, cuts, start, progress)
            bound = max(bound, lp_bound)
            if lp_point is not None:
                rounded = self._round_lp(inst, layout, lp_point)
                if rounded is not None:
                    before = best_obj
                    offer(rounded)
                    if progress and best_obj < before:
                        progress(f"rounded LP plan: objective {best_obj:.1f}")
            if lp_point is not None and (best is None or self._gap(best_obj, lp_bound) > NEAR_GAP):
                for plan in self._near_rounds(engine, layout, lp_point, cuts, best,
                                              NEAR_SHARE * self.options.time_limit_s,
                                              progress):
                    offer(plan)
        if best is None and rounding:
            # annealing the grown zones (skipped above: the LP usually rounds to a better plan)
            reach_from_grown()
            if progress:
                progress(heuristic_line())
        # the last share of the time goes to the neighbourhood search when no round proves a plan
        lns_reserve = LNS_SHARE * self.options.time_limit_s \
            if self.policy.contiguity and self.options.solver == "highs" else 0.0

        def time_left() -> float:
            """Seconds left for the rounds and the heuristics between them (once there is a plan,
            the neighbourhood search's share is not theirs)."""
            left = self.options.time_limit_s - (time.perf_counter() - start)
            return left - lns_reserve if best is not None else left

        may_cap = True
        # seconds a round ran past its limit (the solver checks its clock only between steps,
        # and not in presolve): later rounds get that much less, so the solve ends near its limit
        overrun = 0.0
        while True:
            remaining = time_left()
            if remaining <= 0.05 or (best is not None and remaining - overrun <= 0.05):
                break
            if best is not None and self._gap(best_obj, bound) <= target:
                proven = True  # the plan in hand is within the gap of a valid bound
                break
            self.rounds_ += 1
            warm = self._warm_values(best) if best is not None else None
            reserve = 0.0 if best is not None else min(HEURISTIC_SHARE * self.options.time_limit_s,
                                                       HEURISTIC_S_PER_UNIT * len(inst.units))
            limit = max(remaining - reserve - overrun, 0.05)
            capped = may_cap and cutting and limit > FIRST_ROUND_SHARE * remaining
            if capped:
                limit = FIRST_ROUND_SHARE * remaining  # leave time to polish its plan
            met: list[np.ndarray] = []
            if engine is not None:
                stop_at = functools.partial(self._worth_stopping, engine, layout, best_obj) \
                    if cutting and best is not None else None
                last = engine.solve(limit, target, warm, stop_at=stop_at)
                if warm and last.values is not None and last.objective is not None and self.evaluate(
                        self._plan_from(last.values)) > last.objective + 1e-6 * max(1.0, abs(last.objective)):
                    # HiGHS can report a better objective than the column values it returns after a
                    # MIP start; never trust such values: solve again without the start.
                    log.info("solution values do not match the objective after a MIP start; re-solving")
                    last = engine.solve(max(limit - last.seconds, 0.05), target, None, stop_at=stop_at)
                # cheapest first: the plans the next round would meet again
                cheapest = np.argsort(engine.found_objective, kind="stable")
                met = [engine.pair_values(engine.found[i]) for i in cheapest]
            else:
                prob = self._build(cuts)
                last = self._run(prob, limit, warm, target)
            overrun = max(overrun, last.seconds - limit)
            if last.infeasible:
                self.status_ = INFEASIBLE
                remaining = self.options.time_limit_s - (time.perf_counter() - start)
                diagnosis = self.diagnose(time_limit_s=max(min(DIAGNOSIS_MAX_S, remaining), 1.0))
                self.seconds_ = time.perf_counter() - start
                raise InfeasibleError(
                    "no plan meets the policy (the solver proved it infeasible): " + "; ".join(diagnosis),
                    diagnosis,
                )
            if last.bound is not None:
                bound = max(bound, last.bound)
            if last.values is None:
                if capped:
                    may_cap = False  # cut short and nothing found: give the next round all the time
                    continue
                break
            # plans met on the way: contiguous ones are incumbents, split ones give cuts
            met_cuts: list[Cut] = []
            for x in met:
                if time.perf_counter() - start >= self.options.time_limit_s:
                    break  # a round can meet hundreds of plans on a large district: keep the limit
                assign = layout.assignment(x)
                if (assign < 0).any():
                    continue
                found_cuts = separation.plan_cuts(layout, assign)[0] if cutting else []
                if found_cuts:
                    met_cuts += found_cuts
                else:
                    offer(heuristic.to_series(inst, assign))
            candidate = self._plan_from(last.values)
            flowed: list[str] = []
            split = split_pieces(candidate, self.problem.neighbours, self.problem.home_unit) \
                if self.policy.contiguity else {}
            new_cuts: list[Cut] = []
            if split and cutting:
                new_cuts += separation.plan_cuts(layout, heuristic.from_series(inst, candidate))[0]
                if engine is not None and engine.may_flow(split):
                    flowed = sorted(split)
                    for school in flowed:
                        engine.add_flow(self.problem.schools.get_loc(school), self._most_units(school))
            fresh = self._round_cuts(new_cuts, met_cuts, set(cuts), ROUND_CUTS_PER_UNIT * len(inst.units))
            if progress:
                stopped = ", stopped at a split plan below the best" if last.interrupted else ""
                progress(f"round {self.rounds_}{stopped}: objective {last.objective:.1f}, bound {bound:.1f},"
                         f" {sum(len(v) for v in split.values())} split pieces, {len(fresh)} new cuts")
                if flowed:
                    progress(f"zones kept whole exactly from now on: {', '.join(flowed)}")
            # cuts from split plans met on the way count even when the round's own plan is whole
            cuts += fresh
            self.cuts_ += len(fresh)
            if engine is not None:
                engine.add_cuts(fresh)
            if not split:
                offer(candidate)
                proven = last.proven or self._gap(best_obj, bound) <= target
                if proven or not (capped or last.interrupted):
                    break
                if last.interrupted:
                    continue  # stopped at a split plan met before this whole one: solve on
                may_cap = False  # a shortened round: solve on from the plan in hand, uncut
                continue
            if not fresh and not flowed:
                log.warning("zones are split but no new separator cut was found; stopping the rounds")
                break
            remaining = time_left()
            if remaining > 1.0:
                # near the split plan and the incumbent (or, before there is one, the grown plan,
                # contiguous but breaking some rule: its pairs give the search room to join pieces)
                other = best
                if other is None and grown is not None:
                    other = heuristic.to_series(inst, grown)
                budget = 0.5 * remaining  # before there is a plan, the polish may take longer
                if best is not None:
                    budget = min(budget, POLISH_S, POLISH_SHARE * last.seconds)
                polished = self._polish([candidate] + ([other] if other is not None else []), best, budget,
                                        cuts=cuts)
                if polished is not None:
                    before = best_obj
                    offer(polished)
                    if progress:
                        progress(f"polished round {self.rounds_} plan: objective"
                                 f" {self.evaluate(polished):.1f} (best {best_obj:.1f}, was {before:.1f})")
            repaired = self.repair(candidate, split)
            if best is None and grown is not None and split_pieces(repaired, self.problem.neighbours,
                                                                   self.problem.home_unit):
                repaired = heuristic.to_series(inst, grown)
            if not split_pieces(repaired, self.problem.neighbours, self.problem.home_unit):
                remaining = time_left()
                budget = min(0.5 * remaining, HEURISTIC_S_PER_UNIT * len(inst.units))
                found = self._reach_plan(inst, heuristic.from_series(inst, repaired), seed=self.rounds_,
                                         recombine=best is None, time_limit_s=max(budget, 0.05))
                if found is not None:
                    before = best_obj
                    offer(heuristic.to_series(inst, found))
                    if progress and best_obj < before:
                        progress(f"repaired round {self.rounds_} plan: objective {best_obj:.1f}")
        left = self.options.time_limit_s - (time.perf_counter() - start)
        if best is not None and not proven and lns_reserve > 0 and left > 0.1:
            before = best_obj
            offer(heuristic.to_series(inst, lns.search(self._lns_rules(), heuristic.from_series(inst, best),
                                                       time_limit_s=left)))
            if progress:
                progress(f"neighbourhood search: objective {best_obj:.1f} (was {before:.1f})")
            proven = self._gap(best_obj, bound) <= target
        self.seconds_ = time.perf_counter() - start
        if best is None:
            self.status_ = NO_PLAN
            self.bound_ = bound if math.isfinite(bound) else None  # still a valid bound on any plan
            raise NoPlanInTimeError(
                f"no plan was found within the time limit of {self.options.time_limit_s:g} s;"
                " raise `[solver] time_limit_s` or relax the policy"
            )
        self.plan_ = best
        self.objective_ = best_obj
        self.bound_ = min(bound, best_obj) if math.isfinite(bound) else None
        self.gap_ = None if self.bound_ is None else self._gap(best_obj, self.bound_)
        if proven and self.gap_ is not None and self.gap_ <= OPTIMAL_GAP:
            self.status_ = OPTIMAL
        else:
            self.status_ = FEASIBLE
        return self

    def _reach_plan(self, inst: heuristic.Instance, plan: np.ndarray, *, seed: int, recombine: bool,
                    time_limit_s: float) -> np.ndarray | None:
        """A plan meeting every rule from a contiguous one: annealing, then, when it reaches none
        and ``recombine`` is set, merging and splitting zone pairs (:meth:`_recombine`)."""
        found = heuristic.anneal(inst, plan, steps=ANNEAL_STEPS_PER_UNIT * len(inst.units),
                                 time_limit_s=time_limit_s, seed=seed)
        if found is None and recombine:
            found = self._recombine(inst, plan, seed=seed)
        return found

    def _recombine(self, inst: heuristic.Instance, plan: np.ndarray, *, seed: int) -> np.ndarray | None:
        """A plan meeting every rule from a contiguous one by merging and splitting zone pairs
        (:func:`heuristic.recombine`), its travel then shortened by the local search."""
        found = heuristic.recombine(inst, plan, steps=RECOMBINE_STEPS_PER_SCHOOL * len(inst.schools),
                                    time_limit_s=RECOMBINE_SHARE * self.options.time_limit_s, seed=seed)
        return None if found is None else heuristic.local_search(inst, found, time_limit_s=1.0)

    def _polish(self, plans: list[pd.Series], best: pd.Series | None, time_limit_s: float, *,
                cuts: Sequence[Cut] = ()) -> pd.Series | None:
        """The best contiguous plan near some plans: each unit may take a school it or one of its
        neighbours has in any of them; contiguity is exact (the flow model) on these few pairs,
        warm-started from ``best``. None when no such plan is found in time."""
        nb = self.problem.neighbours
        near: dict[str, set[str]] = {}
        for u in self.problem.units:
            near[u] = {plan[w] for plan in plans for w in [u, *nb.get(u, [])]}
        keep = np.array([s in near[u] for u, s in
                         zip(self.pairs["geoid"], self.pairs["school_id"], strict=True)])
        sub, restricted = self._on_pairs(keep)
        sub.options = dataclasses.replace(self.options, contiguity_method="flow")
        prob = sub._build(restricted(cuts))  # the cuts found so far tighten the flow model's weak LP
        warm = sub._warm_values(best) if best is not None else None
        result = sub._run(prob, time_limit_s, warm, self.options.gap, max_nodes=POLISH_NODES)
        if result.values is None:
            return None
        return sub._plan_from(result.values)

    def _round_lp(self, inst: heuristic.Instance, layout: separation.Layout,
                  x: np.ndarray) -> pd.Series | None:
        """A plan from an LP point: each unit to its largest pair, cut-off pieces joined to a
        neighbouring zone, then the local search (which keeps zones whole) and, if some rule is
        still broken, annealing. None when a unit has no pair, a zone stays split or annealing
        reaches no plan (the caller tests the rules of what is returned)."""
        assign = np.full(len(inst.units), -1)
        order = np.argsort(-np.asarray(x), kind="stable")
        for k in order.tolist():  # largest values first: the first seen wins
            u = int(layout.unit_of[k])
            if assign[u] < 0:
                assign[u] = int(layout.school_of[k])
        if (assign < 0).any():
            return None
        plan = heuristic.to_series(inst, assign)
        split = split_pieces(plan, self.problem.neighbours, self.problem.home_unit)
        if split:
            plan = self.repair(plan, split)
            if split_pieces(plan, self.problem.neighbours, self.problem.home_unit):
                return None
        improved = heuristic.local_search(inst, heuristic.from_series(inst, plan), time_limit_s=1.0)
        if not self._feasible(heuristic.to_series(inst, improved)):
            # still outside some rule: anneal (longer than from the grown zones, as this start is
            # close to the LP optimum and worth keeping)
            found = heuristic.anneal(inst, improved, steps=LP_ANNEAL_STEPS_PER_UNIT * len(inst.units),
                                     time_limit_s=LP_ANNEAL_SHARE * self.options.time_limit_s, seed=0)
            if found is None:
                return None
            improved = found
        return heuristic.to_series(inst, improved)

    def _on_pairs(self, keep: np.ndarray) -> tuple[ZoningModel, Callable[[Sequence[Cut]], list[Cut]]]:
        """This model on the pairs ``keep`` marks, and the map of cuts (pair positions) onto its
        pairs: a cut stays valid with fewer pairs, as a dropped pair is 0 (it leaves the
        separator; a cut whose unit's pair is dropped is dropped)."""
        sub = copy.copy(self)
        sub.pairs = self.pairs[keep].reset_index(drop=True)
        sub._pair_cache = sub._rules_cache = None
        renumber = np.full(len(keep), -1)
        renumber[keep] = np.arange(int(keep.sum()))

        def restricted(cuts: Sequence[Cut]) -> list[Cut]:
            return [(int(renumber[left]), tuple(int(renumber[j]) for j in seps if renumber[j] >= 0))
                    for left, seps in cuts if renumber[left] >= 0]

        return sub, restricted

    @staticmethod
    def _round_cuts(own: Sequence[Cut], met: Sequence[Cut], known: set[Cut], most: int) -> list[Cut]:
        """The new cuts a round adds: every cut of its own plan, then those of the plans met on
        the way (in the order given: cheapest plan first) while there are fewer than ``most``;
        none twice, none in ``known``."""
        fresh = [c for c in dict.fromkeys(own) if c not in known]
        seen = known | set(fresh)
        extra = [c for c in dict.fromkeys(met) if c not in seen]
        return fresh + extra[:max(most - len(fresh), 0)]

    @staticmethod
    def _worth_stopping(engine: _HighsRounds, layout: separation.Layout, best_obj: float,
                        x: np.ndarray, objective: float) -> bool:
        """Whether a round should stop at a plan HiGHS meets (pair values ``x``): it lies below
        the plan in hand (``best_obj``), by at most :data:`STOP_BELOW`, and splits zones that
        flow rows may still keep whole; solving on would only prove a relaxed optimum that
        those rows remove."""
        if objective >= best_obj - 1e-9 * max(1.0, abs(best_obj)) \
                or objective < (1.0 - STOP_BELOW) * best_obj:
            return False
        assign = layout.assignment(x)
        if (assign < 0).any():
            return False
        return engine.may_flow({school for school, _, _ in separation.split_pieces(layout, assign)})

    def _most_units(self, school: str) -> int:
        """The most units a school's zone can hold within its maximum utilization (its allowed
        units with the fewest students first)."""
        students = self.problem.students.reindex(self.pairs.loc[self.pairs["school_id"] == school, "geoid"])
        room = self.policy.max_utilization * float(self.problem.capacity[school])
        return int((np.cumsum(np.sort(students.to_numpy(dtype=float))) <= room + 1e-9).sum())

    def _near_rounds(self, engine: _HighsRounds, layout: separation.Layout, point: np.ndarray,
                     cuts: list[Cut], best: pd.Series | None, time_limit_s: float,
                     progress: Callable[[str], None] | None) -> list[pd.Series]:
        """Whole plans from cut rounds on the pairs near an LP point: each unit may take the
        schools that it or a neighbour has above :data:`NEAR_TOLERANCE` in ``point``.

        The restricted program is solved, the plans met are cut as in the full rounds, until
        its plan is whole or the time is out. Every cut found is valid for the full program, so
        it is added to ``cuts`` and to ``engine`` too. Returns the whole plans met (plans of the
        restricted program: they obey every rule).
        """
        start = time.perf_counter()
        near: list[set[int]] = [set() for _ in range(layout.n_units)]
        for k in np.nonzero(point > NEAR_TOLERANCE)[0].tolist():
            u = int(layout.unit_of[k])
            for w in [u, *layout.nbrs[u]]:
                near[w].add(int(layout.school_of[k]))
        keep = np.array([int(s) in near[int(u)]
                         for u, s in zip(layout.unit_of, layout.school_of, strict=True)])
        if keep.all():
            return []
        sub, restricted = self._on_pairs(keep)
        small = _HighsRounds(sub)
        small.add_cuts(restricted(cuts))
        whole: list[pd.Series] = []
        inst = self.instance()
        warm = sub._warm_values(best) if best is not None else None
        rounds = 0
        while (left := time_limit_s - (time.perf_counter() - start)) > 0.05:
            rounds += 1
            result = small.solve(left, self.options.gap, warm)
            if result.values is None:
                break  # no plan on these pairs (or none in time)
            own = small.layout.assignment(small.pair_values([result.values[n] for n in small.names]))
            met: list[Cut] = []
            cheapest = np.argsort(small.found_objective, kind="stable")
            for assign in [small.layout.assignment(small.pair_values(small.found[i])) for i in cheapest]:
                if (assign < 0).any():
                    continue
                split_cuts = separation.plan_cuts(layout, assign)[0]
                if split_cuts:
                    met += split_cuts
                else:
                    whole.append(heuristic.to_series(inst, assign))
            own_cuts = separation.plan_cuts(layout, own)[0]
            if not own_cuts:
                whole.append(heuristic.to_series(inst, own))
            fresh = self._round_cuts(own_cuts, met, set(cuts), ROUND_CUTS_PER_UNIT * layout.n_units)
            cuts += fresh
            self.cuts_ += len(fresh)
            engine.add_cuts(fresh)
            small.add_cuts(restricted(fresh))
            if not fresh or not separation.split_pieces(layout, own):
                break
        if progress:
            best_near = min((self.evaluate(plan) for plan in whole), default=None)
            progress(f"near rounds on {int(keep.sum())} of {len(keep)} pairs: {rounds} rounds, "
                     + ("no whole plan" if best_near is None else f"whole plan {best_near:.1f}"))
        return whole

    def _root_cuts(self, engine: _HighsRounds, layout: separation.Layout, cuts: list[Cut],
                   start: float, progress: Callable[[str], None] | None
                   ) -> tuple[float, np.ndarray | None]:
        """Tighten the LP relaxation with separator cuts at its fractional points.

        Repeats LP solve and max-flow separation until no cut is violated, for at most
        :data:`ROOT_CUT_ROUNDS` rounds and a share of the time limit. Returns the last LP
        optimum, a valid bound on every plan (-inf if no LP was solved), and its pair values
        (None if no LP was solved).
        """
        lp_bound = -math.inf
        point: np.ndarray | None = None
        budget = ROOT_CUT_SHARE * self.options.time_limit_s
        added = 0
        for _ in range(ROOT_CUT_ROUNDS):
            left = budget - (time.perf_counter() - start)
            if left <= 0:
                break
            result = engine.relaxation(left)
            if result is None:
                break
            value, x = result
            lp_bound = max(lp_bound, value)
            point = x
            fresh = separation.fractional_cuts(layout, x)
            if not fresh:
                break
            engine.add_cuts(fresh)
            cuts += fresh
            added += len(fresh)
        self.cuts_ += added
        if progress and math.isfinite(lp_bound):
            progress(f"root LP: bound {lp_bound:.1f} after {added} separator cuts")
        return lp_bound, point

    def diagnose(self, *, time_limit_s: float = DIAGNOSIS_MAX_S) -> list[str]:
        """Which rules clash, and the smallest relaxation found that lets a plan through.

        Solves an elastic version of the program: capacity and band rows get slack (in
        students), pairs beyond the travel cap are allowed at a price per student-minute over
        the cap, and contiguity is left out; slack is minimised. Rules with slack in the answer
        are the ones that clash, and the slack says by how much they must relax. When no slack
        is needed, the clash is between contiguity and the other rules.
        """
        p, pol = self.problem, self.policy
        loose = dataclasses.replace(pol, max_travel_s=None, contiguity=False)
        pairs = allowed_pairs(p, loose, candidate_schools=self.options.candidate_schools)
        st = p.students.astype(float).to_dict()
        li = p.low_income.astype(float).to_dict()
        prob = pulp.LpProblem("elastic", pulp.LpMinimize)
        x = {(u, s): pulp.LpVariable(f"x_{i}", cat=pulp.LpBinary)
             for i, (u, s) in enumerate(zip(pairs["geoid"], pairs["school_id"], strict=True))}
        cap_s = pol.max_travel_s
        terms: list[tuple[pulp.LpVariable, float]] = []
        for (u, s), t in zip(x, pairs["travel_time_s"], strict=True):
            over = 0.0 if cap_s is None else max(0.0, float(t) - cap_s) / 60.0
            terms.append((x[(u, s)], st[u] * (over + 1e-4 * float(t) / 60.0) + (1.0 if over > 0 else 0.0)))
        for u in p.units:
            prob += pulp.lpSum(v for (uu, _), v in x.items() if uu == u) == 1
        slack: dict[str, dict[str, pulp.LpVariable]] = {}
        share = p.district_share
        for s in p.schools:
            members = [(u, v) for (u, ss), v in x.items() if ss == s]
            load = pulp.LpAffineExpression([(v, st[u]) for u, v in members])
            cap = float(p.capacity[s])
            sl = {k: pulp.LpVariable(f"{k}_{s}", lowBound=0) for k in ("over", "under", "rich", "poor")}
            slack[s] = sl
            prob += load - sl["over"] <= pol.max_utilization * cap
            prob += load + sl["under"] >= pol.min_utilization * cap
            if pol.band is not None and pol.band_mode == "hard":
                hi = pulp.LpAffineExpression([(v, li[u] - (share + pol.band) * st[u]) for u, v in members])
                lo = pulp.LpAffineExpression([(v, (share - pol.band) * st[u] - li[u]) for u, v in members])
                prob += hi - sl["poor"] <= 0
                prob += lo - sl["rich"] <= 0
            terms += [(sl[k], 1000.0) for k in sl]
        moved_slack = None
        if p.current is not None and pol.max_moved_share is not None:
            moved_slack = pulp.LpVariable("moved_over", lowBound=0)
            moved = [(v, st[u]) for (u, s), v in x.items() if p.current.get(u) not in (None, s)]
            prob += pulp.LpAffineExpression(moved) - moved_slack <= pol.max_moved_share * sum(st.values())
            terms.append((moved_slack, 1000.0))
        prob += pulp.LpAffineExpression(terms)
        prob.solve(_HiGHSWarm(msg=False, timeLimit=time_limit_s, gapRel=1e-3, threads=self.options.threads))
        if prob.sol_status not in (pulp.LpSolutionOptimal, pulp.LpSolutionIntegerFeasible):
            return ["no relaxation was found in the time allowed; try widening the band, raising"
                    " max_utilization or the travel cap"]
        plan = {u: s for (u, s), v in x.items() if (v.varValue or 0) > 0.5}
        zone_st = pd.Series(st).groupby(pd.Series(plan)).sum().reindex(p.schools, fill_value=0.0)
        zone_li = pd.Series(li).groupby(pd.Series(plan)).sum().reindex(p.schools, fill_value=0.0)
        out: list[str] = []
        for s in p.schools:
            sl = {k: (v.varValue or 0.0) for k, v in slack[s].items()}
            cap = float(p.capacity[s])
            if sl["over"] > 1e-6:
                out.append(f"school {s} needs {math.ceil(sl['over'] / max(pol.max_utilization, 1e-9))} more"
                           f" seats (or max_utilization {zone_st[s] / max(cap, 1e-9):.2f})")
            if sl["under"] > 1e-6:
                out.append(f"school {s} can get only {zone_st[s]:.0f} students, below its minimum"
                           f" {pol.min_utilization:g} x {cap:.0f}: lower min_utilization to"
                           f" {zone_st[s] / max(cap, 1e-9):.2f}")
        if pol.band is not None and pol.band_mode == "hard":
            dev = (zone_li / zone_st.where(zone_st > 0) - share).abs()
            banded = [s for s in p.schools
                      if (slack[s]["rich"].varValue or 0) + (slack[s]["poor"].varValue or 0) > 1e-6]
            if banded:
                need = float(dev[banded].max())
                out.append(f"the band must widen to +/-{math.ceil(need * 1000) / 10:.1f} points"
                           f" (schools {banded[:5]} cannot reach +/-{pol.band * 100:g})")
        if moved_slack is not None and (moved_slack.varValue or 0.0) > 1e-6:
            total = sum(st.values())
            need = pol.max_moved_share + (moved_slack.varValue or 0.0) / max(total, 1e-9)
            out.append(f"max_moved_share must rise to {math.ceil(need * 1000) / 10:.1f}% of students")
        if cap_s is not None:
            used = [float(t) for (u, s), t in zip(x, pairs["travel_time_s"], strict=True)
                    if (x[(u, s)].varValue or 0) > 0.5 and float(t) > cap_s + 1e-9]
            if used:
                out.append(f"the travel cap must rise to {math.ceil(max(used) / 60)} min")
        if not out:
            if pol.contiguity:
                out.append("capacity, band and travel rules can all be met, but only with zones in"
                           " pieces: contiguity clashes with them; widen the band or loosen capacity")
            else:
                out.append("the rules clash only in combination; widen the band or loosen capacity")
        return out

    @staticmethod
    def _gap(objective: float, bound: float) -> float:
        if not (math.isfinite(bound) and math.isfinite(objective)):
            return math.inf
        return max(0.0, (objective - bound) / max(abs(objective), 1e-9))

    def _feasible(self, plan: pd.Series) -> bool:
        """Whether a plan meets every hard rule (the model's own quick test for warm starts and
        the plans met during a solve; the independent checker is :func:`zoning.checks.check_plan`)."""
        p, pol = self.problem, self.policy
        if len(plan) != len(p.units):
            return False
        ordered = plan.reindex(p.units)
        if ordered.isna().any():
            return False
        cols = p.schools.get_indexer(ordered.to_numpy())
        if (cols < 0).any():
            return False
        rules = self._rules()
        if not rules.allowed[np.arange(len(cols)), cols].all():
            return False  # uses a pair with no variable
        inst, k = rules.inst, len(p.schools)
        st = np.bincount(cols, weights=inst.students, minlength=k)
        li = np.bincount(cols, weights=inst.low_income, minlength=k)
        if ((st > inst.cap_hi + 1e-6) | (st < inst.cap_lo - 1e-6)).any():
            return False
        if inst.band_lo is not None and inst.band_hi is not None:
            if ((li - inst.band_hi * st > 1e-6) | (inst.band_lo * st - li > 1e-6)).any():
                return False
        if rules.current is not None and pol.max_moved_share is not None:
            moved = float(inst.students[(rules.current != -1) & (rules.current != cols)].sum())
            if moved > pol.max_moved_share * float(inst.students.sum()) + 1e-6:
                return False
        return not (pol.contiguity and rules.split(cols))

    def _lns_rules(self) -> lns.Rules:
        """The rules the neighbourhood search needs beyond the heuristic's view of the model."""
        p, pol = self.problem, self.policy
        rules = self._rules()
        k = len(p.schools)
        band_lo = band_hi = None
        if pol.band is not None:
            band_lo = np.full(k, p.district_share - pol.band)
            band_hi = np.full(k, p.district_share + pol.band)
        moved = moved_cap = None
        if rules.current is not None:
            moved = (rules.current[:, None] != -1) & (rules.current[:, None] != np.arange(k)[None, :])
            if pol.max_moved_share is not None:
                moved_cap = pol.max_moved_share * float(rules.inst.students.sum())
        return lns.Rules(rules.inst, band_lo=band_lo, band_hi=band_hi,
                         band_weight=pol.band_weight if pol.band_mode == "soft" else None,
                         moved=moved, moved_cap=moved_cap)

    def _rules(self) -> _Rules:
        """The positional rules for the pairs in use (rebuilt when ``pairs`` is replaced)."""
        if self._rules_cache is None or self._rules_cache.pairs is not self.pairs:
            self._rules_cache = _Rules(self.instance(), self.problem, self.pairs)
        return self._rules_cache

    def repair(self, plan: pd.Series, split: dict[str, list[set[str]]]) -> pd.Series:
        """Join each cut-off piece to a neighbouring zone it may join (cheapest first).

        The result is contiguous whenever every piece touches another zone through an allowed
        pair; capacity and band are not guaranteed (the caller tests the result).
        """
        p = self.problem
        allowed = set(zip(self.pairs["geoid"], self.pairs["school_id"], strict=True))
        out = plan.copy()
        for _ in range(3):
            pending = [u for pieces in split.values() for piece in pieces for u in sorted(piece)]
            moved = True
            while pending and moved:
                moved = False
                for u in list(pending):
                    options = sorted(
                        (p.travel_time_s.at[u, out[w]], out[w])
                        for w in p.neighbours.get(u, [])
                        if w not in pending and (u, out[w]) in allowed
                    )
                    if options:
                        out[u] = options[0][1]
                        pending.remove(u)
                        moved = True
            split = split_pieces(out, p.neighbours, p.home_unit)
            if not split:
                break
        return out

    def evaluate(self, plan: pd.Series) -> float:
        """The objective value of any plan under this model's weights."""
        p, pol = self.problem, self.policy
        st, li = p.students.astype(float), p.low_income.astype(float)
        rows = p.travel_time_s.index.get_indexer(plan.index)
        cols = p.travel_time_s.columns.get_indexer(plan.to_numpy())
        if (rows < 0).any() or (cols < 0).any():
            unknown = [f"{u} -> {s}" for u, s, r, c in zip(plan.index, plan, rows, cols, strict=True)
                       if r < 0 or c < 0]
            raise KeyError(f"plan names units or schools the problem lacks: {', '.join(unknown[:5])}")
        tt = p.travel_time_s.to_numpy(dtype=float)[rows, cols]
        value = pol.travel_weight * float((st.reindex(plan.index).to_numpy() * tt / 60.0).sum())
        if pol.band is not None and pol.band_mode == "soft":
            zs = st.groupby(plan).sum()
            zl = li.groupby(plan).sum()
            share = p.district_share
            over = (zl - (share + pol.band) * zs).clip(lower=0)
            under = ((share - pol.band) * zs - zl).clip(lower=0)
            value += pol.band_weight * float(over.sum() + under.sum())
        if p.current is not None and pol.moved_weight > 0:
            cur = p.current.reindex(plan.index)
            moved = cur.notna() & (cur != plan)
            value += pol.moved_weight * float(st[moved.to_numpy()].sum())
        return value

    def status_text(self) -> str:
        """Status as a person reads it: "optimal", "feasible with gap 1.2%", ..."""
        if self.status_ == FEASIBLE and self.gap_ is not None:
            return f"feasible with gap {self.gap_:.2%}"
        return self.status_
