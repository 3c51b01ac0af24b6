"""Benchmark of the zoning integer program against the straightforward formulation.

For each instance, the model (:class:`zoning.model.ZoningModel` with its default options) and, in
the same run, the baseline of ``bench/baseline.py`` (every pair under the travel cap,
single-commodity flow contiguity, hard band, no warm start) are solved with HiGHS and the same
time limit (the model's limit covers its whole solve; the baseline's covers HiGHS alone, not
building the PuLP model, whose time is still in its seconds; HiGHS checks its clock only between
steps, so the baseline runs in a child process that is stopped, as "no plan found in time", when
it is still running 30 s after its limit). A status is read from the solver,
never assumed: a time-limited incumbent is "feasible" with its gap. Every plan either returns is
recomputed by the independent checker (:func:`zoning.checks.check_plan`); the count of
violations is reported.

Instances (``bench/instances.py``): ``S`` (100 units x 8 schools), ``M`` (400 x 24), ``L``
(1,000 x 60), generated deterministically by :func:`zoning.synthetic.make_district` with the
income gradient calibrated on Cambridge (``BENCH_SEGREGATION``), with capacity 60-100 %, a
20-minute drive cap and a +/-10 point band; ``cambridge-0.10`` and
``cambridge-0.05`` (the real Cambridge district, band +/-10 and +/-5 points, capacity 60-100 %,
20-minute cap), skipped with the reason when ``../shared/data`` is absent. Any generated size
can be named as ``syn-<units>x<schools>-s<seed>[-g<segregation>]`` (e.g. ``syn-30x3-s1``; the
generator's own gradient, twice as steep, is ``-g1``: ``syn-400x24-s12-g1`` is M with it).

Usage::

    python bench/solve.py [--only S,cambridge-0.10] [--time-limit 120] [--no-baseline] [--repeats 3]

A solve (the model's or the baseline's) shorter than ``REPEAT_BELOW_S`` (10 s) runs ``--repeats``
times in all, and the run of median time is reported: on a shared machine a run of a few tenths of
a second varies by half of itself, which decides a 5x ratio.

Progress lines go to standard output; HiGHS's banner is sent to standard error. The last line of
standard output is one JSON object::

    {"instances": [{"name": .., "units": .., "schools": .., "delta": .., "status": .., "gap": ..,
      "seconds": .., "baseline_status": .., "baseline_gap": .., "baseline_seconds": .., ...}]}

Besides the fields above each entry has ``objective``, ``bound``, ``rounds``, ``violations``,
``baseline_objective``, ``baseline_bound``, ``baseline_violations``, ``faster_5x`` (true when the
model is at least 5 times faster than the baseline to the same gap or the baseline does not reach
the model's gap within its time limit, false otherwise, null without a baseline), and ``runs`` and
``baseline_runs``, the number of runs behind each median (null without a baseline).
"""

from __future__ import annotations

import argparse
import contextlib
import dataclasses
import json
import math
import os
import sys
import time
from collections.abc import Callable, Iterator, Sequence
from typing import Any, TextIO

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
if ROOT not in sys.path:
    sys.path.insert(0, ROOT)

from bench.baseline import OVERRUN_GRACE_S, solve_baseline_bounded  # noqa: E402
from bench.instances import INSTANCES, Instance, InstanceUnavailable, build_instance  # noqa: E402
from zoning.checks import check_plan  # noqa: E402
from zoning.errors import InfeasibleError, NoPlanInTimeError, ZoningError  # noqa: E402
from zoning.model import SolveOptions, ZoningModel, allowed_pairs  # noqa: E402

Say = Callable[[str], None]

#: Gaps within this of each other count as "the same gap" (HiGHS's default relative tolerance).
SAME_GAP = 1e-4

#: A solve (the model's or the baseline's) that takes less than this is run again, up to
#: ``--repeats`` times in all, and the run of median time is reported: a run of a few tenths of a
#: second varies by half of itself on a shared machine.
REPEAT_BELOW_S = 10.0


def _round(value: float | None, digits: int) -> float | None:
    if value is None or not math.isfinite(value):
        return None
    return round(float(value), digits)


def run_model(instance: Instance, *, time_limit_s: float, say: Say) -> dict[str, Any]:
    """Solve ``instance`` with the model; status, gap, objective, bound, seconds and checker result."""
    t0 = time.perf_counter()
    model: ZoningModel | None = None
    failed: str | None = None
    try:
        model = ZoningModel(instance.problem, instance.policy, SolveOptions(time_limit_s=time_limit_s))
        model.solve(progress=lambda text: say(f"    model: {text}"))
    except InfeasibleError as exc:
        failed, reason = "infeasible", str(exc)
    except NoPlanInTimeError as exc:
        failed, reason = "no plan found in time", str(exc)
    if failed is not None or model is None or model.plan_ is None:
        status = failed or (model.status_ if model is not None else "no plan found in time")
        return {"status": status, "gap": None, "objective": None,
                "bound": None if model is None else model.bound_, "seconds": time.perf_counter() - t0,
                "rounds": 0 if model is None else model.rounds_, "violations": None,
                "reason": reason if failed else "the model returned no plan"}
    seconds = time.perf_counter() - t0
    violations = check_plan(model.plan_, instance.problem, instance.policy)
    for v in violations[:5]:
        say(f"    model plan fails the checker: {v}")
    return {"status": model.status_, "gap": model.gap_, "objective": model.objective_,
            "bound": model.bound_, "seconds": seconds, "rounds": model.rounds_,
            "violations": len(violations)}


def run_baseline(instance: Instance, *, time_limit_s: float, say: Say) -> dict[str, Any]:
    """Solve ``instance`` with the straightforward formulation (``bench/baseline.py``), in a child
    process stopped when HiGHS runs more than ``OVERRUN_GRACE_S`` past its time limit."""
    result = solve_baseline_bounded(instance.problem, instance.policy, time_limit_s=time_limit_s)
    if result.stopped:
        say(f"    baseline: HiGHS was still running {OVERRUN_GRACE_S:g} s after its time limit"
            f" (model built in {result.build_seconds:.1f} s); stopped, no plan")
        return {"status": result.status, "gap": None, "objective": None, "bound": None,
                "seconds": result.seconds, "violations": None}
    violations = None
    if result.plan is not None:
        found = check_plan(result.plan, instance.problem, instance.policy)
        violations = len(found)
        for v in found[:5]:
            say(f"    baseline plan fails the checker: {v}")
    say(f"    baseline: {result.variables} variables, {result.constraints} constraints,"
        f" built in {result.build_seconds:.1f} s")
    return {"status": result.status, "gap": result.gap, "objective": result.objective,
            "bound": result.bound, "seconds": result.seconds, "violations": violations}


def median_run(run: Callable[[int], dict[str, Any]], repeats: int, say: Say, who: str) -> dict[str, Any]:
    """``run(0)``, and when it took less than :data:`REPEAT_BELOW_S`, ``run(1)`` ... up to
    ``repeats`` runs in all: the result of the run of median time (the slower of the middle two
    for an even count), with ``runs``, the number of runs, added."""
    results = [run(0)]
    while len(results) < repeats and results[0]["seconds"] < REPEAT_BELOW_S:
        results.append(run(len(results)))
    if len(results) > 1:
        times = ", ".join(f"{r['seconds']:.2f}" for r in results)
        say(f"    {who}: {len(results)} runs of {times} s; the median is reported")
    ranked = sorted(results, key=lambda r: r["seconds"])
    return {**ranked[len(ranked) // 2], "runs": len(results)}


def faster_5x(ours: dict[str, Any], base: dict[str, Any] | None) -> bool | None:
    """Whether the model meets the issue's bar against the baseline on one instance.

    True when the model has a plan and either the baseline does not reach the model's gap (no plan,
    or a larger gap) or it does but took at least 5 times as long. None without a baseline.
    """
    if base is None:
        return None
    if ours["status"] == "infeasible":
        return base["status"] == "infeasible" and base["seconds"] >= 5 * ours["seconds"]
    if ours["gap"] is None:
        return False
    if base["gap"] is None or base["gap"] > ours["gap"] + SAME_GAP:
        return True
    return base["seconds"] >= 5 * ours["seconds"]


def pair_counts(instance: Instance) -> tuple[int, int]:
    """Pairs the model gives a variable, and pairs linked to their school by a path of allowed
    units whatever its students (the count before the seats rule of :func:`allowed_pairs`)."""
    problem, policy = instance.problem, instance.policy
    kept = len(allowed_pairs(problem, policy))
    connectable = len(allowed_pairs(problem, dataclasses.replace(policy, max_utilization=math.inf)))
    return kept, connectable


def _gap_text(status: str, gap: float | None) -> str:
    return status if gap is None else f"{status}, gap {gap:.2%}"


def bench_instance(instance: Instance, *, time_limit_s: float, baseline: bool, say: Say,
                   repeats: int = 1) -> dict[str, Any]:
    """Run the model (and the baseline) on one instance; the instance's JSON entry. A solve
    shorter than :data:`REPEAT_BELOW_S` runs ``repeats`` times in all (:func:`median_run`)."""
    say(f"[{instance.name}] {instance.description}")
    kept, connectable = pair_counts(instance)
    say(f"    model: {kept} unit-school pairs get a variable (of {connectable} linked to their school"
        " through allowed units; the rest only through more students than the school's seats)")

    def quiet(text: str) -> None:
        pass  # the progress of a repeated run: the first run's is enough

    ours = median_run(lambda n: run_model(instance, time_limit_s=time_limit_s, say=quiet if n else say),
                      repeats, say, "model")
    objective = "" if ours["objective"] is None else f", objective {ours['objective']:.1f}"
    say(f"[{instance.name}] model: {_gap_text(ours['status'], ours['gap'])}{objective},"
        f" {ours['seconds']:.2f} s, {ours['rounds']} rounds, checker violations: {ours['violations']}")
    if "reason" in ours:
        say(f"[{instance.name}] model: {ours['reason']}")
    base = None
    if baseline:
        base = median_run(
            lambda n: run_baseline(instance, time_limit_s=time_limit_s, say=quiet if n else say),
            repeats, say, "baseline")
        objective = "" if base["objective"] is None else f", objective {base['objective']:.1f}"
        say(f"[{instance.name}] baseline: {_gap_text(base['status'], base['gap'])}{objective},"
            f" {base['seconds']:.2f} s, checker violations: {base['violations']}")
    verdict = faster_5x(ours, base)
    if verdict is not None:
        say(f"[{instance.name}] at least 5x faster or baseline short of the same gap: {verdict}")
    return {
        "name": instance.name,
        "units": instance.units,
        "schools": instance.schools,
        "delta": instance.policy.band,
        "status": ours["status"],
        "gap": _round(ours["gap"], 6),
        "seconds": _round(ours["seconds"], 2),
        "baseline_status": None if base is None else base["status"],
        "baseline_gap": None if base is None else _round(base["gap"], 6),
        "baseline_seconds": None if base is None else _round(base["seconds"], 2),
        "objective": _round(ours["objective"], 2),
        "bound": _round(ours["bound"], 2),
        "rounds": ours["rounds"],
        "violations": ours["violations"],
        "baseline_objective": None if base is None else _round(base["objective"], 2),
        "baseline_bound": None if base is None else _round(base["bound"], 2),
        "baseline_violations": None if base is None else base["violations"],
        "faster_5x": verdict,
        "runs": ours["runs"],
        "baseline_runs": None if base is None else base["runs"],
    }


@contextlib.contextmanager
def solver_output_to_stderr() -> Iterator[TextIO]:
    """Send file descriptor 1 to standard error (HiGHS prints its banner there from C++).

    Yields a line-buffered writer on the real standard output for the benchmark's own lines.
    """
    sys.stdout.flush()
    saved = os.dup(1)
    out = os.fdopen(os.dup(saved), "w", buffering=1)
    os.dup2(2, 1)
    try:
        yield out
    finally:
        sys.stdout.flush()
        out.flush()
        os.dup2(saved, 1)
        os.close(saved)
        out.close()


def parse_args(argv: Sequence[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--only", help=f"comma-separated instance names (default: {','.join(INSTANCES)};"
                        " also syn-<units>x<schools>-s<seed>[-g<segregation>])")
    parser.add_argument("--time-limit", type=float, default=120.0, metavar="S",
                        help="time limit in seconds for the model and for the baseline (default 120)")
    parser.add_argument("--no-baseline", action="store_true", help="solve with the model only")
    parser.add_argument("--repeats", type=int, default=3, metavar="N",
                        help=f"runs of a solve shorter than {REPEAT_BELOW_S:g} s, the median reported"
                        " (default 3)")
    args = parser.parse_args(argv)
    if args.time_limit <= 0:
        parser.error(f"--time-limit must be positive; got {args.time_limit:g}")
    if args.repeats < 1:
        parser.error(f"--repeats must be at least 1; got {args.repeats}")
    return args


def main(argv: Sequence[str] | None = None) -> int:
    args = parse_args(argv)
    names = [n.strip() for n in args.only.split(",") if n.strip()] if args.only else list(INSTANCES)
    entries: list[dict[str, Any]] = []
    with solver_output_to_stderr() as out:
        def say(text: str) -> None:
            print(text, file=out, flush=True)

        for name in names:
            t0 = time.perf_counter()
            try:
                instance = build_instance(name)
            except InstanceUnavailable as exc:
                say(f"[{name}] skipped: {exc}")
                continue
            except ZoningError as exc:
                print(f"error: {exc}", file=sys.stderr)
                return exc.exit_code
            say(f"[{name}] built in {time.perf_counter() - t0:.1f} s")
            entries.append(bench_instance(instance, time_limit_s=args.time_limit,
                                          baseline=not args.no_baseline, say=say, repeats=args.repeats))
    print(json.dumps({"instances": entries}), flush=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
