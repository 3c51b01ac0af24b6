"""The straightforward formulation the benchmark compares the model against.

Written here, on purpose apart from :mod:`zoning.model`, so the comparison stays fixed while the
model changes. It is the textbook program:

- binary ``x[u, s]`` for every pair within the travel cap (plus each school's own unit and the
  locked pairs, whatever their travel time); no other pruning;
- every unit in exactly one zone; each school's unit and every locked unit fixed;
- students per zone within [min, max] utilization of capacity;
- the low-income band as a hard linear constraint,
  ``(P - delta) * students_s <= low_income_s <= (P + delta) * students_s``;
- the cap on students moved from the current plan, when the policy has one;
- exact contiguity by single-commodity flow: for each school, its unit sends one unit of flow to
  every other unit of its zone over links between units the school may take,
  ``inflow(u) - outflow(u) = x[u, s]`` and ``f[u, w] <= M * x[u, s]``, ``f[u, w] <= M * x[w, s]``
  with ``M`` the number of units the school may take;
- objective: student-weighted travel time (student-minutes, times the policy's travel weight).

It is solved by HiGHS through PuLP with no warm start. PuLP reports a HiGHS run stopped by its
time limit as "Optimal", so the status, objective, bound and gap are read from the HiGHS model
itself.
"""

from __future__ import annotations

import math
import multiprocessing
import queue
import time
import traceback
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import highspy
import pandas as pd
import pulp

from zoning.model import Policy, Problem

OPTIMAL = "optimal"
FEASIBLE = "feasible"
INFEASIBLE = "infeasible"
NO_PLAN = "no plan found in time"


@dataclass
class BaselineResult:
    """What the baseline run gave.

    Attributes
    ----------
    status
        "optimal", "feasible", "infeasible", "no plan found in time", or HiGHS's own model
        status text for anything else.
    plan
        Series ``geoid -> school_id`` when HiGHS holds a feasible solution, else None.
    objective, bound, gap
        Best plan's objective, HiGHS's best bound and relative gap (None when undefined).
    seconds
        Wall-clock seconds for building and solving.
    build_seconds
        Of which building the PuLP model.
    variables, constraints
        Size of the program (0 when the run was stopped from outside).
    stopped
        True when HiGHS overran its time limit and the run was stopped from outside.
    """

    status: str
    plan: pd.Series | None
    objective: float | None
    bound: float | None
    gap: float | None
    seconds: float
    build_seconds: float
    variables: int
    constraints: int
    stopped: bool = False


Variables = dict[tuple[str, str], pulp.LpVariable]


def build_baseline(problem: Problem, policy: Policy) -> tuple[pulp.LpProblem, Variables]:
    """The straightforward program for ``problem`` under ``policy`` (see the module docstring).

    Returns
    -------
    (pulp.LpProblem, dict)
        The program and its assignment variables keyed by ``(geoid, school_id)``.
    """
    tt = problem.travel_time_s
    units = [str(u) for u in tt.index]
    schools = [str(s) for s in tt.columns]
    fixed: dict[str, str] = {str(u): str(s) for u, s in problem.locked.items()}
    fixed.update({str(u): str(s) for s, u in problem.home_unit.items()})
    cap_s = math.inf if policy.max_travel_s is None else policy.max_travel_s + 1e-9

    prob = pulp.LpProblem("baseline", pulp.LpMinimize)
    x: dict[tuple[str, str], pulp.LpVariable] = {}
    seconds = tt.to_numpy(dtype=float)
    for i, u in enumerate(units):
        for j, s in enumerate(schools):
            t = seconds[i, j]
            if (math.isfinite(t) and t <= cap_s) or fixed.get(u) == s:
                x[(u, s)] = pulp.LpVariable(f"x_{i}_{j}", cat=pulp.LpBinary)
    st = problem.students.astype(float).to_dict()
    li = problem.low_income.astype(float).to_dict()
    by_unit: dict[str, list[pulp.LpVariable]] = {u: [] for u in units}
    by_school: dict[str, list[str]] = {s: [] for s in schools}
    for (u, s), var in x.items():
        by_unit[u].append(var)
        by_school[s].append(u)

    for u in units:
        prob += pulp.lpSum(by_unit[u]) == 1, f"one_{u}"
    for u, s in fixed.items():
        if (u, s) in x:
            prob += x[(u, s)] == 1, f"fix_{u}"
    share = problem.district_share
    for s in schools:
        members = by_school[s]
        load = pulp.LpAffineExpression([(x[(u, s)], st[u]) for u in members])
        cap = float(problem.capacity[s])
        prob += load <= policy.max_utilization * cap, f"capmax_{s}"
        if policy.min_utilization > 0:
            prob += load >= policy.min_utilization * cap, f"capmin_{s}"
        if policy.band is not None:
            prob += pulp.LpAffineExpression(
                [(x[(u, s)], li[u] - (share + policy.band) * st[u]) for u in members]) <= 0, f"bandhi_{s}"
            prob += pulp.LpAffineExpression(
                [(x[(u, s)], (share - policy.band) * st[u] - li[u]) for u in members]) <= 0, f"bandlo_{s}"
    if problem.current is not None and policy.max_moved_share is not None:
        cur = problem.current
        moved = [(var, st[u]) for (u, s), var in x.items() if isinstance(cur.get(u), str) and cur[u] != s]
        prob += pulp.LpAffineExpression(moved) <= policy.max_moved_share * sum(st.values()), "moved"
    if policy.contiguity:
        _add_flow(prob, problem, x, by_school)
    prob += pulp.LpAffineExpression(
        [(var, policy.travel_weight * st[u] * float(tt.at[u, s]) / 60.0) for (u, s), var in x.items()])
    return prob, x


def _add_flow(prob: pulp.LpProblem, problem: Problem, x: dict[tuple[str, str], pulp.LpVariable],
              by_school: dict[str, list[str]]) -> None:
    """Single-commodity flow contiguity, one commodity per school."""
    for k, (s, members) in enumerate(by_school.items()):
        home = str(problem.home_unit[s])
        inside = set(members)
        big = float(max(len(inside) - 1, 1))
        inflow: dict[str, list[pulp.LpVariable]] = {u: [] for u in inside}
        outflow: dict[str, list[pulp.LpVariable]] = {u: [] for u in inside}
        for u in sorted(inside):
            for w in problem.neighbours.get(u, []):
                if w not in inside or w == home:
                    continue
                f = pulp.LpVariable(f"f_{k}_{u}_{w}", lowBound=0)
                outflow[u].append(f)
                inflow[w].append(f)
                prob += f - big * x[(u, s)] <= 0, f"fu_{k}_{u}_{w}"
                prob += f - big * x[(w, s)] <= 0, f"fw_{k}_{u}_{w}"
        for u in sorted(inside - {home}):
            prob += (pulp.LpAffineExpression([(f, 1) for f in inflow[u]] + [(f, -1) for f in outflow[u]])
                     - x[(u, s)] == 0), f"flow_{k}_{u}"


def solve_baseline(problem: Problem, policy: Policy, *, time_limit_s: float, gap: float = 1e-4,
                   threads: int | None = None,
                   on_built: Callable[[float], None] | None = None) -> BaselineResult:
    """Build and solve the straightforward program with HiGHS; read the true status from HiGHS.

    Parameters
    ----------
    problem, policy
        The instance (contracts of :mod:`zoning.model`).
    time_limit_s
        HiGHS's time limit (building the model is not counted against it).
    gap
        Relative gap at which HiGHS stops.
    threads
        HiGHS threads (None: its default).
    on_built
        Called with the build seconds once the model is built, before HiGHS starts.

    Returns
    -------
    BaselineResult
        Status ``optimal`` only when HiGHS proved the gap within ``gap``; a time-limited
        incumbent is ``feasible`` with its gap.
    """
    t0 = time.perf_counter()
    prob, x = build_baseline(problem, policy)
    build_s = time.perf_counter() - t0
    if on_built is not None:
        on_built(build_s)
    solver = pulp.HiGHS(msg=False, timeLimit=max(time_limit_s, 0.001), gapRel=gap, threads=threads)
    prob.solve(solver)
    seconds = time.perf_counter() - t0
    h = prob.solverModel
    model_status = h.getModelStatus()
    info = h.getInfo()
    has_plan = info.primal_solution_status == 2 and math.isfinite(info.objective_function_value)
    plan = None
    if has_plan:
        chosen = {u: s for (u, s), var in x.items() if (var.varValue or 0.0) > 0.5}
        plan = pd.Series(chosen, name="school_id", dtype=object).reindex(
            [str(u) for u in problem.travel_time_s.index])
        plan.index.name = "geoid"
    objective = float(info.objective_function_value) if has_plan else None
    bound = float(info.mip_dual_bound) if math.isfinite(info.mip_dual_bound) else None
    result_gap = float(info.mip_gap) if has_plan and math.isfinite(info.mip_gap) else None
    if model_status == highspy.HighsModelStatus.kOptimal:
        status = OPTIMAL
    elif model_status in (highspy.HighsModelStatus.kInfeasible,
                          highspy.HighsModelStatus.kUnboundedOrInfeasible):
        status, plan, objective, result_gap = INFEASIBLE, None, None, None
    elif has_plan:
        status = FEASIBLE
    elif model_status in (highspy.HighsModelStatus.kTimeLimit, highspy.HighsModelStatus.kInterrupt):
        status = NO_PLAN
    else:
        status = h.modelStatusToString(model_status)
    return BaselineResult(
        status=status, plan=plan, objective=objective, bound=bound, gap=result_gap,
        seconds=seconds, build_seconds=build_s,
        variables=len(prob.variables()), constraints=len(prob.constraints),
    )


#: Seconds HiGHS may run past its time limit before the run is stopped from outside.
OVERRUN_GRACE_S = 30.0
#: Seconds building the model may take at most.
BUILD_MAX_S = 900.0


def _child(target: Callable[..., BaselineResult], args: tuple, kwargs: dict[str, Any],
           out: Any) -> None:
    kwargs = dict(kwargs, on_built=lambda seconds: out.put(("built", seconds)))
    try:
        out.put(("result", target(*args, **kwargs)))
    except BaseException:  # sent to the parent, which raises it with the child's traceback
        out.put(("error", traceback.format_exc()))


def _receive(out: Any, child: Any, timeout_s: float) -> tuple[str, Any] | None:
    """The child's next message, or None when ``timeout_s`` passes first.

    Raises
    ------
    RuntimeError
        When the child failed (its traceback) or died without a word (its exit code).
    """
    deadline = time.perf_counter() + timeout_s
    while True:
        try:
            kind, value = out.get(timeout=min(1.0, max(deadline - time.perf_counter(), 0.01)))
        except queue.Empty:
            if not child.is_alive():
                try:  # a last message may have arrived as it exited
                    kind, value = out.get(timeout=0.5)
                except queue.Empty:
                    raise RuntimeError(f"the baseline's process died (exit code {child.exitcode})"
                                       " without a result") from None
            elif time.perf_counter() >= deadline:
                return None
            else:
                continue
        if kind == "error":
            raise RuntimeError(f"the baseline failed in its process:\n{value}")
        return kind, value


def solve_baseline_bounded(problem: Problem, policy: Policy, *, time_limit_s: float,
                           target: Callable[..., BaselineResult] = solve_baseline,
                           grace_s: float = OVERRUN_GRACE_S, **kwargs: Any) -> BaselineResult:
    """:func:`solve_baseline` in a child process that is stopped when HiGHS overruns its limit.

    HiGHS checks its clock only between steps; on a large flow model one step (presolve, the
    root LP) can run many minutes past the limit. The child is given the time limit plus
    ``grace_s`` after its model is built; when it has not answered by then it is killed and the
    run counts as ``no plan found in time`` (its seconds are the wall-clock seconds spent).
    ``target`` is the solving function (a module-level function, as the child imports it).

    Raises
    ------
    RuntimeError
        When the child fails (with its traceback) or dies without a result: never counted as a
        status.
    """
    context = multiprocessing.get_context("spawn")  # a forked HiGHS thread pool can deadlock
    out = context.Queue()
    kwargs = dict(kwargs, time_limit_s=time_limit_s)
    child = context.Process(target=_child, args=(target, (problem, policy), kwargs, out), daemon=True)
    t0 = time.perf_counter()
    child.start()
    build_s = float("nan")
    try:
        message = _receive(out, child, BUILD_MAX_S)
        if message is not None and message[0] == "built":
            build_s = message[1]
            message = _receive(out, child, time_limit_s + grace_s)
        if message is not None:
            return message[1]
        return BaselineResult(status=NO_PLAN, plan=None, objective=None, bound=None, gap=None,
                              seconds=time.perf_counter() - t0, build_seconds=build_s,
                              variables=0, constraints=0, stopped=True)
    finally:
        if child.is_alive():
            child.kill()
        child.join()
