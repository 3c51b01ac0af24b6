"""Check: does ``zoning plan SCENARIO`` give byte-identical files when run twice?

Runs the command twice as separate processes (hash seeds 1 and 2, one shared cache folder,
outputs in two folders), then compares every file of the two folders byte for byte. A plan
stopped by the time limit depends on the machine's speed, so only runs whose solver finished
(status optimal, or feasible within the requested gap) can be expected to match. Usage::

    python bench/determinism.py [data/demo/scenario.toml] [--out maps/determinism]

The last line printed is one JSON object: the scenario, whether the folders are identical,
the files that differ, each run's solver status and gap, and each run's wall time in seconds.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def run(scenario: Path, out: Path, *, hash_seed: str, cache: Path) -> dict[str, object]:
    """One ``zoning plan`` process; returns its exit code, wall time and solver status."""
    env = {**os.environ, "PYTHONHASHSEED": hash_seed, "ZONING_CACHE": str(cache),
           "PYTHONPATH": os.pathsep.join([str(ROOT), os.environ.get("PYTHONPATH", "")])}
    start = time.perf_counter()
    done = subprocess.run([sys.executable, "-m", "zoning.cli", "plan", str(scenario), "--out", str(out)],
                          env=env, capture_output=True, text=True, check=False)
    seconds = round(time.perf_counter() - start, 1)
    info: dict[str, object] = {"exit_code": done.returncode, "wall_s": seconds}
    if done.returncode == 0:
        metrics = json.loads((out / "metrics.json").read_text(encoding="utf-8"))
        info.update(status=metrics["status"], gap=metrics["gap"], objective=metrics["objective"])
    else:
        info["error"] = done.stderr.strip().splitlines()[-1:]
    print(f"run {hash_seed}: {info}", file=sys.stderr)
    return info


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("scenario", nargs="?", type=Path, default=ROOT / "data" / "demo" / "scenario.toml")
    parser.add_argument("--out", type=Path, default=Path("maps/determinism"))
    args = parser.parse_args(argv)
    cache = args.out / "cache"
    first = run(args.scenario, args.out / "first", hash_seed="1", cache=cache)
    second = run(args.scenario, args.out / "second", hash_seed="2", cache=cache)
    differ: list[str] = []
    if first["exit_code"] == 0 and second["exit_code"] == 0:
        a, b = args.out / "first", args.out / "second"
        names = sorted({p.name for p in a.iterdir()} | {p.name for p in b.iterdir()})
        differ = [n for n in names if not ((a / n).is_file() and (b / n).is_file()
                                          and (a / n).read_bytes() == (b / n).read_bytes())]
    identical = first["exit_code"] == 0 and second["exit_code"] == 0 and not differ
    print(json.dumps({"scenario": str(args.scenario), "identical": identical, "differing_files": differ,
                      "runs": [first, second]}))
    return 0 if identical else 1


if __name__ == "__main__":
    raise SystemExit(main())
