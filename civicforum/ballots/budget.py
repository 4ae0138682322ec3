"""Participatory-budget ballots on the ballots feature: checking a voter's choice with the
limits the voter can act on, and the amounts a page shows (totals against the budget).

The last word on a choice is the auditor's own check (``audit_tool.recount.budget_problem``,
which ``civicforum-audit verify`` applies to every cast): the friendlier messages here come
first, so a voter reads "at most 3 projects" rather than the tabulation's wording.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from decimal import Decimal
from fractions import Fraction
from typing import Any

from flask_babel import format_decimal, lazy_ngettext
from flask_babel import lazy_gettext as _l
from sqlalchemy.orm import Session

from civicforum.ballots.errors import InvalidChoiceError
from civicforum.ballots.validation import Choice


def costs(ballot: Any) -> dict[str, Fraction]:
    from civicforum.tabulation.budget import exact

    return {o.key: exact(o.cost) for o in ballot.options if o.cost is not None}


def money(value: Fraction | str | int, currency: str | None = None) -> str:
    """An amount for people: grouped digits in the viewer's locale, and the currency code."""
    from civicforum.tabulation.budget import exact

    amount = exact(value) if not isinstance(value, Fraction) else value
    text = format_decimal(Decimal(amount.numerator) / Decimal(amount.denominator), "#,##0.##")
    return f"{text} {currency}" if currency else str(text)


def spent(ballot: Any, keys: Iterable[str]) -> Fraction:
    price = costs(ballot)
    return sum((price[k] for k in keys), Fraction(0))


def check_budget_choice(ballot: Any, choice: Choice) -> None:
    """Refuse a budget choice that breaks the ballot's limits (422 errors, nothing stored)."""
    from civicforum.audit_tool.recount import budget_problem
    from civicforum.tabulation.budget import exact

    rules = ballot.budget
    kind = rules["voteType"]
    count = len(choice.chosen)
    currency = rules.get("currency")
    if kind == "choose-1" and count != 1:
        raise InvalidChoiceError(_l("Choose one project."))
    if kind == "cumulative" and choice.chosen and not choice.points:
        raise InvalidChoiceError(_l("Give points to the projects you support."))
    if "minLength" in rules and count < int(rules["minLength"]):
        least = int(rules["minLength"])
        raise InvalidChoiceError(
            lazy_ngettext(
                "Choose at least %(num)d project.", "Choose at least %(num)d projects.", least
            )
        )
    if "maxLength" in rules and count > int(rules["maxLength"]):
        most = int(rules["maxLength"])
        raise InvalidChoiceError(
            lazy_ngettext(
                "Choose at most %(num)d project.", "Choose at most %(num)d projects.", most
            )
        )
    if "maxSumCost" in rules:
        total, limit = spent(ballot, choice.chosen), exact(rules["maxSumCost"])
        if total > limit:
            raise InvalidChoiceError(
                _l(
                    "The projects you chose cost %(total)s, more than the %(limit)s available.",
                    total=money(total, currency),
                    limit=money(limit, currency),
                )
            )
    if choice.points:
        given = sum(n for _, n in choice.points)
        if "maxPoints" in rules and any(n > exact(rules["maxPoints"]) for _, n in choice.points):
            top = int(exact(rules["maxPoints"]))
            raise InvalidChoiceError(
                lazy_ngettext(
                    "Give each project at most %(num)d point.",
                    "Give each project at most %(num)d points.",
                    top,
                )
            )
        if "maxSumPoints" in rules and given > exact(rules["maxSumPoints"]):
            raise InvalidChoiceError(
                lazy_ngettext(
                    "You gave %(num)d point; you have %(total)s.",
                    "You gave %(num)d points; you have %(total)s.",
                    given,
                    total=rules["maxSumPoints"],
                )
            )
    opened = {
        "rules": rules,
        "options": [{"id": o.key, "label": o.key, "cost": o.cost} for o in ballot.options],
    }
    problem = budget_problem(opened, choice.to_entry())
    if problem is not None:  # what the auditor would refuse, in its words
        raise InvalidChoiceError(problem)


# ------------------------------------------------------------------------------ projects
# A budget ballot's options are projects whose descriptions live with the budget that put
# them to the vote: that feature registers a lookup here at start-up (ballots never import it).


@dataclass(frozen=True, slots=True)
class ProjectInfo:
    url: str
    description: str = ""
    category: str = ""
    location: str = ""


@dataclass(frozen=True, slots=True)
class BudgetLinks:
    """Where a budget ballot comes from: the budget's page and each project's."""

    title: str
    url: str
    projects: Mapping[str, ProjectInfo]


Lookup = Callable[[Session, int], BudgetLinks | None]
_lookups: list[Lookup] = []


def register_lookup(lookup: Lookup) -> None:
    """Called at start-up by the feature that owns budgets (``lookup(session, ballot_id)``)."""
    if lookup not in _lookups:
        _lookups.append(lookup)


def links(session: Session, ballot_id: int) -> BudgetLinks | None:
    for lookup in _lookups:
        found = lookup(session, ballot_id)
        if found is not None:
            return found
    return None


def cost_labels(ballot: Any) -> dict[str, str]:
    """Each project's cost as people read it ("1,500.50 EUR")."""
    currency = ballot.budget.get("currency")
    return {key: money(cost, currency) for key, cost in costs(ballot).items()}


# ------------------------------------------------------------------------------- results


@dataclass(frozen=True, slots=True)
class ProjectRow:
    key: str
    label: str
    cost: str
    votes: int
    score: str  # points or rank score; "" on approval ballots
    funded: bool
    why: str  # why an unfunded project lost, in words ("" when funded or unsupported)


@dataclass(frozen=True, slots=True)
class Segment:
    label: str
    x: float
    width: float
    amount: str
    css: str


@dataclass(frozen=True, slots=True)
class BudgetResultsView:
    ballot: Any
    rule: str
    budget: str
    spent: str
    left: str
    spent_percent: str
    voters: int
    blank: int
    happy: int  # voters with at least one funded project
    happy_percent: str
    funded: tuple[ProjectRow, ...]
    unfunded: tuple[ProjectRow, ...]
    segments: tuple[Segment, ...]
    share: str | None  # equal shares: each voter's share of the budget
    rounds: tuple[dict[str, Any], ...]
    tiebreaks: tuple[str, ...]
    scored: bool


BAR_WIDTH = 640


def _why(
    rule: str, tally: Mapping[str, Any], step: Mapping[str, Any] | None, left: Any, currency: Any
) -> str:
    from civicforum.tabulation.budget.serialize import parse_amount

    if not tally["votes"]:
        return str(_l("Nobody voted for it."))
    if left is not None:  # equal shares: what its supporters still had
        return str(
            _l(
                "Its supporters' shares could not pay for it: after the projects funded first,"
                " those who chose it had %(left)s left of their equal shares, less than its"
                " cost.",
                left=money(parse_amount(left), currency),
            )
        )
    if step is not None and step.get("outcome") == "does-not-fit":
        return str(
            _l(
                "It did not fit in what was left of the budget (%(left)s) when its turn came.",
                left=money(parse_amount(step["remaining"]), currency),
            )
        )
    if step is not None and step.get("outcome") == "not-reached":
        return str(_l("The count stopped at the first project that did not fit, before this one."))
    return str(_l("Other projects had more support per unit of cost."))


def results_view(ballot: Any, data: Mapping[str, Any]) -> BudgetResultsView:
    """What the results page shows of a budget ballot's published result."""
    from civicforum.tabulation.budget.serialize import parse_amount

    currency = ballot.budget.get("currency")
    labels = {o.key: o.label for o in ballot.options}
    budget, spent = parse_amount(data["budget"]), parse_amount(data["spent"])
    steps = {r["project"]: r for r in data["rounds"] if "outcome" in r}
    support_left = data.get("supportLeft") or {}
    scored = ballot.vote_type in ("cumulative", "ordinal")
    rows = {
        t["project"]: ProjectRow(
            key=t["project"],
            label=labels.get(t["project"], t["project"]),
            cost=money(parse_amount(t["cost"]), currency),
            votes=int(t["votes"]),
            score=money(parse_amount(t["score"])) if scored else "",
            funded=bool(t["funded"]),
            why=""
            if t["funded"]
            else _why(
                data["rule"], t, steps.get(t["project"]), support_left.get(t["project"]), currency
            ),
        )
        for t in data["projects"]
    }
    funded = tuple(rows[key] for key in data["selected"])
    unfunded = tuple(
        sorted((r for r in rows.values() if not r.funded), key=lambda r: (-r.votes, r.key))
    )
    segments, x = [], 0.0
    for i, key in enumerate(data["selected"]):
        cost = next(parse_amount(t["cost"]) for t in data["projects"] if t["project"] == key)
        width = float(cost / budget) * BAR_WIDTH if budget else 0.0
        segments.append(
            Segment(labels.get(key, key), x, width, money(cost, currency), f"seg seg-{i % 6}")
        )
        x += width
    voters = int(data["voters"])
    happy = int(data["votersWithFundedProject"])
    return BudgetResultsView(
        ballot=ballot,
        rule=str(data["rule"]),
        budget=money(budget, currency),
        spent=money(spent, currency),
        left=money(budget - spent, currency),
        spent_percent=f"{float(spent / budget) * 100:.0f}" if budget else "0",
        voters=voters,
        blank=int(data.get("blankBallots", 0)),
        happy=happy,
        happy_percent=f"{happy * 100 / voters:.0f}" if voters else "0",
        funded=funded,
        unfunded=unfunded,
        segments=tuple(segments),
        share=money(parse_amount(data["share"]), currency) if "share" in data else None,
        rounds=tuple(data["rounds"]),
        tiebreaks=tuple(str(t["explanation"]) for t in data.get("tiebreaks", [])),
        scored=scored,
    )


# ------------------------------------------------------------------------------- exports


def cvr_pabulib(ballot: Any, choices: Iterable[Any], *, country: str, unit: str) -> str:
    """The closed ballot as a Pabulib file: projects with costs, one row per voter who chose
    something (blank ballots are abstentions, counted in turnout only), the rule and the
    published selection. ``civicforum-audit budget FILE --seed <root>`` recounts it."""
    from civicforum.audit_tool.recount import budget_ballot, budget_rules
    from civicforum.tabulation.budget import Project, exact, make_instance
    from civicforum.tabulation.budget.pabulib import write_pabulib
    from civicforum.tabulation.budget.types import group_ballots

    rules = ballot.budget
    opened = {"rules": rules}
    projects = [Project(o.key, exact(o.cost), o.label) for o in ballot.options]
    ballots = [budget_ballot(rules["voteType"], c) for c in choices if c]
    instance = make_instance(
        rules["budget"], projects, group_ballots(ballots), budget_rules(opened), validate=False
    )
    result = json.loads(ballot.result_json) if ballot.result_json else {}
    meta = {
        "description": ballot.title,
        "country": country,
        "unit": unit,
        "instance": ballot.ledger_id,
        "date_begin": ballot.opens_at.strftime("%d.%m.%Y"),
        "date_end": ballot.closes_at.strftime("%d.%m.%Y"),
    }
    if rules.get("currency"):
        meta["currency"] = rules["currency"]
    if ballot.seed_root:
        meta["comment"] = f"#1: ties drawn by civicforum's lot seeded with {ballot.seed_root}"
    return write_pabulib(
        instance,
        meta=meta,
        rule=rules["rule"],
        selected=result.get("selected", ()),
        names={o.key: o.label for o in ballot.options},
    )


@dataclass(frozen=True, slots=True)
class VotingFacts:
    """What the voting page of a budget ballot shows besides its options."""

    rules: Mapping[str, Any]
    amount: str  # the budget, for people
    costs: Mapping[str, str]  # each project's cost, for people
    links: BudgetLinks | None
    chosen_total: str | None  # what the choice under review costs
    over: bool  # ... and whether that is more than the budget


def voting_facts(session: Session, ballot: Any, choice: Choice | None) -> VotingFacts:
    rules = ballot.budget
    currency = rules.get("currency")
    total = None if choice is None else spent(ballot, choice.chosen)
    from civicforum.tabulation.budget import exact

    return VotingFacts(
        rules=rules,
        amount=money(rules["budget"], currency),
        costs=cost_labels(ballot),
        links=links(session, ballot.id),
        chosen_total=None if total is None else money(total, currency),
        over=total is not None and total > exact(rules["budget"]),
    )
