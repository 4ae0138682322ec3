"""Factories for ballots: plain functions, keyword arguments, flush only (never commit)."""

from __future__ import annotations

import itertools
from datetime import timedelta
from typing import Any

from sqlalchemy.orm import Session

from civicforum.ballots import services
from civicforum.ballots.models import Ballot, Eligibility, Method
from civicforum.ballots.validation import Choice
from civicforum.db import utcnow

_seq = itertools.count(1)


def make_ballot(
    session: Session,
    *,
    method: Method | str = Method.APPROVAL,
    options: tuple[str, ...] = ("Apples", "Bananas", "Cherries"),
    proposal_ids: tuple[int, ...] = (),
    seats: int = 1,
    max_approvals: int | None = None,
    open_now: bool = True,
    opens_in: timedelta = timedelta(hours=1),
    duration: timedelta = timedelta(days=7),
    eligibility: Eligibility = Eligibility.EMAIL_VERIFIED,
    eligibility_role: str | None = None,
    secret: bool = True,
    vote_changes: bool = True,
    results_hidden: bool = True,
    actor: Any = None,
    title: str | None = None,
) -> Ballot:
    """Define a ballot through the service; open it at once unless ``open_now`` is False."""
    now = utcnow()
    opens_at = now - timedelta(minutes=1) if open_now else now + opens_in
    draft = services.BallotDraft(
        title=title or f"Test ballot {next(_seq)}",
        description="A ballot made by a test.",
        method=Method(method),
        options=tuple(services.OptionDraft(label) for label in options)
        + tuple(services.OptionDraft(f"Proposal {p}", proposal_id=p) for p in proposal_ids),
        opens_at=opens_at,
        closes_at=opens_at + duration,
        seats=seats,
        max_approvals=max_approvals,
        eligibility=eligibility,
        eligibility_role=eligibility_role,
        secret=secret,
        vote_changes=vote_changes,
        results_hidden=results_hidden,
    )
    ballot = services.define_ballot(session, draft=draft, actor=actor)
    if open_now:
        services.open_ballot(session, ballot=ballot)
    return ballot


def approve(*keys: str) -> Choice:
    return Choice(ranked=False, approvals=tuple(keys))


def rank(*keys: str) -> Choice:
    return Choice(ranked=True, ranking=tuple(keys))


def blank(ranked: bool = False) -> Choice:
    return Choice(ranked=ranked, blank=True)


def close(session: Session, ballot: Ballot) -> bool:
    """Close a ballot now (moves its closing time into the past first)."""
    ballot.closes_at = utcnow() - timedelta(seconds=1)
    session.flush()  # the closer re-reads the row under its lock
    return services.close_ballot(session, ballot)


def make_voted_ballot(session: Session, choices: list[Choice], **kwargs: Any) -> Ballot:
    """An open ballot (``make_ballot`` keywords) with one cast per choice, each by a member
    made before it opened (its electorate is fixed at opening)."""
    from tests.factories import make_user

    voters = [make_user(session) for _ in choices]
    ballot = make_ballot(session, **kwargs)
    for voter, choice in zip(voters, choices, strict=True):
        services.cast_ballot(session, ballot=ballot, voter=voter, choice=choice)
    return ballot
