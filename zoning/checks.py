"""Independent plan checker: recomputes every constraint from the inputs, never trusts a solver.

Works on any plan (solver output, a hand-edited CSV, today's boundaries) and names each
violation: which unit or school, which rule, by how much.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import networkx as nx
import numpy as np
import pandas as pd

from .model import Policy, Problem, current_travel_s


@dataclass(frozen=True)
class Violation:
    """One broken rule. ``rule`` is a short key; ``where`` the unit or school; ``message`` says it."""

    rule: str
    where: str
    message: str

    def __str__(self) -> str:
        return f"{self.rule} [{self.where}]: {self.message}"


def check_plan(plan: pd.Series, problem: Problem, policy: Policy) -> list[Violation]:
    """Every violation of the policy by ``plan`` (``geoid -> school_id``), in a stable order.

    Rules: ``assignment`` (every unit exactly once, to a known school), ``home`` (each school
    keeps its own unit), ``lock``, ``capacity``, ``band`` (hard band only), ``travel``
    (cap and reachability), ``contiguity``, ``moved``.
    """
    out: list[Violation] = []
    units = [str(u) for u in problem.units]
    schools = {str(s) for s in problem.schools}
    plan = plan.copy()
    plan.index = plan.index.astype(str)
    dup = plan.index[plan.index.duplicated()].unique()
    for u in sorted(dup):
        out.append(Violation("assignment", u, "unit is assigned more than once"))
    plan = plan[~plan.index.duplicated(keep="first")]
    for u in sorted(set(plan.index) - set(units)):
        out.append(Violation("assignment", u, "unit is not in the district's units"))
    for u in units:
        s = plan.get(u)
        if s is None or (isinstance(s, float) and np.isnan(s)):
            out.append(Violation("assignment", u, "unit has no school"))
        elif str(s) not in schools:
            out.append(Violation("assignment", u, f"unit is assigned to unknown school {s!r}"))
    plan = plan.reindex(units)
    valid = plan.notna() & plan.astype(str).isin(schools)
    p = plan[valid].astype(str)

    for s, u in problem.home_unit.items():
        if p.get(u) != s:
            out.append(Violation("home", str(s), f"school's own unit {u} is in zone {p.get(u)!r}"))
    for u, s in sorted(problem.locked.items()):
        if p.get(u) != s:
            out.append(Violation("lock", u, f"unit is locked to {s} but assigned to {p.get(u)!r}"))

    st = problem.students.astype(float).reindex(units).fillna(0.0)
    li = problem.low_income.astype(float).reindex(units).fillna(0.0)
    zs = st[p.index].groupby(p).sum().reindex(sorted(schools), fill_value=0.0)
    zl = li[p.index].groupby(p).sum().reindex(sorted(schools), fill_value=0.0)
    share = problem.district_share
    eps = 1e-6
    for s in sorted(schools):
        cap = float(problem.capacity[s])
        if zs[s] > policy.max_utilization * cap + eps:
            out.append(Violation("capacity", s, f"{zs[s]:.1f} students exceed max"
                                 f" {policy.max_utilization:g} x {cap:.0f}"
                                 f" = {policy.max_utilization * cap:.1f}"))
        if zs[s] < policy.min_utilization * cap - eps:
            out.append(Violation("capacity", s, f"{zs[s]:.1f} students are below min"
                                 f" {policy.min_utilization:g} x {cap:.0f}"
                                 f" = {policy.min_utilization * cap:.1f}"))
        if policy.band is not None and policy.band_mode == "hard" and zs[s] > 0:
            zshare = zl[s] / zs[s]
            if abs(zshare - share) > policy.band + eps:
                out.append(Violation("band", s, f"low-income share {zshare:.3f} is"
                                     f" {zshare - share:+.3f} from the district's {share:.3f}"
                                     f" (band +/-{policy.band:g})"))

    tt = problem.travel_time_s
    for u, s in p.items():
        t = tt.at[u, s] if (u in tt.index and s in tt.columns) else np.nan
        if not np.isfinite(t):
            out.append(Violation("travel", u, f"unit cannot reach its school {s}"))
        elif policy.max_travel_s is not None and t > policy.max_travel_s + eps:
            if u in problem.locked or problem.home_unit.get(s) == u:
                continue
            out.append(Violation("travel", u, f"{t / 60:.1f} min to {s} exceeds the cap of"
                                 f" {policy.max_travel_s / 60:g} min"))

    if policy.max_travel_increase is not None and problem.current is not None:
        today = current_travel_s(problem)
        for u, s in p.items():
            t = tt.at[u, s] if (u in tt.index and s in tt.columns) else np.nan
            base = today.get(u, np.nan)
            if u in problem.locked or problem.home_unit.get(s) == u:
                continue
            if np.isfinite(t) and np.isfinite(base) and t > (1 + policy.max_travel_increase) * base + 1e-6:
                out.append(Violation("travel", u, f"{t / 60:.1f} min to {s} is more than"
                                     f" {1 + policy.max_travel_increase:g} x today's {base / 60:.1f} min"))

    if policy.contiguity:
        g = nx.Graph()
        g.add_nodes_from(p.index)
        for u in p.index:
            for w in problem.neighbours.get(u, []):
                if w in p.index and p[w] == p[u]:
                    g.add_edge(u, w)
        for s in sorted(schools):
            members = p.index[p == s]
            if len(members) == 0:
                continue
            pieces = list(nx.connected_components(g.subgraph(members)))
            if len(pieces) > 1:
                home = problem.home_unit.get(s)
                apart = sorted(min(c) for c in pieces if home not in c)
                out.append(Violation("contiguity", s, f"zone is in {len(pieces)} pieces; units"
                                     f" cut off from the school's unit include {apart[:5]}"))

    if problem.current is not None and policy.max_moved_share is not None:
        cur = problem.current.reindex(p.index)
        moved = float(st[p.index][(cur.notna() & (cur != p)).to_numpy()].sum())
        total = float(st.sum())
        if total > 0 and moved / total > policy.max_moved_share + eps:
            out.append(Violation("moved", "district", f"{moved / total:.1%} of students change school;"
                                 f" the cap is {policy.max_moved_share:.1%}"))
    return out


def glance_checks(problem: Problem, policy: Policy) -> list[str]:
    """Clashes between the policy and the inputs that are visible without solving.

    Necessary conditions only: a policy that passes may still be infeasible, but one that fails
    certainly is. Each message gives the numbers that clash and the relaxation that removes the
    clash. Checks: seats against students at the utilization limits; units that reach no
    school (within the travel cap); schools standing in the same unit; for each school, the
    students it can reach (within the cap, and through reachable neighbours when zones must be
    contiguous) against its minimum enrolment; and, for a hard band, whether any reachable unit
    is poor (or rich) enough to bring the school's zone into the band.

    Returns
    -------
    list of str
        One message per clash, empty when none is visible.
    """
    out: list[str] = []
    st = problem.students.astype(float).reindex(problem.units).fillna(0.0)
    li = problem.low_income.astype(float).reindex(problem.units).fillna(0.0)
    cap = problem.capacity.astype(float)
    total, seats = float(st.sum()), float(cap.sum())
    if seats * policy.max_utilization + 1e-6 < total:
        out.append(f"{total:.0f} students but {seats:.0f} seats x max_utilization {policy.max_utilization:g}"
                   f" = {seats * policy.max_utilization:.0f}; add seats or raise `[policy] max_utilization`"
                   f" to at least {total / seats:.3f}" if seats > 0 else
                   f"{total:.0f} students but no seats; give the schools a capacity")
    if seats * policy.min_utilization - 1e-6 > total:
        out.append(f"{total:.0f} students cannot fill {seats:.0f} seats x min_utilization"
                   f" {policy.min_utilization:g} = {seats * policy.min_utilization:.0f}; lower"
                   f" `[policy] min_utilization` to at most {total / seats:.3f}")
    homes = problem.home_unit.astype(str)
    for u, group in homes.groupby(homes):
        if len(group) > 1:
            out.append(f"schools {sorted(group.index)} all stand in unit {u}; each school needs a unit"
                       " of its own (move a school point or split the unit)")
    tt = problem.travel_time_s.reindex(index=problem.units)
    cap_s = policy.max_travel_s
    reach = tt.notna() if cap_s is None else (tt <= cap_s + 1e-9)
    fixed = {str(u): str(s) for s, u in homes.items()} | {str(u): str(s) for u, s in problem.locked.items()}
    for u, s in fixed.items():
        if u in reach.index and s in reach.columns:
            reach.loc[u] = False
            reach.at[u, s] = True
    never = [u for u in tt.index if not tt.loc[u].notna().any()]
    if never:
        out.append(f"{len(never)} units reach no school over the road network, e.g. {never[:5]}; check"
                   " that the road file covers the whole district")
    if cap_s is not None:
        beyond = [u for u in tt.index if u not in never and not reach.loc[u].any()]
        if beyond:
            worst = float(tt.loc[beyond].min(axis=1).max())
            out.append(f"{len(beyond)} units have no school within `[policy] max_travel_min` ="
                       f" {cap_s / 60:g}, e.g. {beyond[:5]}; raise it to at least {math.ceil(worst / 60)}")
    share = problem.district_share
    for s in problem.schools:
        home = homes.get(s)
        ok = reach[s]
        members = set(ok.index[ok.to_numpy()])
        if policy.contiguity and home in members:
            seen, stack = {home}, [home]
            while stack:
                u = stack.pop()
                for w in problem.neighbours.get(u, []):
                    if w in members and w not in seen:
                        seen.add(w)
                        stack.append(w)
            members = seen
        pool = sorted(members)
        need = policy.min_utilization * float(cap[s])
        if float(st[pool].sum()) + 1e-6 < need:
            via = ", through neighbouring units" if policy.contiguity else ""
            out.append(f"school {s} can reach only {float(st[pool].sum()):.0f} students"
                       f" (within the travel cap{via}) but needs {need:.0f}"
                       f" (min_utilization {policy.min_utilization:g} x {float(cap[s]):.0f});"
                       " lower `[policy] min_utilization` or raise `max_travel_min`")
        must_enrol = need > 0 or (home in st.index and float(st[home]) > 0)
        if policy.band is not None and policy.band_mode == "hard" and must_enrol:
            has = st[pool] > 0
            shares = (li[pool][has] / st[pool][has]) if has.any() else pd.Series(dtype=float)
            if len(shares) and float(shares.max()) < share - policy.band - 1e-9:
                out.append(f"school {s}: the poorest unit it can reach has a low-income share of"
                           f" {float(shares.max()):.3f}, below the band's floor {share - policy.band:.3f}"
                           f" (district {share:.3f} - band {policy.band:g}); widen `[policy] band` to at"
                           f" least {share - float(shares.max()):.3f} or raise `max_travel_min`")
            if len(shares) and float(shares.min()) > share + policy.band + 1e-9:
                out.append(f"school {s}: the richest unit it can reach has a low-income share of"
                           f" {float(shares.min()):.3f}, above the band's ceiling {share + policy.band:.3f}"
                           f" (district {share:.3f} + band {policy.band:g}); widen `[policy] band` to at"
                           f" least {float(shares.min()) - share:.3f} or raise `max_travel_min`")
    return out
