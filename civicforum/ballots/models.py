"""Ballots: definitions, options, the open-period voter links, the participation roll, receipts.

Secrecy (docs/ledger.md §8) shapes these tables:

* ``ballot_voter_links`` is the ONLY place that joins a voter to a tracker. It exists while the
  ballot is open (to refuse double votes and apply vote changes) and its rows are deleted when
  the ballot closes.
* ``ballot_participations`` says who voted, never how: no tracker, no time, no surrogate key
  (on SQLite it is a WITHOUT ROWID table, so even the physical order is by voter id, not by
  arrival). Do not "improve" it with an id or a created_at column.
* ``ballot_receipts`` keeps each cast's receipt under the hash of its one-time cast token, so a
  retried request gets the same receipt back; no voter, no time, rewritten in key order when
  the ballot closes.
* There is no copy of the casts: choices are read from the signed vote log, and the count is
  made from it (``votelog.replay``).
"""

from __future__ import annotations

import enum
import json
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import ForeignKey, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from civicforum.accounts.models import User
from civicforum.db import db, utcnow


class BallotStatus(enum.StrEnum):
    SCHEDULED = "scheduled"  # defined, editable, not yet open
    OPEN = "open"
    CLOSED = "closed"
    CANCELLED = "cancelled"


class Method(enum.StrEnum):
    APPROVAL = "approval"
    IRV = "irv"
    STV = "stv"
    SCHULZE = "schulze"
    # A participatory budget: options are projects with costs; the vote type (Pabulib's:
    # approval, choose-1, cumulative, ordinal) and the allocation rule are in `budget_rules`.
    BUDGET = "budget"

    @property
    def ranked(self) -> bool:
        return self in (Method.IRV, Method.STV, Method.SCHULZE)


class Eligibility(enum.StrEnum):
    EMAIL_VERIFIED = "email_verified"
    ROLL_VERIFIED = "roll_verified"
    ROLE = "role"


class BallotRulesMixin:
    """What a ballot's rules derive from its columns, shared by the model and ``CastRules``."""

    id: Any
    method: Any
    budget_rules: Any

    @property
    def method_enum(self) -> Method:
        return Method(self.method)

    @property
    def is_budget(self) -> bool:
        return self.method == Method.BUDGET

    @property
    def budget(self) -> dict[str, Any]:
        """A budget ballot's rules as published in ``ballot.opened`` ({} for other ballots)."""
        return json.loads(self.budget_rules) if self.budget_rules else {}

    @property
    def vote_type(self) -> str:
        """Pabulib's vote type of a budget ballot; "approval" or "ranking" otherwise."""
        if self.is_budget:
            return str(self.budget["voteType"])
        return "ranking" if self.method_enum.ranked else "approval"

    @property
    def is_ranked(self) -> bool:
        """Voters rank options (the ranked methods, and ordinal budget ballots)."""
        return self.method_enum.ranked or self.vote_type == "ordinal"

    @property
    def ledger_id(self) -> str:
        """The ballot's identifier in the vote log (a safe ident: names export files)."""
        return f"b{self.id}"


class Ballot(BallotRulesMixin, db.Model):
    __tablename__ = "ballots"

    id: Mapped[int] = mapped_column(primary_key=True)
    title: Mapped[str] = mapped_column(String(200))
    description: Mapped[str] = mapped_column(Text, default="")
    method: Mapped[str] = mapped_column(String(20))
    seats: Mapped[int] = mapped_column(default=1)
    max_approvals: Mapped[int | None]
    opens_at: Mapped[datetime]
    closes_at: Mapped[datetime] = mapped_column(index=True)
    eligibility: Mapped[str] = mapped_column(String(20), default=Eligibility.EMAIL_VERIFIED.value)
    eligibility_role: Mapped[str | None] = mapped_column(String(20))
    secret: Mapped[bool] = mapped_column(default=True)
    vote_changes: Mapped[bool] = mapped_column(default=True)
    results_hidden: Mapped[bool] = mapped_column(default=True)
    status: Mapped[str] = mapped_column(
        String(20), default=BallotStatus.SCHEDULED.value, index=True
    )
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    opened_index: Mapped[int | None]  # vote-log index of ballot.opened
    closed_at: Mapped[datetime | None]
    closed_index: Mapped[int | None]  # vote-log index of ballot.closed
    cast_count: Mapped[int | None]
    superseded_count: Mapped[int | None]
    counted_count: Mapped[int | None]
    # The canonical result JSON (civicforum.tabulation.result_to_json) whose SHA-256 is in
    # the result.published entry; kept byte for byte so exports can ship it unchanged.
    result_json: Mapped[str | None] = mapped_column(Text)
    result_sha256: Mapped[str | None] = mapped_column(String(64))
    seed_size: Mapped[int | None]  # checkpoint right after ballot.closed: size and root (hex)
    seed_root: Mapped[str | None] = mapped_column(String(64))
    # A budget ballot's rules as published in ballot.opened (JSON: budget, voteType, rule and
    # the ballot limits); None for other methods.
    budget_rules: Mapped[str | None] = mapped_column(Text)
    result_index: Mapped[int | None]
    # The electorate fixed at opening: how many and the root of their keyed leaves (the
    # commitment in ballot.opened, ledger.electorate).
    electorate_size: Mapped[int | None]
    electorate_root: Mapped[str | None] = mapped_column(String(64))
    cancelled_at: Mapped[datetime | None]
    cancel_reason: Mapped[str | None] = mapped_column(Text)

    options: Mapped[list[BallotOption]] = relationship(
        back_populates="ballot",
        order_by="BallotOption.position",
        cascade="all, delete-orphan",
        lazy="selectin",
    )
    created_by: Mapped[User | None] = relationship()

    def option_by_key(self) -> dict[str, BallotOption]:
        return {o.key: o for o in self.options}


class BallotOption(db.Model):
    __tablename__ = "ballot_options"
    __table_args__ = (
        UniqueConstraint("ballot_id", "key"),
        UniqueConstraint("ballot_id", "position"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    ballot_id: Mapped[int] = mapped_column(ForeignKey("ballots.id", ondelete="CASCADE"))
    position: Mapped[int]
    # Stable id in ledger entries, CVR exports and form field names ("o1", "o2", ...).
    key: Mapped[str] = mapped_column(String(16))
    label: Mapped[str] = mapped_column(String(500))
    # A budget project's cost, an exact decimal ("1500.50"); None for other methods.
    cost: Mapped[str | None] = mapped_column(String(24))
    # A linked proposal: qualified (or on a cancelled ballot) when linked; it moves to
    # "on ballot" when the ballot is saved, and to adopted/rejected when the result is published.
    proposal_id: Mapped[int | None] = mapped_column(
        ForeignKey("proposals.id", ondelete="SET NULL"), index=True
    )

    ballot: Mapped[Ballot] = relationship(back_populates="options")


@dataclass(frozen=True, slots=True)
class OptionKey:
    key: str
    cost: str | None = None


@dataclass(frozen=True, slots=True)
class CastRules(BallotRulesMixin):
    """The columns a cast is checked and recorded against, read as plain rows: building ORM
    objects for the ballot and its options was the largest Python cost in the cast view.
    Only the cast path uses it; refusals and pages load the model."""

    __tablename__ = "ballots"  # audit rows name their subject by table, as for the model

    id: int
    method: str
    max_approvals: int | None
    opens_at: datetime
    closes_at: datetime
    eligibility: str
    eligibility_role: str | None
    secret: bool
    vote_changes: bool
    status: str
    electorate_size: int | None
    budget_rules: str | None
    options: tuple[OptionKey, ...]


class BallotVoterLink(db.Model):
    """Voter ↔ current tracker while the ballot is open; every row is deleted at closing."""

    __tablename__ = "ballot_voter_links"

    ballot_id: Mapped[int] = mapped_column(
        ForeignKey("ballots.id", ondelete="CASCADE"), primary_key=True
    )
    # The primary key (ballot, voter) is what serialises one voter's casts: a parallel
    # second submission waits on this row and then counts as a vote change.
    voter_id: Mapped[int] = mapped_column(
        ForeignKey("users.id", ondelete="CASCADE"), primary_key=True
    )
    tracker: Mapped[str] = mapped_column(String(32))
    # The current vote's receipt (BallotReceipt.token_key).
    receipt_key: Mapped[str | None] = mapped_column(String(64))
    # Vote changes so far: capped (validation.MAX_VOTE_CHANGES), as each appends an entry.
    changes: Mapped[int] = mapped_column(server_default="0")  # no Python default: OnDriver
    # Trackers this voter's changes replaced, space-separated: closing appends a
    # `ballot.superseded` mark for each (sorted with every other voter's) and deletes the row.
    superseded: Mapped[str] = mapped_column(Text, server_default="")


class BallotParticipation(db.Model):
    """The participation roll: who voted in which ballot, never how, when or in what order."""

    __tablename__ = "ballot_participations"
    __table_args__ = {"sqlite_with_rowid": False}

    ballot_id: Mapped[int] = mapped_column(
        ForeignKey("ballots.id", ondelete="CASCADE"), primary_key=True
    )
    voter_id: Mapped[int] = mapped_column(
        ForeignKey("users.id", ondelete="CASCADE"), primary_key=True
    )


class BallotElector(db.Model):
    """The electorate fixed when the ballot opened (``electorate``): one row per member who
    may vote in it, whatever happens to their eligibility afterwards. Written once, at
    opening, in member order; the commitment in ``ballot.opened`` is over exactly these."""

    __tablename__ = "ballot_electors"
    __table_args__ = {"sqlite_with_rowid": False}

    ballot_id: Mapped[int] = mapped_column(
        ForeignKey("ballots.id", ondelete="CASCADE"), primary_key=True
    )
    voter_id: Mapped[int] = mapped_column(
        ForeignKey("users.id", ondelete="CASCADE"), primary_key=True
    )


class BallotReceipt(db.Model):
    """A cast's receipt (the signed promise) under the SHA-256 of its one-time cast token.

    A retried cast request carries the same token and gets this receipt back instead of
    casting again, even after closing. The token exists only in the voter's review form, so
    the row names nobody; closing rewrites the ballot's rows in key order (no arrival order).
    """

    __tablename__ = "ballot_receipts"
    __table_args__ = {"sqlite_with_rowid": False}

    token_key: Mapped[str] = mapped_column(String(64), primary_key=True)
    ballot_id: Mapped[int] = mapped_column(ForeignKey("ballots.id", ondelete="CASCADE"), index=True)
    text: Mapped[str] = mapped_column(Text)
