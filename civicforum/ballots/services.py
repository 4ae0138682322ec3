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

import hashlib
import json
import secrets
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import bindparam, func, select
from sqlalchemy.orm import Session

from civicforum.accounts.services import Page
from civicforum.audit.services import record_event
from civicforum.audit_tool.replay import BallotState
from civicforum.ballots import counting, validation, votelog
from civicforum.ballots.errors import (
    AlreadyVotedError,
    BallotNotEditableError,
    BallotNotOpenError,
    InvalidBallotDefinitionError,
)
from civicforum.ballots.models import (
    Ballot,
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
from civicforum.web.errors import CivicforumError
from civicforum.web.pagination import clamp_page

# ----------------------------------------------------------------------------- definition


@dataclass(frozen=True, slots=True)
class OptionDraft:
    label: str
    proposal_id: int | None = None
    cost: str | None = None  # a budget project's cost, an exact decimal


@dataclass(frozen=True, slots=True)
class BudgetDraft:
    """How a participatory budget's ballot is counted: the amount, Pabulib's vote type, the
    allocation rule (tabulation.budget) and the ballot limits (None: no limit)."""

    amount: str
    vote_type: str = "approval"
    rule: str = "equalshares/add1"
    min_projects: int | None = None
    max_projects: int | None = None
    max_cost: str | None = None  # an approval ballot's total: the budget makes it a knapsack
    max_points: str | None = None  # cumulative: per project
    total_points: str | None = None  # cumulative: per ballot
    currency: str | None = None  # ISO 4217, for display and exports

    def rules(self) -> dict[str, Any]:
        """The rules object published in ``ballot.opened`` (docs/ledger.md §1.3)."""
        rules: dict[str, Any] = {
            "budget": self.amount,
            "voteType": self.vote_type,
            "rule": self.rule,
        }
        for key, value in (
            ("minLength", self.min_projects),
            ("maxLength", self.max_projects),
            ("maxSumCost", self.max_cost),
            ("maxPoints", self.max_points),
            ("maxSumPoints", self.total_points),
            ("currency", self.currency),
        ):
            if value is not None:
                rules[key] = value
        return rules


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
    budget: BudgetDraft | None = None


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
    if draft.method is Method.BUDGET or draft.budget is not None:
        _check_budget(draft)
        return
    if any(o.cost is not None for o in draft.options):
        raise InvalidBallotDefinitionError(_("Only a participatory budget gives options a cost."))
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


def _check_budget(draft: BallotDraft) -> None:
    """A budget ballot: an amount, a vote type and rule the tabulation knows, a positive cost
    on every project, and limits the auditor's recount reads the same way."""
    from flask_babel import lazy_gettext as _

    from civicforum.audit_tool.recount import budget_rules
    from civicforum.tabulation.budget import RULES, VOTE_TYPES, exact
    from civicforum.tabulation.errors import InvalidElectionError

    budget = draft.budget
    if draft.method is not Method.BUDGET or budget is None:
        raise InvalidBallotDefinitionError(_("A participatory budget needs its budget rules."))
    if budget.vote_type not in VOTE_TYPES or budget.rule not in RULES:
        raise InvalidBallotDefinitionError(_("Choose a known vote type and allocation rule."))
    if budget.rule == "greedy-threshold":
        raise InvalidBallotDefinitionError(_("Choose a rule that needs no score threshold."))
    try:
        if exact(budget.amount) <= 0:
            raise InvalidBallotDefinitionError(_("The budget must be a positive amount."))
        if any(o.cost is None or exact(o.cost) <= 0 for o in draft.options):
            raise InvalidBallotDefinitionError(_("Every project needs a positive cost."))
        budget_rules({"rules": budget.rules()})
    except InvalidElectionError as exc:
        raise InvalidBallotDefinitionError(str(exc)) from exc
    if draft.seats != 1 or draft.max_approvals is not None:
        raise InvalidBallotDefinitionError(
            _("A participatory budget is counted by its allocation rule, not by seats.")
        )


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
    ballot.budget_rules = (
        None if draft.budget is None else json.dumps(draft.budget.rules(), sort_keys=True)
    )


def _options(draft: BallotDraft) -> list[BallotOption]:
    return [
        BallotOption(
            position=i,
            key=f"o{i}",
            label=o.label.strip(),
            proposal_id=o.proposal_id,
            cost=o.cost,
        )
        for i, o in enumerate(draft.options, 1)
    ]


def define_ballot(
    session: Session, *, draft: BallotDraft, actor: Any, now: datetime | None = None
) -> Ballot:
    """Create a scheduled ballot from ``draft`` (see check_draft for ``now``); the caller
    commits."""
    check_draft(draft, now=now)
    _check_proposals(session, draft, None)
    ballot = Ballot(created_by_id=getattr(actor, "id", None), status=BallotStatus.SCHEDULED.value)
    _apply(ballot, draft)
    ballot.options = _options(draft)
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
    ballot.options.extend(_options(draft))
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
    if ballot.status == BallotStatus.OPEN:
        votelog.sweep(session, ballot=ballot.ledger_id)  # every promise given is kept
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
    """The tabulation rules published in ``ballot.opened`` (civicforum.tabulation keys, or a
    budget's rules)."""
    if ballot.is_budget:
        return ballot.budget
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
    select(*_RULE_COLUMNS, BallotOption.key, BallotOption.cost)
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
    keys = tuple(OptionKey(row[-2], row[-1]) for row in rows if row[-2] is not None)
    return CastRules(*rows[0][:-2], options=keys)


def open_ballot(session: Session, *, ballot: Ballot, now: datetime | None = None) -> bool:
    """Open a scheduled ballot whose opening time has come: append ``ballot.opened`` with the
    commitment to its electorate, fixed as it stood at the opening time (``electorate``).

    Returns False (and does nothing) when it is not due or not scheduled. The caller commits.
    """
    from civicforum.ballots import electorate

    now = now or utcnow()
    ballot = _lock(session, ballot)
    if ballot.status != BallotStatus.SCHEDULED or now < ballot.opens_at:
        return False
    electors = electorate.fix(session, ballot)
    leaf = ledger_entry.ballot_opened(
        ballot=ballot.ledger_id,
        title=ballot.title[:500],
        method=ballot.method,
        options=[
            (o.key, o.label) if o.cost is None else (o.key, o.label, o.cost) for o in ballot.options
        ],
        rules=ballot_rules(ballot),
        eligibility=eligibility_text(ballot),
        secret=ballot.secret,
        vote_changes=ballot.vote_changes,
        day=votelog.day_of(ballot.opens_at),
        electorate=(electors.size, electors.root.hex()),
    )
    appended = votelog.append(session, leaf)
    ballot.status = BallotStatus.OPEN.value
    ballot.opened_index = appended.index
    ballot.electorate_size = electors.size
    ballot.electorate_root = electors.root.hex()
    record_event(
        session,
        "ballot:ballot:open",
        subject=ballot,
        data={"index": appended.index, "electorate": electors.size},
    )
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
    """What the voter takes away from casting, whatever happens afterwards: the log's signed
    promise (a ``.tlog-promise``) for their entry, which upgrades to an inclusion proof once
    its batch is sequenced (``receipt_file``). ``retried``: a repeat of an earlier request
    with the same cast token, which cast nothing new."""

    ballot_id: int
    tracker: str
    changed: bool
    promise: str
    retried: bool = False

    @property
    def entry(self) -> bytes:
        return votelog.entry_of_receipt(self.promise)


def cast_token_key(token: str) -> str:
    """How a cast token is stored: its SHA-256 (the token itself stays in the voter's form)."""
    return hashlib.sha256(token.encode()).hexdigest()


def cast_ballot(
    session: Session,
    *,
    ballot: Ballot | CastRules,
    voter: Any,
    choice: Choice,
    token: str | None = None,
    now: datetime | None = None,
) -> CastReceipt:
    """Record ``voter``'s choice in one transaction; the caller commits. ``ballot``: the model
    (locked here), or the rules ``load_for_cast`` read under the lock in this transaction.
    ``token``: the one-time cast token of the review form (checked by the caller); None for
    callers without a form (the demo, tools), which get a fresh one: nothing to retry.

    A token that already cast returns that cast's receipt, even after closing: a retried
    request (a lost response, a double click) never votes twice. Otherwise refuses, before
    writing anything, a closed period, an ineligible, late-joined or sanctioned voter, an
    invalid choice and a second vote when changes are not allowed.

    The entry is pooled, not appended (docs/ledger.md §2.2): it joins the log in a shuffled
    batch of its ballot's casts, and the receipt is the log's signed promise. The cast entry
    carries the day the ballot opened, not its own, and a vote change writes nothing public
    now: the replaced tracker stays on the voter's link until closing marks it superseded.
    Secret ballots name no voter anywhere but in the link row, which closing deletes.
    """
    if token is None:
        token = secrets.token_urlsafe(16)
    key = cast_token_key(token)
    now = now or utcnow()
    if isinstance(ballot, Ballot):
        _lock_shared(session, ballot)
    try:
        validation.check_voter(session, ballot, voter, now=now)
        validation.check_choice(ballot, choice)
    except CivicforumError:
        # A retry of a cast that was recorded before the ballot closed (or the voter lost
        # eligibility) answers with its receipt. Looked up only here and below, where a
        # retry can be: a first cast pays no extra read.
        done = receipt_for_token(session, ballot_id=ballot.id, token=token)
        if done is not None:
            return done
        raise
    tracker = ledger_entry.new_tracker()
    claimed = votelog.claim_link(
        session, ballot_id=ballot.id, voter_id=voter.id, tracker=tracker, receipt_key=key
    )
    old = None
    if claimed is not None:
        # A twin request with this very token may have cast while this one waited for the
        # link: answer with its receipt instead of refusing or changing the vote.
        done = receipt_for_token(session, ballot_id=ballot.id, token=token)
        if done is not None:
            return done
        validation.check_change(ballot, claimed.changes)
        old = claimed.tracker
    leaf = ledger_entry.ballot_cast(
        ballot=ballot.ledger_id,
        tracker=tracker,
        choice=choice.to_entry(),
        day=votelog.day_of(ballot.opens_at),
        voter=None if ballot.secret else voter.handle,
    )
    # Secret ballots get no audit row at all: the ledger entry is their record. A row with
    # a precise timestamp would let anyone holding web access logs join "who posted at t"
    # to the batch that took the entry.
    if not ballot.secret:
        record_event(
            session,
            "ballot:vote:cast",
            actor=voter,
            subject=ballot,
            data={"voter": voter.handle, "changed": old is not None},
        )
    promise = votelog.promise(leaf, closes_at=ballot.closes_at)
    votelog.submit(session, leaf, ballot=ballot.ledger_id, now=now)
    votelog.record_vote(
        session,
        ballot_id=ballot.id,
        voter_id=voter.id,
        tracker=tracker,
        receipt_key=key,
        receipt=promise,
        replaces=old,
    )
    return CastReceipt(ballot.id, tracker, old is not None, promise)


_CAST_PAGE = select(Ballot.title, Ballot.method, BallotOption.key, BallotOption.label).join(
    BallotOption, BallotOption.ballot_id == Ballot.id
)


def cast_page_facts(session: Session, ballot_id: int) -> tuple[str, dict[str, str], bool]:
    """(title, option labels by key, ranked?) for the answer to a cast, in one statement."""
    rows = session.execute(_CAST_PAGE.where(Ballot.id == ballot_id)).all()
    title, method = rows[0][0], rows[0][1]
    return title, {key: label for _t, _m, key, label in rows}, Method(method).ranked


def receipt_for_token(session: Session, *, ballot_id: int, token: str) -> CastReceipt | None:
    """The receipt of the cast made with ``token``, if one was (the caller checked the token)."""
    done = votelog.receipt_by_token(session, ballot_id=ballot_id, receipt_key=cast_token_key(token))
    if done is None:
        return None
    entry = ledger_entry.decode_entry(votelog.entry_of_receipt(done), votelog.LOG)
    return CastReceipt(ballot_id, str(entry["tracker"]), False, done, retried=True)


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


@dataclass(frozen=True, slots=True)
class VoterReceipt:
    """The voter's live vote as their receipt shows it."""

    tracker: str
    choice: Choice
    promise: str
    proof: str | None  # the .tlog-proof once the entry's batch is in the log


def voter_receipt(
    session: Session, *, ballot: Ballot, voter: Any, proof: bool = False
) -> VoterReceipt | None:
    """The receipt of the voter's live vote, while the ballot is open (None otherwise).
    ``proof``: also look for the full inclusion proof (may sign a checkpoint: the caller
    commits)."""
    link = current_vote(session, ballot=ballot, voter=voter)
    promise = None if link is None else votelog.current_receipt(session, link=link)
    if link is None or promise is None:
        return None
    entry = votelog.entry_of_receipt(promise)
    value = ledger_entry.decode_entry(entry, votelog.LOG)
    full = votelog.upgrade(session, entry) if proof else None
    return VoterReceipt(
        link.tracker, Choice.from_entry(ballot.is_ranked, value["choice"]), promise, full
    )


# ----------------------------------------------------------------------------- closing


@dataclass(frozen=True)  # no slots: logstore's audit dashboard reads vars(counts)
class Counts:
    cast: int
    superseded: int
    counted: int
    roll: int


def roll_size(session: Session, ballot: Ballot) -> int:
    return int(
        session.scalar(
            select(func.count())
            .select_from(BallotParticipation)
            .where(BallotParticipation.ballot_id == ballot.id)
        )
        or 0
    )


def count_ballots(session: Session, ballot: Ballot) -> Counts:
    """How many ballots the log holds: after closing, its published counts; while open, the
    entries sequenced so far (vote changes are only marked at closing) and the roll."""
    if ballot.status == BallotStatus.CLOSED and ballot.cast_count is not None:
        return Counts(
            cast=ballot.cast_count,
            superseded=ballot.superseded_count or 0,
            counted=ballot.counted_count or 0,
            roll=roll_size(session, ballot),
        )
    if ballot.opened_index is None:
        return Counts(0, 0, 0, roll_size(session, ballot))
    state = _replay(session, ballot)
    return Counts(state.cast, state.superseded, len(state.live), roll_size(session, ballot))


def live_choices(session: Session, ballot: Ballot) -> list[Any]:
    """The counted choices, read from the signed log in log order: after closing, exactly
    what was counted; while open, every ballot sequenced so far (a ballot a vote change
    replaced is only known as such at closing)."""
    if ballot.opened_index is None:
        return []
    return _replay(session, ballot).live_choices()


def _replay(session: Session, ballot: Ballot) -> BallotState:
    return votelog.replay(
        session, ballot=ballot.ledger_id, opened_index=_opened(ballot), stop=ballot.closed_index
    )


def _forget_who_cast_what(session: Session, ballot_id: int) -> None:
    """Destroy every voter↔tracker link and rewrite the roll and receipts (votelog)."""
    votelog.forget_links(session, ballot_id)
    flush_sqlite_wal_after_commit(session)  # the deleted links' old pages sit in the WAL


def close_ballot(session: Session, ballot: Ballot, *, now: datetime | None = None) -> bool:
    """Close an open ballot whose time is up, count it and publish the result.

    Idempotent and safe with concurrent closers: the ballot row is locked and re-read, and a
    ballot that is no longer open is left alone (returns False). In one transaction:

    1. append the ballot's pooled casts (one shuffled batch) and a ``ballot.superseded`` mark
       for every tracker a vote change replaced, sorted by tracker;
    2. replay the ballot's entries from the signed log with the auditor's rules
       (``votelog.replay``: each entry checked against its checkpoint) — the counts and the
       counted choices come from there, never from a table one could edit;
    3. append ``ballot.closed``, destroy every voter↔tracker link, recount with the
       auditor's own code (``audit_tool.recount``) and the lot seeded by the checkpoint root
       right after the closing entry, store the result, append ``result.published`` and adopt
       or reject linked proposals.

    The caller commits.
    """
    from civicforum.audit_tool.recount import recount

    now = now or utcnow()
    ballot = _lock(session, ballot)
    if ballot.status != BallotStatus.OPEN or now < ballot.closes_at:
        return False
    day = votelog.day_of(now)
    votelog.sweep(session, ballot=ballot.ledger_id)
    marks = [
        ledger_entry.ballot_superseded(ballot=ballot.ledger_id, tracker=tracker, day=day)
        for tracker in votelog.superseded_trackers(session, ballot.id)
    ]
    if marks:
        votelog.append_many(session, marks)
    state = votelog.replay(session, ballot=ballot.ledger_id, opened_index=_opened(ballot))
    counts = Counts(state.cast, state.superseded, len(state.live), roll_size(session, ballot))
    if counts.roll != counts.counted:
        # Every roll row comes with exactly one live cast; anything else is corruption.
        raise RuntimeError(
            f"ballot {ballot.id}: participation roll {counts.roll} != counted {counts.counted}"
        )
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
    result = recount(state.opened, state.live_choices(), seed.root)
    result_bytes = ledger_entry.canonical_json(result)
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
    # A budget's funded projects; a count's winners (none when no ballot expressed a choice).
    winners = set(result["selected"] if "selected" in result else counting.decided_winners(result))
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


def _opened(ballot: Ballot) -> int:
    if ballot.opened_index is None:
        raise RuntimeError(f"ballot {ballot.id} is open but its ballot.opened index is unknown")
    return ballot.opened_index


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
