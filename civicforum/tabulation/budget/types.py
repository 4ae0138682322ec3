"""Plain values for participatory budgeting: projects, ballots, ballot rules and instances.

Amounts (costs, the budget, cumulative points) are :class:`fractions.Fraction` so that every
rule computes exactly; :func:`exact` turns an ``int``, a decimal string or a ``Decimal`` into one
without passing through binary floating point.

Four ballot kinds follow Pabulib's vote types (pabulib.org/format):

* :class:`ApprovalBallot` — a set of projects (``approval``; also ``choose-1`` with one project);
* :class:`CumulativeBallot` — points given to projects (``cumulative``);
* :class:`OrdinalBallot` — a ranking, best first (``ordinal``).

Each ballot carries ``count``, the number of voters who cast exactly it, so identical ballots
are stored once. A ballot's *weight* for a project (:meth:`weight`) is what every rule counts:
1 per approved project, the points given, or the Borda score of the position in a ranking
(the ranking's length for the first project, down to 1 for the last, as Pabulib scores
ordinal ballots without explicit points).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field, replace
from decimal import Decimal, InvalidOperation
from fractions import Fraction
from typing import Literal

from civicforum.tabulation.errors import InvalidElectionError

VoteType = Literal["approval", "choose-1", "cumulative", "ordinal"]
VOTE_TYPES: tuple[VoteType, ...] = ("approval", "choose-1", "cumulative", "ordinal")
#: The amount-valued ballot limits of :class:`BallotRules` (Pabulib META keys).
AMOUNT_LIMITS = (
    "min_sum_cost",
    "max_sum_cost",
    "min_points",
    "max_points",
    "min_sum_points",
    "max_sum_points",
)


def exact(value: int | str | Decimal | Fraction, what: str = "amount") -> Fraction:
    """An exact amount from an int, a Fraction, a Decimal or a decimal string ("1734355.54")."""
    if isinstance(value, bool):
        raise InvalidElectionError(f"{what} must be a number, not {value!r}")
    if isinstance(value, int | Fraction):
        return Fraction(value)
    if isinstance(value, Decimal):
        if not value.is_finite():
            raise InvalidElectionError(f"{what} must be finite, not {value}")
        return Fraction(value)
    if isinstance(value, str):
        try:
            parsed = Decimal(value.strip())
        except InvalidOperation:
            raise InvalidElectionError(f"{what} is not a number: {value!r}") from None
        if not parsed.is_finite():
            raise InvalidElectionError(f"{what} must be finite, not {value!r}")
        return Fraction(parsed)
    raise InvalidElectionError(f"{what} must be an int, Decimal, Fraction or decimal string")


@dataclass(frozen=True, slots=True)
class Project:
    """A project on the ballot: its id (unique), cost (> 0) and optional display name."""

    id: str
    cost: Fraction
    name: str = ""

    def __post_init__(self) -> None:
        if not isinstance(self.id, str) or not self.id:
            raise InvalidElectionError("a project id must be a non-empty string")
        if not isinstance(self.cost, Fraction):
            object.__setattr__(self, "cost", exact(self.cost, f"cost of project {self.id}"))
        if self.cost <= 0:
            # Every rule divides by the cost; Pabulib also forbids free projects.
            raise InvalidElectionError(f"project {self.id}: cost must be positive")


@dataclass(frozen=True, slots=True)
class ApprovalBallot:
    """Approved projects (unordered); ``count`` voters cast this exact ballot."""

    projects: frozenset[str]
    count: int = 1

    def weights(self) -> dict[str, Fraction]:
        return dict.fromkeys(self.projects, Fraction(1))

    def __post_init__(self) -> None:
        _check_count(self.count)


@dataclass(frozen=True, slots=True)
class CumulativeBallot:
    """Points per project (only projects with positive points are kept)."""

    points: Mapping[str, Fraction]
    count: int = 1

    def __post_init__(self) -> None:
        _check_count(self.count)
        cleaned: dict[str, Fraction] = {}
        for project, value in self.points.items():
            amount = value if isinstance(value, Fraction) else exact(value, "points")
            if amount < 0:
                raise InvalidElectionError(f"negative points for project {project}")
            if amount:
                cleaned[project] = amount
        object.__setattr__(self, "points", cleaned)

    def weights(self) -> dict[str, Fraction]:
        return dict(self.points)

    def __hash__(self) -> int:
        return hash((frozenset(self.points.items()), self.count))


@dataclass(frozen=True, slots=True)
class OrdinalBallot:
    """A ranking of distinct projects, most preferred first."""

    ranking: tuple[str, ...]
    count: int = 1

    def __post_init__(self) -> None:
        _check_count(self.count)
        if len(set(self.ranking)) != len(self.ranking):
            raise InvalidElectionError(f"a ranking repeats a project: {list(self.ranking)}")

    def weights(self) -> dict[str, Fraction]:
        length = len(self.ranking)
        return {project: Fraction(length - i) for i, project in enumerate(self.ranking)}


Ballot = ApprovalBallot | CumulativeBallot | OrdinalBallot


def _check_count(count: int) -> None:
    if not isinstance(count, int) or isinstance(count, bool) or count < 1:
        raise InvalidElectionError("a ballot's count must be a positive integer")


@dataclass(frozen=True, slots=True)
class BallotRules:
    """What a valid ballot looks like, with Pabulib's META names and defaults.

    ``min_length``/``max_length`` bound the number of projects on a ballot; for approval
    ballots ``min_sum_cost``/``max_sum_cost`` bound the total cost of the approved projects
    (``max_sum_cost`` = the budget makes a *knapsack* ballot); for cumulative ballots
    ``min_points``/``max_points`` bound each project's points and ``min_sum_points``/
    ``max_sum_points`` the ballot's total. ``choose-1`` means exactly one project.
    ``None`` means no limit.
    """

    vote_type: VoteType = "approval"
    min_length: int | None = None
    max_length: int | None = None
    min_sum_cost: Fraction | None = None
    max_sum_cost: Fraction | None = None
    min_points: Fraction | None = None
    max_points: Fraction | None = None
    min_sum_points: Fraction | None = None
    max_sum_points: Fraction | None = None

    def __post_init__(self) -> None:
        if self.vote_type not in VOTE_TYPES:
            raise InvalidElectionError(
                f"unknown vote type {self.vote_type!r}; expected one of {VOTE_TYPES}"
            )
        for name in ("min_length", "max_length"):
            value = getattr(self, name)
            if value is not None and (not isinstance(value, int) or value < 0):
                raise InvalidElectionError(f"{name} must be a non-negative integer")
        for name in AMOUNT_LIMITS:
            value = getattr(self, name)
            if value is not None and not isinstance(value, Fraction):
                object.__setattr__(self, name, exact(value, name))
        if self.vote_type == "cumulative" and self.max_sum_points is None:
            raise InvalidElectionError("cumulative ballots need max_sum_points")
        if self.vote_type != "cumulative" and any(
            getattr(self, n) is not None
            for n in ("min_points", "max_points", "min_sum_points", "max_sum_points")
        ):
            raise InvalidElectionError(f"points limits do not apply to {self.vote_type} ballots")
        if self.vote_type != "approval" and (
            self.min_sum_cost is not None or self.max_sum_cost is not None
        ):
            raise InvalidElectionError("cost limits apply to approval ballots only")

    def problem(self, ballot: Ballot, costs: Mapping[str, Fraction]) -> str | None:
        """Why ``ballot`` breaks these rules (a sentence), or None when it is valid."""
        expected = {
            "approval": ApprovalBallot,
            "choose-1": ApprovalBallot,
            "cumulative": CumulativeBallot,
            "ordinal": OrdinalBallot,
        }[self.vote_type]
        if not isinstance(ballot, expected):
            return f"a {self.vote_type} ballot was expected, not {type(ballot).__name__}"
        weights = ballot.weights()
        if unknown := sorted(set(weights) - costs.keys()):
            return f"unknown projects {unknown}"
        length = len(weights)
        if self.vote_type == "choose-1" and length != 1:
            return f"choose exactly one project, not {length}"
        if self.min_length is not None and length < self.min_length:
            return f"at least {self.min_length} projects are required, not {length}"
        if self.max_length is not None and length > self.max_length:
            return f"at most {self.max_length} projects are allowed, not {length}"
        if self.vote_type == "approval":
            total = sum((costs[p] for p in weights), Fraction(0))
            if self.min_sum_cost is not None and total < self.min_sum_cost:
                return f"the chosen projects cost {total}, less than {self.min_sum_cost}"
            if self.max_sum_cost is not None and total > self.max_sum_cost:
                return f"the chosen projects cost {total}, more than {self.max_sum_cost}"
        if self.vote_type == "cumulative":
            values = weights.values()
            if self.min_points is not None and any(v < self.min_points for v in values):
                return f"each project needs at least {self.min_points} points"
            if self.max_points is not None and any(v > self.max_points for v in values):
                return f"no project may get more than {self.max_points} points"
            total = sum(values, Fraction(0))
            if self.min_sum_points is not None and total < self.min_sum_points:
                return f"{total} points given, fewer than {self.min_sum_points}"
            if self.max_sum_points is not None and total > self.max_sum_points:
                return f"{total} points given, more than {self.max_sum_points}"
        return None


@dataclass(frozen=True, slots=True)
class BudgetInstance:
    """One participatory budget ready to count: budget, projects (in listing order) and ballots.

    ``projects`` keeps the order given (a city's list, a Pabulib file's order); it is the last
    step of every tie-break unless a ``tie_order`` is passed to the rule. Ballots are checked
    against ``rules`` when the instance is built (:func:`make_instance`).
    """

    budget: Fraction
    projects: tuple[Project, ...]
    ballots: tuple[Ballot, ...]
    rules: BallotRules = field(default_factory=BallotRules)

    @property
    def voters(self) -> int:
        """Number of voters (ballots times their counts)."""
        return sum(b.count for b in self.ballots)


def make_instance(
    budget: int | str | Decimal | Fraction,
    projects: Iterable[Project],
    ballots: Iterable[Ballot],
    rules: BallotRules | None = None,
    *,
    validate: bool = True,
) -> BudgetInstance:
    """Build and check an instance; raises InvalidElectionError naming the first bad ballot.

    With ``validate=False`` only unknown projects are refused (for counting historical data
    whose ballots broke the stated limits, as some Pabulib files record).
    """
    amount = exact(budget, "budget")
    if amount < 0:
        raise InvalidElectionError("the budget must not be negative")
    listed = tuple(projects)
    costs: dict[str, Fraction] = {}
    for project in listed:
        if project.id in costs:
            raise InvalidElectionError(f"project id {project.id} is listed twice")
        costs[project.id] = project.cost
    rules = rules or BallotRules()
    kept = tuple(ballots)
    for number, ballot in enumerate(kept, 1):
        if validate:
            problem = rules.problem(ballot, costs)
        else:
            unknown = sorted(set(ballot.weights()) - costs.keys())
            problem = f"unknown projects {unknown}" if unknown else None
        if problem is not None:
            raise InvalidElectionError(f"ballot {number}: {problem}")
    return BudgetInstance(amount, listed, kept, rules)


def group_ballots(ballots: Iterable[Ballot]) -> tuple[Ballot, ...]:
    """Identical ballots merged into one with the summed count, in first-seen order."""
    merged: dict[object, tuple[Ballot, int]] = {}
    for ballot in ballots:
        key = (type(ballot), frozenset(ballot.weights().items()), _order(ballot))
        first, count = merged.get(key, (ballot, 0))
        merged[key] = (first, count + ballot.count)
    return tuple(replace(first, count=count) for first, count in merged.values())


def _order(ballot: Ballot) -> tuple[str, ...]:
    return ballot.ranking if isinstance(ballot, OrdinalBallot) else ()
