"""Benchmark: the offline map of a plan with about 1,000 units.

Generates a synthetic district (``zoning.synthetic``), solves it through the pipeline (real road
network from its OSM file, HiGHS), writes the plan's outputs with an offline ``map.html``, and
opens the map in headless Chromium when it is installed to time the load and count console
errors and network requests. Usage::

    python bench/maps.py [--units 1000] [--schools 40] [--band 0.25] [--out maps/bench-maps]

The last line printed is one JSON object: ``{"units": .., "bytes": .., "path": ".."}`` (the
map's size in bytes and its path). Earlier lines report timings.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from zoning.pipeline import load_inputs, save_plan, solve  # noqa: E402
from zoning.scenario import scenario_from_dict  # noqa: E402
from zoning.synthetic import make_district, save_district  # noqa: E402


def browser_check(path: Path) -> dict[str, object] | None:
    """Load time, console errors and requests of the page in headless Chromium, or None."""
    sys.path.insert(0, str(ROOT / "tests"))
    from browser import Browser, chromium_path

    if chromium_path() is None:
        return None
    with Browser.launch() as browser:
        page = browser.open(path, width=1400, height=900)
        page.settle(0.3)
        nav = page.evaluate("performance.getEntriesByType('navigation')[0].toJSON()")
        drawn = page.evaluate("zoning.layers.proposed.units.getLayers().filter(l => l._path).length")
        return {
            "load_s": round(page.load_s, 3),
            "load_event_s": round(nav["loadEventEnd"] / 1000, 3),
            "units_drawn": drawn,
            "console_errors": len(page.errors),
            "requests": len(page.requests),
            "errors": page.errors[:5],
        }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--units", type=int, default=1000)
    parser.add_argument("--schools", type=int, default=40)
    parser.add_argument("--seed", type=int, default=2024)
    parser.add_argument("--band", type=float, default=0.25, help="low-income band (+/- fraction)")
    parser.add_argument("--time-limit", type=float, default=60.0, help="solver time limit, seconds")
    parser.add_argument("--out", type=Path, default=Path("maps/bench-maps"))
    parser.add_argument("--no-browser", action="store_true", help="skip the Chromium load check")
    args = parser.parse_args(argv)

    t0 = time.perf_counter()
    district = make_district(n_units=args.units, n_schools=args.schools, seed=args.seed)
    inputs_dir = args.out / "district"
    save_district(district, inputs_dir)
    scenario = scenario_from_dict(
        {
            "name": f"bench-{args.units}",
            "units": {"path": "units.geojson"},
            "schools": {"path": "schools.geojson"},
            "current": {"path": "current_zones.geojson"},
            "network": {"path": "roads.osm"},
            "policy": {"max_utilization": 1.2, "band": args.band, "contiguity": False},
            "solver": {"time_limit_s": args.time_limit, "gap": 0.02},
        },
        base_dir=inputs_dir.resolve(),
    )
    inputs = load_inputs(scenario)
    t1 = time.perf_counter()
    result = solve(inputs)
    t2 = time.perf_counter()
    folder = save_plan(result, args.out / "plan", offline=True)
    t3 = time.perf_counter()
    path = (folder / "map.html").resolve()
    print(
        json.dumps(
            {
                "inputs_s": round(t1 - t0, 2),
                "solve_s": round(t2 - t1, 2),
                "save_s": round(t3 - t2, 2),
                "status": result.status,
                "schools": args.schools,
                "summary_bytes": (folder / "summary.html").stat().st_size,
            }
        )
    )
    if not args.no_browser:
        check = browser_check(path)
        print(json.dumps({"chromium": check if check is not None else "not installed"}))
    print(json.dumps({"units": len(inputs.units), "bytes": path.stat().st_size, "path": str(path)}))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
