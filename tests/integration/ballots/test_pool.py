"""The mixing pool (docs/ledger.md §2.2): casts wait under their ballot's group and join the
log as one shuffled batch once the group is due, or when the ballot closes. Both backends."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
from flask import Flask
from sqlalchemy import func, select

from civicforum.ballots import services
from civicforum.ballots.models import Ballot
from civicforum.db import utcnow
from civicforum.ledger import entry as E
from civicforum.ledger.promise import parse_promise_file, verify_promise_file
from civicforum.logstore import checkpoints, integrity, sequencer, storage
from civicforum.logstore.keys import current_keys
from civicforum.logstore.models import LedgerPending
from tests.factories import make_user
from tests.factories_ballots import approve, close, make_ballot
from tests.integration.ballots.test_services import entries_of


@pytest.fixture
def pool_of(app: Flask, monkeypatch: pytest.MonkeyPatch) -> Any:
    """Set the pool's batch size (the suite runs with batches of one)."""

    def set_min(n: int) -> None:
        monkeypatch.setitem(app.config, "LEDGER_MIX_MIN", n)

    return set_min


def pooled(session: Any) -> int:
    return int(session.scalar(select(func.count()).select_from(LedgerPending)))


def cast_many(session: Any, ballot: Ballot, voters: list[Any]) -> list[services.CastReceipt]:
    return [
        services.cast_ballot(session, ballot=ballot, voter=v, choice=approve(f"o{1 + i % 3}"))
        for i, v in enumerate(voters)
    ]


def members(session: Any, n: int) -> list[Any]:
    """Voters made before the ballot: its electorate is fixed when it opens."""
    return [make_user(session) for _ in range(n)]


def test_a_cast_waits_in_the_pool_with_a_signed_promise(db_session: Any, pool_of: Any) -> None:
    pool_of(16)
    voter = make_user(db_session)
    ballot = make_ballot(db_session)
    size = storage.log_size(db_session, log="votes")
    receipt = services.cast_ballot(db_session, ballot=ballot, voter=voter, choice=approve("o2"))
    assert storage.log_size(db_session, log="votes") == size  # not in the log yet
    assert pooled(db_session) == 1
    # The pooled row holds the entry and its ballot only: no voter id, handle or email.
    row = db_session.execute(select(LedgerPending)).scalar_one()
    assert row.grp == ballot.ledger_id
    assert voter.handle.encode() not in row.data and voter.email.encode() not in row.data
    assert row.queued_at is not None and row.queued_at.second == 0  # to the minute
    # The voter holds the log's signed promise for the entry, due by the ballot's close.
    verified = verify_promise_file(
        parse_promise_file(receipt.promise), current_keys().verifier("votes")
    )
    assert E.decode_entry(verified.entry, "votes")["tracker"] == receipt.tracker
    assert verified.promise.merge_by >= ballot.closes_at
    mine = services.voter_receipt(db_session, ballot=ballot, voter=voter, proof=True)
    assert mine is not None and mine.proof is None  # no inclusion proof while pooled


def test_the_group_is_sequenced_as_one_shuffled_batch_once_full(
    db_session: Any, pool_of: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    pool_of(4)
    # Reverse instead of a random draw: proves the batch order is the shuffle's, not arrival.
    monkeypatch.setattr(sequencer, "_shuffle", lambda bundles: bundles.reverse())
    voters = members(db_session, 4)
    ballot = make_ballot(db_session)
    size = storage.log_size(db_session, log="votes")
    receipts = cast_many(db_session, ballot, voters[:3])
    assert storage.log_size(db_session, log="votes") == size and pooled(db_session) == 3
    receipts += cast_many(db_session, ballot, voters[3:])  # the 4th fills the group: a batch
    assert pooled(db_session) == 0
    assert storage.log_size(db_session, log="votes") == size + 4
    trackers = [e["tracker"] for e in entries_of(db_session, ballot) if e["type"] == "ballot.cast"]
    assert sorted(trackers) == sorted(r.tracker for r in receipts)
    assert trackers != [r.tracker for r in receipts]  # not in arrival order
    # One checkpoint covers the whole batch, none inside it.
    latest = checkpoints.latest_checkpoint(db_session, log="votes")
    assert latest is not None and latest.size == size + 4
    assert checkpoints.checkpoint_at(db_session, log="votes", size=size + 1) is None


def test_groups_wait_for_their_own_ballot(db_session: Any, pool_of: Any) -> None:
    pool_of(3)
    voters = members(db_session, 3)
    busy, quiet = make_ballot(db_session), make_ballot(db_session)
    cast_many(db_session, quiet, voters[:2])
    cast_many(db_session, busy, voters)
    # The busy ballot's batch went out; the quiet one's two casts still wait for company.
    assert sequencer.pool_sizes(db_session, log="votes") == {quiet.ledger_id: 2}


def test_a_group_that_waited_long_enough_is_due(db_session: Any, pool_of: Any) -> None:
    pool_of(16)
    voters = members(db_session, 2)
    ballot = make_ballot(db_session)
    cast_many(db_session, ballot, voters)
    assert sequencer.sequence_due(db_session, log="votes") == 0  # not due yet
    later = utcnow() + timedelta(minutes=11)  # past LEDGER_MIX_MAX_WAIT (10 minutes)
    assert sequencer.sequence_due(db_session, log="votes", now=later) == 2
    assert pooled(db_session) == 0


def test_closing_sweeps_the_pool_then_marks_vote_changes_sorted(
    db_session: Any, pool_of: Any
) -> None:
    pool_of(16)
    voters = [make_user(db_session) for _ in range(4)]
    ballot = make_ballot(db_session)
    first = [
        services.cast_ballot(db_session, ballot=ballot, voter=v, choice=approve("o1"))
        for v in voters
    ]
    for voter in voters[:3]:  # three of them change their vote
        services.cast_ballot(db_session, ballot=ballot, voter=voter, choice=approve("o2"))
    assert pooled(db_session) == 7
    assert close(db_session, ballot)
    assert pooled(db_session) == 0
    types = [e["type"] for e in entries_of(db_session, ballot)]
    assert types == ["ballot.opened"] + ["ballot.cast"] * 7 + ["ballot.superseded"] * 3 + [
        "ballot.closed",
        "result.published",
    ]
    marks = [
        e["tracker"] for e in entries_of(db_session, ballot) if e["type"] == "ballot.superseded"
    ]
    assert marks == sorted(r.tracker for r in first[:3])  # sorted: their order says nothing
    assert ballot.counted_count == 4 and ballot.superseded_count == 3
    result = integrity.verify_database(db_session, recount=True)
    assert result.ok, result.format()


def test_cancelling_keeps_every_promise(db_session: Any, pool_of: Any) -> None:
    pool_of(16)
    voters = members(db_session, 2)
    ballot = make_ballot(db_session)
    receipts = cast_many(db_session, ballot, voters)
    services.cancel_ballot(db_session, ballot=ballot, reason="Wrong options", actor=None)
    trackers = {e.get("tracker") for e in entries_of(db_session, ballot)}
    assert {r.tracker for r in receipts} <= trackers and pooled(db_session) == 0


def test_ballot_closed_cannot_be_pooled(db_session: Any) -> None:
    closed = E.ballot_closed(ballot="b9", cast=0, superseded=0, counted=0, roll=0, day="2026-11-25")
    with pytest.raises(ValueError, match="append_entry"):
        sequencer.submit_entries(db_session, log="votes", entries=[closed], group="b9")
