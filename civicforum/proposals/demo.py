"""Demo proposals: ~30 across every lifecycle state and category (`civicforum seed-demo`).

Uses the demo accounts of civicforum/accounts/demo.py when they exist and adds its own
demo citizens (bulk-inserted, one shared password hash) as supporters and authors.
"""

from __future__ import annotations

import random
from datetime import timedelta

from sqlalchemy import func, insert, select
from sqlalchemy.orm import Session

from civicforum.accounts.models import Role, User, UserRole
from civicforum.db import utcnow
from civicforum.proposals import lifecycle, services
from civicforum.proposals.models import Category, Proposal, ProposalState, Support

DOMAIN = "demo.civicforum.test"  # same domain as civicforum/accounts/demo.py
EXTRA_CITIZENS = 60
S = ProposalState

CATEGORIES = (
    ("mobility", "Mobility", "Streets, cycling, public transport"),
    ("environment", "Parks and environment", "Green spaces, trees, climate"),
    ("housing", "Housing", "Affordable homes and neighbourhoods"),
    ("culture", "Culture and sport", "Libraries, events, sports grounds"),
    ("education", "Education", "Schools and lifelong learning"),
    ("governance", "Governance", "How this community decides"),
)

IDEAS = (
    ("mobility", "Protected cycle lanes on the ring road", ["cycling", "safety"]),
    ("mobility", "Free buses for under-18s", ["buses", "youth"]),
    ("mobility", "Car-free Sundays in the old town", ["old town", "events"]),
    ("mobility", "More benches and shade at tram stops", ["tram", "accessibility"]),
    ("mobility", "A 30 km/h limit near every school", ["safety", "schools"]),
    ("environment", "Plant 1,000 street trees by 2028", ["trees", "climate"]),
    ("environment", "Community compost points in every district", ["waste"]),
    ("environment", "Open the river banks for swimming", ["river", "summer"]),
    ("environment", "Pesticide-free public parks", ["parks", "biodiversity"]),
    ("environment", "Solar panels on all municipal roofs", ["climate", "energy"]),
    ("housing", "A register of empty homes", ["vacancy"]),
    ("housing", "Tenant advice desk in the town hall", ["tenants"]),
    ("housing", "Allow small garden homes on large plots", ["zoning"]),
    ("housing", "Cooperative housing on the old rail yard", ["cooperatives"]),
    ("housing", "Winter shelter open every night from November", ["homelessness"]),
    ("culture", "Library open on Sundays", ["library"]),
    ("culture", "Free entry to museums on the first Sunday", ["museums"]),
    ("culture", "Outdoor fitness equipment in parks", ["sport", "parks"]),
    ("culture", "A yearly festival of neighbourhood choirs", ["music", "events"]),
    ("culture", "Skate park next to the youth centre", ["youth", "sport"]),
    ("education", "Repair cafés in school workshops", ["repair", "schools"]),
    ("education", "Swimming lessons for every primary pupil", ["schools", "swimming"]),
    ("education", "Evening language classes for newcomers", ["languages"]),
    ("education", "Healthy, local school lunches", ["food", "schools"]),
    ("governance", "Publish all council votes as open data", ["open data"]),
    ("governance", "Citizens' assembly on the budget", ["budget", "assembly"]),
    ("governance", "Livestream every council meeting", ["transparency"]),
    ("governance", "Lower the voting age for local ballots to 16", ["youth", "voting"]),
    ("governance", "A participatory budget of 1 % of investment", ["budget"]),
    ("governance", "Plain-language summaries of every decision", ["transparency"]),
)

# Every state, several times; order matches IDEAS.
STATES = (
    [S.PUBLISHED] * 12
    + [S.QUALIFIED] * 4
    + [S.ON_BALLOT] * 3
    + [S.ADOPTED] * 3
    + [S.REJECTED] * 2
    + [S.WITHDRAWN] * 2
    + [S.ARCHIVED] * 2
    + [S.DRAFT] * 2
)
PATHS = {
    S.DRAFT: [],
    S.PUBLISHED: [S.PUBLISHED],
    S.QUALIFIED: [S.PUBLISHED, S.QUALIFIED],
    S.ON_BALLOT: [S.PUBLISHED, S.QUALIFIED, S.ON_BALLOT],
    S.ADOPTED: [S.PUBLISHED, S.QUALIFIED, S.ON_BALLOT, S.ADOPTED],
    S.REJECTED: [S.PUBLISHED, S.QUALIFIED, S.ON_BALLOT, S.REJECTED],
    S.WITHDRAWN: [S.PUBLISHED, S.WITHDRAWN],
    S.ARCHIVED: [S.PUBLISHED, S.ARCHIVED],
}
REASONS = {
    S.QUALIFIED: "Reached the support threshold.",
    S.ON_BALLOT: "Put on the spring ballot.",
    S.ADOPTED: "Adopted by the ballot.",
    S.REJECTED: "Rejected by the ballot.",
    S.WITHDRAWN: "Merged into a broader proposal.",
    S.ARCHIVED: "The support period ended without reaching the threshold.",
}


def body_for(title: str, rng: random.Random) -> str:
    return (
        f"## Why\n\n{title} would make daily life better for many residents. "
        "Neighbours raised it in several district meetings.\n\n"
        "## What we ask\n\n"
        "1. A study by the city services within six months;\n"
        "2. a pilot in one district;\n"
        "3. a public evaluation after a year.\n\n"
        f"Estimated cost: **{rng.randint(2, 90) * 10_000:,} €**. "
        "See the [open budget](https://example.org/budget) for comparable projects."
    )


def demo_citizens(session: Session) -> list[User]:
    """The demo accounts (if seeded) plus bulk-created extra citizens."""
    from civicforum.accounts.passwords import hash_password

    existing = list(
        session.scalars(select(User).where(User.email.like(f"%@{DOMAIN}")).order_by(User.id))
    )
    missing = [
        n
        for n in range(1, EXTRA_CITIZENS + 1)
        if f"resident{n}@{DOMAIN}" not in {u.email for u in existing}
    ]
    if missing:
        shared_hash = hash_password("demo-citizen-password")
        now = utcnow()
        ids = session.scalars(
            insert(User).returning(User.id, sort_by_parameter_order=True),
            [
                {
                    "email": f"resident{n}@{DOMAIN}",
                    "display_name": f"Resident {n} (demo)",
                    "handle": f"c-demo{n:05d}",
                    "password_hash": shared_hash,
                    "created_at": now,
                    "email_verified_at": now,
                    "session_version": 1,
                    "notify_email_digest": False,
                }
                for n in missing
            ],
        ).all()
        session.execute(
            insert(UserRole),
            [{"user_id": i, "role": str(Role.CITIZEN), "granted_at": now} for i in ids],
        )
    return list(
        session.scalars(select(User).where(User.email.like(f"%@{DOMAIN}")).order_by(User.id))
    )


def seed(session: Session) -> None:
    """Create demo categories, citizens and ~30 proposals; the caller commits."""
    if session.scalar(
        select(func.count()).select_from(Proposal).where(Proposal.title == IDEAS[0][1])
    ):
        return
    rng = random.Random(2026)
    categories = {}
    for position, (slug, name, description) in enumerate(CATEGORIES):
        category = session.scalar(select(Category).where(Category.slug == slug))
        if category is None:
            category = Category(slug=slug, name=name, description=description, position=position)
            session.add(category)
        categories[slug] = category
    session.flush()  # need the category ids
    people = demo_citizens(session)
    threshold = services.support_threshold(session)
    now = utcnow()
    for index, ((slug, title, tags), state) in enumerate(zip(IDEAS, STATES, strict=True)):
        author = people[index % len(people)]
        data = services.ProposalInput(
            title=title,
            summary=f"{title}: a proposal from residents, with a pilot and a public evaluation.",
            body=body_for(title, rng),
            category_id=categories[slug].id,
            tags=tags,
        )
        proposal = services.create_proposal(session, author=author, data=data)
        for step in PATHS[state]:
            actor = author if step in (S.PUBLISHED, S.WITHDRAWN) else None
            lifecycle.transition(session, proposal, step, actor=actor, reason=REASONS.get(step, ""))
        if proposal.published_at is not None:
            age = timedelta(days=rng.randint(1, 80), hours=rng.randint(0, 23))
            proposal.published_at = now - age
            proposal.created_at = proposal.published_at - timedelta(days=1)
            period = timedelta(days=90)
            proposal.support_deadline = proposal.published_at + period
            if state is S.ARCHIVED:
                proposal.support_deadline = now - timedelta(days=rng.randint(1, 20))
        if state is S.DRAFT:
            continue
        if state in (S.PUBLISHED, S.WITHDRAWN, S.ARCHIVED):
            count = rng.randint(0, max(0, min(threshold - 1, len(people) - 1)))
        else:
            count = min(len(people), max(threshold, rng.randint(threshold, threshold + 20)))
        supporters = rng.sample(people, count)
        if supporters:
            session.execute(
                insert(Support),
                [
                    {"proposal_id": proposal.id, "user_id": u.id, "created_at": now}
                    for u in supporters
                ],
            )
        proposal.support_count = len(supporters)
    session.flush()
