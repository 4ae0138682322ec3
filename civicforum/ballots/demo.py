"""Demo ballots for `civicforum seed-demo`: one of each state a newcomer should see.

* an open approval ballot (secret, 2 winners, at most 3 approvals, provisional count shown),
  with up to two qualified demo proposals linked as options;
* an open instant-runoff ballot (public, roll-verified members only);
* a closed single-transferable-vote ballot (3 seats) with its published result.

Every demo ballot is cast through ``services.cast_ballot`` and closed through
``services.close_ballot``, so the vote log holds them exactly like real ones. The demo
citizen (citizen@demo.civicforum.test) has not voted in the open ballots, so they can.
"""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import select
from sqlalchemy.orm import Session

from civicforum.accounts.demo import backdate_member
from civicforum.accounts.models import User
from civicforum.ballots import services
from civicforum.ballots.models import Ballot, Eligibility, Method
from civicforum.ballots.validation import Choice
from civicforum.db import utcnow
from civicforum.logstore import sequencer

DOMAIN = "demo.civicforum.test"
VOTERS = tuple(f"voter{n:02d}" for n in range(1, 13))
TITLES = (
    "Which park improvements should we fund in 2027?",
    "Name the new library",
    "Citizens' panel on mobility (3 seats)",
)


def _user(session: Session, key: str) -> User:
    """A demo account by the part before the @, created (email verified) when missing."""
    from civicforum.accounts import services as accounts

    user = accounts.find_user_by_email(session, f"{key}@{DOMAIN}")
    if user is None:
        user = accounts.create_user(
            session,
            email=f"{key}@{DOMAIN}",
            display_name=f"{key.capitalize()} (demo voter)",
            password="demo-citizen-password",
        )
        user.email_verified_at = utcnow()
    if key.startswith("voter") and user.roll_verified_at is None:
        user.roll_verified_at = utcnow()  # demo voters count as on the roll
    backdate_member(user)  # members before the demo ballots opened (their electorate)
    return user


def _define(
    session: Session,
    *,
    title: str,
    method: Method,
    options: list[services.OptionDraft],
    admin: User | None,
    days_open: float,
    **rules: object,
) -> Ballot:
    now = utcnow()
    draft = services.BallotDraft(
        title=title,
        description=rules.pop("description", ""),  # type: ignore[arg-type]
        method=method,
        options=tuple(options),
        opens_at=now - timedelta(days=1),
        closes_at=now + timedelta(days=days_open),
        **rules,  # type: ignore[arg-type]
    )
    ballot = services.define_ballot(session, draft=draft, actor=admin)
    services.open_ballot(session, ballot=ballot, now=now)
    return ballot


def _cast(session: Session, ballot: Ballot, voters: list[User], choices: list[Choice]) -> None:
    for voter, choice in zip(voters, choices, strict=False):
        services.cast_ballot(session, ballot=ballot, voter=voter, choice=choice)


def seed(session: Session) -> None:
    """Create the three demo ballots unless they exist; the caller commits."""
    existing = set(session.scalars(select(Ballot.title).where(Ballot.title.in_(TITLES))))
    if existing:
        return
    admin = session.scalar(select(User).where(User.email == f"admin@{DOMAIN}"))
    voters = [_user(session, key) for key in ("alice", "bob", *VOTERS)]
    session.flush()  # the voters' ids, for the voter links

    proposals = services.qualified_proposals(session)[:2]
    approval = _define(
        session,
        title=TITLES[0],
        description="Tick up to three improvements. The two with the most approvals are funded.",
        method=Method.APPROVAL,
        options=[
            services.OptionDraft(label)
            for label in ("New playground", "More benches", "Plant 50 trees", "Outdoor gym")
        ]
        + [services.OptionDraft(title[:500], proposal_id=pid) for pid, title in proposals],
        admin=admin,
        days_open=14,
        seats=2,
        max_approvals=3,
        results_hidden=False,
    )
    a = [
        Choice(ranked=False, approvals=keys) for keys in (("o1", "o3"), ("o3",), ("o2", "o3", "o4"))
    ]
    _cast(session, approval, voters[:6], a * 2)

    irv = _define(
        session,
        title=TITLES[1],
        description="Rank the names you like. Instant-runoff: the least popular name is dropped "
        "each round until one has a majority. This is a public ballot: your public handle is "
        "recorded with your ranking.",
        method=Method.IRV,
        options=[
            services.OptionDraft(label)
            for label in ("Ada Lovelace Library", "The Commons", "Riverside Library", "Bookhaven")
        ],
        admin=admin,
        days_open=10,
        eligibility=Eligibility.ROLL_VERIFIED,
        secret=False,
    )
    r = [
        Choice(ranked=True, ranking=keys)
        for keys in (("o1", "o3"), ("o2", "o1"), ("o3", "o2", "o1"), ("o4", "o2"), ("o1",))
    ]
    _cast(session, irv, voters[2:7], r)

    stv = _define(
        session,
        title=TITLES[2],
        description="Three seats on the citizens' panel, elected by single transferable vote.",
        method=Method.STV,
        options=[
            services.OptionDraft(label)
            for label in ("Noor", "Yusuf", "Ingrid", "Mateo", "Priya", "Lars")
        ],
        admin=admin,
        days_open=1,
        seats=3,
    )
    rankings = [
        ("o1", "o2", "o3"),
        ("o1", "o3"),
        ("o1", "o4", "o2"),
        ("o1", "o2"),
        ("o2", "o1", "o5"),
        ("o2", "o5"),
        ("o3", "o6", "o4"),
        ("o3", "o4"),
        ("o4", "o3", "o6"),
        ("o5", "o2", "o1"),
        ("o6", "o4", "o3"),
        ("o5", "o6"),
        ("o6", "o3"),
        ("o1", "o6"),
    ]
    _cast(session, stv, voters, [Choice(ranked=True, ranking=k) for k in rankings])
    now = utcnow()
    stv.closes_at = now
    session.flush()  # the closer re-reads the ballot row under its lock
    services.close_ballot(session, stv, now=now)
    # Demo voters are fictitious: put their pooled casts in the log now, so that the log,
    # receipts and exports show them at once (real casts wait for a batch).
    sequencer.sequence_due(session, log="votes", everything=True)
