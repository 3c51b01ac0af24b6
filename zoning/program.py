"""The integer program as plain lists, and the HiGHS plumbing shared by the programs built here.

:class:`Program` holds columns and rows in the order they are added and hands them to PuLP
(CBC, the polish) or straight to a ``highspy.Highs`` object; :func:`add_cut_rows` adds
separator cuts as rows; :func:`new_highs` makes a quiet HiGHS object.
"""

from __future__ import annotations

import contextlib
import math
import os
import sys
from collections.abc import Iterator, Sequence

import numpy as np
import pulp

from .separation import Cut


@contextlib.contextmanager
def quiet_stdout() -> Iterator[None]:
    """Silence file descriptor 1 (HiGHS prints a banner there when its first model is made)."""
    sys.stdout.flush()
    saved = os.dup(1)
    devnull = os.open(os.devnull, os.O_WRONLY)
    try:
        os.dup2(devnull, 1)
        yield
    finally:
        os.dup2(saved, 1)
        os.close(saved)
        os.close(devnull)


class Program:
    """The integer program as plain lists: columns (name, cost, bounds, binary or continuous)
    and rows (entries, lower and upper bound), in the order they were added. It is handed to
    PuLP (CBC, the polish) or straight to HiGHS, in the same column order as PuLP's (by name),
    so either way HiGHS gets the same model."""

    def __init__(self) -> None:
        self.names: list[str] = []
        self.cost: list[float] = []
        self.upper: list[float] = []
        self.binary: list[bool] = []
        self.row_names: list[str] = []
        self.rows: list[list[tuple[int, float]]] = []
        self.row_lower: list[float] = []
        self.row_upper: list[float] = []

    def column(self, name: str, *, cost: float = 0.0, upper: float = math.inf, binary: bool = False) -> int:
        """Add a column (lower bound 0); returns its position."""
        self.names.append(name)
        self.cost.append(0.0 + cost)
        self.upper.append(upper)
        self.binary.append(binary)
        return len(self.names) - 1

    def row(self, name: str, entries: list[tuple[int, float]], lower: float, upper: float) -> None:
        """Add the row ``lower <= sum(coef x[col]) <= upper`` (entries ``(col, coef)``)."""
        self.row_names.append(name)
        self.rows.append(entries)
        self.row_lower.append(lower)
        self.row_upper.append(upper)

    def order(self) -> list[int]:
        """Column positions in PuLP's order (sorted by name)."""
        return sorted(range(len(self.names)), key=self.names.__getitem__)

    def to_pulp(self) -> pulp.LpProblem:
        prob = pulp.LpProblem("zoning", pulp.LpMinimize)
        cols = [pulp.LpVariable(n, cat=pulp.LpBinary) if b else
                pulp.LpVariable(n, lowBound=0, upBound=None if math.isinf(u) else u)
                for n, u, b in zip(self.names, self.upper, self.binary, strict=True)]
        for name, entries, lo, hi in zip(self.row_names, self.rows, self.row_lower, self.row_upper,
                                         strict=True):
            expr = pulp.LpAffineExpression([(cols[j], c) for j, c in entries])
            if lo == hi:
                prob += expr == hi, name
            elif math.isinf(lo):
                prob += expr <= hi, name
            else:
                prob += expr >= lo, name
        prob += pulp.LpAffineExpression(list(zip(cols, self.cost, strict=True)))
        return prob

    def to_highs(self, h: object, *, by_name: bool = True) -> list[int]:
        """Pass the program to the ``highspy.Highs`` object ``h``; returns the program's column
        at each HiGHS position: PuLP's order (by name), or the order added without ``by_name``."""
        import highspy

        order = self.order() if by_name else list(range(len(self.names)))
        where = np.empty(len(order), dtype=np.int64)
        where[order] = np.arange(len(order))
        lp = highspy.HighsLp()
        lp.num_col_ = len(order)
        lp.num_row_ = len(self.rows)
        lp.col_cost_ = np.asarray(self.cost, dtype=float)[order]
        lp.col_lower_ = np.zeros(len(order))
        lp.col_upper_ = np.asarray(self.upper, dtype=float)[order]
        lp.row_lower_ = np.asarray(self.row_lower, dtype=float)
        lp.row_upper_ = np.asarray(self.row_upper, dtype=float)
        starts, index, value = [0], [], []
        for entries in self.rows:
            for j, c in entries:
                if c != 0:  # as PuLP's HiGHS interface drops zero coefficients
                    index.append(int(where[j]))
                    value.append(c)
            starts.append(len(index))
        lp.a_matrix_.format_ = highspy.MatrixFormat.kRowwise
        lp.a_matrix_.num_col_ = len(order)
        lp.a_matrix_.num_row_ = len(self.rows)
        lp.a_matrix_.start_ = np.asarray(starts, dtype=np.int32)
        lp.a_matrix_.index_ = np.asarray(index, dtype=np.int32)
        lp.a_matrix_.value_ = np.asarray(value, dtype=float)
        kind = highspy.HighsVarType
        lp.integrality_ = [kind.kInteger if self.binary[j] else kind.kContinuous for j in order]
        h.passModel(lp)  # type: ignore[attr-defined]
        return order


def new_highs(threads: int | None = None) -> object:
    """A ``highspy.Highs`` object that prints nothing (its banner is silenced too)."""
    import highspy

    with quiet_stdout():
        h = highspy.Highs()
    h.setOptionValue("output_flag", False)
    if threads is not None:
        h.setOptionValue("threads", threads)
    return h


def add_cut_rows(h: object, cuts: Sequence[Cut], columns: np.ndarray) -> None:
    """Add the rows ``x[k] - sum x[seps] <= 0`` of ``cuts`` (pair positions) to the HiGHS object
    ``h``, whose column of pair ``k`` is ``columns[k]``."""
    import highspy

    if not cuts:
        return
    starts, index, value = [], [], []
    for left, seps in cuts:
        starts.append(len(index))
        index += [int(columns[left]), *(int(columns[j]) for j in seps)]
        value += [1.0] + [-1.0] * len(seps)
    n = len(cuts)
    h.addRows(n, np.full(n, -highspy.kHighsInf), np.zeros(n), len(index),  # type: ignore[attr-defined]
              np.array(starts, dtype=np.int32), np.array(index, dtype=np.int32), np.array(value, dtype=float))
