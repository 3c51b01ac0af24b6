"""Large-neighbourhood search: a few touching zones of a plan re-drawn by an exact small program.

Every other unit keeps its school, so the zones of the chosen schools can only be made of the
units they hold now. Their capacity and band rows, the moved-students budget the rest of the
plan leaves, and contiguity inside those units are then the whole problem: a small integer
program (HiGHS; contiguity by separator cuts, added until the best answer has no split zone)
finds the best way to redraw their boundaries, warm-started from the plan in hand. A plan it
returns meets every rule and costs less; the plan only ever improves. Positions throughout, as
in :mod:`.heuristic`.
"""

from __future__ import annotations

import math
import time
from dataclasses import dataclass

import numpy as np

from . import separation
from .heuristic import Instance
from .program import Program, add_cut_rows, new_highs

#: Most cut rounds for one group of zones (each re-solves its small program).
GROUP_ROUNDS = 20


@dataclass
class Rules:
    """What a group's program needs beyond :class:`heuristic.Instance`.

    Parameters
    ----------
    inst
        Pair costs (travel and moved weight; ``inf`` where a pair is not allowed), loads,
        capacity, adjacency, home units and fixed units.
    band_lo, band_hi
        Per school: the low-income share bounds of the band (None without a band).
    band_weight
        Cost per student outside the band when the band is soft; None when it is hard.
    moved
        ``(n, k)`` booleans: unit ``u`` at school ``s`` counts as moved (None without today's plan).
    moved_cap
        Most students that may be moved in all (None without a cap).
    """

    inst: Instance
    band_lo: np.ndarray | None = None
    band_hi: np.ndarray | None = None
    band_weight: float | None = None
    moved: np.ndarray | None = None
    moved_cap: float | None = None

    def cost(self, plan: np.ndarray, schools: np.ndarray) -> float:
        """Objective of the given schools' zones: pair costs and the soft band's penalty."""
        inst = self.inst
        units = np.nonzero(np.isin(plan, schools))[0]
        total = float(inst.cost[units, plan[units]].sum())
        if self.band_weight is not None and self.band_lo is not None and self.band_hi is not None:
            k = len(inst.schools)
            st = np.bincount(plan, weights=inst.students, minlength=k)[schools]
            li = np.bincount(plan, weights=inst.low_income, minlength=k)[schools]
            outside = np.maximum(li - self.band_hi[schools] * st, 0.0) + np.maximum(
                self.band_lo[schools] * st - li, 0.0)
            total += self.band_weight * float(outside.sum())
        return total


def zone_neighbours(inst: Instance, plan: np.ndarray) -> list[set[int]]:
    """For each school, the schools whose zones touch its zone in ``plan``."""
    touch: list[set[int]] = [set() for _ in inst.schools]
    for u, ws in enumerate(inst.nbrs):
        a = int(plan[u])
        for w in ws:
            b = int(plan[w])
            if a != b:
                touch[a].add(b)
    return touch


def grow_group(touch: list[set[int]], seed: int, size: int, rng: np.random.Generator) -> list[int]:
    """School ``seed`` and then zones picked at random from the group's border, up to ``size``
    schools (fewer when the border runs out)."""
    group = [seed]
    while len(group) < size:
        border = sorted(set().union(*(touch[s] for s in group)) - set(group))
        if not border:
            break
        group.append(int(rng.choice(border)))
    return group


class _GroupProgram:
    """The program of one group: binary ``x`` per allowed (unit, school) pair of the group's
    units and schools (local positions, first), then the soft band's excess columns."""

    def __init__(self, rules: Rules, plan: np.ndarray, schools: np.ndarray, units: np.ndarray) -> None:
        inst = rules.inst
        local_u = {int(u): i for i, u in enumerate(units)}
        allowed = np.isfinite(inst.cost[np.ix_(units, schools)])
        unit_of, school_of = np.nonzero(allowed)  # sorted by unit
        self.layout = layout = separation.Layout(
            unit_of=unit_of, school_of=school_of,
            nbrs=[[local_u[w] for w in inst.nbrs[u] if w in local_u] for u in units.tolist()],
            home=np.array([local_u[int(inst.home[s])] for s in schools.tolist()], dtype=int),
        )
        self.n_pairs = len(unit_of)
        st, li = inst.students[units], inst.low_income[units]
        self.prog = prog = Program()
        for k, c in enumerate(inst.cost[units[unit_of], schools[school_of]].tolist()):
            prog.column(f"x{k}", cost=c, upper=1.0, binary=True)
        for u, ks in enumerate(np.split(np.arange(self.n_pairs),
                                        np.cumsum(np.bincount(unit_of, minlength=len(units)))[:-1])):
            prog.row(f"one{u}", [(k, 1.0) for k in ks.tolist()], 1.0, 1.0)
        self.excess: list[tuple[int, int]] = []  # (column, row) of the soft band's excess
        for j, s in enumerate(schools.tolist()):
            ks = layout.by_school[j]
            su, lu = st[unit_of[ks]], li[unit_of[ks]]
            prog.row(f"cap{j}", list(zip(ks, su.tolist(), strict=True)), float(inst.cap_lo[s]),
                     float(inst.cap_hi[s]))
            if rules.band_lo is None or rules.band_hi is None:
                continue
            for side, coefs in (("hi", lu - rules.band_hi[s] * su), ("lo", rules.band_lo[s] * su - lu)):
                entries = list(zip(ks, coefs.tolist(), strict=True))
                if rules.band_weight is not None:
                    self.excess.append((prog.column(f"e{side}{j}", cost=rules.band_weight), len(prog.rows)))
                    entries.append((self.excess[-1][0], -1.0))
                prog.row(f"band{side}{j}", entries, -math.inf, 0.0)
        if rules.moved is not None and rules.moved_cap is not None:
            outside = np.ones(len(plan), dtype=bool)
            outside[units] = False
            spent = float(inst.students[outside & rules.moved[np.arange(len(plan)), plan]].sum())
            ks = np.nonzero(rules.moved[units[unit_of], schools[school_of]])[0].tolist()
            prog.row("moved", list(zip(ks, st[unit_of[ks]].tolist(), strict=True)), -math.inf,
                     rules.moved_cap - spent)
        for k, (u, s) in enumerate(zip(unit_of.tolist(), school_of.tolist(), strict=True)):
            if int(layout.home[s]) != u:  # a unit joins a zone only beside another of its units
                nbr = [layout.pair[(w, s)] for w in layout.nbrs[u] if (w, s) in layout.pair]
                prog.row(f"nb{k}", [(k, 1.0)] + [(j, -1.0) for j in nbr], -math.inf, 0.0)

    def values(self, assign: np.ndarray) -> list[float]:
        """Column values of a local assignment (school position per local unit)."""
        x = np.zeros(len(self.prog.names))
        x[[self.layout.pair[(u, s)] for u, s in enumerate(assign.tolist())]] = 1.0
        for col, r in self.excess:
            x[col] = max(sum(x[j] * c for j, c in self.prog.rows[r] if j != col), 0.0)
        return x.tolist()


def improve_group(rules: Rules, plan: np.ndarray, group: list[int], *, time_limit_s: float,
                  gap: float = 1e-4) -> np.ndarray | None:
    """The best plan changing only the zones of ``group`` (school positions), or None when no
    plan better than ``plan`` is found in time. ``plan`` must be contiguous and meet the rules."""
    import highspy

    deadline = time.perf_counter() + time_limit_s
    schools = np.array(sorted(set(group)), dtype=int)
    units = np.nonzero(np.isin(plan, schools))[0]
    prog = _GroupProgram(rules, plan, schools, units)
    layout, n_pairs = prog.layout, prog.n_pairs
    local_s = np.full(len(rules.inst.schools), -1)
    local_s[schools] = np.arange(len(schools))
    best_local = local_s[plan[units]]
    best_cost = start_cost = rules.cost(plan, schools)
    found: list[np.ndarray] = []
    known: list[separation.Cut] = []

    def on_solution(kind: object, message: str, data_out: object, data_in: object, user: object) -> None:
        found.append(np.array(data_out.mip_solution, dtype=float))  # type: ignore[attr-defined]

    def fresh() -> object:
        """A HiGHS object with the program and every cut so far (pair k is column k)."""
        h = new_highs()
        prog.prog.to_highs(h, by_name=False)
        add_cut_rows(h, known, np.arange(n_pairs))
        h.setOptionValue("mip_rel_gap", gap)
        h.setCallback(on_solution, None)
        return h

    def whole(assign: np.ndarray) -> np.ndarray:
        out = plan.copy()
        out[units] = schools[assign]
        return out

    h = fresh()
    warm = True
    for _ in range(GROUP_ROUNDS):
        left = deadline - time.perf_counter()
        if left <= 0.01:
            break
        h.setOptionValue("time_limit", left)
        if warm:
            start = highspy.HighsSolution()
            start.col_value = prog.values(best_local)
            start.value_valid = True
            h.setSolution(start)
        found.clear()
        h.startCallback(highspy.cb.HighsCallbackType.kCallbackMipSolution)
        try:
            h.run()
        finally:
            h.stopCallback(highspy.cb.HighsCallbackType.kCallbackMipSolution)
        info = h.getInfo()
        if info.primal_solution_status == 2:
            x = np.asarray(h.getSolution().col_value, dtype=float)
            if warm and info.objective_function_value < float(np.dot(prog.prog.cost, x)) - 1e-6 * max(
                    1.0, abs(info.objective_function_value)):
                # after a MIP start HiGHS can report a better objective than the values it returns
                # (the start's): never trust them; solve this round again without a start
                h, warm = fresh(), False
                continue
            found.append(x)
        cuts: list[separation.Cut] = []
        for x in found:
            assign = layout.assignment(x[:n_pairs])
            if (assign < 0).any():
                continue
            new, pieces = separation.plan_cuts(layout, assign)
            if pieces:
                cuts += new
                continue
            value = rules.cost(whole(assign), schools)  # recomputed: never the solver's word
            if value < best_cost - 1e-7:
                best_local, best_cost = assign, value
        seen = set(known)
        cuts = [c for c in dict.fromkeys(cuts) if c not in seen]
        proven = h.getModelStatus() == highspy.HighsModelStatus.kOptimal
        if not cuts or (proven and info.objective_function_value >= best_cost - 1e-7 * max(1.0, best_cost)):
            break  # the round's best is whole, or no better than the plan in hand
        known += cuts
        add_cut_rows(h, cuts, np.arange(n_pairs))
    return whole(best_local) if best_cost < start_cost - 1e-7 else None


def search(rules: Rules, plan: np.ndarray, *, time_limit_s: float, group_size: int = 4,
           group_time_s: float = 2.0, seed: int = 0) -> np.ndarray:
    """Re-draw groups of ``group_size`` touching zones (one seeded at each school in a random
    order) until the time is up or a whole pass improves nothing. ``plan`` must be contiguous
    and meet the rules; returns the plan reached (a copy)."""
    deadline = time.perf_counter() + time_limit_s
    rng = np.random.default_rng(seed)
    plan = plan.copy()
    touch = zone_neighbours(rules.inst, plan)
    while True:
        improved = False
        for s in rng.permutation(len(rules.inst.schools)).tolist():
            left = deadline - time.perf_counter()
            if left <= 0.05:
                return plan
            group = grow_group(touch, s, group_size, rng)
            if len(group) < 2:
                continue
            better = improve_group(rules, plan, group, time_limit_s=min(group_time_s, left))
            if better is not None:
                plan, improved = better, True
                touch = zone_neighbours(rules.inst, plan)  # only when the plan changed
        if not improved:
            return plan

