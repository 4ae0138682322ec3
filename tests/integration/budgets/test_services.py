"""Participatory budgets end to end through the services: projects and reviews on the civic
record, a budget ballot cast through the pooled vote log, closed, and counted by the auditor's
recount; the Pabulib export passes Pabulib's own checker and recounts to the published result.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from fractions import Fraction
from pathlib import Path
from typing import Any

import pytest
from flask import Flask
from sqlalchemy import select

from civicforum.ballots import services as ballots
from civicforum.ballots.budget import cvr_pabulib
from civicforum.ballots.errors import InvalidChoiceError
from civicforum.ballots.models import Method
from civicforum.ballots.validation import Choice, check_choice
from civicforum.budgets import services
from civicforum.budgets.errors import BudgetLockedError, InvalidBudgetError
from civicforum.budgets.models import Budget, Feasibility, Phase
from civicforum.ledger.entry import CIVIC_LOG, EntryError, budget_review, encode_entry
from civicforum.logstore import proofs, storage
from civicforum.tabulation.budget.pabulib import read_pabulib
from civicforum.tabulation.budget.rules import allocate
from civicforum.tabulation.lot import SeededLot
from tests.factories import make_user
from tests.factories_budgets import make_budget, open_budget

# A popular playground two groups do not want, and cheaper projects each group does.
SPLIT = (("Playground", "60000"), ("Garden", "10000"), ("Trees", "30000"), ("Bike lane", "30000"))


@pytest.fixture(autouse=True)
def request_context(app: Flask, db_session: Any) -> Iterator[None]:
    with app.test_request_context():
        yield


def civic_entries(session: Any) -> list[dict[str, Any]]:
    from civicforum.logstore import sequencer

    sequencer.sequence_due(session, log=CIVIC_LOG, everything=True)
    size = storage.log_size(session, log=CIVIC_LOG)
    return [
        json.loads(data) for _, data, _ in proofs.iter_entries(session, log=CIVIC_LOG, upto=size)
    ]


def fields(**changes: Any) -> services.BudgetFields:
    values: dict[str, Any] = {
        "title": "Parks",
        "description": "",
        "amount": "100000",
        "currency": "EUR",
    }
    values.update(changes)
    return services.BudgetFields(**values)


@pytest.mark.parametrize(
    ("typed", "stored"),
    [
        ("125000", "125000"),
        ("125 000", "125000"),
        ("1,500.50", "1500.5"),
        ("1.500,50", "1500.5"),
        ("1500,5", "1500.5"),
        ("0.25", "0.25"),
    ],
)
def test_amounts_are_read_as_people_write_them(typed: str, stored: str) -> None:
    assert services.parse_amount(typed, field="amount") == stored


@pytest.mark.parametrize("typed", ["", "12e3", "-5", "0", "1/3", "ten", "1.2.3,4", "1." + "9" * 7])
def test_bad_amounts_are_refused_with_the_field(typed: str) -> None:
    with pytest.raises(InvalidBudgetError) as err:
        services.parse_amount(typed, field="amount")
    assert err.value.field == "amount"


@pytest.mark.parametrize(
    ("changes", "field"),
    [
        ({"currency": "euro"}, "currency"),
        ({"vote_type": "plurality"}, "vote_type"),
        ({"rule": "greedy-threshold"}, "rule"),
        ({"min_projects": 3, "max_projects": 2}, "min_projects"),
        ({"vote_type": "cumulative"}, "total_points"),
        ({"total_points": 10}, "total_points"),
        ({"vote_type": "ordinal", "cost_limit": True}, "cost_limit"),
        ({"title": "  "}, "title"),
    ],
)
def test_budget_definition_errors_name_their_field(
    db_session: Any, changes: dict[str, Any], field: str
) -> None:
    with pytest.raises(InvalidBudgetError) as err:
        services.create_budget(db_session, fields=fields(**changes), actor=None)
    assert err.value.field == field
    assert db_session.scalar(select(Budget.id)) is None


def test_projects_and_reviews_are_on_the_civic_record(db_session: Any) -> None:
    admin = make_user(db_session, roles=("citizen", "admin"))
    budget = services.create_budget(db_session, fields=fields(), actor=admin)
    p1 = services.add_project(
        db_session,
        budget=budget,
        fields=services.ProjectFields(title="Benches", requested_cost="12 000"),
        actor=admin,
    )
    p2 = services.add_project(
        db_session, budget=budget, fields=services.ProjectFields(title="Fountain"), actor=admin
    )
    assert p1.requested_cost == "12000" and p2.requested_cost is None
    with pytest.raises(InvalidBudgetError, match="reason is public"):
        services.review_project(
            db_session, project=p2, feasible=False, cost="", reason=" ", actor=admin
        )
    with pytest.raises(InvalidBudgetError, match="more than the whole budget"):
        services.review_project(
            db_session, project=p1, feasible=True, cost="100000.01", reason="", actor=admin
        )
    services.review_project(
        db_session, project=p1, feasible=True, cost="13500", reason="Quote", actor=admin
    )
    services.review_project(
        db_session, project=p2, feasible=False, cost="", reason="No water main", actor=admin
    )
    assert p1.feasibility == Feasibility.FEASIBLE and p1.cost == "13500"
    assert p2.feasibility == Feasibility.INFEASIBLE and p2.cost is None
    budget_entries = [e for e in civic_entries(db_session) if e["type"].startswith("budget.")]
    assert budget_entries == [
        {
            "v": 1,
            "type": "budget.project",
            "day": budget_entries[0]["day"],
            "budget": str(budget.id),
            "project": str(p1.id),
            "title": "Benches",
            "cost": "12000",
        },
        {
            "v": 1,
            "type": "budget.project",
            "day": budget_entries[1]["day"],
            "budget": str(budget.id),
            "project": str(p2.id),
            "title": "Fountain",
        },
        {
            "v": 1,
            "type": "budget.review",
            "day": budget_entries[2]["day"],
            "budget": str(budget.id),
            "project": str(p1.id),
            "outcome": "feasible",
            "cost": "13500",
            "reason": "Quote",
        },
        {
            "v": 1,
            "type": "budget.review",
            "day": budget_entries[3]["day"],
            "budget": str(budget.id),
            "project": str(p2.id),
            "outcome": "infeasible",
            "reason": "No water main",
        },
    ]


def test_a_review_entry_says_a_cost_exactly_when_feasible() -> None:
    common = {"v": 1, "type": "budget.review", "day": "2026-12-08", "budget": "1", "project": "2"}
    for wrong in (
        {"outcome": "infeasible", "reason": "x", "cost": "5"},
        {"outcome": "feasible", "reason": "x"},
        {"outcome": "maybe", "reason": "x"},
    ):
        with pytest.raises(EntryError):
            encode_entry({**common, **wrong}, CIVIC_LOG)
    entry = budget_review(
        budget="1", project="2", feasible=True, cost="5", reason="-", day="2026-12-08"
    )
    assert b'"cost":"5"' in entry


def test_qualified_proposals_become_projects_once(db_session: Any) -> None:
    from tests.factories_proposals import make_proposal

    qualified = make_proposal(db_session, state="qualified", title="Shade sails")
    make_proposal(db_session, state="published", title="Not yet")
    budget = services.create_budget(db_session, fields=fields(), actor=None)
    assert services.importable_proposals(db_session, budget) == [(qualified.id, "Shade sails")]
    [project] = services.import_proposals(
        db_session, budget=budget, proposal_ids=[qualified.id], actor=None
    )
    assert project.proposal_id == qualified.id and project.title == "Shade sails"
    assert project.feasibility == Feasibility.PENDING and project.requested_cost is None
    assert services.importable_proposals(db_session, budget) == []
    with pytest.raises(InvalidBudgetError):
        services.import_proposals(
            db_session, budget=budget, proposal_ids=[qualified.id], actor=None
        )


def test_voting_needs_every_project_reviewed_and_two_feasible(db_session: Any) -> None:
    budget = make_budget(db_session, projects=(("Only one", "1000"),))
    with pytest.raises(InvalidBudgetError, match="at least two feasible"):
        open_budget(db_session, budget)
    services.add_project(
        db_session, budget=budget, fields=services.ProjectFields(title="Pending"), actor=None
    )
    with pytest.raises(InvalidBudgetError, match="1 still waiting"):
        open_budget(db_session, budget)
    assert budget.phase is Phase.COLLECTING and budget.ballot is None


def test_the_ballot_carries_costs_and_rules_and_locks_the_budget(db_session: Any) -> None:
    budget = make_budget(db_session, cost_limit=True, max_projects=3)
    infeasible = services.add_project(
        db_session, budget=budget, fields=services.ProjectFields(title="Moon base"), actor=None
    )
    services.review_project(
        db_session, project=infeasible, feasible=False, cost="", reason="Too far", actor=None
    )
    ballot = open_budget(db_session, budget)
    assert ballot.method == Method.BUDGET and ballot.secret and ballot.results_hidden
    assert [(o.key, o.label, o.cost) for o in ballot.options] == [
        ("o1", "Playground", "150000"),
        ("o2", "Garden", "60000"),
        ("o3", "Trees", "50000"),
        ("o4", "Bike lane", "40000"),
    ]
    assert ballot.budget == {
        "budget": "250000",
        "voteType": "approval",
        "rule": "equalshares/add1",
        "maxLength": 3,
        "maxSumCost": "250000",
        "currency": "EUR",
    }
    assert infeasible.option_key is None
    assert budget.phase is Phase.VOTING
    with pytest.raises(BudgetLockedError):
        services.add_project(
            db_session, budget=budget, fields=services.ProjectFields(title="Late"), actor=None
        )
    with pytest.raises(BudgetLockedError):
        services.review_project(
            db_session, project=infeasible, feasible=True, cost="5", reason="", actor=None
        )


@pytest.mark.parametrize(
    ("rules", "choice", "message"),
    [
        ({"cost_limit": True}, ("o1", "o2", "o3"), "more than the"),
        ({"max_projects": 2}, ("o2", "o3", "o4"), "at most 2 projects"),
        ({"min_projects": 2}, ("o4",), "at least 2 projects"),
        ({"vote_type": "choose-1"}, ("o2", "o3"), "Choose one project"),
    ],
)
def test_choices_breaking_the_budget_rules_are_refused(
    db_session: Any, rules: dict[str, Any], choice: tuple[str, ...], message: str
) -> None:
    voter = make_user(db_session)  # a member before the ballot opens: in its electorate
    ballot = open_budget(db_session, make_budget(db_session, **rules))
    with pytest.raises(InvalidChoiceError, match=message):
        check_choice(ballot, Choice(ranked=False, approvals=choice))
    with pytest.raises(InvalidChoiceError):
        ballots.cast_ballot(
            db_session, ballot=ballot, voter=voter, choice=Choice(ranked=False, approvals=choice)
        )
    assert ballots.voter_receipt(db_session, ballot=ballot, voter=voter) is None


def test_cumulative_points_are_checked_against_both_limits(db_session: Any) -> None:
    ballot = open_budget(
        db_session, make_budget(db_session, vote_type="cumulative", total_points=10, max_points=6)
    )
    with pytest.raises(InvalidChoiceError, match="you have 10"):
        check_choice(ballot, Choice(ranked=False, points=(("o1", 6), ("o2", 5))))
    with pytest.raises(InvalidChoiceError, match="at most 6 points"):
        check_choice(ballot, Choice(ranked=False, points=(("o1", 7),)))
    check_choice(ballot, Choice(ranked=False, points=(("o1", 6), ("o2", 4))))


def _close(session: Any, ballot: Any) -> None:
    from tests.factories_ballots import close

    close(session, ballot)


def test_equal_shares_funds_the_small_group_and_explains_the_loser(
    app: Flask, db_session: Any
) -> None:
    """Four voters want the playground and the garden, three the trees, three the bike lane.
    Greedy funds the playground (most votes, with the garden) and leaves three voters with
    nothing; equal shares cannot pay for it from its four supporters' shares, and funds a
    project for every voter."""
    choices = [("o1", "o2")] * 4 + [("o3",)] * 3 + [("o4",)] * 3
    voters = [make_user(db_session) for _ in range(len(choices) + 1)]
    budget = make_budget(db_session, amount="100000", projects=SPLIT)
    ballot = open_budget(db_session, budget)
    for voter, keys in zip(voters, choices, strict=False):
        ballots.cast_ballot(
            db_session, ballot=ballot, voter=voter, choice=Choice(ranked=False, approvals=keys)
        )
    ballots.cast_ballot(
        db_session, ballot=ballot, voter=voters[-1], choice=Choice(ranked=False, blank=True)
    )
    _close(db_session, ballot)
    result = json.loads(ballot.result_json)
    assert result["rule"] == "equalshares/add1"
    assert sorted(result["selected"]) == ["o2", "o3", "o4"]
    assert result["voters"] == 10 and result["blankBallots"] == 1
    assert result["votersWithFundedProject"] == 10
    assert "o1" in result["supportLeft"]
    assert services.funded_keys(budget) == frozenset(result["selected"])
    assert budget.phase is Phase.DECIDED
    # Greedy on the same ballots funds the playground and leaves the bike lane's three out.
    data = read_pabulib(
        cvr_pabulib(
            ballot, ballots.live_choices(db_session, ballot), country="Worldwide", unit="Test"
        )
    )
    greedy = allocate(data.instance, "greedy")
    assert "o1" in greedy.selected and greedy.voters_with_funded_project == 7


def test_the_pabulib_export_is_valid_and_recounts_to_the_published_result(
    db_session: Any,
) -> None:
    from pabulib.checker import Checker

    ballots_points = ([("o1", 5)], [("o2", 3), ("o3", 2)], [("o4", 4), ("o2", 1)], [("o1", 1)])
    voters = [make_user(db_session) for _ in ballots_points]
    budget = make_budget(db_session, vote_type="cumulative", total_points=5)
    ballot = open_budget(db_session, budget)
    for voter, points in zip(voters, ballots_points, strict=True):
        ballots.cast_ballot(
            db_session,
            ballot=ballot,
            voter=voter,
            choice=Choice(ranked=False, points=tuple(points)),
        )
    _close(db_session, ballot)
    text = cvr_pabulib(
        ballot, ballots.live_choices(db_session, ballot), country="Worldwide", unit="Test"
    )
    report = Checker().process_files([text])
    file_report = next(v for k, v in report.items() if k not in ("metadata", "summary"))
    assert file_report["results"].get("errors", {}) == {}
    data = read_pabulib(text)
    assert data.rule == "equalshares/add1" and data.instance.budget == Fraction(250000)
    assert data.instance.voters == 4
    published = json.loads(ballot.result_json)
    seed = bytes.fromhex(ballot.seed_root)
    recounted = allocate(
        data.instance,
        data.rule,
        tie_order=SeededLot(seed).order(p.id for p in data.instance.projects),
    )
    assert list(recounted.selected) == published["selected"]
    assert sorted(data.selected) == sorted(published["selected"])


def test_the_auditor_recount_refuses_a_ballot_over_the_budget() -> None:
    from civicforum.audit_tool.recount import budget_problem

    opened = {
        "rules": {"budget": "100", "voteType": "approval", "rule": "greedy", "maxSumCost": "100"},
        "options": [
            {"id": "o1", "label": "A", "cost": "60"},
            {"id": "o2", "label": "B", "cost": "50"},
        ],
    }
    assert budget_problem(opened, ["o1"]) is None
    assert budget_problem(opened, []) is None  # blank: an abstention
    assert budget_problem(opened, ["o1", "o2"]) is not None
    assert budget_problem(opened, [["o1", 3]]) is not None  # the wrong shape for approval


def test_the_auditor_recounts_a_budget_from_the_export_and_catches_a_changed_result(
    app: Flask, db_session: Any, tmp_path: Path
) -> None:
    """`civicforum-audit verify` replays the budget ballot from the signed log (the limits of
    every cast included) and recounts it with the rule and the closing lot."""
    from civicforum.audit_tool import cli as audit_cli
    from civicforum.logstore import checkpoints, integrity
    from civicforum.logstore.keys import current_keys

    choices = [("o1", "o2")] * 4 + [("o3",)] * 3 + [("o4",)] * 3
    voters = [make_user(db_session) for _ in choices]
    budget = make_budget(db_session, amount="100000", projects=SPLIT, cost_limit=True)
    ballot = open_budget(db_session, budget)
    for voter, keys in zip(voters, choices, strict=True):
        ballots.cast_ballot(
            db_session, ballot=ballot, voter=voter, choice=Choice(ranked=False, approvals=keys)
        )
    _close(db_session, ballot)
    for log in ("votes", "civic"):
        checkpoints.sign_checkpoint(db_session, log=log)
    out = tmp_path / "export"
    integrity.write_export(db_session, out)
    key = current_keys().verifier("votes").text
    assert audit_cli.main(["verify", str(out), "--key", key, "--quiet"]) == 0
    [result_file] = (out / "results").glob("*.json")
    published = json.loads(result_file.read_text())
    assert published["selected"] == json.loads(ballot.result_json)["selected"]
    published["selected"] = ["o1", "o2"]  # the greedy outcome, claimed instead
    result_file.write_text(json.dumps(published))
    assert audit_cli.main(["verify", str(out), "--key", key, "--quiet"]) != 0
