"""Command-line interface: ``zoning plan | check | check-plan | compare | sweep``.

A thin front end: parse arguments, call :mod:`zoning.pipeline`, print a summary table, set the
exit code. A :class:`~zoning.errors.ZoningError` becomes one line on stderr and exit code 2 (3
when no plan was found in time); anything else keeps its traceback because it is a bug.

Exit codes: 0 success; 2 an error in the inputs, the scenario or the policy (the message says
which and the fix); 3 no plan found within the time limit; 4 ``check-plan`` found that the plan
breaks the policy (the report names every violation).
"""

from __future__ import annotations

import argparse
import logging
import sys
import time
from pathlib import Path

from .errors import ZoningError

#: Exit code of ``zoning check-plan`` when the plan breaks the policy (the report is printed).
EXIT_VIOLATIONS = 4
#: Default `zoning sweep --gap` (the sweep module's own default, stated here for the parser).
SWEEP_GAP = 1e-4


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
    lines.append("")
    lines.append(
        f"district: {d['students']:.0f} students, low-income {d['district_low_income_share']:.1%},"
        f" worst deviation {d['worst_deviation'] * 100:.1f} pts, dissimilarity {d['dissimilarity']:.3f},"
        f" mean travel {d['mean_travel_s'] / 60:.1f} min"
    )
    if m is None:
        lines.append(f"plan: {result.source} (checked, not solved)")
    else:
        gap = "n/a" if m.gap_ is None else f"{m.gap_:.2%}"
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


def _cmd_check(args: argparse.Namespace) -> int:
    from .pipeline import check_inputs, load_inputs
    from .scenario import load_scenario

    start = time.perf_counter()
    scenario = load_scenario(Path(args.scenario))
    inputs = load_inputs(scenario, progress=_progress(start))
    report = check_inputs(inputs)
    print(f"scenario `{scenario.name}`: inputs read, policy feasible at a glance (not solved)")
    print(f"  units {report['units']}, schools {report['schools']}, students {report['students']:.0f},"
          f" low-income {report['district_low_income_share']:.1%}")
    print(f"  seats {report['seats']:.0f}; students must fit in"
          f" {report['seats_min']:.0f}..{report['seats_max']:.0f} (seats x min/max utilization)")
    print(f"  travel times: {report['travel_time_method']}; longest trip to a nearest school"
          f" {report['max_travel_to_nearest_s'] / 60:.1f} min; {report['unreachable_pairs']} unit-school"
          " pairs with no route")
    if report["current_units"] is not None:
        print(f"  current boundaries give a school to {report['current_units']} of {report['units']} units")
    return 0


def format_check(result) -> str:  # noqa: ANN001 - PlanResult, imported lazily
    """The report of ``zoning check-plan``: per-school table, district metrics, violations."""
    d = result.district
    lines = [format_summary(result), ""]
    lines.append(f"integration: dissimilarity {d['dissimilarity']:.3f}, normalized exposure"
                 f" {d['normalized_exposure']:.3f}, {d['zones_outside_band']} zones outside the band")
    lines.append(f"capacity: {d['zones_over_capacity']} zones over, {d['zones_under_capacity']} under")
    lines.append(f"travel: max {d['max_travel_s'] / 60:.1f} min, {d['share_beyond_min']:.1%} of students"
                 f" beyond {d['beyond_min']:g} min, {d['unreachable_students']:.0f} students cannot reach"
                 " their school")
    if "moved_share" in d:
        lines.append(f"vs current: {d['moved_share']:.1%} of students change school, mean travel change"
                     f" {d['mean_travel_change_s'] / 60:+.2f} min")
    if "mean_polsby_popper" in d:
        lines.append(f"compactness: mean Polsby-Popper {d['mean_polsby_popper']:.3f},"
                     f" lowest {d['min_polsby_popper']:.3f}")
    if d["unassigned_units"]:
        lines.append(f"{d['unassigned_units']} units have no (known) school")
    if result.violations:
        lines.append(f"{len(result.violations)} violations of the policy:")
        lines.extend(f"  - {v}" for v in result.violations)
    else:
        lines.append("no violations: the plan meets the policy")
    return "\n".join(lines)


def _cmd_check_plan(args: argparse.Namespace) -> int:
    from .errors import InputError
    from .pipeline import evaluate_plan, load_inputs, read_plan, save_plan
    from .scenario import load_scenario

    if (args.plan is None) == (not args.current):
        raise InputError("check-plan needs either a PLAN file (CSV geoid,school_id or zone polygons)"
                         " or --current (the scenario's `[current]` boundaries), not both or neither")
    start = time.perf_counter()
    scenario = load_scenario(Path(args.scenario))
    inputs = load_inputs(scenario, progress=_progress(start))
    if args.current:
        if inputs.current is None:
            raise InputError(f"--current: scenario `{args.scenario}` has no current boundaries; set"
                             " `[current] path`")
        plan = inputs.current.reindex(inputs.units.index).astype(object).rename("school_id")
        source = f"current boundaries ({scenario.current.path})"
    else:
        plan = read_plan(Path(args.plan), inputs)
        source = str(args.plan)
    result = evaluate_plan(inputs, plan, source=source)
    print(format_check(result))
    if args.out:
        folder = save_plan(result, Path(args.out))
        print(f"outputs: {folder}")
    return EXIT_VIOLATIONS if result.violations else 0


def _cmd_compare(args: argparse.Namespace) -> int:
    from .pipeline import run_compare

    proposals, folder = run_compare([Path(f) for f in args.folders], out=Path(args.out), title=args.title)
    from .compare import change_matrix

    for _, r in change_matrix(proposals).iterrows():
        print(f"{r['from']} -> {r['to']}: {r['units_changed']} units, {r['students_changed']:.0f} students"
              f" ({r['students_share']:.1%}) change school")
    print(f"outputs: {folder / 'compare.html'}")
    return 0


def _cmd_sweep(args: argparse.Namespace) -> int:
    from .errors import ScenarioError
    from .sweep import parse_range, parse_weight, run_sweep

    if (args.band is None) == (args.weight is None):
        raise ScenarioError("sweep needs exactly one of --band START:STOP:STEP or"
                            " --weight NAME=START:STOP:STEP")
    if args.band is not None:
        parameter, values = "band", parse_range(args.band, option="--band")
    else:
        parameter, values = parse_weight(args.weight)
    start = time.perf_counter()
    frontier = run_sweep(Path(args.scenario), parameter, values, out=Path(args.out),
                         time_limit_s=args.time_limit, gap=args.gap, progress=_progress(start))
    print(f"{parameter:>12} {'status':<24} {'worst dev':>9} {'travel':>8} {'moved':>7}")
    for _, r in frontier.iterrows():
        gap = f" gap {r['gap']:.2%}" if r["status"] == "feasible" and r["gap"] == r["gap"] else ""
        dev = "" if r["worst_deviation"] != r["worst_deviation"] else f"{r['worst_deviation'] * 100:.1f}p"
        tt = "" if r["mean_travel_s"] != r["mean_travel_s"] else f"{r['mean_travel_s'] / 60:.2f}mn"
        mv = "" if r["moved_share"] != r["moved_share"] else f"{r['moved_share']:.1%}"
        print(f"{r[parameter]:>12g} {(r['status'] + gap)[:24]:<24} {dev:>9} {tt:>8} {mv:>7}")
    print(f"outputs: {Path(args.out) / 'frontier.csv'}")
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

    check = sub.add_parser("check", help="validate a scenario and its inputs without solving")
    check.add_argument("scenario", help="scenario TOML file")
    check.set_defaults(func=_cmd_check)

    cp = sub.add_parser("check-plan", help="check any plan against the policy and report its metrics",
                        description="Check a plan with the independent checker and report its metrics;"
                                    f" exit code {EXIT_VIOLATIONS} when it breaks the policy.")
    cp.add_argument("scenario", help="scenario TOML file")
    cp.add_argument("plan", nargs="?", help="CSV with columns geoid,school_id, or a file of zone polygons")
    cp.add_argument("--current", action="store_true", help="check the scenario's current boundaries")
    cp.add_argument("--out", help="also write the plan's output folder (maps, exports) here")
    cp.set_defaults(func=_cmd_check_plan)

    cmp_ = sub.add_parser("compare", help="one HTML page comparing several proposals")
    cmp_.add_argument("folders", nargs="+", help="output folders of plan, sweep or check-plan --out")
    cmp_.add_argument("--out", required=True, help="folder for compare.html and its tables")
    cmp_.add_argument("--title", default="Comparison of proposals", help="page title")
    cmp_.set_defaults(func=_cmd_compare)

    sw = sub.add_parser("sweep", help="solve over a range of band widths or weights: the trade-off frontier")
    sw.add_argument("scenario", help="scenario TOML file")
    sw.add_argument("--band", help="START:STOP:STEP, e.g. 0.20:0.04:0.03")
    sw.add_argument("--weight", help="NAME=START:STOP:STEP, NAME one of travel_weight, band_weight,"
                                     " moved_weight")
    sw.add_argument("--out", required=True, help="sweep folder: a subfolder per point, frontier.csv, chart")
    sw.add_argument("--time-limit", type=float, help="seconds per point (default: [solver] time_limit_s)")
    sw.add_argument("--gap", type=float, default=SWEEP_GAP,
                    help=f"relative gap per point (default {SWEEP_GAP:g}: proven optimal, so points compare"
                         " exactly; a point stopped by the time limit is `feasible` with its gap)")
    sw.set_defaults(func=_cmd_sweep)
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
