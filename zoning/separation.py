"""Contiguity cuts: the rows that cut off a split zone, from a plan or from a fractional LP point.

Positional view of the program (no labels): pair ``k`` joins unit ``unit_of[k]`` to school
``school_of[k]``; ``nbrs[u]`` lists unit ``u``'s neighbours; ``home[s]`` is school ``s``'s own
unit. A cut ``(k, seps)`` stands for the row ``x[k] - sum(x[j] for j in seps) <= 0``: unit ``u``
may join school ``s`` only if a unit of the separator ``C`` joins it too, where every path from
``u`` to the school's unit inside the units allowed for ``s`` crosses ``C``. Every such row holds
for every contiguous plan, so adding any of them never cuts off a plan the policy allows.

Two separators are found:

- from a plan (:func:`plan_cuts`): for each piece ``P`` of a zone cut off from its school, the
  units around ``P``, reduced for each school to those that touch the side of its unit (a
  minimal separator), for every unit of ``P`` and every school whose unit lies outside ``P``;
  and, on the school's side, the border of the part of its zone that does reach it;
- from a fractional point (:func:`fractional_cuts`): for each school and each unit with a
  positive value, a minimum-weight vertex cut between the unit and the school's unit (a max-flow
  with vertex capacities ``x[w, s]``), added when it is lighter than ``x[u, s]``.
"""

from __future__ import annotations

import heapq
from collections.abc import Iterable
from dataclasses import dataclass, field

import numpy as np
import scipy.sparse as sp
from scipy.sparse.csgraph import breadth_first_order, maximum_flow

#: A cut row: the pair on the left and the separator's pairs on the right.
Cut = tuple[int, tuple[int, ...]]

#: Fixed-point scale for the integer max-flow of :func:`fractional_cuts`.
FLOW_SCALE = 1_000_000


@dataclass
class Layout:
    """Pairs, adjacency and home units by position.

    Parameters
    ----------
    unit_of, school_of
        Unit and school position of each pair (variable).
    nbrs
        Neighbour unit positions of each unit (symmetric).
    home
        Unit position of each school's own unit.
    """

    unit_of: np.ndarray
    school_of: np.ndarray
    nbrs: list[list[int]]
    home: np.ndarray
    pair: dict[tuple[int, int], int] = field(init=False)
    by_school: list[list[int]] = field(init=False)

    def __post_init__(self) -> None:
        self.pair = {(int(u), int(s)): k for k, (u, s) in enumerate(zip(self.unit_of, self.school_of,
                                                                        strict=True))}
        self.by_school = [[] for _ in range(len(self.home))]
        for k, s in enumerate(self.school_of):
            self.by_school[int(s)].append(k)

    @property
    def n_units(self) -> int:
        return len(self.nbrs)

    def assignment(self, x: np.ndarray) -> np.ndarray:
        """School position of each unit from pair values (-1 where no pair is above one half)."""
        assign = np.full(self.n_units, -1)
        chosen = np.nonzero(np.asarray(x) > 0.5)[0]
        assign[self.unit_of[chosen]] = self.school_of[chosen]
        return assign


def reachable(start: Iterable[int], nbrs: list[list[int]], keep: set[int] | None = None,
              blocked: set[int] | frozenset[int] = frozenset(), allowed: Layout | None = None,
              school: int = -1) -> set[int]:
    """Units reachable from ``start`` through units in ``keep`` (or allowed for ``school``)."""
    seen = set(start)
    stack = list(seen)
    while stack:
        a = stack.pop()
        for b in nbrs[a]:
            if b in seen or b in blocked:
                continue
            if keep is not None and b not in keep:
                continue
            if allowed is not None and (b, school) not in allowed.pair:
                continue
            seen.add(b)
            stack.append(b)
    return seen


def split_pieces(layout: Layout, assign: np.ndarray) -> list[tuple[int, set[int], set[int]]]:
    """Pieces of zones cut off from their school: ``(school, piece, part reaching the school)``."""
    out: list[tuple[int, set[int], set[int]]] = []
    for s, h in enumerate(layout.home):
        zone = set(np.nonzero(assign == s)[0].tolist())
        if not zone:
            continue
        reach = reachable([int(h)], layout.nbrs, keep=zone) if int(h) in zone else set()
        rest = zone - reach
        while rest:
            piece = reachable([min(rest)], layout.nbrs, keep=rest)
            rest -= piece
            out.append((s, piece, reach))
    return out


def plan_cuts(layout: Layout, assign: np.ndarray) -> tuple[list[Cut], int]:
    """Cuts that the split zones of a plan violate, and how many pieces were found."""
    nbrs, pair = layout.nbrs, layout.pair
    cuts: list[Cut] = []
    pieces = split_pieces(layout, assign)
    for s, piece, reach in pieces:
        around = {b for a in piece for b in nbrs[a]} - piece
        for t, h in enumerate(layout.home):
            h = int(h)
            if h in piece or h in around:  # the piece touches the school's unit: no cut
                continue
            home_side = reachable([h], nbrs, blocked=around, allowed=layout, school=t)
            sep = tuple(pair[(w, t)] for w in sorted(around)
                        if (w, t) in pair and any(b in home_side for b in nbrs[w]))
            cuts += [(pair[(u, t)], sep) for u in sorted(piece) if (u, t) in pair]
        border = tuple(pair[(w, s)] for w in sorted({b for a in reach for b in nbrs[a]} - reach)
                       if (w, s) in pair)
        cuts += [(pair[(u, s)], border) for u in sorted(piece) if (u, s) in pair]
    return cuts, len(pieces)


def _widest_paths(nbrs: list[list[int]], val: np.ndarray, home: int) -> np.ndarray:
    """For each unit, the largest ``b`` such that a path from ``home`` reaches it through units
    valued at least ``b`` (the unit's own value not counted). A unit with ``b >= val[u]`` has
    flow ``val[u]`` home, so no separator cut is violated for it: max-flow can skip it."""
    best = np.full(len(nbrs), -1.0)
    best[home] = np.inf
    heap = [(-np.inf, home)]
    while heap:
        neg, a = heapq.heappop(heap)
        width = -neg
        if width < best[a]:
            continue
        through = min(width, float(val[a])) if a != home else np.inf
        for b in nbrs[a]:
            if through > best[b]:
                best[b] = through
                heapq.heappush(heap, (-through, b))
    return best


def fractional_cuts(layout: Layout, x: np.ndarray, *, eps: float = 1e-3) -> list[Cut]:
    """Minimal-separator cuts violated by more than ``eps`` at the fractional point ``x``."""
    nbrs = layout.nbrs
    cuts: list[Cut] = []
    for s, ks in enumerate(layout.by_school):
        units = [int(layout.unit_of[k]) for k in ks]
        loc = {u: i for i, u in enumerate(units)}
        home = loc.get(int(layout.home[s]))
        val = np.asarray(x, dtype=float)[ks]
        if home is None or not (val[np.arange(len(ks)) != home] > eps).any():
            continue
        m = len(units)
        rows, cols, caps = [], [], []
        for i, u in enumerate(units):  # unit i: in-node i, out-node m + i
            rows.append(i)
            cols.append(m + i)
            caps.append(int(round(max(val[i], 0.0) * FLOW_SCALE)))
            for w in nbrs[u]:
                j = loc.get(w)
                if j is not None:
                    rows.append(m + i)
                    cols.append(j)
                    caps.append(10 * FLOW_SCALE)
        cap = sp.csr_matrix((np.array(caps, dtype=np.int32), (rows, cols)), shape=(2 * m, 2 * m))
        local_nbrs = [[loc[w] for w in nbrs[u] if w in loc] for u in units]
        widest = _widest_paths(local_nbrs, val, home)
        done: set[int] = set()
        for i in np.argsort(-val, kind="stable"):
            i = int(i)
            if i == home or i in done or val[i] <= eps or widest[i] >= val[i] - eps:
                continue  # a path home whose every unit is valued at least x[u, s]: no cut
            result = maximum_flow(cap, m + home, i)
            if result.flow_value / FLOW_SCALE >= val[i] - eps:
                continue
            residual = (cap - result.flow).tocsr()
            residual.data[residual.data < 0] = 0
            residual.eliminate_zeros()
            reached = np.zeros(2 * m, dtype=bool)
            reached[breadth_first_order(residual, m + home, directed=True, return_predecessors=False)] = True
            cut = {j for j in range(m) if reached[j] and not reached[m + j]}
            # reduce to a minimal separator: the units of the cut touching both sides
            far = reachable([i], local_nbrs, blocked=cut)
            around = {b for a in far for b in local_nbrs[a]} - far
            near = reachable([home], local_nbrs, blocked=around)
            sep = sorted(w for w in around if any(b in near for b in local_nbrs[w]))
            rhs = float(val[sep].sum())
            seps = tuple(ks[j] for j in sep)
            for t in sorted(far):
                if val[t] > rhs + eps:
                    cuts.append((ks[t], seps))
                    done.add(t)
    return cuts
