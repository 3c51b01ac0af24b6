"""Fast heuristic plans: contiguous region growing and a local search that repairs capacity and
band violations and then shortens travel, never breaking contiguity.

These give the integer program a contiguous incumbent from the first second (a warm start, and
a plan in hand if the time limit strikes), and turn the program's split intermediate solutions
into contiguous plans. Plain numpy over unit and school positions; no geodata.
"""

from __future__ import annotations

import heapq
import logging
import time
from dataclasses import dataclass

import numpy as np
import pandas as pd

log = logging.getLogger(__name__)


@dataclass
class Instance:
    """The model's data by position: units 0..n-1, schools 0..k-1."""

    units: list[str]
    schools: list[str]
    students: np.ndarray  # (n,)
    low_income: np.ndarray  # (n,)
    cap_lo: np.ndarray  # (k,) minimum students per school
    cap_hi: np.ndarray  # (k,) maximum students per school
    band_lo: np.ndarray | None  # (k,) coefficient: low_income - band_lo * students >= 0
    band_hi: np.ndarray | None  # low_income - band_hi * students <= 0
    cost: np.ndarray  # (n, k) objective cost of assigning u to s; inf where not allowed
    nbrs: list[list[int]]
    home: np.ndarray  # (k,) unit index of each school's unit
    fixed: dict[int, int]  # unit -> school that must hold (homes and locks)


def region_grow(inst: Instance) -> np.ndarray | None:
    """Contiguous zones grown from each school's unit, cheapest unit first (a graph Voronoi).

    Returns the school index per unit, or None when some unit cannot be reached.
    """
    n = len(inst.units)
    plan = np.full(n, -1, dtype=int)
    heap: list[tuple[float, int, int]] = []
    for u, s in inst.fixed.items():
        if inst.home[s] == u:
            heapq.heappush(heap, (0.0, u, s))
    while heap:
        _, u, s = heapq.heappop(heap)
        if plan[u] >= 0:
            continue
        if u in inst.fixed and inst.fixed[u] != s:
            continue
        plan[u] = s
        for w in inst.nbrs[u]:
            if plan[w] < 0 and np.isfinite(inst.cost[w, s]):
                heapq.heappush(heap, (float(inst.cost[w, s]), w, s))
    return None if (plan < 0).any() else plan


def _connected_without(zone: set[int], u: int, nbrs: list[list[int]], root: int) -> bool:
    """Whether ``zone - {u}`` stays connected (searching from ``root``)."""
    if len(zone) <= 2:
        return True
    seen = {root}
    stack = [root]
    target = len(zone) - 1
    while stack:
        v = stack.pop()
        for w in nbrs[v]:
            if w != u and w in zone and w not in seen:
                seen.add(w)
                stack.append(w)
                if len(seen) == target:
                    return True
    return len(seen) == target


def violation(inst: Instance, st: np.ndarray, li: np.ndarray) -> np.ndarray:
    """Per-school amount (in students) by which capacity and band rules are broken."""
    v = np.maximum(st - inst.cap_hi, 0) + np.maximum(inst.cap_lo - st, 0)
    if inst.band_hi is not None and inst.band_lo is not None:
        v = v + np.maximum(li - inst.band_hi * st, 0) + np.maximum(inst.band_lo * st - li, 0)
    return v


def local_search(inst: Instance, plan: np.ndarray, *, time_limit_s: float = 5.0,
                 penalty: float = 1e4) -> np.ndarray:
    """Move boundary units between neighbouring zones while it lowers travel + penalty x violation.

    Contiguity is kept: a unit leaves a zone only if the zone stays connected, and joins only a
    zone it touches. Returns the improved plan (a copy).
    """
    plan = plan.copy()
    k = len(inst.schools)
    st = np.bincount(plan, weights=inst.students, minlength=k)
    li = np.bincount(plan, weights=inst.low_income, minlength=k)
    zones = [set(np.nonzero(plan == s)[0].tolist()) for s in range(k)]
    deadline = time.perf_counter() + time_limit_s
    improved = True
    while improved and time.perf_counter() < deadline:
        improved = False
        viol = violation(inst, st, li)
        order = np.argsort(-viol, kind="stable")  # worst zones first
        for a in order.tolist():
            for u in sorted(zones[a]):
                if u in inst.fixed:
                    continue
                targets = {int(plan[w]) for w in inst.nbrs[u] if plan[w] != a}
                best = None
                for b in targets:
                    if not np.isfinite(inst.cost[u, b]):
                        continue
                    su, lu = inst.students[u], inst.low_income[u]
                    st2a, li2a = st[a] - su, li[a] - lu
                    st2b, li2b = st[b] + su, li[b] + lu
                    old = viol[a] + viol[b]
                    new = _viol_one(inst, a, st2a, li2a) + _viol_one(inst, b, st2b, li2b)
                    delta = penalty * (new - old) + inst.cost[u, b] - inst.cost[u, a]
                    if delta < -1e-7 and (best is None or delta < best[0]):
                        best = (delta, b)
                if best is None:
                    continue
                if not _connected_without(zones[a], u, inst.nbrs, int(inst.home[a])):
                    continue
                b = best[1]
                zones[a].discard(u)
                zones[b].add(u)
                plan[u] = b
                st[a] -= inst.students[u]
                st[b] += inst.students[u]
                li[a] -= inst.low_income[u]
                li[b] += inst.low_income[u]
                viol[a] = _viol_one(inst, a, st[a], li[a])
                viol[b] = _viol_one(inst, b, st[b], li[b])
                improved = True
            if time.perf_counter() >= deadline:
                break
    return plan


def _viol_one(inst: Instance, s: int, st: float, li: float) -> float:
    v = max(st - inst.cap_hi[s], 0.0) + max(inst.cap_lo[s] - st, 0.0)
    if inst.band_hi is not None and inst.band_lo is not None:
        v += max(li - inst.band_hi[s] * st, 0.0) + max(inst.band_lo[s] * st - li, 0.0)
    return v


def to_series(inst: Instance, plan: np.ndarray) -> pd.Series:
    """A position plan as ``geoid -> school_id``."""
    s = pd.Series([inst.schools[j] for j in plan], index=pd.Index(inst.units, name="geoid"),
                  name="school_id", dtype=object)
    return s


def from_series(inst: Instance, plan: pd.Series) -> np.ndarray:
    """``geoid -> school_id`` as school positions."""
    pos = {s: j for j, s in enumerate(inst.schools)}
    return np.array([pos[plan[u]] for u in inst.units], dtype=int)


def anneal(inst: Instance, plan: np.ndarray, *, steps: int = 100_000, time_limit_s: float = 5.0,
           penalty: float = 1e3, seed: int = 0) -> np.ndarray | None:
    """Simulated annealing over boundary moves to reach a plan with no capacity or band violation.

    Moves keep contiguity (a unit joins a zone it touches; its old zone must stay connected).
    The temperature falls over ``steps`` tried moves, so the result depends only on the inputs
    and the seed; ``time_limit_s`` is a safety stop (a run it cuts short is not reproducible). Returns the cheapest violation-free plan seen (improved by
    :func:`local_search`), or None when none was reached in the time allowed.
    """
    rng = np.random.default_rng(seed)
    plan = plan.copy()
    n, k = len(inst.units), len(inst.schools)
    st = np.bincount(plan, weights=inst.students, minlength=k)
    li = np.bincount(plan, weights=inst.low_income, minlength=k)
    zones = [set(np.nonzero(plan == s)[0].tolist()) for s in range(k)]
    viol = np.array([_viol_one(inst, s, st[s], li[s]) for s in range(k)])
    movable = np.array([u not in inst.fixed for u in range(n)])
    cost_now = float(inst.cost[np.arange(n), plan].sum())
    best: np.ndarray | None = plan.copy() if viol.sum() <= 1e-9 else None
    best_cost = cost_now if best is not None else np.inf
    deadline = time.perf_counter() + time_limit_s
    t0 = penalty * 2.0
    total = max(int(steps), 1)
    done = 0
    temp = t0
    while done < total:
        if done % 256 == 0:
            if time.perf_counter() >= deadline:
                log.warning("annealing stopped by its time limit after %d of %d moves", done, total)
                break
            temp = t0 * (1e-3 ** (done / total))
        done += 1
        u = int(rng.integers(n))
        if not movable[u]:
            continue
        a = plan[u]
        nb = inst.nbrs[u]
        if not nb:
            continue
        b = plan[nb[int(rng.integers(len(nb)))]]
        if b == a or not np.isfinite(inst.cost[u, b]):
            continue
        su, lu = inst.students[u], inst.low_income[u]
        va = _viol_one(inst, a, st[a] - su, li[a] - lu)
        vb = _viol_one(inst, b, st[b] + su, li[b] + lu)
        dcost = inst.cost[u, b] - inst.cost[u, a]
        delta = penalty * (va + vb - viol[a] - viol[b]) + dcost
        if delta > 0 and rng.random() >= np.exp(-delta / max(temp, 1e-9)):
            continue
        if not _connected_without(zones[a], u, inst.nbrs, int(inst.home[a])):
            continue
        zones[a].discard(u)
        zones[b].add(u)
        plan[u] = b
        st[a] -= su
        st[b] += su
        li[a] -= lu
        li[b] += lu
        viol[a], viol[b] = va, vb
        cost_now += dcost
        if viol.sum() <= 1e-9 and cost_now < best_cost - 1e-9:
            best, best_cost = plan.copy(), cost_now
    if best is None:
        return None
    return local_search(inst, best, time_limit_s=max(1.0, 0.2 * time_limit_s), penalty=penalty * 10)
