"""Command-line interface: ``zoning plan SCENARIO [--out DIR]``.

A thin front end: parse arguments, call :mod:`zoning.pipeline`, print a summary table, set the
exit code. A :class:`~zoning.errors.ZoningError` becomes one line on stderr and exit code 2 (3
when no plan was found in time); anything else keeps its traceback because it is a bug.
"""

from __future__ import annotations

import argparse
import logging
import sys
import time
from pathlib import Path

from .errors import ZoningError


def _progress(start: float) -> callable:  # type: ignore[valid-type]
    def say(message: str) -> None:
        print(f"[{time.perf_counter() - start:6.1f}s] {message}", file=sys.stderr, flush=True)

    return say


def format_summary(result) -> str:  # noqa: ANN001 - PlanResult, imported lazily
    """The per-school table and solver line printed after a run."""
    t = result.table
    lines = [f"{'school':<10} {'name':<28} {'students':>9} {'capacity':>8} {'util':>6}"
             f" {'low-inc':>8} {'dev':>7} {'travel':>8}"]
    for s, r in t.iterrows():
        lines.append(
            f"{s:<10} {str(r['name'])[:28]:<28} {r['students']:>9.0f} {r['capacity']:>8d}"
            f" {r['utilization']:>6.0%} {r['low_income_share']:>8.1%} {r['deviation'] * 100:>+6.1f}p"
            f" {r['mean_travel_s'] / 60:>6.1f}mn"
        )
    d = result.district
    m = result.model
    gap = "n/a" if m.gap_ is None else f"{m.gap_:.2%}"
    lines.append("")
    lines.append(
        f"district: {d['students']:.0f} students, low-income {d['district_low_income_share']:.1%},"
        f" worst deviation {d['worst_deviation'] * 100:.1f} pts, dissimilarity {d['dissimilarity']:.3f},"
        f" mean travel {d['mean_travel_s'] / 60:.1f} min"
    )
    lines.append(f"solver: {m.status_text()} (objective {m.objective_:.1f}, bound"
                 f" {m.bound_ if m.bound_ is None else round(m.bound_, 1)}, gap {gap},"
                 f" {m.seconds_:.1f} s, {m.rounds_} rounds)")
    lines.append(f"travel times: {result.inputs.travel.method}")
    return "\n".join(lines)


def _cmd_plan(args: argparse.Namespace) -> int:
    from .pipeline import run_plan
    from .scenario import load_scenario

    start = time.perf_counter()
    scenario = load_scenario(Path(args.scenario))
    if args.offline is not None:
        scenario = scenario.replace(output={"offline": args.offline})
    result, folder = run_plan(scenario, out=Path(args.out) if args.out else None,
                              progress=_progress(start))
    print(format_summary(result))
    print(f"outputs: {folder}")
    return 0


def build_parser() -> argparse.ArgumentParser:
    """The argument parser (exposed for documentation and tests)."""
    parser = argparse.ArgumentParser(prog="zoning", description="Propose school attendance zones.")
    parser.add_argument("-v", "--verbose", action="store_true", help="log details to stderr")
    sub = parser.add_subparsers(dest="command", required=True)
    plan = sub.add_parser("plan", help="solve a scenario and write maps and exports")
    plan.add_argument("scenario", help="scenario TOML file")
    plan.add_argument("--out", help="output folder (default: maps/<scenario name>)")
    web = plan.add_mutually_exclusive_group()
    web.add_argument("--offline", dest="offline", action="store_true", default=None,
                     help="map.html inlines Leaflet and every asset: no network needed (default,"
                          " or the scenario's `[output] offline`)")
    web.add_argument("--online", dest="offline", action="store_false",
                     help="map.html loads Leaflet from its CDN and shows the street basemap")
    plan.set_defaults(func=_cmd_plan)
    return parser


def main(argv: list[str] | None = None) -> int:
    """Entry point of the ``zoning`` command; returns the exit code."""
    args = build_parser().parse_args(argv)
    logging.basicConfig(level=logging.INFO if args.verbose else logging.WARNING,
                        format="%(levelname)s %(name)s: %(message)s")
    try:
        return int(args.func(args))
    except ZoningError as exc:
        print(f"zoning: error: {one_line(str(exc))}", file=sys.stderr)
        return exc.exit_code


def one_line(message: str) -> str:
    """A (possibly multi-line) error message as one line: ``header: first; second; ...``."""
    lines = [line.strip() for line in message.splitlines() if line.strip()]
    if not lines:
        return "(no message)"
    items = [line[2:] if line.startswith("- ") else line for line in lines[1:]]
    return " ".join([lines[0], "; ".join(items)]) if items else lines[0]


if __name__ == "__main__":
    raise SystemExit(main())
