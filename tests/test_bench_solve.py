"""The solver benchmark's machinery: instances, the straightforward baseline, the report.

Fast: tiny generated districts and hand-made instances only. The timed runs are
``python bench/solve.py`` itself, not tests.
"""

from __future__ import annotations

import dataclasses
import json
import subprocess
import sys
import time
from pathlib import Path

import pandas as pd
import pytest

from bench import instances, solve
from bench.baseline import build_baseline, solve_baseline
from bench.solve import faster_5x, main
from zoning.checks import check_plan
from zoning.errors import InputError
from zoning.model import Policy, Problem, ZoningModel

ROOT = Path(__file__).resolve().parents[1]
KEYS = ["name", "units", "schools", "delta", "status", "gap", "seconds",
        "baseline_status", "baseline_gap", "baseline_seconds"]


def line_problem() -> Problem:
    """Four units in a row a-b-c-d, 10 students each; school A stands in a, school B in d.

    Minutes: b is 5 from A and 4 from B, c is 3 from A and 5 from B. Without contiguity the
    cheapest plan sends b to B and c to A (both zones split); the cheapest contiguous plan is
    A = {a, b, c}, B = {d}: 10 x (5 + 3) = 80 student-minutes.
    """
    units = ["a", "b", "c", "d"]
    minutes = pd.DataFrame({"A": [0, 5, 3, 9], "B": [9, 4, 5, 0]}, index=units, dtype=float)
    return Problem(
        travel_time_s=minutes * 60.0,
        students=pd.Series(10.0, index=units),
        low_income=pd.Series([5.0, 5.0, 5.0, 5.0], index=units),
        capacity=pd.Series({"A": 100.0, "B": 100.0}),
        neighbours={"a": ["b"], "b": ["a", "c"], "c": ["b", "d"], "d": ["c"]},
        home_unit=pd.Series({"A": "a", "B": "d"}),
    )


def test_baseline_known_answer_needs_contiguity() -> None:
    problem = line_problem()
    policy = Policy(min_utilization=0.0, max_utilization=1.0, band=0.10, max_travel_s=None)
    result = solve_baseline(problem, policy, time_limit_s=10)
    assert result.status == "optimal"
    assert result.plan is not None
    assert result.plan.to_dict() == {"a": "A", "b": "A", "c": "A", "d": "B"}
    assert result.objective == pytest.approx(80.0)
    assert result.gap == pytest.approx(0.0, abs=1e-6)
    assert check_plan(result.plan, problem, policy) == []


def test_baseline_without_contiguity_splits_zones() -> None:
    problem = line_problem()
    policy = Policy(band=None, contiguity=False)
    result = solve_baseline(problem, policy, time_limit_s=10)
    assert result.status == "optimal"
    assert result.plan is not None
    assert result.plan.to_dict() == {"a": "A", "b": "B", "c": "A", "d": "B"}
    assert result.objective == pytest.approx(70.0)


def test_baseline_travel_cap_and_capacity() -> None:
    # a 4-minute cap leaves b only B and c only A: the contiguous plans all break it
    problem = line_problem()
    capped = Policy(band=None, max_travel_s=4 * 60.0)
    assert solve_baseline(problem, capped, time_limit_s=10).status == "infeasible"
    # B's 20 seats and a 100 % floor force exactly two units into each zone
    tight = Problem(**{**problem.__dict__, "capacity": pd.Series({"A": 20.0, "B": 20.0})})
    full = Policy(min_utilization=1.0, max_utilization=1.0, band=None)
    result = solve_baseline(tight, full, time_limit_s=10)
    assert result.status == "optimal"
    assert result.plan is not None and result.plan.to_dict() == {"a": "A", "b": "A", "c": "B", "d": "B"}


def test_baseline_infeasible_band() -> None:
    # two units, each a school's own unit: shares 0.8 and 0.2 around 0.5 cannot meet +/-10 points
    units = ["u", "v"]
    problem = Problem(
        travel_time_s=pd.DataFrame({"A": [0.0, 60.0], "B": [60.0, 0.0]}, index=units),
        students=pd.Series(10.0, index=units),
        low_income=pd.Series([8.0, 2.0], index=units),
        capacity=pd.Series({"A": 20.0, "B": 20.0}),
        neighbours={"u": ["v"], "v": ["u"]},
        home_unit=pd.Series({"A": "u", "B": "v"}),
    )
    result = solve_baseline(problem, Policy(band=0.10), time_limit_s=10)
    assert result.status == "infeasible"
    assert result.plan is None and result.gap is None


def test_baseline_has_variables_only_under_the_cap() -> None:
    problem = line_problem()
    prob, x = build_baseline(problem, Policy(band=0.10, max_travel_s=5 * 60.0))
    # a-B and d-A are 9 minutes; the home units keep their own school whatever the cap
    assert set(x) == {("a", "A"), ("b", "A"), ("b", "B"), ("c", "A"), ("c", "B"), ("d", "B")}
    assert any(name.startswith("flow_") for name in prob.constraints)


@pytest.fixture(scope="module")
def small() -> instances.Instance:
    return instances.build_instance("syn-60x5-s3")


def test_time_limited_baseline_is_never_optimal(small: instances.Instance) -> None:
    # this instance takes the baseline far longer than 0.3 s to prove (about 20 s here)
    result = solve_baseline(small.problem, small.policy, time_limit_s=0.3)
    assert result.status in {"feasible", "no plan found in time"}
    if result.status == "feasible":
        assert result.gap is not None and result.gap > 1e-4
        assert result.plan is not None and check_plan(result.plan, small.problem, small.policy) == []
    else:
        assert result.plan is None and result.gap is None


def test_synthetic_instance_is_built_like_a_district(small: instances.Instance) -> None:
    p = small.problem
    assert (small.units, small.schools) == (60, 5)
    assert p.travel_time_s.notna().all().all() and (p.travel_time_s.to_numpy() >= 0).all()
    assert p.home_unit.is_unique and set(p.home_unit) <= set(p.units)
    assert all(u in p.neighbours[w] for u, ws in p.neighbours.items() for w in ws)
    assert small.policy.band == 0.10 and small.policy.max_travel_s == 1200.0
    again = instances.build_instance("syn-60x5-s3").problem
    pd.testing.assert_frame_equal(p.travel_time_s, again.travel_time_s)
    assert p.neighbours == again.neighbours


def test_named_instances() -> None:
    assert instances.INSTANCES == ("S", "M", "L", "cambridge-0.10", "cambridge-0.05")
    sizes = {k: (v.n_units, v.n_schools) for k, v in instances.SYNTHETIC.items()}
    assert sizes == {"S": (100, 8), "M": (400, 24), "L": (1000, 60)}
    assert instances.parse_synthetic("syn-30x3-s1") == instances.SyntheticSpec(30, 3, 1)
    assert instances.SyntheticSpec(30, 3, 1).segregation == instances.BENCH_SEGREGATION == 0.5
    steep = instances.SyntheticSpec(400, 24, 12, segregation=1.0)
    assert instances.parse_synthetic("syn-400x24-s12-g1") == steep
    assert instances.parse_synthetic("syn-30x3-s1-g0.25").segregation == 0.25
    assert instances.parse_synthetic("S") is None


def test_unknown_instance_is_named() -> None:
    with pytest.raises(InputError, match=r"unknown instance 'XL'; expected one of S, M, L"):
        instances.build_instance("XL")
    with pytest.raises(InputError, match=r"instance 'syn-30x9-s1'.*n_schools. must be at most"):
        instances.build_instance("syn-30x9-s1")


def test_main_exits_2_on_unknown_instance(capsys: pytest.CaptureFixture) -> None:
    assert main(["--only", "nowhere", "--no-baseline"]) == 2
    assert "unknown instance 'nowhere'" in capsys.readouterr().err


def test_bad_time_limit() -> None:
    with pytest.raises(SystemExit) as info:
        main(["--time-limit", "0"])
    assert info.value.code == 2


def test_bad_repeats(capsys: pytest.CaptureFixture) -> None:
    with pytest.raises(SystemExit) as info:
        main(["--repeats", "0"])
    assert info.value.code == 2
    assert "--repeats must be at least 1; got 0" in capsys.readouterr().err


def test_cambridge_skipped_without_data(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setattr(instances, "SHARED_DATA", tmp_path / "absent")
    with pytest.raises(instances.InstanceUnavailable, match=r"cambridge-0.05: real data not available"):
        instances.build_instance("cambridge-0.05")


@pytest.mark.shared_data
def test_cambridge_instance(shared_data: Path) -> None:
    inst = instances.build_instance("cambridge-0.05")
    assert (inst.units, inst.schools) == (88, 11)
    pol = inst.policy
    assert (pol.band, pol.band_mode, pol.min_utilization, pol.max_utilization) == (0.05, "hard", 0.6, 1.0)
    assert pol.max_travel_s == 1200.0 and pol.contiguity


def test_faster_5x() -> None:
    ours = {"status": "optimal", "gap": 0.0, "seconds": 1.0}
    assert faster_5x(ours, None) is None
    assert faster_5x(ours, {"status": "optimal", "gap": 0.0, "seconds": 5.0}) is True
    assert faster_5x(ours, {"status": "optimal", "gap": 0.0, "seconds": 4.9}) is False
    assert faster_5x(ours, {"status": "feasible", "gap": 0.03, "seconds": 2.0}) is True
    assert faster_5x(ours, {"status": "no plan found in time", "gap": None, "seconds": 2.0}) is True
    lost = {"status": "no plan found in time", "gap": None, "seconds": 120.0}
    assert faster_5x(lost, {"status": "feasible", "gap": 0.2, "seconds": 120.0}) is False


def test_benchmark_script_end_to_end() -> None:
    run = subprocess.run(
        [sys.executable, str(ROOT / "bench" / "solve.py"), "--only", "syn-30x3-s1", "--time-limit", "20"],
        capture_output=True, text=True, cwd=ROOT, timeout=300, check=False,
    )
    assert run.returncode == 0, run.stderr
    lines = run.stdout.strip().splitlines()
    assert not any(line.startswith("Running HiGHS") for line in lines)
    assert any(line.startswith("[syn-30x3-s1] model:") for line in lines)
    report = json.loads(lines[-1])
    (entry,) = report["instances"]
    assert list(entry)[: len(KEYS)] == KEYS
    assert (entry["name"], entry["units"], entry["schools"], entry["delta"]) == ("syn-30x3-s1", 30, 3, 0.1)
    # a district this small is solved to optimality by both, to the same objective
    assert entry["status"] == entry["baseline_status"] == "optimal"
    assert entry["objective"] == pytest.approx(entry["baseline_objective"], rel=1e-4)
    assert entry["violations"] == entry["baseline_violations"] == 0
    assert entry["seconds"] > 0 and entry["baseline_seconds"] > 0
    # solves this short are run three times each, the median reported
    assert entry["runs"] == entry["baseline_runs"] == 3
    assert any(line.startswith("    model: 3 runs of ") for line in lines)
    kept, connectable = solve.pair_counts(instances.build_instance("syn-30x3-s1"))
    assert f"    model: {kept} unit-school pairs get a variable (of {connectable} linked" in run.stdout


def test_pair_counts_before_and_after_the_seats_rule(small: instances.Instance) -> None:
    kept, connectable = solve.pair_counts(small)
    assert kept == len(ZoningModel(small.problem, small.policy).pairs)
    # with a tenth of the seats every school keeps fewer pairs; the count before the rule stays
    tight = dataclasses.replace(small, problem=dataclasses.replace(small.problem,
                                                                   capacity=small.problem.capacity / 10))
    fewer, same = solve.pair_counts(tight)
    assert same == connectable and fewer < kept


def _sleeping_solve(problem, policy, *, time_limit_s, on_built=None):  # noqa: ANN001, ANN202
    """A stand-in for a HiGHS run that ignores its time limit (for the bounded runner)."""
    import time as _time

    if on_built is not None:
        on_built(0.25)
    _time.sleep(time_limit_s + 60)
    raise AssertionError("the runner should have stopped this child")


def test_a_baseline_overrunning_its_limit_is_stopped_and_counts_as_no_plan() -> None:
    from bench.baseline import solve_baseline_bounded

    problem = line_problem()
    t0 = time.perf_counter()
    result = solve_baseline_bounded(problem, Policy(band=None), time_limit_s=1.0,
                                    target=_sleeping_solve, grace_s=1.0)
    assert result.stopped and result.status == "no plan found in time"
    assert result.plan is None and result.gap is None
    assert result.build_seconds == 0.25
    assert 2.0 <= result.seconds < 30 and time.perf_counter() - t0 < 30


def test_a_bounded_baseline_returns_the_child_result() -> None:
    from bench.baseline import solve_baseline_bounded

    problem = line_problem()
    inline = solve_baseline(problem, Policy(band=None), time_limit_s=10)
    bounded = solve_baseline_bounded(problem, Policy(band=None), time_limit_s=10)
    assert not bounded.stopped
    assert (bounded.status, bounded.objective) == (inline.status, inline.objective)
    assert bounded.plan.equals(inline.plan)


def _failing_solve(problem, policy, *, time_limit_s, on_built=None):  # noqa: ANN001, ANN202
    raise ValueError("bad flow row")


def _dying_solve(problem, policy, *, time_limit_s, on_built=None):  # noqa: ANN001, ANN202
    import os

    os._exit(7)


def test_a_failing_or_dying_baseline_is_an_error_not_a_status() -> None:
    from bench.baseline import solve_baseline_bounded

    problem = line_problem()
    with pytest.raises(RuntimeError, match=r"(?s)failed in its process.*ValueError: bad flow row"):
        solve_baseline_bounded(problem, Policy(band=None), time_limit_s=5, target=_failing_solve)
    t0 = time.perf_counter()
    with pytest.raises(RuntimeError, match=r"died \(exit code 7\) without a result"):
        solve_baseline_bounded(problem, Policy(band=None), time_limit_s=5, target=_dying_solve)
    assert time.perf_counter() - t0 < 30


def test_a_short_solve_is_run_again_and_the_median_run_reported() -> None:
    from bench.solve import median_run

    said: list[str] = []
    times = iter([0.4, 0.9, 0.3])
    runs: list[int] = []

    def run(n: int) -> dict:
        runs.append(n)
        return {"seconds": next(times), "status": f"run {n}"}

    # three runs of 0.4, 0.9 and 0.3 s: the median is the first
    assert median_run(run, 3, said.append, "model") == {"seconds": 0.4, "status": "run 0", "runs": 3}
    assert runs == [0, 1, 2]
    assert said == ["    model: 3 runs of 0.40, 0.90, 0.30 s; the median is reported"]
    # a long solve runs once
    said.clear()
    assert median_run(lambda n: {"seconds": 12.0, "status": "long"}, 3, said.append, "baseline") == {
        "seconds": 12.0, "status": "long", "runs": 1}
    assert said == []
    # two runs: the slower of the two
    times = iter([0.2, 0.5])
    assert median_run(run, 2, said.append, "model")["seconds"] == 0.5
