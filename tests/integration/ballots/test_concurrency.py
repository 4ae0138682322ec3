"""Real concurrency on PostgreSQL: threads with their own connections and real commits.

Runs against a scratch database created next to CIVICFORUM_TEST_POSTGRES_URL (and dropped
afterwards), because committed rows cannot live in the rolled-back per-test transaction.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from flask import Flask
from sqlalchemy import func, select, text

pytestmark = pytest.mark.postgres


@pytest.fixture(autouse=True)
def request_context() -> Iterator[None]:
    """Overrides the package's request-context fixture: this module needs no db_session."""
    yield


@pytest.fixture(scope="module")
def live_app(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Flask]:
    from tests.conftest import scratch_postgres_app

    with scratch_postgres_app(Path(tmp_path_factory.mktemp("conc"))) as app:
        yield app


def in_threads(app: Flask, n: int, work: Callable[[], Any]) -> list[Any]:
    """Run `work` in n threads released together; returns each result or exception."""
    from civicforum.extensions import db

    barrier = threading.Barrier(n)
    results: list[Any] = [None] * n

    def run(i: int) -> None:
        with app.app_context(), app.test_request_context():
            barrier.wait()
            try:
                results[i] = work()
                db.session.commit()
            except Exception as exc:  # collected and asserted on by the test
                db.session.rollback()
                results[i] = exc
            finally:
                db.session.remove()

    threads = [threading.Thread(target=run, args=(i,)) for i in range(n)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    return results


def test_parallel_double_submission_records_exactly_one_ballot(live_app: Flask) -> None:
    from civicforum.ballots import services
    from civicforum.ballots.models import Ballot, BallotParticipation, Method
    from civicforum.ballots.validation import Choice
    from civicforum.extensions import db
    from civicforum.logstore import storage
    from tests.factories import make_user
    from tests.factories_ballots import close, make_ballot

    with live_app.app_context(), live_app.test_request_context():
        voter_id = make_user(db.session).id
        ballot_id = make_ballot(db.session, method=Method.IRV, vote_changes=True).id
        size_before = storage.log_size(db.session, log="votes")
        db.session.commit()

    def submit() -> Any:
        from civicforum.accounts.models import User

        ballot = db.session.get(Ballot, ballot_id)
        voter = db.session.get(User, voter_id)
        choice = Choice(ranked=True, ranking=("o2", "o1"))
        return services.cast_ballot(db.session, ballot=ballot, voter=voter, choice=choice)

    results = in_threads(live_app, 8, submit)
    recorded = [r for r in results if isinstance(r, services.CastReceipt)]
    assert len(recorded) == 8, results  # no deadlock, no constraint error
    # The first insert of the (ballot, voter) link wins; every parallel twin (each with its
    # own cast token) waits for it on the link and is then recorded as a vote change.
    assert sum(not r.changed for r in recorded) == 1, results  # exactly one first vote

    with live_app.app_context(), live_app.test_request_context():
        ballot = db.session.get(Ballot, ballot_id)
        assert close(db.session, ballot)
        db.session.commit()
        counts = services.count_ballots(db.session, ballot)
        assert counts.counted == 1 and counts.roll == 1
        assert counts.cast == len(recorded) and counts.superseded == len(recorded) - 1
        entries = storage.log_size(db.session, log="votes") - size_before
        # The casts, their marks at closing, the closing and the result: nothing else.
        assert entries == 2 * len(recorded) - 1 + 2
        assert (
            db.session.scalar(
                select(func.count())
                .select_from(BallotParticipation)
                .where(BallotParticipation.ballot_id == ballot_id)
            )
            == 1
        )


def test_one_cast_token_sent_at_once_casts_once(live_app: Flask) -> None:
    """A retried or doubled request carries the same cast token: one vote, one receipt."""
    from sqlalchemy.exc import IntegrityError

    from civicforum.ballots import services
    from civicforum.ballots.models import Ballot, BallotReceipt
    from civicforum.ballots.validation import Choice
    from civicforum.extensions import db
    from tests.factories import make_user
    from tests.factories_ballots import make_ballot

    with live_app.app_context(), live_app.test_request_context():
        voter_id = make_user(db.session).id
        ballot_id = make_ballot(db.session, vote_changes=True).id
        db.session.commit()
    token = "same-token-for-every-request"

    def submit() -> Any:
        from civicforum.accounts.models import User

        ballot = db.session.get(Ballot, ballot_id)
        voter = db.session.get(User, voter_id)
        choice = Choice(ranked=False, approvals=("o1",))
        try:
            receipt = services.cast_ballot(
                db.session, ballot=ballot, voter=voter, choice=choice, token=token
            )
            db.session.commit()
        except IntegrityError:  # as the cast view does: the twin recorded it
            db.session.rollback()
            receipt = services.receipt_for_token(db.session, ballot_id=ballot_id, token=token)
        return receipt

    results = in_threads(live_app, 6, submit)
    assert all(isinstance(r, services.CastReceipt) for r in results), results
    assert len({r.promise for r in results}) == 1  # every request got the same receipt
    with live_app.app_context():
        receipts = db.session.scalar(
            select(func.count())
            .select_from(BallotReceipt)
            .where(BallotReceipt.ballot_id == ballot_id)
        )
        assert receipts == 1
        counts = services.count_ballots(db.session, db.session.get(Ballot, ballot_id))
        assert (counts.cast, counts.roll) == (1, 1)


def test_parallel_first_votes_without_changes_record_one(live_app: Flask) -> None:
    from civicforum.ballots import services
    from civicforum.ballots.errors import AlreadyVotedError
    from civicforum.ballots.models import Ballot
    from civicforum.ballots.validation import Choice
    from civicforum.extensions import db
    from tests.factories import make_user
    from tests.factories_ballots import make_ballot

    with live_app.app_context(), live_app.test_request_context():
        voter_id = make_user(db.session).id
        ballot_id = make_ballot(db.session, vote_changes=False).id
        db.session.commit()

    def submit() -> Any:
        from civicforum.accounts.models import User

        return services.cast_ballot(
            db.session,
            ballot=db.session.get(Ballot, ballot_id),
            voter=db.session.get(User, voter_id),
            choice=Choice(ranked=False, approvals=("o1",)),
        )

    results = in_threads(live_app, 8, submit)
    recorded = [r for r in results if isinstance(r, services.CastReceipt)]
    assert len(recorded) == 1
    assert all(isinstance(r, AlreadyVotedError) for r in results if r not in recorded), results
    with live_app.app_context():
        counts = services.count_ballots(db.session, db.session.get(Ballot, ballot_id))
        assert (counts.cast, counts.counted, counts.roll) == (1, 1, 1)


def test_concurrent_closers_publish_once_and_casts_never_follow_closing(live_app: Flask) -> None:
    from datetime import timedelta

    from civicforum.ballots import services
    from civicforum.ballots.models import Ballot
    from civicforum.ballots.validation import Choice
    from civicforum.db import utcnow
    from civicforum.extensions import db
    from civicforum.ledger.entry import decode_entry
    from civicforum.logstore import proofs, storage
    from tests.factories import make_user
    from tests.factories_ballots import make_ballot

    with live_app.app_context(), live_app.test_request_context():
        voters = [make_user(db.session).id for _ in range(6)]
        ballot = make_ballot(db.session)
        ballot_id, ledger_id = ballot.id, ballot.ledger_id
        db.session.commit()

    closing = utcnow() + timedelta(seconds=1)

    def close_or_cast(i: int) -> Callable[[], Any]:
        def work() -> Any:
            from civicforum.accounts.models import User

            b = db.session.get(Ballot, ballot_id)
            if i % 2:
                return services.close_ballot(db.session, b, now=closing + timedelta(seconds=1))
            return services.cast_ballot(
                db.session,
                ballot=b,
                voter=db.session.get(User, voters[i]),
                choice=Choice(ranked=False, approvals=("o1",)),
            )

        return work

    with live_app.app_context():
        db.session.get(Ballot, ballot_id).closes_at = closing
        db.session.commit()
    counter = iter(range(6))
    lock = threading.Lock()

    def next_work() -> Any:
        with lock:
            i = next(counter)
        return close_or_cast(i)()

    in_threads(live_app, 6, next_work)
    with live_app.app_context():
        size = storage.log_size(db.session, log="votes")
        kinds = [
            decode_entry(data, "votes")
            for _, data, _ in proofs.iter_entries(db.session, log="votes", upto=size)
        ]
        mine = [e["type"] for e in kinds if e["ballot"] == ledger_id]
        assert mine.count("ballot.closed") == 1 and mine.count("result.published") == 1
        assert mine[-2:] == ["ballot.closed", "result.published"]  # no cast after closing
        ballot = db.session.get(Ballot, ballot_id)
        assert ballot.counted_count == mine.count("ballot.cast")


def test_a_cast_never_waits_for_a_held_head(live_app: Flask) -> None:
    """A real second connection holds the vote-log head: a due cast pools its entry and
    commits without waiting, and the next batch (here the scheduled job) appends it."""
    from civicforum.ballots import services
    from civicforum.ballots.models import Ballot
    from civicforum.extensions import db
    from civicforum.logstore import checkpoints, sequencer, storage
    from tests.factories import make_user
    from tests.factories_ballots import approve, make_ballot

    with live_app.app_context(), live_app.test_request_context():
        voter = make_user(db.session)
        ballot = make_ballot(db.session)
        db.session.commit()
        size = storage.log_size(db.session, log="votes")
        holder = db.engine.connect()
        held = holder.begin()
        holder.execute(text("SELECT size FROM ledger_heads WHERE log = 'votes' FOR UPDATE"))
        try:
            services.cast_ballot(
                db.session,
                ballot=db.session.get(Ballot, ballot.id),
                voter=voter,
                choice=approve("o1"),
            )
            db.session.commit()  # returned at once: the batch was due but the head is busy
            assert storage.log_size(db.session, log="votes") == size
            assert sequencer.pending_count(db.session, log="votes") == 1
        finally:
            held.commit()
            holder.close()
        assert sequencer.sequence_due(db.session, log="votes") == 1
        db.session.commit()
        assert sequencer.pending_count(db.session, log="votes") == 0
        assert storage.log_size(db.session, log="votes") == size + 1
        latest = checkpoints.latest_checkpoint(db.session, log="votes")
        assert latest is not None and latest.size == size + 1
        db.session.remove()


def test_closing_leaves_no_arrival_order_in_the_roll(live_app: Flask) -> None:
    """PostgreSQL keeps, in every row, which transaction wrote it (xmin) and where (ctid).
    Roll rows written vote by vote list the voters in voting order, which is the order of
    the log's public entries: a join by position. Closing rewrites the roll."""
    from civicforum.ballots import services
    from civicforum.ballots.models import BallotParticipation
    from civicforum.extensions import db
    from tests.factories import make_user
    from tests.factories_ballots import approve, close, make_ballot

    order_sql = text(
        "SELECT voter_id FROM ballot_participations WHERE ballot_id = :b "
        "ORDER BY xmin::text::bigint, ctid"
    )
    with live_app.app_context(), live_app.test_request_context():
        voters = [make_user(db.session) for _ in range(6)]
        ballot = make_ballot(db.session, secret=True)
        db.session.commit()
        arrival = list(reversed(voters))  # opposite to id order
        for voter in arrival:
            services.cast_ballot(db.session, ballot=ballot, voter=voter, choice=approve("o1"))
            db.session.commit()
        before = db.session.scalars(order_sql, {"b": ballot.id}).all()
        assert before == [v.id for v in arrival]  # the leak this test guards against
        assert close(db.session, ballot)
        db.session.commit()
        after = db.session.scalars(order_sql, {"b": ballot.id}).all()
        assert after == sorted(v.id for v in voters)
        for table in ("ballot_participations", "ballot_receipts"):  # both rewritten at once
            writers = db.session.scalar(
                text(f"SELECT count(DISTINCT xmin::text) FROM {table} WHERE ballot_id = :b"),
                {"b": ballot.id},
            )
            assert writers == 1, table
        roll = db.session.scalar(
            select(func.count())
            .select_from(BallotParticipation)
            .where(BallotParticipation.ballot_id == ballot.id)
        )
        assert roll == ballot.counted_count == len(voters)
        db.session.remove()
