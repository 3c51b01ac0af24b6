"""Time the Cambridge plan end to end and print one JSON line.

Usage (from the checkout, with ../shared/data beside it)::

    python bench/cambridge/run.py [--out DIR]

Prints ``{"bench": "cambridge", "units": 88, "zones": 11, "status": ..., "load_s": ...,
"solve_s": ..., "save_s": ..., "total_s": ..., ...}``.
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
import time
from pathlib import Path

import networkx as nx

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parents[1]))

from zoning.adjacency import neighbours  # noqa: E402
from zoning.pipeline import load_inputs, save_plan, solve  # noqa: E402
from zoning.scenario import load_scenario  # noqa: E402


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", help="output folder (default: a temporary folder)")
    args = parser.parse_args()
    t0 = time.perf_counter()
    scenario = load_scenario(HERE / "scenario.toml")
    inputs = load_inputs(scenario)
    t1 = time.perf_counter()
    result = solve(inputs)
    t2 = time.perf_counter()
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(args.out) if args.out else Path(tmp) / "cambridge"
        save_plan(result, folder)
        t3 = time.perf_counter()
    nbrs = neighbours(inputs.adjacency, inputs.units.index)
    contiguous = True
    for members in result.plan.groupby(result.plan).groups.values():
        zone = nx.Graph()
        zone.add_nodes_from(members)
        zone.add_edges_from((u, v) for u in members for v in nbrs[u] if v in zone)
        contiguous &= nx.is_connected(zone)
    m = result.model
    print(json.dumps({
        "bench": "cambridge", "units": len(inputs.units), "zones": int(result.plan.nunique()),
        "students": round(float(inputs.units["students"].sum()), 1), "status": m.status_,
        "objective": None if m.objective_ is None else round(m.objective_, 2),
        "gap": m.gap_, "rounds": m.rounds_, "contiguous": contiguous,
        "worst_deviation": round(result.district["worst_deviation"], 4),
        "load_s": round(t1 - t0, 2), "solve_s": round(t2 - t1, 2), "save_s": round(t3 - t2, 2),
        "total_s": round(t3 - t0, 2),
    }))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
