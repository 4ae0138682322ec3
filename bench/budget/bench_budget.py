"""Participatory-budgeting allocation speed: civicforum against pabutools, same instance, same run.

    flock /tmp/civicforum-bench.lock .venv/bin/python bench/budget/bench_budget.py

Counts a seeded synthetic approval budget (default: 100,000 voters, 200 projects, a budget of
40 currency units per voter; ``instance.py``) with ``greedy`` and ``equalshares/add1``, then
with pabutools (the reference, from the test extra) on the same instance, and checks that the
selections agree. Prints wall and CPU time (the machine is shared) and asserts nothing.
pabutools' add1 takes minutes at the default size (128 s of CPU here): ``--pabutools greedy`` or
``none`` leaves it out.
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
sys.path.insert(0, str(HERE.parents[1] / "tests" / "unit" / "tabulation"))

from instance import synthetic_instance  # noqa: E402

from civicforum.tabulation.budget import BudgetInstance, allocate  # noqa: E402


def timed(fn: Callable[[], Any]) -> tuple[Any, float, float]:
    """(result, wall seconds, CPU seconds of this process)."""
    wall, cpu = time.perf_counter(), time.process_time()
    out = fn()
    return out, time.perf_counter() - wall, time.process_time() - cpu


def ours(
    instance: BudgetInstance, rule: str, repeat: int
) -> tuple[set[str], list[float], list[float], Any]:
    walls, cpus = [], []
    result = None
    for _ in range(repeat):
        result, wall, cpu = timed(lambda: allocate(instance, rule))
        walls.append(wall)
        cpus.append(cpu)
    assert result is not None
    return set(result.selected), walls, cpus, result


def theirs(instance: BudgetInstance, rule: str) -> tuple[set[str], float, float, float]:
    from budget_reference import tie_rule
    from pabutools.election import ApprovalBallot, ApprovalProfile, Cost_Sat, Instance, Project
    from pabutools.rules import greedy_utilitarian_welfare, method_of_equal_shares

    start = time.perf_counter()
    projects = {p.id: Project(p.id, int(p.cost)) for p in instance.projects}
    pinst = Instance(projects.values(), budget_limit=int(instance.budget))
    profile = ApprovalProfile(
        [
            ApprovalBallot([projects[p] for p in b.projects])  # type: ignore[union-attr]
            for b in instance.ballots
            for _ in range(b.count)
        ],
        instance=pinst,
    ).as_multiprofile()  # identical ballots once: pabutools' fastest input
    build = time.perf_counter() - start
    ties = tie_rule(instance)
    if rule == "greedy":
        out, wall, cpu = timed(
            lambda: greedy_utilitarian_welfare(
                pinst, profile, sat_class=Cost_Sat, tie_breaking=ties
            )
        )
    else:
        out, wall, cpu = timed(
            lambda: method_of_equal_shares(
                pinst, profile, sat_class=Cost_Sat, tie_breaking=ties, voter_budget_increment=1
            )
        )
    return {p.name for p in out}, wall, cpu, build


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--voters", type=int, default=100_000)
    parser.add_argument("--projects", type=int, default=200)
    parser.add_argument("--share", type=int, default=40, help="budget per voter (whole units)")
    parser.add_argument("--skew", type=float, default=1.0, help="popularity ~ 1/rank^skew")
    parser.add_argument("--mean-length", type=float, default=5.0, help="approvals per ballot")
    parser.add_argument("--seed", type=int, default=20)
    parser.add_argument("--repeat", type=int, default=3, help="runs of each civicforum rule")
    parser.add_argument(
        "--pabutools", choices=("all", "greedy", "none"), default="all", help="reference runs"
    )
    args = parser.parse_args()
    print(f"load average before: {os.getloadavg()[0]:.2f}; {os.cpu_count()} CPUs")
    instance, wall, _ = timed(
        lambda: synthetic_instance(
            args.voters,
            args.projects,
            seed=args.seed,
            share=args.share,
            skew=args.skew,
            mean_length=args.mean_length,
        )
    )
    approvals = sum(len(b.projects) * b.count for b in instance.ballots)  # type: ignore[union-attr]
    print(
        f"instance: {instance.voters:,} voters, {len(instance.projects)} projects,"
        f" {approvals:,} approvals, budget {instance.budget} ({args.share} per voter);"
        f" generated in {wall:.1f} s"
    )
    targets = {"greedy": 0.2, "equalshares/add1": 2.0}
    for rule, target in targets.items():
        selected, walls, cpus, result = ours(instance, rule, args.repeat)
        extra = ""
        if rule != "greedy":
            extra = (
                f"; share {result.initial_share} -> {result.share}"
                f" ({result.add1_steps} add1 steps, {result.add1_steps + 2} equal-shares runs)"
            )
        print(
            f"civicforum {rule:17} wall {min(walls):.3f} s (median {statistics.median(walls):.3f}),"
            f" CPU {min(cpus):.3f} s; target {target} s; {len(selected)} funded,"
            f" spent {result.spent}{extra}"
        )
        if args.pabutools == "none" or (args.pabutools == "greedy" and rule != "greedy"):
            continue
        their, t_wall, t_cpu, build = theirs(instance, rule)
        same = "same selection" if their == selected else f"DIFFERENT: {sorted(their ^ selected)}"
        print(
            f"pabutools  {rule:17} wall {t_wall:.3f} s, CPU {t_cpu:.3f} s (profile built in"
            f" {build:.1f} s, not counted); civicforum {t_cpu / min(cpus):.0f}x faster"
            f" by CPU (target 20x); {same}"
        )
    print(f"load average after: {os.getloadavg()[0]:.2f}")


if __name__ == "__main__":
    main()
