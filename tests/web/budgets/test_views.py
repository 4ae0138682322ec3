"""Budget pages: the public list, budget and project pages, voting on a budget ballot with and
without htmx (running total markup, review total, refusals), the results page (funded and
unfunded with reasons, the budget bar, the fairness figure, the Pabulib download), and the
admin pages (only admins; every refusal is a 422 beside its field, nothing stored)."""

from __future__ import annotations

import re
from datetime import timedelta
from typing import Any

from flask.testing import FlaskClient
from sqlalchemy import func, select

from civicforum.accounts.models import Role
from civicforum.ballots import services as ballots
from civicforum.ballots.models import Ballot, BallotReceipt
from civicforum.ballots.validation import Choice
from civicforum.budgets.models import Budget, BudgetProject
from civicforum.db import utcnow
from tests.factories import make_user
from tests.factories_ballots import close
from tests.factories_budgets import make_budget, open_budget

# A popular playground two groups do not want, and cheaper projects each group does.
SPLIT = (("Playground", "60000"), ("Garden", "10000"), ("Trees", "30000"), ("Bike lane", "30000"))

HX = {"HX-Request": "true"}


def receipts(db_session: Any) -> int:
    return int(db_session.scalar(select(func.count()).select_from(BallotReceipt)) or 0)


def token_in(page: str) -> str:
    marker = 'name="cast_token" value="'
    start = page.index(marker) + len(marker)
    return page[start : page.index('"', start)]


def test_list_and_empty_state(client: FlaskClient, db_session: Any) -> None:
    assert "No participatory budget has been set up yet." in client.get("/budgets/").text
    make_budget(db_session, title="Green streets")
    page = client.get("/budgets/").text
    assert "Green streets" in page and "Collecting projects" in page and "4 projects" in page
    assert "250,000 EUR" in page


def test_budget_and_project_pages_show_reviews_and_reasons(
    client: FlaskClient, db_session: Any
) -> None:
    from civicforum.budgets import services

    budget = make_budget(db_session)
    fountain = services.add_project(
        db_session,
        budget=budget,
        fields=services.ProjectFields(
            title="Fountain", description="A big one.", location="Square"
        ),
        actor=None,
    )
    services.review_project(
        db_session, project=fountain, feasible=False, cost="", reason="No water main", actor=None
    )
    page = client.get(f"/budgets/{budget.id}").text
    assert "Projects found not feasible" in page and "No water main" in page
    assert "150,000 EUR" in page
    project = client.get(f"/budgets/{budget.id}/projects/{fountain.id}")
    assert project.status_code == 200 and "Not feasible: No water main" in project.text
    assert "Square" in project.text and "A big one." in project.text
    other = make_budget(db_session)
    assert client.get(f"/budgets/{other.id}/projects/{fountain.id}").status_code == 404


def test_voting_shows_costs_and_totals_and_records_the_choice(
    client: FlaskClient, db_session: Any, login_as: Any
) -> None:
    login_as(make_user(db_session))
    budget = make_budget(db_session, cost_limit=True)
    ballot = open_budget(db_session, budget)
    page = client.get(f"/ballots/{ballot.id}").text
    assert "data-budget" in page and 'data-cost="150000"' in page and "js/budget" in page
    assert "150,000 EUR" in page and "Together they must fit in the budget." in page
    assert f"/budgets/{budget.id}/projects/" in page  # each project links to its page
    # Over the budget: refused with the total, nothing recorded, the ticks kept.
    over = client.post(
        f"/ballots/{ballot.id}/review", data={"approve": ["o1", "o2", "o3"]}, headers=HX
    )
    assert over.status_code == 422
    assert "cost 260,000 EUR, more than the 250,000 EUR available" in over.text
    assert re.search(r'value="o3"\s+data-cost="50000" checked', over.text)
    review = client.post(f"/ballots/{ballot.id}/review", data={"approve": ["o2", "o4"]})
    assert review.status_code == 200
    assert "Cost of the projects you chose: 100,000 EUR of 250,000 EUR." in review.text
    done = client.post(
        f"/ballots/{ballot.id}/cast",
        data={"approve": ["o2", "o4"], "cast_token": token_in(review.text), "action": "cast"},
        headers=HX,
    )
    assert done.status_code == 200 and "Your ballot has been recorded" in done.text
    assert "Garden" in done.text and "Bike lane" in done.text
    assert receipts(db_session) == 1


def test_points_ballot_without_javascript(
    client: FlaskClient, db_session: Any, login_as: Any
) -> None:
    login_as(make_user(db_session))
    ballot = open_budget(
        db_session, make_budget(db_session, vote_type="cumulative", total_points=10)
    )
    page = client.get(f"/ballots/{ballot.id}").text
    assert 'name="points-o1"' in page and "Share 10 points" in page
    refused = client.post(f"/ballots/{ballot.id}/review", data={"points-o1": "8", "points-o2": "5"})
    assert refused.status_code == 422 and "You gave 13 points; you have 10." in refused.text
    assert 'value="8"' in refused.text
    assert client.post(f"/ballots/{ballot.id}/review", data={"points-o9": "1"}).status_code == 422
    assert client.post(f"/ballots/{ballot.id}/review", data={"points-o1": "-2"}).status_code == 422
    review = client.post(f"/ballots/{ballot.id}/review", data={"points-o1": "7", "points-o3": "3"})
    assert review.status_code == 200 and "Playground: 7 points" in review.text
    done = client.post(
        f"/ballots/{ballot.id}/cast",
        data={
            "points-o1": "7",
            "points-o3": "3",
            "cast_token": token_in(review.text),
            "action": "cast",
        },
    )
    assert done.status_code == 200 and "Trees: 3 points" in done.text
    receipt = client.get(f"/ballots/{ballot.id}/receipt").text
    assert "Playground: 7" in receipt


def test_results_page_explains_funded_and_unfunded_projects(
    client: FlaskClient, db_session: Any
) -> None:
    choices = [("o1", "o2")] * 4 + [("o3",)] * 3 + [("o4",)] * 3
    voters = [make_user(db_session) for _ in choices]
    budget = make_budget(db_session, amount="100000", projects=SPLIT)
    ballot = open_budget(db_session, budget)
    assert client.get(f"/ballots/{ballot.id}/results").status_code == 404  # not before closing
    for voter, keys in zip(voters, choices, strict=True):
        ballots.cast_ballot(
            db_session, ballot=ballot, voter=voter, choice=Choice(ranked=False, approvals=keys)
        )
    close(db_session, ballot)
    page = client.get(f"/ballots/{ballot.id}/results")
    assert page.status_code == 200
    text = page.text
    assert 'class="budget-bar"' in text and "<title>Garden: 10,000 EUR</title>" in text
    assert "Its supporters&#39; shares could not pay for it" in text
    assert 'data-testid="why-o1"' in text
    assert "100 % of voters (10 of 10) got at least one project they chose." in text
    assert "civicforum-audit budget" in text and ballot.seed_root in text
    assert "Funded" in client.get(f"/budgets/{budget.id}").text
    download = client.get(f"/ballots/{ballot.id}/cvr.pb")
    assert download.status_code == 200 and download.text.startswith("META")
    assert "vote_type;approval" in download.text
    assert client.get(f"/ballots/{ballot.id}/results.csv").status_code == 404
    assert client.get(f"/ballots/{ballot.id}/cvr.blt").status_code == 404


# ----------------------------------------------------------------------------- admin


def budget_form(**changes: Any) -> dict[str, Any]:
    form = {
        "title": "Parks 2027",
        "description": "Money for parks.",
        "amount": "120 000",
        "currency": "eur",
        "period": "2027",
        "area": "Parks",
        "vote_type": "approval",
        "rule": "equalshares/add1",
        "min_projects": "",
        "max_projects": "3",
        "total_points": "",
        "max_points": "",
    }
    form.update(changes)
    return form


def test_only_admins_reach_budget_admin(
    client: FlaskClient, db_session: Any, login_as: Any
) -> None:
    assert client.get("/admin/budgets/new").status_code == 302
    login_as(make_user(db_session, roles=(Role.CITIZEN, Role.MODERATOR)))
    assert client.get("/admin/budgets/").status_code == 403
    assert client.post("/admin/budgets/new", data=budget_form()).status_code == 403
    assert db_session.scalar(select(func.count()).select_from(Budget)) == 0


def test_admin_sets_up_reviews_and_puts_a_budget_to_the_vote(
    client: FlaskClient, db_session: Any, login_as: Any
) -> None:
    login_as(make_user(db_session, roles=(Role.CITIZEN, Role.ADMIN)))
    refused = client.post("/admin/budgets/new", data=budget_form(amount="lots"))
    assert refused.status_code == 422 and "Write an amount in figures" in refused.text
    assert 'aria-invalid="true"' in refused.text
    created = client.post("/admin/budgets/new", data=budget_form())
    assert created.status_code == 303
    budget = db_session.scalars(select(Budget)).one()
    assert (budget.amount, budget.currency, budget.max_projects) == ("120000", "EUR", 3)
    manage = f"/admin/budgets/{budget.id}"
    assert "No project yet" in client.get(manage).text
    for title, cost in (("Swings", "20000"), ("Pond", ""), ("Lights", "9000")):
        response = client.post(
            f"{manage}/projects", data={"title": title, "requested_cost": cost, "category": "Parks"}
        )
        assert response.status_code == 303
    assert (
        client.post(f"{manage}/projects", data={"title": "X", "requested_cost": "abc"}).status_code
        == 422
    )
    swings, pond, lights = db_session.scalars(
        select(BudgetProject).order_by(BudgetProject.id)
    ).all()
    start = utcnow() + timedelta(days=1)
    vote = {
        "opens_at": start.strftime("%Y-%m-%dT%H:%M"),
        "closes_at": (start + timedelta(days=7)).strftime("%Y-%m-%dT%H:%M"),
        "eligibility": "email_verified",
        "eligibility_role": "citizen",
        "vote_changes": "y",
    }
    early = client.post(f"{manage}/vote", data=vote)
    assert early.status_code == 422 and "3 still waiting" in early.text
    review = f"{manage}/projects/{pond.id}/review"
    assert client.get(review).status_code == 200
    bad = client.post(review, data={"outcome": "infeasible", "reason": ""})
    assert bad.status_code == 422 and "the reason is public" in bad.text
    assert (
        client.post(review, data={"outcome": "infeasible", "reason": "Flood zone"}).status_code
        == 303
    )
    for project, cost in ((swings, "21000"), (lights, "9000")):
        url = f"{manage}/projects/{project.id}/review"
        assert client.post(url, data={"outcome": "feasible", "cost": cost}).status_code == 303
    opened = client.post(f"{manage}/vote", data=vote)
    assert opened.status_code == 303
    db_session.refresh(budget)
    ballot = db_session.get(Ballot, budget.ballot_id)
    assert [(o.label, o.cost) for o in ballot.options] == [("Swings", "21000"), ("Lights", "9000")]
    # Locked now: edits are refused, the ballot's own edit page leads back here.
    locked = client.post(f"{manage}/projects", data={"title": "Late"})
    assert locked.status_code == 422 and "can no longer change" in locked.text
    edit = client.get(f"/admin/ballots/{ballot.id}/edit", follow_redirects=True)
    assert edit.request.path == manage


def test_ranking_and_single_choice_budgets(
    client: FlaskClient, db_session: Any, login_as: Any
) -> None:
    login_as(make_user(db_session))
    ordinal = open_budget(db_session, make_budget(db_session, vote_type="ordinal"))
    single = open_budget(db_session, make_budget(db_session, vote_type="choose-1"))
    page = client.get(f"/ballots/{ordinal.id}").text
    assert 'name="rank-o1"' in page and "150,000 EUR" in page  # ranked, with costs
    review = client.post(f"/ballots/{ordinal.id}/review", data={"rank-o3": "1", "rank-o1": "2"})
    assert review.status_code == 200
    done = client.post(
        f"/ballots/{ordinal.id}/cast",
        data={
            "rank-o3": "1",
            "rank-o1": "2",
            "cast_token": token_in(review.text),
            "action": "cast",
        },
    )
    assert done.status_code == 200
    assert re.search(r"<li>Trees</li>\s*<li>Playground</li>", done.text)
    page = client.get(f"/ballots/{single.id}").text
    assert 'type="radio" name="approve"' in page and "Choose one project." in page
    two = client.post(f"/ballots/{single.id}/review", data={"approve": ["o1", "o2"]})
    assert two.status_code == 422 and "Choose one project." in two.text
    assert client.post(f"/ballots/{single.id}/review", data={"approve": "o2"}).status_code == 200
