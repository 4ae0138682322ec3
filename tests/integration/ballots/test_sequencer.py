"""Casting while another transaction holds the vote-log head: the cast commits as pending
with the vote and a later sequencer batch appends it (docs/ledger.md §2.2). Both backends:
the busy head is simulated, since one test transaction cannot contend with itself."""

from __future__ import annotations

from typing import Any

import pytest
from sqlalchemy import func, insert, select

from civicforum.ballots import services
from civicforum.ballots.models import BallotCast, BallotVoterLink
from civicforum.ledger.proof_file import parse_proof
from civicforum.logstore import integrity
from civicforum.logstore import services as logstore
from civicforum.logstore.models import LedgerPending
from tests.factories import make_user
from tests.factories_ballots import approve, close, make_ballot
from tests.integration.ballots.test_services import entries_of


@pytest.fixture
def busy_head(monkeypatch: pytest.MonkeyPatch) -> None:
    """Every `submit_entries` finds the head locked by someone else: its entries are queued
    as a pending row, as PostgreSQL's one-statement try-take-or-queue does."""

    def busy(session: Any, log: str, bundle: bytes | None = None) -> int | None:
        if bundle is None:
            return None
        queued = insert(LedgerPending).values(log=log, data=bundle).returning(LedgerPending.id)
        return int(session.execute(queued).scalar_one())

    monkeypatch.setattr(logstore, "_try_lock_and_take", busy)


def pending_rows(session: Any) -> int:
    return int(session.scalar(select(func.count()).select_from(LedgerPending)))


def test_busy_head_commits_the_cast_as_pending_then_settles(
    db_session: Any, busy_head: None
) -> None:
    ballot = make_ballot(db_session)
    voter = make_user(db_session)
    size = logstore.log_size(db_session, log="votes")
    receipt = services.cast_ballot(db_session, ballot=ballot, voter=voter, choice=approve("o2"))
    assert receipt.index is None and receipt.pending_id is not None
    assert logstore.log_size(db_session, log="votes") == size  # not in the log yet
    assert pending_rows(db_session) == 1
    cast = db_session.get(BallotCast, (ballot.id, receipt.tracker))
    assert cast.log_index is None and cast.choice == ["o2"]
    # The pending row holds the entry only: no voter id, handle or email.
    data = db_session.scalar(select(LedgerPending.data))
    assert voter.handle.encode() not in data and voter.email.encode() not in data

    services.settle_cast(db_session, receipt=receipt)
    assert pending_rows(db_session) == 0  # deleted once sequenced
    assert logstore.log_size(db_session, log="votes") == size + 1
    db_session.expire_all()
    link = db_session.get(BallotVoterLink, (ballot.id, voter.id))
    assert link.tracker == receipt.tracker
    assert db_session.get(BallotCast, (ballot.id, receipt.tracker)).log_index == size
    assert entries_of(db_session, ballot)[-1]["tracker"] == receipt.tracker
    # The batch signed a checkpoint covering the entry: the receipt needs no new signature.
    latest = logstore.latest_checkpoint(db_session, log="votes")
    assert latest is not None and latest.size == size + 1
    found = services.receipt_text(db_session, ballot=ballot, voter=voter)
    assert found is not None and parse_proof(found[1]).index == size


def test_a_vote_change_stays_adjacent_in_one_pending_bundle(
    db_session: Any, busy_head: None
) -> None:
    ballot = make_ballot(db_session)
    voter, other = make_user(db_session), make_user(db_session)
    first = services.cast_ballot(db_session, ballot=ballot, voter=voter, choice=approve("o1"))
    second = services.cast_ballot(db_session, ballot=ballot, voter=voter, choice=approve("o3"))
    third = services.cast_ballot(db_session, ballot=ballot, voter=other, choice=approve("o2"))
    assert pending_rows(db_session) == 3
    assert logstore.sequence_pending(db_session, log="votes") == 4
    kinds = [(e["type"], e.get("tracker")) for e in entries_of(db_session, ballot)]
    assert kinds[-4:] == [
        ("ballot.cast", first.tracker),
        ("ballot.superseded", first.tracker),
        ("ballot.cast", second.tracker),
        ("ballot.cast", third.tracker),
    ]
    db_session.expire_all()
    link = db_session.get(BallotVoterLink, (ballot.id, voter.id))
    assert link.tracker == second.tracker
    assert services.cast_index(db_session, ballot=ballot, tracker=link.tracker) is not None
    services.settle_cast(db_session, receipt=third)  # already sequenced: nothing to do
    assert pending_rows(db_session) == 0


def test_a_receipt_download_sequences_a_cast_left_pending(db_session: Any, busy_head: None) -> None:
    # The request that cast died after committing, before waiting for the sequencer.
    ballot = make_ballot(db_session)
    voter = make_user(db_session)
    receipt = services.cast_ballot(db_session, ballot=ballot, voter=voter, choice=approve("o1"))
    found = services.receipt_text(db_session, ballot=ballot, voter=voter)
    assert found is not None and pending_rows(db_session) == 0
    proof = parse_proof(found[1])
    assert entries_of(db_session, ballot)[-1]["tracker"] == receipt.tracker
    assert logstore.entry_data(db_session, log="votes", index=proof.index) == proof.extra


def test_closing_sequences_pending_casts_before_ballot_closed(
    db_session: Any, busy_head: None
) -> None:
    ballot = make_ballot(db_session)
    voters = [make_user(db_session) for _ in range(3)]
    for voter, key in zip(voters, ("o1", "o1", "o2"), strict=True):
        services.cast_ballot(db_session, ballot=ballot, voter=voter, choice=approve(key))
    services.cast_ballot(db_session, ballot=ballot, voter=voters[2], choice=approve("o3"))
    assert pending_rows(db_session) == 4
    assert close(db_session, ballot)
    assert pending_rows(db_session) == 0
    types = [e["type"] for e in entries_of(db_session, ballot)]
    assert types == [
        "ballot.opened",
        "ballot.cast",
        "ballot.cast",
        "ballot.cast",
        "ballot.superseded",
        "ballot.cast",
        "ballot.closed",
        "result.published",
    ]
    closed = entries_of(db_session, ballot)[-2]
    assert closed["counts"] == {"cast": 4, "superseded": 1, "counted": 3, "roll": 3}
    assert ballot.counted_count == 3
    result = integrity.verify_database(db_session, recount=True)
    assert result.ok, result.format()


def test_ballot_closed_cannot_be_queued(db_session: Any) -> None:
    from civicforum.ledger import entry as E

    closed = E.ballot_closed(ballot="b9", cast=0, superseded=0, counted=0, roll=0, day="2026-11-25")
    with pytest.raises(ValueError, match="append_entry"):
        logstore.submit_entries(db_session, log="votes", entries=[closed])
