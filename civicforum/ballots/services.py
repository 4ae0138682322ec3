"""Ballot services: define, open, cast, close, cancel. Callers own the transaction and commit.

Locking (why the order matters):

* ``cast_ballot`` takes a SHARE lock on the ballot row, ``close_ballot`` an UPDATE lock. Casts
  therefore run side by side, while a closer waits for every cast in flight and casts that
  arrive later see the ballot closed. Without it a cast could land in the log after
  ``ballot.closed``, which the auditor rejects. A cast committed as *pending* (the log head
  was busy, docs/ledger.md §2.2) is in the log before ``ballot.closed`` too: the closer's
  append first sequences every committed pending entry.
* The ballot row lock is always taken before the log head lock, in every path, and a cast
  only ever *tries* the head lock (``FOR UPDATE SKIP LOCKED``), so the two cannot deadlock.
  (Waiting for the receipt happens after the cast's commit, holding nothing.)
* A cast claims its voter's link row first (``votelog.claim_link``). The sequencer hook
  (``votelog.record_indices``) updates, under the head lock, only the cast rows of casts it
  swept from the queue, by primary key, never a link. A vote change marking such a row
  superseded may wait for the batch, or the batch for it, but a change locks that row in its
  last statement and a batch holds nothing a cast needs before it: no cycle.
* SQLite ignores ``FOR UPDATE``/``FOR SHARE``; there every writing request starts with
  ``BEGIN IMMEDIATE`` (``web.sqlite_lock``, and ``begin_write`` in views for GETs that close a
  ballot lazily), which serialises whole transactions: a cast there always sequences itself.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import bindparam, delete, func, insert, select
from sqlalchemy.orm import Session

from civicforum.accounts.services import Page
from civicforum.audit.services import record_event
from civicforum.ballots import counting, validation, votelog
from civicforum.ballots.errors import (
    AlreadyVotedError,
    BallotNotEditableError,
    BallotNotOpenError,
    InvalidBallotDefinitionError,
)
from civicforum.ballots.models import (
    Ballot,
    BallotCast,
    BallotOption,
    BallotParticipation,
    BallotStatus,
    BallotVoterLink,
    CastRules,
    Eligibility,
    Method,
    OptionKey,
)
from civicforum.ballots.validation import Choice
from civicforum.db import OnDriver, flush_sqlite_wal_after_commit, utcnow
from civicforum.ledger import entry as ledger_entry
from civicforum.web.pagination import clamp_page

# ----------------------------------------------------------------------------- definition


@dataclass(frozen=True, slots=True)
class OptionDraft:
    label: str
    proposal_id: int | None = None


@dataclass(frozen=True, slots=True)
class BallotDraft:
    """Everything an admin decides about a ballot (times are aware UTC datetimes)."""

    title: str
    description: str
    method: Method
    options: tuple[OptionDraft, ...]
    opens_at: datetime
    closes_at: datetime
    seats: int = 1
    max_approvals: int | None = None
    eligibility: Eligibility = Eligibility.EMAIL_VERIFIED
    eligibility_role: str | None = None
    secret: bool = True
    vote_changes: bool = True
    results_hidden: bool = True


def check_draft(draft: BallotDraft, *, now: datetime | None = None) -> None:
    """Refuse a definition that cannot be counted or voted on (422 with the reason).

    With ``now`` (an admin saving the form), a period already over is refused too: saved, it
    would open and close at once and publish a count of no ballots."""
    from flask_babel import lazy_gettext as _

    from civicforum.accounts.models import Role

    labels = [o.label.strip() for o in draft.options]
    if not draft.title.strip():
        raise InvalidBallotDefinitionError(_("A ballot needs a title."))
    if len(labels) < 2:
        raise InvalidBallotDefinitionError(_("A ballot needs at least two options."))
    if any(not label or len(label) > 500 for label in labels):
        raise InvalidBallotDefinitionError(_("Option labels must be 1 to 500 characters."))
    if len({label.casefold() for label in labels}) != len(labels):
        raise InvalidBallotDefinitionError(_("Two options have the same label."))
    proposals = [o.proposal_id for o in draft.options if o.proposal_id is not None]
    if len(set(proposals)) != len(proposals):
        raise InvalidBallotDefinitionError(_("A proposal is linked to two options."))
    if draft.closes_at <= draft.opens_at:
        raise InvalidBallotDefinitionError(_("The ballot must close after it opens."))
    if now is not None and draft.closes_at <= now:
        raise InvalidBallotDefinitionError(
            _("This voting period is already over: choose a closing time in the future.")
        )
    if draft.method in (Method.APPROVAL, Method.STV):
        if not 1 <= draft.seats < len(labels):
            raise InvalidBallotDefinitionError(
                _("The number of winners must be at least 1 and less than the number of options.")
            )
    elif draft.seats != 1:
        raise InvalidBallotDefinitionError(_("This method elects exactly one winner."))
    if draft.max_approvals is not None:
        if draft.method is not Method.APPROVAL:
            raise InvalidBallotDefinitionError(
                _("A maximum number of approvals applies only to approval ballots.")
            )
        if not draft.seats <= draft.max_approvals <= len(labels):
            raise InvalidBallotDefinitionError(
                _(
                    "The maximum number of approvals must be between the number of winners and "
                    "the number of options."
                )
            )
    if draft.eligibility is Eligibility.ROLE and draft.eligibility_role not in {
        str(r) for r in Role
    }:
        raise InvalidBallotDefinitionError(_("Choose the role whose members may vote."))


def _linkable_proposal_ids(session: Session, ballot: Ballot | None) -> set[int]:
    """Proposals that may be linked: qualified, or left "on ballot" by a cancelled or edited
    ballot (the lifecycle has no way back to qualified), and not on another live ballot."""
    try:
        from civicforum.proposals.models import Proposal, ProposalState
    except ImportError:  # pragma: no cover - the proposals feature is optional
        return set()
    live = (
        select(BallotOption.proposal_id)
        .join(Ballot)
        .where(
            BallotOption.proposal_id.is_not(None),
            Ballot.status.in_([BallotStatus.SCHEDULED.value, BallotStatus.OPEN.value]),
            Ballot.id != (ballot.id if ballot is not None else -1),
        )
    )
    return set(
        session.scalars(
            select(Proposal.id).where(
                Proposal.state.in_([ProposalState.QUALIFIED, ProposalState.ON_BALLOT]),
                Proposal.id.not_in(live),
            )
        )
    )


def _check_proposals(session: Session, draft: BallotDraft, ballot: Ballot | None) -> None:
    from flask_babel import lazy_gettext as _

    ids = {o.proposal_id for o in draft.options if o.proposal_id is not None}
    if ids and not ids <= _linkable_proposal_ids(session, ballot):
        raise InvalidBallotDefinitionError(
            _("Only qualified proposals that are not on another ballot can be linked.")
        )


def _apply(ballot: Ballot, draft: BallotDraft) -> None:
    ballot.title = draft.title.strip()
    ballot.description = draft.description.strip()
    ballot.method = draft.method.value
    ballot.seats = draft.seats
    ballot.max_approvals = draft.max_approvals
    ballot.opens_at = draft.opens_at
    ballot.closes_at = draft.closes_at
    ballot.eligibility = draft.eligibility.value
    ballot.eligibility_role = (
        draft.eligibility_role if draft.eligibility is Eligibility.ROLE else None
    )
    ballot.secret = draft.secret
    ballot.vote_changes = draft.vote_changes
    ballot.results_hidden = draft.results_hidden


def define_ballot(
    session: Session, *, draft: BallotDraft, actor: Any, now: datetime | None = None
) -> Ballot:
    """Create a scheduled ballot from ``draft`` (see check_draft for ``now``); the caller
    commits."""
    check_draft(draft, now=now)
    _check_proposals(session, draft, None)
    ballot = Ballot(created_by_id=getattr(actor, "id", None), status=BallotStatus.SCHEDULED.value)
    _apply(ballot, draft)
    ballot.options = [
        BallotOption(position=i, key=f"o{i}", label=o.label.strip(), proposal_id=o.proposal_id)
        for i, o in enumerate(draft.options, 1)
    ]
    session.add(ballot)
    session.flush()  # need the id for the audit row
    _transition_proposals(session, ballot, {}, "on_ballot", actor, _reason("saved"))
    record_event(session, "ballot:ballot:define", actor=actor, subject=ballot)
    return ballot


def update_ballot(
    session: Session,
    *,
    ballot: Ballot,
    draft: BallotDraft,
    actor: Any,
    now: datetime | None = None,
) -> Ballot:
    """Change a ballot that has not opened yet (see check_draft for ``now``); the caller
    commits."""
    ballot = _lock(session, ballot)
    if ballot.status != BallotStatus.SCHEDULED:
        raise BallotNotEditableError()
    check_draft(draft, now=now)
    _check_proposals(session, draft, ballot)
    _apply(ballot, draft)
    # Options are replaced wholesale: nothing refers to them before the ballot opens.
    ballot.options.clear()
    session.flush()  # delete the old options before their (ballot, key) pairs are reused
    ballot.options.extend(
        BallotOption(position=i, key=f"o{i}", label=o.label.strip(), proposal_id=o.proposal_id)
        for i, o in enumerate(draft.options, 1)
    )
    session.flush()  # surface constraint errors before the audit row
    _transition_proposals(session, ballot, {}, "on_ballot", actor, _reason("saved"))
    record_event(session, "ballot:ballot:update", actor=actor, subject=ballot)
    return ballot


def cancel_ballot(session: Session, *, ballot: Ballot, reason: str, actor: Any) -> Ballot:
    """Cancel a scheduled or open ballot with a recorded reason; the caller commits.

    An open ballot's voter links are destroyed at once (secrecy), its casts stay in the log,
    and no result is ever published. Linked proposals stay "on ballot" (the lifecycle has no
    way back) and may be linked to another ballot.
    """
    from flask_babel import lazy_gettext as _

    ballot = _lock(session, ballot)
    if ballot.status not in (BallotStatus.SCHEDULED, BallotStatus.OPEN):
        raise BallotNotEditableError()
    reason = reason.strip()
    if not reason:
        raise InvalidBallotDefinitionError(_("Give a reason for cancelling."))
    ballot.status = BallotStatus.CANCELLED.value
    ballot.cancelled_at = utcnow()
    ballot.cancel_reason = reason[:2000]
    _forget_who_cast_what(session, ballot.id)
    record_event(
        session, "ballot:ballot:cancel", actor=actor, subject=ballot, data={"reason": reason}
    )
    return ballot


# ----------------------------------------------------------------------------- rules


def ballot_rules(ballot: Ballot) -> dict[str, Any]:
    """The tabulation rules published in ``ballot.opened`` (civicforum.tabulation keys)."""
    rules: dict[str, Any] = {"seats": ballot.seats}
    if ballot.method == Method.APPROVAL and ballot.max_approvals is not None:
        rules["maxApprovals"] = ballot.max_approvals
    return rules


def eligibility_text(ballot: Ballot) -> str:
    if ballot.eligibility == Eligibility.ROLE:
        return f"role:{ballot.eligibility_role}"
    return ballot.eligibility


# ----------------------------------------------------------------------------- state changes


def _lock(session: Session, ballot: Ballot, *, shared: bool = False) -> Ballot:
    """Re-read the ballot row under a row lock (see the module docstring)."""
    stmt = (
        select(Ballot)
        .where(Ballot.id == ballot.id)
        .with_for_update(read=shared)
        .execution_options(populate_existing=True)
    )
    return session.execute(stmt).scalar_one()


def _lock_shared(session: Session, ballot: Ballot) -> None:
    """Re-read the fields a cast depends on under a SHARE lock on the ballot row.

    Only the scalars that can change while a ballot is open are re-read (status, times);
    options and rules are frozen once it opens, so the loaded collection stays valid.
    """
    session.refresh(
        ballot, attribute_names=["status", "opens_at", "closes_at"], with_for_update={"read": True}
    )


_RULE_COLUMNS = [Ballot.__table__.c[f] for f in CastRules.__dataclass_fields__ if f != "options"]
_LOAD_FOR_CAST = OnDriver(  # built once: the busiest read of the busiest write
    select(*_RULE_COLUMNS, BallotOption.key)
    .select_from(Ballot)
    .outerjoin(BallotOption, BallotOption.ballot_id == Ballot.id)
    .where(Ballot.id == bindparam("id"))
    .order_by(BallotOption.position)
    .with_for_update(read=True, of=Ballot.__table__)
)


def load_for_cast(session: Session, ballot_id: int) -> CastRules | None:
    """The ballot's rules and option keys, read under the SHARE lock a cast needs, in one
    statement, one row per option (the cast view's load; ``cast_ballot`` takes them as
    they are, in the same transaction)."""
    rows = _LOAD_FOR_CAST.rows(session, {"id": ballot_id})
    if not rows:
        return None
    keys = tuple(OptionKey(row[-1]) for row in rows if row[-1] is not None)
    return CastRules(*rows[0][:-1], options=keys)


def open_ballot(session: Session, *, ballot: Ballot, now: datetime | None = None) -> bool:
    """Open a scheduled ballot whose opening time has come: append ``ballot.opened``.

    Returns False (and does nothing) when it is not due or not scheduled. The caller commits.
    """

    now = now or utcnow()
    ballot = _lock(session, ballot)
    if ballot.status != BallotStatus.SCHEDULED or now < ballot.opens_at:
        return False
    leaf = ledger_entry.ballot_opened(
        ballot=ballot.ledger_id,
        title=ballot.title[:500],
        method=ballot.method,
        options=[(o.key, o.label) for o in ballot.options],
        rules=ballot_rules(ballot),
        eligibility=eligibility_text(ballot),
        secret=ballot.secret,
        vote_changes=ballot.vote_changes,
        day=votelog.day_of(now),
    )
    appended = votelog.append(session, leaf)
    ballot.status = BallotStatus.OPEN.value
    ballot.opened_index = appended.index
    record_event(session, "ballot:ballot:open", subject=ballot, data={"index": appended.index})
    return True


def open_now(session: Session, *, ballot: Ballot, actor: Any) -> Ballot:
    """Admin action: move the opening time to now and open; the caller commits."""
    ballot = _lock(session, ballot)
    if ballot.status != BallotStatus.SCHEDULED:
        raise BallotNotEditableError()
    now = utcnow()
    if now >= ballot.closes_at:
        raise BallotNotOpenError()
    ballot.opens_at = now
    open_ballot(session, ballot=ballot, now=now)
    record_event(session, "ballot:ballot:open-now", actor=actor, subject=ballot)
    return ballot


def is_due(ballot: Ballot, now: datetime | None = None) -> bool:
    """Whether reading the ballot should first open or close it (no database access)."""
    now = now or utcnow()
    if ballot.status == BallotStatus.SCHEDULED:
        return now >= ballot.opens_at
    return ballot.status == BallotStatus.OPEN and now >= ballot.closes_at


def sync_ballot(session: Session, *, ballot: Ballot, now: datetime | None = None) -> bool:
    """Open and/or close the ballot if its times have passed; True if anything changed."""
    now = now or utcnow()
    changed = False
    if ballot.status == BallotStatus.SCHEDULED and now >= ballot.opens_at:
        changed |= open_ballot(session, ballot=ballot, now=now)
    if ballot.status == BallotStatus.OPEN and now >= ballot.closes_at:
        changed |= close_ballot(session, ballot, now=now)
    return changed


def due_ballots(session: Session, *, now: datetime | None = None) -> list[Ballot]:
    """Ballots that should be opened or closed by now."""
    now = now or utcnow()
    return list(
        session.scalars(
            select(Ballot)
            .where(
                ((Ballot.status == BallotStatus.SCHEDULED.value) & (Ballot.opens_at <= now))
                | ((Ballot.status == BallotStatus.OPEN.value) & (Ballot.closes_at <= now))
            )
            .order_by(Ballot.id)
        )
    )


# ----------------------------------------------------------------------------- casting


@dataclass(frozen=True, slots=True)
class CastReceipt:
    """What the voter may see right after casting (the tracker stays off the server session).

    ``index`` is the ``ballot.cast`` entry's log index when the cast was sequenced in its own
    transaction; otherwise ``pending_id`` names the committed pending row, and the caller
    calls ``settle_cast`` after committing (docs/ledger.md §2.2).
    """

    ballot_id: int
    tracker: str
    index: int | None
    changed: bool
    pending_id: int | None = None


def cast_ballot(
    session: Session,
    *,
    ballot: Ballot | CastRules,
    voter: Any,
    choice: Choice,
    now: datetime | None = None,
) -> CastReceipt:
    """Record ``voter``'s choice in one transaction; the caller commits, then calls
    ``settle_cast`` when the receipt says the entry is pending. ``ballot``: the model (locked
    here), or the rules ``load_for_cast`` read under the lock in this transaction.

    Refuses (before writing anything) a closed period, an ineligible or sanctioned voter, an
    invalid choice and a second vote when changes are not allowed. A change submits
    ``ballot.superseded`` of the old tracker and ``ballot.cast`` with a fresh one together
    (one pending bundle, so they stay adjacent in the log). Secret ballots name no voter
    anywhere but in the link row, which closing deletes.

    Order: the voter's link first (``votelog.claim_link``: a parallel twin of a first vote
    waits for it there and then counts as a vote change, or is refused where changes are not
    allowed), then the log, then the vote's other rows, written once with their log index
    when it is known. When the log head is free this transaction becomes the sequencer
    (appending every committed pending entry too) and holds the head until it commits;
    otherwise the entries commit as pending with the vote, atomically with it, and the
    sequencer fills the index in later.
    """
    now = now or utcnow()
    if isinstance(ballot, Ballot):
        _lock_shared(session, ballot)
    validation.check_voter(session, ballot, voter, now=now)
    validation.check_choice(ballot, choice)
    tracker = ledger_entry.new_tracker()
    claimed = votelog.claim_link(session, ballot_id=ballot.id, voter_id=voter.id, tracker=tracker)
    old = None
    if claimed is not None:
        validation.check_change(ballot, claimed.changes)
        old = claimed.tracker
    day = votelog.day_of(now)
    leaves = []
    if old is not None:
        leaves.append(ledger_entry.ballot_superseded(ballot=ballot.ledger_id, tracker=old, day=day))
    leaves.append(
        ledger_entry.ballot_cast(
            ballot=ballot.ledger_id,
            tracker=tracker,
            choice=choice.to_entry(),
            day=day,
            voter=None if ballot.secret else voter.handle,
        )
    )
    # Secret ballots get no audit row at all: the ledger entry is their record. A row with
    # a precise timestamp would let anyone holding web access logs join "who posted at t"
    # to "which entry was appended at t" — the ledger keeps only the day for that reason.
    if not ballot.secret:
        record_event(
            session,
            "ballot:vote:cast",
            actor=voter,
            subject=ballot,
            data={"voter": voter.handle, "changed": old is not None},
        )
    submitted = votelog.submit(session, leaves)
    index = None if submitted.indices is None else submitted.indices[-1]
    votelog.record_vote(
        session,
        ballot_id=ballot.id,
        voter_id=voter.id,
        tracker=tracker,
        choice=choice.to_entry(),
        index=index,
        replaces=old,
    )
    return CastReceipt(
        ballot_id=ballot.id,
        tracker=tracker,
        index=index,
        changed=old is not None,
        pending_id=submitted.pending_id,
    )


def settle_cast(session: Session, *, receipt: CastReceipt) -> None:
    """After the cast's commit: wait until its pending entry is in the log (a sequencer batch
    usually took it already); the caller commits. Nothing to do for a sequenced cast."""
    if receipt.pending_id is not None:
        votelog.settle(session, pending_id=receipt.pending_id)


def check_can_change(session: Session, *, ballot: Ballot, voter: Any) -> None:
    """Refuse early (at the review step) a second vote on a ballot without vote changes."""
    if not ballot.vote_changes and current_vote(session, ballot=ballot, voter=voter) is not None:
        raise AlreadyVotedError()


def current_vote(session: Session, *, ballot: Ballot, voter: Any) -> BallotVoterLink | None:
    """The voter's live link while the ballot is open (None after closing, by design)."""
    if not getattr(voter, "is_authenticated", False):
        return None
    return session.get(BallotVoterLink, (ballot.id, voter.id))


def has_participated(session: Session, *, ballot: Ballot, voter: Any) -> bool:
    if not getattr(voter, "is_authenticated", False):
        return False
    return session.get(BallotParticipation, (ballot.id, voter.id)) is not None


def recorded_choice(session: Session, *, ballot: Ballot, tracker: str) -> Choice | None:
    """The choice recorded for ``tracker`` (public data: the log holds it too)."""
    cast = session.get(BallotCast, (ballot.id, tracker))
    if cast is None:
        return None
    return Choice.from_entry(ballot.is_ranked, cast.choice)


def cast_index(
    session: Session, *, ballot: Ballot, tracker: str, fresh: bool = False
) -> int | None:
    """The log index of ``tracker``'s ``ballot.cast`` entry (None while it is pending). The
    same row as ``recorded_choice`` (no second query); ``fresh`` re-reads it, e.g. after a
    sequencer batch filled the index in."""
    cast = session.get(BallotCast, (ballot.id, tracker), populate_existing=fresh)
    return None if cast is None else cast.log_index


def receipt_text(session: Session, *, ballot: Ballot, voter: Any) -> tuple[str, str] | None:
    """(file name, ``.tlog-proof`` text) for the voter's live ballot, while the ballot is open."""
    link = current_vote(session, ballot=ballot, voter=voter)
    if link is None:
        return None
    index = cast_index(session, ballot=ballot, tracker=link.tracker)
    if index is None:
        # Committed but not sequenced yet (its request died before waiting): append it now.
        votelog.sequence(session)
        index = cast_index(session, ballot=ballot, tracker=link.tracker, fresh=True)
    if index is None:
        return None
    text = votelog.receipt(session, index=index)
    return f"ballot-{ballot.ledger_id}-{link.tracker[:8]}.tlog-proof", text


# ----------------------------------------------------------------------------- closing


@dataclass(frozen=True)  # no slots: logstore's audit dashboard reads vars(counts)
class Counts:
    cast: int
    superseded: int
    counted: int
    roll: int


def count_ballots(session: Session, ballot: Ballot) -> Counts:
    cast = session.scalar(
        select(func.count()).select_from(BallotCast).where(BallotCast.ballot_id == ballot.id)
    )
    superseded = session.scalar(
        select(func.count())
        .select_from(BallotCast)
        .where(BallotCast.ballot_id == ballot.id, BallotCast.superseded.is_(True))
    )
    roll = session.scalar(
        select(func.count())
        .select_from(BallotParticipation)
        .where(BallotParticipation.ballot_id == ballot.id)
    )
    cast, superseded, roll = int(cast or 0), int(superseded or 0), int(roll or 0)
    return Counts(cast=cast, superseded=superseded, counted=cast - superseded, roll=roll)


def live_choices(session: Session, ballot: Ballot) -> list[Any]:
    """The counted choices in log order (the order does not affect the count)."""
    return list(
        session.scalars(
            select(BallotCast.choice)
            .where(BallotCast.ballot_id == ballot.id, BallotCast.superseded.is_(False))
            .order_by(BallotCast.log_index)
        )
    )


def _forget_who_cast_what(session: Session, ballot_id: int) -> None:
    """Destroy every voter↔tracker link and write the roll anew, in voter order.

    PostgreSQL keeps in every row the transaction that wrote it (xmin) and its place in the
    table (ctid): roll rows written vote by vote keep the voting order, which is the order of
    the log's public entries, so sorting both would pair voters with choices. Rewritten,
    every roll row carries this transaction."""
    session.execute(delete(BallotVoterLink).where(BallotVoterLink.ballot_id == ballot_id))
    roll = BallotParticipation.__table__
    voters = session.scalars(
        delete(roll).where(roll.c.ballot_id == ballot_id).returning(roll.c.voter_id)
    ).all()
    if voters:
        rows = [{"ballot_id": ballot_id, "voter_id": v} for v in sorted(voters)]
        session.execute(insert(roll), rows)
    flush_sqlite_wal_after_commit(session)  # the deleted links' old pages sit in the WAL


def close_ballot(session: Session, ballot: Ballot, *, now: datetime | None = None) -> bool:
    """Close an open ballot whose time is up, count it and publish the result.

    Idempotent and safe with concurrent closers: the ballot row is locked and re-read, and a
    ballot that is no longer open is left alone (returns False). In one transaction: append
    ``ballot.closed`` with the counts, destroy every voter↔tracker link, tabulate with the lot
    seeded by the checkpoint root right after the closing entry, store the result, append
    ``result.published`` and adopt or reject linked proposals. The caller commits.
    """

    now = now or utcnow()
    ballot = _lock(session, ballot)
    if ballot.status != BallotStatus.OPEN or now < ballot.closes_at:
        return False
    counts = count_ballots(session, ballot)
    if counts.roll != counts.counted:
        # Every roll row comes with exactly one live cast; anything else is corruption.
        raise RuntimeError(
            f"ballot {ballot.id}: participation roll {counts.roll} != counted {counts.counted}"
        )
    day = votelog.day_of(now)
    closed = votelog.append(
        session,
        ledger_entry.ballot_closed(
            ballot=ballot.ledger_id,
            cast=counts.cast,
            superseded=counts.superseded,
            counted=counts.counted,
            roll=counts.roll,
            day=day,
        ),
    )
    # Secrecy: from here on nothing in the database joins a voter to a tracker or choice.
    _forget_who_cast_what(session, ballot.id)
    seed = closed.checkpoint
    if seed is None or seed.size != closed.index + 1:
        raise RuntimeError(
            f"the vote log must sign a checkpoint of size {closed.index + 1} right after "
            "ballot.closed (docs/ledger.md §1.3 rule 5)"
        )
    result, result_bytes = counting.count(
        ballot.method,
        [o.key for o in ballot.options],
        ballot_rules(ballot),
        live_choices(session, ballot),
        seed.root,
    )
    digest = counting.sha256_hex(result_bytes)
    published = votelog.append(
        session,
        ledger_entry.result_published(
            ballot=ballot.ledger_id,
            result_sha256=digest,
            checkpoint_size=seed.size,
            checkpoint_root=seed.root.hex(),
            day=day,
        ),
    )
    ballot.status = BallotStatus.CLOSED.value
    ballot.closed_at = now
    ballot.closed_index = closed.index
    ballot.cast_count = counts.cast
    ballot.superseded_count = counts.superseded
    ballot.counted_count = counts.counted
    ballot.result_json = result_bytes.decode("utf-8")
    ballot.result_sha256 = digest
    ballot.seed_size = seed.size
    ballot.seed_root = seed.root.hex()
    ballot.result_index = published.index
    winners = set(counting.decided_winners(result))
    _transition_proposals(
        session,
        ballot,
        {o.key: "adopted" for o in ballot.options if o.key in winners},
        "rejected",
        None,
        _reason("result"),
    )
    record_event(
        session,
        "ballot:ballot:close",
        subject=ballot,
        data={
            "cast": counts.cast,
            "superseded": counts.superseded,
            "counted": counts.counted,
            "winners": sorted(winners),
            "result_sha256": digest,
        },
    )
    return True


def published_results(session: Session) -> list[tuple[str, bytes]]:
    """(ledger ballot id, canonical result JSON bytes) of every published result (exports)."""
    rows = session.scalars(
        select(Ballot).where(Ballot.result_json.is_not(None)).order_by(Ballot.id)
    )
    return [(b.ledger_id, (b.result_json or "").encode("utf-8")) for b in rows]


def close_now(session: Session, *, ballot: Ballot, actor: Any) -> Ballot:
    """Admin action: end an open ballot early (closing time = now), count and publish."""
    ballot = _lock(session, ballot)
    if ballot.status != BallotStatus.OPEN:
        raise BallotNotOpenError()
    now = utcnow()
    ballot.closes_at = now
    record_event(session, "ballot:ballot:close-now", actor=actor, subject=ballot)
    close_ballot(session, ballot, now=now)
    return ballot


def close_due(session: Session, *, now: datetime | None = None) -> list[int]:
    """Open and close every ballot whose time has come; returns the ids changed."""
    changed = []
    for ballot in due_ballots(session, now=now):
        if sync_ballot(session, ballot=ballot, now=now):
            changed.append(ballot.id)
    return changed


# ----------------------------------------------------------------------------- proposals


def _proposal_states(session: Session, ids: Sequence[int]) -> dict[int, str]:
    try:
        from civicforum.proposals.models import Proposal
    except ImportError:  # pragma: no cover - the proposals feature is optional
        return {}
    rows = session.execute(select(Proposal.id, Proposal.state).where(Proposal.id.in_(ids)))
    return {pid: str(getattr(state, "value", state)) for pid, state in rows}


def _reason(what: str) -> str:
    # Stored in the proposal timeline and the civic log: not translated (one record for all).
    return {"saved": "Put on a ballot", "result": "Ballot result published"}[what]


def _transition_proposals(
    session: Session,
    ballot: Ballot,
    by_key: dict[str, str],
    default: str,
    actor: Any,
    reason: str,
) -> None:
    """Move linked proposals to ``by_key[option key]`` or ``default``: all "on_ballot" when the
    ballot is saved; at publication the winners "adopted" and every other "rejected"."""
    linked = [o for o in ballot.options if o.proposal_id is not None]
    if not linked:
        return
    from civicforum.proposals import lifecycle
    from civicforum.proposals.models import Proposal, ProposalState

    for option in linked:
        proposal = session.get(Proposal, option.proposal_id)
        if proposal is None:
            continue
        target = ProposalState(by_key.get(option.key, default))
        if proposal.state == target:
            continue
        lifecycle.transition(session, proposal, target, actor=actor, reason=reason)


# ----------------------------------------------------------------------------- queries


LIST_STATES = ("open", "upcoming", "closed")


def list_ballots(
    session: Session, *, state: str, page: int = 1, per_page: int = 10, now: datetime | None = None
) -> Page:
    """Open, upcoming or closed (incl. cancelled) ballots, paginated."""
    now = now or utcnow()
    query = select(Ballot)
    if state == "open":
        query = query.where(
            Ballot.status.in_([BallotStatus.OPEN.value, BallotStatus.SCHEDULED.value]),
            Ballot.opens_at <= now,
            Ballot.closes_at > now,
        ).order_by(Ballot.closes_at, Ballot.id)
    elif state == "upcoming":
        query = query.where(
            Ballot.status == BallotStatus.SCHEDULED.value, Ballot.opens_at > now
        ).order_by(Ballot.opens_at, Ballot.id)
    else:
        query = query.where(
            (Ballot.status.in_([BallotStatus.CLOSED.value, BallotStatus.CANCELLED.value]))
            | ((Ballot.status == BallotStatus.OPEN.value) & (Ballot.closes_at <= now))
        ).order_by(Ballot.closes_at.desc(), Ballot.id.desc())
    total = int(session.scalar(select(func.count()).select_from(query.subquery())) or 0)
    page = clamp_page(page, total=total, per_page=per_page)
    items = list(session.scalars(query.limit(per_page).offset((page - 1) * per_page)))
    return Page(items, page, per_page, total)


def qualified_proposals(session: Session, *, ballot: Ballot | None = None) -> list[tuple[int, str]]:
    """(id, title) of proposals that may be linked to an option of ``ballot`` (or a new one)."""
    ids = _linkable_proposal_ids(session, ballot)
    if not ids:
        return []
    from civicforum.proposals.models import Proposal

    rows = session.execute(
        select(Proposal.id, Proposal.title).where(Proposal.id.in_(ids)).order_by(Proposal.id)
    )
    return [(pid, title) for pid, title in rows]
