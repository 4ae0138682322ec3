"""The seeded synthetic approval budget the benchmark counts (shared with its tests)."""

from __future__ import annotations

import bisect
import random
from fractions import Fraction

from civicforum.tabulation.budget import ApprovalBallot, BudgetInstance, Project, make_instance


def synthetic_instance(
    voters: int = 100_000,
    projects: int = 200,
    *,
    seed: int = 20,
    share: int = 40,
    skew: float = 1.0,
    mean_length: float = 5.0,
) -> BudgetInstance:
    """District-like: costs 5,000-600,000, popularity ~ 1/rank^skew, 1-10 approvals a ballot.

    The budget is ``share`` whole currency units per voter (equalshares.net's add1 and
    pabutools' then start from the same share), well below the cost of all projects.
    """
    rng = random.Random(seed)
    ids = [f"P{j:03d}" for j in range(projects)]
    listed = [Project(pid, Fraction(rng.randrange(5_000, 600_000, 100))) for pid in ids]
    # Popularity falls off like 1/rank^0.8, shuffled so it is unrelated to cost.
    weights = [1 / (rank + 1) ** skew for rank in range(projects)]
    rng.shuffle(weights)
    cumulative = []
    total = 0.0
    for w in weights:
        total += w
        cumulative.append(total)
    ballots = []
    for _ in range(voters):
        length = min(projects, 1 + int(rng.expovariate(1 / mean_length)))
        chosen: set[str] = set()
        while len(chosen) < min(length, 10):
            chosen.add(ids[_pick(rng, cumulative, total)])
        ballots.append(ApprovalBallot(frozenset(chosen)))
    return make_instance(voters * share, listed, ballots)


def _pick(rng: random.Random, cumulative: list[float], total: float) -> int:
    return bisect.bisect_left(cumulative, rng.random() * total)
