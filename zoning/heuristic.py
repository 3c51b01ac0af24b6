"""Fast heuristic plans: contiguous region growing and a local search that repairs capacity and
band violations and then shortens travel, never breaking contiguity.

These give the integer program a contiguous incumbent from the first second (a warm start, and
a plan in hand if the time limit strikes), and turn the program's split intermediate solutions
into contiguous plans. Plain numpy over unit and school positions; no geodata.
"""

from __future__ import annotations

import collections
import heapq
import logging
import time
from collections.abc import Iterator
from dataclasses import dataclass

import numpy as np
import pandas as pd

from .separation import reachable

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

    Greedy growth can wall a unit off from the only schools that may take it (their zones
    stop at units another school claimed first); such units are then claimed along a short path
    of units to a zone that may take them (:func:`_claim_walled_off`). Returns the school index
    per unit, or None when some unit can still not be reached.
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
    if (plan < 0).any():
        plan = _claim_walled_off(inst, plan)
    return None if (plan < 0).any() else plan


def _claim_walled_off(inst: Instance, plan: np.ndarray) -> np.ndarray:
    """Give units no zone reached to a school that may take them, along a path of the fewest
    units it may take to its zone; units on the path leave their zones, and any part of a zone
    that is then cut off from its school is released to be claimed in turn. A claim is kept only
    when fewer units are left without a zone (when the first path releases too much, paths that
    avoid one of the units it takes are tried), so this ends; units still unclaimed stay -1.
    Every zone stays connected to its school's unit throughout."""
    plan = plan.copy()
    may = np.isfinite(inst.cost)
    for u, s in inst.fixed.items():
        may[u, :] = False
        may[u, s] = True
    while (plan < 0).any():
        open_units = np.nonzero(plan < 0)[0]
        for u in sorted(open_units.tolist(), key=lambda v: (int(may[v].sum()), v)):
            claimed = next((trial for s in np.argsort(inst.cost[u], kind="stable").tolist() if may[u, s]
                            for trial in _claims(inst, plan, may, u, s)
                            if (trial < 0).sum() < len(open_units)), None)
            if claimed is not None:
                plan = claimed
                break
        else:
            return plan  # no claim leaves fewer units without a zone
    return plan


def _claims(inst: Instance, plan: np.ndarray, may: np.ndarray, u: int, s: int) -> Iterator[np.ndarray]:
    """Claims of ``u`` for school ``s``: along the path of fewest units, then along paths that
    avoid one of the units that path takes from other zones."""
    first = _claim_path(inst, plan, may, u, s)
    if first is None:
        return
    yield first
    for w in np.nonzero((first == s) & (plan != s) & (plan >= 0))[0].tolist():
        barred = may.copy()
        barred[w, s] = False
        other = _claim_path(inst, plan, barred, u, s)
        if other is not None:
            yield other


def _claim_path(inst: Instance, plan: np.ndarray, may: np.ndarray, u: int, s: int) -> np.ndarray | None:
    """``plan`` with ``u`` and the fewest units linking it to school ``s``'s zone given to ``s``
    (parts of other zones cut off from their school set to -1), or None when no such path."""
    back = {u: u}
    queue = collections.deque([u])
    end = -1
    while queue and end < 0:
        v = queue.popleft()
        for w in inst.nbrs[v]:
            if w in back or not may[w, s]:
                continue
            if plan[w] == s:
                end = v
                break
            back[w] = v
            queue.append(w)
    if end < 0:
        return None
    trial = plan.copy()
    path = [end]
    while path[-1] != u:
        path.append(back[path[-1]])
    losers = {int(plan[w]) for w in path if plan[w] >= 0}
    trial[path] = s
    for t in losers:  # what a lost unit cut off from its school is released
        zone = set(np.nonzero(trial == t)[0].tolist())
        trial[sorted(zone - reachable([int(inst.home[t])], inst.nbrs, keep=zone))] = -1
    return trial


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
    and the seed; ``time_limit_s`` is a safety stop (a run it cuts short is not reproducible).
    Returns the cheapest violation-free plan seen (improved by :func:`local_search`), or None
    when none was reached in the time allowed.
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


def _zone_neighbours(inst: Instance, plan: np.ndarray, zone: set[int], a: int) -> list[int]:
    """Schools whose zones touch zone ``a`` (sorted)."""
    return sorted({int(plan[w]) for u in zone for w in inst.nbrs[u] if plan[w] != a})


def _find(parent: list[int], x: int) -> int:
    """The root of ``x`` in a union-find forest (halving the path on the way)."""
    while parent[x] != x:
        parent[x] = parent[parent[x]]
        x = parent[x]
    return x


def _best_split(inst: Instance, a: int, b: int, union: list[int], rng: np.random.Generator,
                trees: int, penalty: float) -> tuple[float, list[int]] | None:
    """The best way found to cut random spanning trees of zones ``a`` and ``b`` joined into two
    connected zones, each holding its own school's unit: (penalty x violation + travel, units of
    ``b``), or None when no tree gives a valid cut (a unit fixed to, or barred from, one side)."""
    index = {u: i for i, u in enumerate(union)}
    m = len(union)
    edges = [(i, index[w]) for i, u in enumerate(union)
             for w in inst.nbrs[u] if w in index and index[w] > i]
    students = inst.students[union]
    low = inst.low_income[union]
    cost_a = inst.cost[union, a]
    cost_b = inst.cost[union, b]
    bad_a = ~np.isfinite(cost_a)  # may not be in zone a
    bad_b = ~np.isfinite(cost_b)
    for i, u in enumerate(union):
        s = inst.fixed.get(u)
        if s is not None:
            bad_a[i] |= s != a
            bad_b[i] |= s != b
    cost_a = np.where(bad_a, 0.0, cost_a)
    cost_b = np.where(bad_b, 0.0, cost_b)
    total = np.array([students.sum(), low.sum(), cost_a.sum(), cost_b.sum(), bad_a.sum(), bad_b.sum()])
    columns = np.stack([students, low, cost_a, cost_b, bad_a, bad_b], axis=1).astype(float)
    root, target = index[int(inst.home[a])], index[int(inst.home[b])]
    best: tuple[float, list[int]] | None = None
    for _ in range(trees):
        # a random spanning tree: Kruskal over the edges in random order
        parent_uf = list(range(m))
        adj: list[list[int]] = [[] for _ in range(m)]
        for e in rng.permutation(len(edges)).tolist():
            i, j = edges[e]
            ri, rj = _find(parent_uf, i), _find(parent_uf, j)
            if ri != rj:
                parent_uf[ri] = rj
                adj[i].append(j)
                adj[j].append(i)
        # root the tree at a's school unit; subtree sums in reverse breadth-first order
        parent = [-1] * m
        parent[root] = root
        order = [root]
        for v in order:
            for w in adj[v]:
                if parent[w] < 0:
                    parent[w] = v
                    order.append(w)
        if parent[target] < 0:
            return None  # the joined zones are not connected
        sub = columns.copy()
        for v in reversed(order[1:]):
            sub[parent[v]] += sub[v]
        v = target
        while v != root:
            side_b = sub[v]
            side_a = total - side_b
            if side_b[5] == 0 and side_a[4] == 0:
                va = _viol_one(inst, a, side_a[0], side_a[1])
                vb = _viol_one(inst, b, side_b[0], side_b[1])
                score = penalty * (va + vb) + side_a[2] + side_b[3]
                if best is None or score < best[0]:
                    # units of b: the subtree of v
                    members = [v]
                    for x in members:
                        members.extend(w for w in adj[x] if w != parent[x])
                    best = (score, [union[i] for i in members])
            v = parent[v]
    return best


def recombine(inst: Instance, plan: np.ndarray, *, steps: int = 10_000, trees: int = 4,
              time_limit_s: float = 5.0, penalty: float = 1e3, seed: int = 0,
              heat: float = 1.0) -> np.ndarray | None:
    """Merge two neighbouring zones and split them again along a random spanning tree.

    Each step joins a zone (one that breaks a rule, while any does) with a zone it touches, draws
    ``trees`` random spanning trees of the union, and keeps the cut, among the tree edges between
    the two schools' units, that gives the lowest penalty x violation + travel, when it beats the
    current pair (or when it is worse, with the annealing chance at a temperature of ``heat`` x
    ``penalty`` falling 1,000-fold over the steps, so the search can leave a dead end). Both new
    zones are connected by construction, so contiguity is never broken, and whole stretches of
    units change hands in one step (single-unit moves cannot carry a zone across its neighbour).
    Steps are counted, so the result depends only on the inputs and the seed; ``time_limit_s``
    is a safety stop. Returns the cheapest violation-free plan seen, or None when none was
    reached.
    """
    rng = np.random.default_rng(seed)
    plan = plan.copy()
    k = len(inst.schools)
    st = np.bincount(plan, weights=inst.students, minlength=k)
    li = np.bincount(plan, weights=inst.low_income, minlength=k)
    cost = np.bincount(plan, weights=inst.cost[np.arange(len(plan)), plan], minlength=k)
    zones = [set(np.nonzero(plan == s)[0].tolist()) for s in range(k)]
    viol = np.array([_viol_one(inst, s, st[s], li[s]) for s in range(k)])
    best: np.ndarray | None = plan.copy() if viol.sum() <= 1e-9 else None
    best_cost = float(cost.sum()) if best is not None else np.inf
    deadline = time.perf_counter() + time_limit_s
    for step in range(max(int(steps), 1)):
        if step % 16 == 0 and time.perf_counter() >= deadline:
            log.warning("recombination stopped by its time limit after %d of %d steps", step, steps)
            break
        bad = np.nonzero(viol > 1e-9)[0]
        a = int(rng.choice(bad)) if len(bad) and rng.random() < 0.8 else int(rng.integers(k))
        touching = _zone_neighbours(inst, plan, zones[a], a)
        if not touching:
            continue
        b = touching[int(rng.integers(len(touching)))]
        union = sorted(zones[a] | zones[b])
        found = _best_split(inst, a, b, union, rng, trees, penalty)
        if found is None:
            continue
        score, members_b = found
        now = penalty * (viol[a] + viol[b]) + cost[a] + cost[b]
        temp = heat * penalty * (1e-3 ** (step / max(steps, 1)))
        if score >= now - 1e-9 and (temp <= 0 or rng.random() >= np.exp(-(score - now) / temp)):
            continue
        new_b = set(members_b)
        new_a = set(union) - new_b
        for u in new_b:
            plan[u] = b
        for u in new_a:
            plan[u] = a
        zones[a], zones[b] = new_a, new_b
        for s, zone in ((a, new_a), (b, new_b)):
            idx = list(zone)
            st[s] = inst.students[idx].sum()
            li[s] = inst.low_income[idx].sum()
            cost[s] = inst.cost[idx, s].sum()
            viol[s] = _viol_one(inst, s, st[s], li[s])
        if viol.sum() <= 1e-9 and cost.sum() < best_cost - 1e-9:
            if best is None:
                log.debug("recombination: first plan meeting every rule at step %d", step)
            best, best_cost = plan.copy(), float(cost.sum())
    if best is None:
        log.info("recombination reached no plan: %.1f students of violation left in %d zones",
                 viol.sum(), int((viol > 1e-9).sum()))
        for s in np.nonzero(viol > 1e-9)[0].tolist():
            log.debug("zone %s: students %.0f (%.0f-%.0f), low-income %.0f (%.1f-%.1f), %d units",
                      inst.schools[s], st[s], inst.cap_lo[s], inst.cap_hi[s], li[s],
                      (inst.band_lo[s] if inst.band_lo is not None else 0) * st[s],
                      (inst.band_hi[s] if inst.band_hi is not None else 1) * st[s], len(zones[s]))
    return best
