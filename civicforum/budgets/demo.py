"""Demo participatory budgets for `civicforum seed-demo`:

* a decided budget (approval, Method of Equal Shares): a popular but expensive project loses
  because its supporters' equal shares cannot pay for it, and a smaller group still gets
  projects it chose;
* a budget open for voting (approval, the chosen projects must fit in the budget), which the
  demo citizen has not voted in;
* a budget still collecting projects, with reviews done and pending (for the admin pages).

Everything goes through the services, so the civic record holds the projects and reviews and
the vote log the ballots, exactly like real ones.
"""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import select
from sqlalchemy.orm import Session

from civicforum.accounts.models import User
from civicforum.ballots import services as ballots
from civicforum.ballots.demo import DOMAIN, VOTERS, _user
from civicforum.ballots.validation import Choice
from civicforum.budgets import services
from civicforum.budgets.models import Budget
from civicforum.db import utcnow
from civicforum.logstore import sequencer

TITLES = (
    "Green neighbourhoods 2026",
    "Youth and culture 2027",
    "Safer streets 2027",
)

# (title, category, location, cost asked for, confirmed cost or None = not feasible + reason)
GREEN = (
    ("Riverside park renovation", "Parks", "Riverside", "140000", "150000", ""),
    ("Community garden at Elm Street", "Parks", "Elm Street", "25000", "25000", ""),
    ("200 street trees", "Trees", "Whole city", "70000", "75000", ""),
    ("Cycle lane on Market Road", "Mobility", "Market Road", "75000", "75000", ""),
    ("Rain gardens by the school", "Water", "North school", "30000", "30000", ""),
    (
        "Green roof on the town hall",
        "Buildings",
        "Town hall",
        "90000",
        None,
        "The town hall's roof cannot carry the weight of soil; a survey in 2025 found it.",
    ),
)
YOUTH = (
    ("Skate park extension", "Sport", "Westside", "35000", "35000"),
    ("Free music studio for teenagers", "Culture", "Youth centre", "25000", "24000"),
    ("Open-air cinema summer", "Culture", "Central square", "15000", "15000"),
    ("Library late openings", "Culture", "Main library", "20000", "20000"),
    ("Street art walls", "Culture", "Station underpass", "8000", "8000"),
)
STREETS = (
    ("Safer crossing at the primary school", "Mobility", "School Lane", "45000"),
    ("Better lighting in Oak Park", "Safety", "Oak Park", "30000"),
    ("Speed cameras on the ring road", "Safety", "Ring road", "70000"),
)


def _budget(session: Session, admin: User | None, **fields: object) -> Budget:
    return services.create_budget(
        session,
        fields=services.BudgetFields(**fields),
        actor=admin,  # type: ignore[arg-type]
    )


def _decided(session: Session, admin: User | None, voters: list[User]) -> None:
    budget = _budget(
        session,
        admin,
        title=TITLES[0],
        description="250,000 EUR for greener neighbourhoods, proposed by residents in spring.",
        amount="250000",
        currency="EUR",
        period="2026",
        area="Parks, trees and water",
    )
    for title, category, place, asked, cost, reason in GREEN:
        project = services.add_project(
            session,
            budget=budget,
            fields=services.ProjectFields(
                title=title,
                description=f"{title}: proposed by residents of {place}.",
                category=category,
                location=place,
                requested_cost=asked,
            ),
            actor=admin,
        )
        services.review_project(
            session,
            project=project,
            feasible=cost is not None,
            cost=cost or "",
            reason=reason or "Estimated by the city's engineers.",
            actor=admin,
        )
    now = utcnow()
    ballot = services.open_voting(
        session,
        budget=budget,
        fields=services.VotingFields(
            opens_at=now - timedelta(days=1), closes_at=now + timedelta(days=1)
        ),
        actor=admin,
    )
    ballots.open_ballot(session, ballot=ballot, now=now)
    # Six residents want the park and the garden, four the trees and the rain gardens, four
    # the cycle lane. "Most votes first" would fund the park and leave eight voters with
    # nothing; under equal shares the six's shares cannot pay for the park, and every voter
    # gets a project they chose.
    chosen = [("o1", "o2")] * 6 + [("o3", "o5")] * 4 + [("o4",)] * 4
    for voter, keys in zip(voters, chosen, strict=False):
        ballots.cast_ballot(
            session, ballot=ballot, voter=voter, choice=Choice(ranked=False, approvals=keys)
        )
    ballot.closes_at = utcnow()
    session.flush()  # the closer re-reads the ballot row under its lock
    ballots.close_ballot(session, ballot, now=ballot.closes_at)


def _open(session: Session, admin: User | None, voters: list[User]) -> None:
    budget = _budget(
        session,
        admin,
        title=TITLES[1],
        description="80,000 EUR for young people's sport and culture. Choose the projects you"
        " want; together they must fit in the budget.",
        amount="80000",
        currency="EUR",
        period="2027",
        area="Youth",
        cost_limit=True,
        max_projects=4,
    )
    for title, category, place, asked, cost in YOUTH:
        project = services.add_project(
            session,
            budget=budget,
            fields=services.ProjectFields(
                title=title,
                description=f"{title} ({place}).",
                category=category,
                location=place,
                requested_cost=asked,
            ),
            actor=admin,
        )
        services.review_project(
            session, project=project, feasible=True, cost=cost, reason="", actor=admin
        )
    now = utcnow()
    ballot = services.open_voting(
        session,
        budget=budget,
        fields=services.VotingFields(
            opens_at=now - timedelta(hours=1), closes_at=now + timedelta(days=14)
        ),
        actor=admin,
    )
    ballots.open_ballot(session, ballot=ballot, now=now)
    for voter, keys in zip(
        voters[2:6],
        [("o1", "o2"), ("o2", "o3", "o5"), ("o1", "o4"), ("o3", "o4", "o5")],
        strict=True,
    ):
        ballots.cast_ballot(
            session, ballot=ballot, voter=voter, choice=Choice(ranked=False, approvals=keys)
        )


def _collecting(session: Session, admin: User | None) -> None:
    budget = _budget(
        session,
        admin,
        title=TITLES[2],
        description="100,000 EUR to make streets safer. Projects are being reviewed.",
        amount="100000",
        currency="EUR",
        period="2027",
        area="Safety and mobility",
    )
    for i, (title, category, place, asked) in enumerate(STREETS):
        project = services.add_project(
            session,
            budget=budget,
            fields=services.ProjectFields(
                title=title, category=category, location=place, requested_cost=asked
            ),
            actor=admin,
        )
        if i == 0:
            services.review_project(
                session, project=project, feasible=True, cost="48000", reason="", actor=admin
            )


def seed(session: Session) -> None:
    """Create the demo budgets unless they exist; the caller commits."""
    if session.scalar(select(Budget.id).where(Budget.title.in_(TITLES))):
        return
    admin = session.scalar(select(User).where(User.email == f"admin@{DOMAIN}"))
    voters = [_user(session, key) for key in ("alice", "bob", *VOTERS)]
    session.flush()  # the voters' ids, for the voter links
    _decided(session, admin, voters)
    _open(session, admin, voters)
    _collecting(session, admin)
    sequencer.sequence_due(session, log="votes", everything=True)
