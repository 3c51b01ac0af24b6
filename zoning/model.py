"""The integer program: build, warm start, solve with exact contiguity, report status honestly.

Inputs are plain pandas objects (no geodata), so the model can be tested and benchmarked alone.

Binary ``x[u, s]`` exists only for allowed pairs (reachable within the travel cap, among the
nearest candidate schools, consistent with locks). Constraints: each unit in exactly one zone;
each school's home unit in its zone; locked units fixed; students per zone within
[min, max] x capacity; low-income share within P +/- band (hard, or soft with penalised
deviation); a cap on students moved from the current plan. Contiguity is exact: a zone's unit
that is not the home unit needs a neighbour in the zone (added up front), and any zone still in
pieces gets separator cuts ``x[u, s] <= sum_{w in N(C)} x[w, s]`` for each cut-off piece ``C``,
re-solving until no zone is split. Every cut is valid for all contiguous plans, so the final
solve's bound is a bound on the true problem.
"""

from __future__ import annotations

import logging
import math
import re
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import networkx as nx
import numpy as np
import pandas as pd
import pulp

from .errors import InfeasibleError, NoPlanInTimeError, SolverError

log = logging.getLogger(__name__)

OPTIMAL = "optimal"
FEASIBLE = "feasible"
INFEASIBLE = "infeasible"
NO_PLAN = "no plan found in time"


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
    travel_weight: float = 1.0
    band_weight: float = 100.0
    moved_weight: float = 0.0


@dataclass
class SolveOptions:
    """Solver choice and limits."""

    solver: str = "highs"
    time_limit_s: float = 120.0
    gap: float = 0.0
    threads: int | None = None
    candidate_schools: int = 0


def allowed_pairs(problem: Problem, policy: Policy, *, candidate_schools: int = 0) -> pd.DataFrame:
    """The (unit, school) pairs that get a variable, with their travel time.

    Returns a DataFrame with columns ``geoid``, ``school_id``, ``travel_time_s``.
    """
    tt = problem.travel_time_s
    ok = tt.notna().to_numpy().copy()
    if policy.max_travel_s is not None:
        ok &= (tt.fillna(np.inf).to_numpy() <= policy.max_travel_s + 1e-9)
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
    i, j = np.nonzero(ok)
    return pd.DataFrame({
        "geoid": units[i].astype(str),
        "school_id": schools[j].astype(str),
        "travel_time_s": tt.to_numpy()[i, j],
    })


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
        if reach and policy.max_travel_s is not None:
            worst = float(tt[reach].max())
            problems.append(
                f"units {reach[:10]} have no school within the travel cap of"
                f" {policy.max_travel_s / 60:.1f} min; the cap must rise to {math.ceil(worst / 60)} min"
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


@dataclass
class _RoundResult:
    values: dict[str, float] | None
    proven: bool
    infeasible: bool
    objective: float | None
    bound: float | None
    seconds: float


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
        self.plan_: pd.Series | None = None
        self.status_: str = "not solved"
        self.objective_: float | None = None
        self.bound_: float | None = None
        self.gap_: float | None = None
        self.seconds_: float = 0.0
        self.rounds_: int = 0
        self.cuts_: int = 0

    # ----------------------------------------------------------------- building
    def _build(self, cuts: list[tuple[str, list[str], list[str]]]) -> tuple[pulp.LpProblem, dict]:
        p, pol = self.problem, self.policy
        prob = pulp.LpProblem("zoning", pulp.LpMinimize)
        pairs = self.pairs
        names = [f"x_{i}" for i in range(len(pairs))]
        xs = [pulp.LpVariable(n, cat=pulp.LpBinary) for n in names]
        x: dict[tuple[str, str], pulp.LpVariable] = dict(
            zip(zip(pairs["geoid"], pairs["school_id"], strict=True), xs, strict=True)
        )
        by_unit: dict[str, list[tuple[str, pulp.LpVariable]]] = {}
        by_school: dict[str, list[tuple[str, pulp.LpVariable]]] = {}
        for (u, s), var in x.items():
            by_unit.setdefault(u, []).append((s, var))
            by_school.setdefault(s, []).append((u, var))
        st = p.students.astype(float).to_dict()
        li = p.low_income.astype(float).to_dict()
        objective: list[tuple[pulp.LpVariable, float]] = []
        for (u, s), var, t in zip(x.keys(), xs, pairs["travel_time_s"], strict=True):
            objective.append((var, pol.travel_weight * st[u] * float(t) / 60.0))
        for u in p.units:
            prob += pulp.LpAffineExpression([(v, 1) for _, v in by_unit[u]]) == 1, f"one_{u}"
        for s in p.schools:
            members = by_school.get(s, [])
            load = pulp.LpAffineExpression([(v, st[u]) for u, v in members])
            cap = float(p.capacity[s])
            prob += load <= pol.max_utilization * cap, f"capmax_{s}"
            if pol.min_utilization > 0:
                prob += load >= pol.min_utilization * cap, f"capmin_{s}"
            if pol.band is not None:
                share = p.district_share
                hi = pulp.LpAffineExpression([(v, li[u] - (share + pol.band) * st[u]) for u, v in members])
                lo = pulp.LpAffineExpression([(v, (share - pol.band) * st[u] - li[u]) for u, v in members])
                if pol.band_mode == "soft":
                    ep = pulp.LpVariable(f"over_{s}", lowBound=0)
                    em = pulp.LpVariable(f"under_{s}", lowBound=0)
                    prob += hi - ep <= 0, f"bandhi_{s}"
                    prob += lo - em <= 0, f"bandlo_{s}"
                    objective += [(ep, pol.band_weight), (em, pol.band_weight)]
                else:
                    prob += hi <= 0, f"bandhi_{s}"
                    prob += lo <= 0, f"bandlo_{s}"
        if p.current is not None:
            moved = [(v, st[u]) for (u, s), v in x.items() if p.current.get(u) not in (None, s)]
            if pol.max_moved_share is not None:
                prob += (pulp.LpAffineExpression(moved) <= pol.max_moved_share * sum(st.values())), "moved"
            if pol.moved_weight > 0:
                objective += [(v, c * pol.moved_weight) for v, c in moved]
        if pol.contiguity:
            homes = set(p.home_unit)
            for (u, s), var in x.items():
                if u in homes and p.home_unit.get(s) == u:
                    continue
                nbr = [x[(w, s)] for w in p.neighbours.get(u, []) if (w, s) in x]
                prob += (pulp.LpAffineExpression([(var, 1)] + [(v, -1) for v in nbr]) <= 0,
                         f"nb_{u}_{s}")
            for k, (s, piece, sep) in enumerate(cuts):
                seps = [(x[(w, s)], -1) for w in sep if (w, s) in x]
                for u in piece:
                    if (u, s) in x:
                        prob += pulp.LpAffineExpression([(x[(u, s)], 1), *seps]) <= 0, f"cut{k}_{u}"
        prob += pulp.LpAffineExpression(objective)
        return prob, x

    # ----------------------------------------------------------------- solving
    def _run(self, prob: pulp.LpProblem, time_limit: float, warm: dict[str, float] | None) -> _RoundResult:
        opts = self.options
        t0 = time.perf_counter()
        if opts.solver == "highs":
            solver = _HiGHSWarm(msg=False, timeLimit=max(time_limit, 0.01), gapRel=opts.gap,
                                threads=opts.threads, warm=warm)
            prob.solve(solver)
            h = prob.solverModel
            ms = h.getModelStatus()
            info = h.getInfo()
            import highspy

            seconds = time.perf_counter() - t0
            if ms in (highspy.HighsModelStatus.kInfeasible,):
                return _RoundResult(None, True, True, None, None, seconds)
            has_plan = info.primal_solution_status == 2 and math.isfinite(info.objective_function_value)
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
                solver = pulp.PULP_CBC_CMD(msg=False, timeLimit=max(time_limit, 1), gapRel=opts.gap,
                                           threads=opts.threads, logPath=str(log_path),
                                           warmStart=bool(warm))
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

    def _warm_values(self, plan: pd.Series) -> dict[str, float] | None:
        values: dict[str, float] = {}
        keyed = {(u, s): i for i, (u, s) in enumerate(zip(self.pairs["geoid"], self.pairs["school_id"], strict=True))}
        for u, s in plan.items():
            i = keyed.get((u, s))
            if i is None:
                return None
            values[f"x_{i}"] = 1.0
        return values

    def solve(self, *, warm_start: pd.Series | None = None,
              progress: Callable[[str], None] | None = None) -> ZoningModel:
        """Solve to optimality or the time limit, adding contiguity cuts until no zone is split.

        Raises
        ------
        InfeasibleError
            The policy cannot be met (with a diagnosis when the clash is visible up front).
        NoPlanInTimeError
            The time limit ran out before any contiguous plan was found.
        """
        start = time.perf_counter()
        presolve_checks(self.problem, self.policy, self.pairs)
        cuts: list[tuple[str, list[str], list[str]]] = []
        warm = self._warm_values(warm_start) if warm_start is not None else None
        last: _RoundResult | None = None
        plan: pd.Series | None = None
        while True:
            remaining = self.options.time_limit_s - (time.perf_counter() - start)
            if remaining <= 0:
                break
            prob, _ = self._build(cuts)
            self.rounds_ += 1
            last = self._run(prob, remaining, warm)
            if last.infeasible:
                self.status_ = INFEASIBLE
                self.seconds_ = time.perf_counter() - start
                raise InfeasibleError(
                    "no plan meets the policy (the solver proved it infeasible); widen the band,"
                    " raise the travel cap or change capacity limits"
                )
            if last.values is None:
                break
            candidate = self._plan_from(last.values)
            split = split_pieces(candidate, self.problem.neighbours, self.problem.home_unit) \
                if self.policy.contiguity else {}
            if progress:
                progress(f"round {self.rounds_}: objective {last.objective:.1f},"
                         f" {sum(len(v) for v in split.values())} split pieces")
            if not split:
                plan = candidate
                break
            for s, pieces in split.items():
                for piece in pieces:
                    sep = sorted({w for u in piece for w in self.problem.neighbours.get(u, [])} - piece)
                    cuts.append((s, sorted(piece), sep))
            self.cuts_ = len(cuts)
            if not last.proven:
                # a split incumbent from a time-limited round is no plan; keep cutting if time allows
                continue
        self.seconds_ = time.perf_counter() - start
        if plan is None or last is None:
            if warm_start is not None and not split_pieces(warm_start, self.problem.neighbours,
                                                           self.problem.home_unit):
                plan = warm_start
                self.plan_ = plan
                self.objective_ = self.evaluate(plan)
                self.bound_ = last.bound if last else None
                self._finish(proven=False)
                return self
            self.status_ = NO_PLAN
            raise NoPlanInTimeError(
                f"no plan was found within the time limit of {self.options.time_limit_s:g} s;"
                " raise `[solver] time_limit_s` or relax the policy"
            )
        self.plan_ = plan
        self.objective_ = last.objective
        self.bound_ = last.bound
        self._finish(proven=last.proven)
        return self

    def _finish(self, *, proven: bool) -> None:
        obj, bound = self.objective_, self.bound_
        if proven:
            self.bound_ = obj if bound is None else min(bound, obj)  # type: ignore[type-var]
        if obj is not None and self.bound_ is not None:
            self.gap_ = max(0.0, (obj - self.bound_) / max(abs(obj), 1e-9))
        else:
            self.gap_ = None
        if proven and (self.gap_ or 0.0) <= max(self.options.gap, 1e-6):
            self.status_ = OPTIMAL
        else:
            self.status_ = FEASIBLE

    def evaluate(self, plan: pd.Series) -> float:
        """The objective value of any plan under this model's weights."""
        p, pol = self.problem, self.policy
        st, li = p.students.astype(float), p.low_income.astype(float)
        tt = np.array([p.travel_time_s.at[u, s] for u, s in plan.items()], dtype=float)
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
