"""A ballot's electorate, fixed at its opening time (docs/ledger.md §1.3, §8).

Who may vote is decided by the eligibility rule **as it stood when the ballot opened**: each
member's eligibility has a start (their email verification, their roll claim, the grant of the
role), and only members whose start is not after the opening time are electors. A registration,
verification or roll claim during the vote never adds a voter, and since the set is defined by
past times it is the same whenever it is computed. (Losing eligibility still counts: a member
whose role is revoked during the vote can no longer vote.)

Opening publishes a commitment to it in ``ballot.opened`` (``ledger.electorate``: the size and
the Merkle root of keyed leaves), which the auditor checks participation against.
"""

from __future__ import annotations

import hashlib
import hmac
from datetime import datetime
from typing import Any

from flask import current_app
from sqlalchemy import insert, select
from sqlalchemy.orm import Session

from civicforum.accounts.models import User, UserRole
from civicforum.ballots.models import BallotElector, Eligibility
from civicforum.ledger.electorate import Electorate, elector_leaf


def key() -> bytes:
    """The key of electors' leaves: derived from the secret key, so every instance agrees."""
    secret = str(current_app.config["SECRET_KEY"]).encode()
    return hmac.new(secret, b"civicforum electorate key v1", hashlib.sha256).digest()


def eligible_since(session: Session, ballot: Any, voter: Any) -> datetime | None:
    """When ``voter`` began to meet the ballot's rule (None: they do not meet it now)."""
    if not getattr(voter, "is_authenticated", False):
        return None
    rule = Eligibility(ballot.eligibility)
    if rule is Eligibility.EMAIL_VERIFIED:
        return voter.email_verified_at  # type: ignore[no-any-return]
    if rule is Eligibility.ROLL_VERIFIED:
        return voter.roll_verified_at  # type: ignore[no-any-return]
    if ballot.eligibility_role not in voter.role_names:
        return None
    return session.scalar(
        select(UserRole.granted_at).where(
            UserRole.user_id == voter.id, UserRole.role == ballot.eligibility_role
        )
    )


def is_elector(session: Session, ballot: Any, voter: Any) -> bool:
    """In the electorate: once the ballot opened, one of the members fixed then (exactly the
    set its commitment covers); before, a member whose eligibility began by its opening time."""
    if not getattr(voter, "is_authenticated", False):
        return False
    if ballot.electorate_size is not None:
        return session.get(BallotElector, (ballot.id, voter.id)) is not None
    since = eligible_since(session, ballot, voter)
    return since is not None and since <= ballot.opens_at


def elector_ids(session: Session, ballot: Any) -> list[int]:
    """Every member in the electorate of ``ballot`` (by its rule and opening time)."""
    rule = Eligibility(ballot.eligibility)
    if rule is Eligibility.EMAIL_VERIFIED:
        query = select(User.id).where(User.email_verified_at <= ballot.opens_at)
    elif rule is Eligibility.ROLL_VERIFIED:
        query = select(User.id).where(User.roll_verified_at <= ballot.opens_at)
    else:
        query = select(UserRole.user_id).where(
            UserRole.role == ballot.eligibility_role, UserRole.granted_at <= ballot.opens_at
        )
    return sorted(int(i) for i in session.scalars(query))


def fix(session: Session, ballot: Any) -> Electorate:
    """Write the electorate of a ballot that is opening, and return its commitment (the keyed
    leaves of ``ledger.electorate``) for the ``ballot.opened`` entry. The caller commits."""
    members = elector_ids(session, ballot)
    if members:
        session.execute(
            insert(BallotElector),
            [{"ballot_id": ballot.id, "voter_id": member} for member in members],
        )
    secret = key()
    return Electorate.of(
        elector_leaf(secret, ballot=ballot.ledger_id, member=str(member)) for member in members
    )
