"""Ballot services: definition, casting, vote changes, closing, secrecy and the roll."""

from __future__ import annotations

import hashlib
import json
from datetime import timedelta
from typing import Any

import pytest
from sqlalchemy import func, inspect, select, text

from civicforum.audit.models import AuditEvent
from civicforum.ballots import errors, services
from civicforum.ballots.models import (
    Ballot,
    BallotParticipation,
    BallotStatus,
    BallotVoterLink,
    Method,
)
from civicforum.ballots.validation import Choice
from civicforum.db import utcnow
from civicforum.ledger.entry import decode_entry
from civicforum.ledger.promise import parse_promise_file
from civicforum.logstore import proofs, storage
from tests.factories import make_user
from tests.factories_ballots import approve, blank, close, make_ballot, rank


def log_entries(session: Any) -> list[dict[str, Any]]:
    size = storage.log_size(session, log="votes")
    return [
        decode_entry(data, "votes")
        for _, data, _ in proofs.iter_entries(session, log="votes", upto=size)
    ]


def entries_of(session: Any, ballot: Ballot) -> list[dict[str, Any]]:
    return [e for e in log_entries(session) if e["ballot"] == ballot.ledger_id]


# ----------------------------------------------------------------------------- definition


def test_opening_appends_the_definition(db_session: Any) -> None:
    ballot = make_ballot(db_session, method=Method.APPROVAL, max_approvals=2)
    assert ballot.status == BallotStatus.OPEN
    (opened,) = entries_of(db_session, ballot)
    assert opened["type"] == "ballot.opened"
    assert opened["options"] == [
        {"id": "o1", "label": "Apples"},
        {"id": "o2", "label": "Bananas"},
        {"id": "o3", "label": "Cherries"},
    ]
    assert opened["rules"] == {"seats": 1, "maxApprovals": 2}
    assert opened["secret"] is True and opened["vote_changes"] is True
    assert len(opened["day"]) == 10  # the day only, never a time
    assert opened["day"] == ballot.opens_at.date().isoformat()
    assert opened["electorate"] == {"size": ballot.electorate_size, "root": ballot.electorate_root}


def test_scheduled_ballot_opens_lazily_and_can_be_edited_until_then(db_session: Any) -> None:
    admin = make_user(db_session, roles=("citizen", "admin"))
    ballot = make_ballot(db_session, open_now=False, actor=admin)
    assert not services.sync_ballot(db_session, ballot=ballot)
    draft = services.BallotDraft(
        title="Renamed",
        description="",
        method=Method.IRV,
        options=(services.OptionDraft("X"), services.OptionDraft("Y")),
        opens_at=utcnow() - timedelta(minutes=5),
        closes_at=utcnow() + timedelta(days=1),
    )
    services.update_ballot(db_session, ballot=ballot, draft=draft, actor=admin)
    assert [o.label for o in ballot.options] == ["X", "Y"]
    assert services.sync_ballot(db_session, ballot=ballot)
    assert ballot.status == BallotStatus.OPEN
    with pytest.raises(errors.BallotNotEditableError):
        services.update_ballot(db_session, ballot=ballot, draft=draft, actor=admin)


@pytest.mark.parametrize(
    "changes, message",
    [
        ({"options": (services.OptionDraft("Only one"),)}, "at least two"),
        ({"options": (services.OptionDraft("A"), services.OptionDraft("a"))}, "same label"),
        ({"method": Method.IRV, "seats": 2}, "exactly one winner"),
        ({"method": Method.STV, "seats": 3}, "less than the number"),
        ({"max_approvals": 5}, "between"),
        ({"method": Method.SCHULZE, "max_approvals": 2}, "only to approval"),
        ({"closes_at": utcnow() - timedelta(days=30)}, "close after it opens"),
    ],
)
def test_invalid_definitions_are_refused(
    db_session: Any, changes: dict[str, Any], message: str
) -> None:
    base = dict(
        title="T",
        description="",
        method=Method.APPROVAL,
        options=tuple(services.OptionDraft(x) for x in ("A", "B", "C")),
        opens_at=utcnow(),
        closes_at=utcnow() + timedelta(days=1),
    )
    base.update(changes)
    with pytest.raises(errors.InvalidBallotDefinitionError, match=message):
        services.define_ballot(db_session, draft=services.BallotDraft(**base), actor=None)


def test_cancel_needs_a_reason_and_destroys_links(db_session: Any) -> None:
    voter = make_user(db_session)
    ballot = make_ballot(db_session)
    services.cast_ballot(db_session, ballot=ballot, voter=voter, choice=approve("o1"))
    with pytest.raises(errors.InvalidBallotDefinitionError):
        services.cancel_ballot(db_session, ballot=ballot, reason="  ", actor=None)
    services.cancel_ballot(db_session, ballot=ballot, reason="Wrong options", actor=None)
    assert ballot.status == BallotStatus.CANCELLED and ballot.cancel_reason == "Wrong options"
    assert db_session.scalar(select(func.count()).select_from(BallotVoterLink)) == 0
    with pytest.raises(errors.BallotNotOpenError):
        services.cast_ballot(db_session, ballot=ballot, voter=voter, choice=approve("o1"))


# ----------------------------------------------------------------------------- casting


def test_cast_records_entry_link_roll_and_receipt(db_session: Any) -> None:
    voter = make_user(db_session)
    ballot = make_ballot(db_session, method=Method.IRV)
    receipt = services.cast_ballot(db_session, ballot=ballot, voter=voter, choice=rank("o2", "o1"))
    entry = entries_of(db_session, ballot)[-1]
    assert entry == {
        "v": 1,
        "type": "ballot.cast",
        "day": ballot.opens_at.date().isoformat(),  # the ballot's opening day, not the cast's
        "ballot": ballot.ledger_id,
        "tracker": receipt.tracker,
        "choice": [["o2"], ["o1"]],
    }
    link = db_session.get(BallotVoterLink, (ballot.id, voter.id))
    assert link.tracker == receipt.tracker
    # The receipt is the log's signed promise for exactly that entry.
    assert decode_entry(parse_promise_file(receipt.promise).entry, "votes") == entry
    mine = services.voter_receipt(db_session, ballot=ballot, voter=voter, proof=True)
    assert mine is not None and mine.promise == receipt.promise and mine.proof is not None
    assert db_session.get(BallotParticipation, (ballot.id, voter.id)) is not None


def test_secret_ballot_keeps_the_voter_out_of_log_and_audit(db_session: Any) -> None:
    voter = make_user(db_session)
    ballot = make_ballot(db_session, secret=True)
    services.cast_ballot(db_session, ballot=ballot, voter=voter, choice=approve("o1"))
    entry = entries_of(db_session, ballot)[-1]
    assert "voter" not in entry and voter.handle not in json.dumps(entry)
    # No timestamped audit row that access logs could be joined with.
    events = db_session.scalars(
        select(AuditEvent).where(AuditEvent.kind == "ballot:vote:cast")
    ).all()
    assert events == []


def test_public_ballot_names_the_voter_handle(db_session: Any) -> None:
    voter = make_user(db_session)
    ballot = make_ballot(db_session, secret=False)
    services.cast_ballot(db_session, ballot=ballot, voter=voter, choice=approve("o1"))
    assert entries_of(db_session, ballot)[-1]["voter"] == voter.handle


def test_vote_change_is_marked_only_at_closing(db_session: Any) -> None:
    voter = make_user(db_session)
    ballot = make_ballot(db_session, vote_changes=True)
    first = services.cast_ballot(db_session, ballot=ballot, voter=voter, choice=approve("o1"))
    second = services.cast_ballot(db_session, ballot=ballot, voter=voter, choice=approve("o2"))
    assert second.changed and second.tracker != first.tracker
    kinds = [(e["type"], e.get("tracker")) for e in entries_of(db_session, ballot)]
    # Nothing public says the second cast replaced the first while the ballot is open.
    assert kinds[-2:] == [("ballot.cast", first.tracker), ("ballot.cast", second.tracker)]
    assert services.count_ballots(db_session, ballot) == services.Counts(2, 0, 2, 1)
    close(db_session, ballot)
    kinds = [(e["type"], e.get("tracker")) for e in entries_of(db_session, ballot)]
    assert kinds[-4:-1] == [
        ("ballot.cast", second.tracker),
        ("ballot.superseded", first.tracker),
        ("ballot.closed", None),
    ]
    assert services.live_choices(db_session, ballot) == [["o2"]]
    assert services.count_ballots(db_session, ballot) == services.Counts(2, 1, 1, 1)


def test_blank_ballot_is_recorded_as_an_empty_choice(db_session: Any) -> None:
    voter = make_user(db_session)
    ballot = make_ballot(db_session, method=Method.SCHULZE)
    services.cast_ballot(db_session, ballot=ballot, voter=voter, choice=blank(ranked=True))
    assert entries_of(db_session, ballot)[-1]["choice"] == []


# ----------------------------------------------------------------------------- refusals


def snapshot(session: Any) -> tuple[int, ...]:
    """Row counts of every table a cast could write to."""
    tables = (
        "ballot_receipts",
        "ballot_voter_links",
        "ballot_participations",
        "ledger_entries",
        "ledger_pending",
    )
    counts = [session.scalar(text(f"SELECT count(*) FROM {t}")) for t in tables]
    counts.append(storage.log_size(session, log="votes"))
    counts.append(
        session.scalar(
            select(func.count())
            .select_from(AuditEvent)
            .where(AuditEvent.kind == "ballot:vote:cast")
        )
    )
    return tuple(counts)


@pytest.mark.parametrize(
    "case",
    [
        "unknown option",
        "duplicate rank",
        "too many approvals",
        "empty",
        "blank with choices",
        "second vote",
        "before opening",
        "after closing",
        "ineligible",
        "suspended",
        "wrong shape",
    ],
)
def test_refusals_record_nothing(
    db_session: Any, monkeypatch: pytest.MonkeyPatch, case: str
) -> None:
    voter = make_user(db_session)
    method = Method.IRV if case in {"duplicate rank", "wrong shape"} else Method.APPROVAL
    ballot = make_ballot(
        db_session,
        method=method,
        max_approvals=2 if method is Method.APPROVAL else None,
        vote_changes=case != "second vote",
        open_now=case != "before opening",
    )
    choice: Choice = rank("o1") if method is Method.IRV else approve("o1")
    if case == "second vote":
        services.cast_ballot(db_session, ballot=ballot, voter=voter, choice=choice)
    expected: type[Exception] = errors.InvalidChoiceError
    if case == "unknown option":
        choice = approve("o1", "o9")
    elif case == "duplicate rank":
        choice = rank("o1", "o1")
    elif case == "too many approvals":
        choice = approve("o1", "o2", "o3")
    elif case == "empty":
        choice = approve()
    elif case == "blank with choices":
        choice = Choice(ranked=False, approvals=("o1",), blank=True)
    elif case == "wrong shape":
        choice = approve("o1")
    elif case == "second vote":
        expected = errors.AlreadyVotedError
    elif case in {"before opening", "after closing"}:
        if case == "after closing":
            ballot.closes_at = utcnow() - timedelta(seconds=1)
        expected = errors.BallotNotOpenError
    elif case == "ineligible":
        voter = make_user(db_session, verified=False)
        expected = errors.NotEligibleError
    elif case == "suspended":
        from civicforum.moderation import policy

        monkeypatch.setattr(
            policy,
            "active_restriction",
            lambda session, user: policy.Restriction("suspended", "test", None),
        )
        expected = policy.RestrictedAccountError
    db_session.flush()
    before = snapshot(db_session)
    with pytest.raises(expected):
        services.cast_ballot(db_session, ballot=ballot, voter=voter, choice=choice)
    assert snapshot(db_session) == before


def test_role_eligibility(db_session: Any) -> None:
    citizen = make_user(db_session)
    moderator = make_user(db_session, roles=("citizen", "moderator"))
    ballot = make_ballot(
        db_session, eligibility=services.Eligibility.ROLE, eligibility_role="moderator"
    )
    with pytest.raises(errors.NotEligibleError):
        services.cast_ballot(db_session, ballot=ballot, voter=citizen, choice=approve("o1"))
    services.cast_ballot(db_session, ballot=ballot, voter=moderator, choice=approve("o1"))


# ----------------------------------------------------------------------------- closing


def all_tables_text(session: Any) -> str:
    """Every row of every table, as text: the haystack for secrecy checks."""
    bind = session.get_bind()
    names = inspect(bind).get_table_names()
    dump = []
    for name in names:
        for row in session.execute(text(f'SELECT * FROM "{name}"')):
            dump.append(f"{name}: {tuple(row)!r}")
    return "\n".join(dump)


def test_closing_counts_publishes_and_destroys_every_voter_link(db_session: Any) -> None:
    voters = [make_user(db_session) for _ in range(6)]
    ballot = make_ballot(db_session, method=Method.STV, seats=2, options=("A", "B", "C", "D"))
    choices = [
        rank("o1", "o2"),
        rank("o1", "o3"),
        rank("o2"),
        rank("o3", "o4"),
        rank("o4"),
        rank("o1"),
    ]
    trackers = [
        services.cast_ballot(db_session, ballot=ballot, voter=v, choice=c).tracker
        for v, c in zip(voters, choices, strict=True)
    ]
    # One voter changes their mind.
    trackers[5] = services.cast_ballot(
        db_session, ballot=ballot, voter=voters[5], choice=rank("o4", "o1")
    ).tracker
    assert close(db_session, ballot)
    assert ballot.status == BallotStatus.CLOSED
    assert ballot.cast_count == 7 and ballot.superseded_count == 1 and ballot.counted_count == 6

    # Participation roll size == counted ballots, and it holds the voters (not their choices).
    roll = db_session.scalars(
        select(BallotParticipation.voter_id).where(BallotParticipation.ballot_id == ballot.id)
    ).all()
    assert sorted(roll) == sorted(v.id for v in voters)
    assert len(roll) == ballot.counted_count

    # Nothing links a voter to a tracker any more: no table row holds both a voter's id
    # (or handle/email) and any of the trackers.
    assert db_session.scalar(select(func.count()).select_from(BallotVoterLink)) == 0
    # No table that refers to users holds any tracker; no row holding a tracker names a voter.
    inspector = inspect(db_session.get_bind())
    user_tables = {
        name
        for name in inspector.get_table_names()
        if any(fk["referred_table"] == "users" for fk in inspector.get_foreign_keys(name))
    } | {"users"}
    dump = all_tables_text(db_session)
    for line in dump.splitlines():
        if line.split(":", 1)[0] in user_tables:
            assert not any(t in line for t in trackers), line
        if any(t in line for t in trackers):
            for v in voters:
                assert v.handle not in line and v.email not in line
    # Secret casts leave no audit rows (timestamps could be joined with access logs).
    cast_events = db_session.scalars(
        select(AuditEvent).where(AuditEvent.kind == "ballot:vote:cast")
    ).all()
    assert cast_events == []

    entries = entries_of(db_session, ballot)
    closed = next(e for e in entries if e["type"] == "ballot.closed")
    assert closed["counts"] == {"cast": 7, "superseded": 1, "counted": 6, "roll": 6}
    published = entries[-1]
    assert published["type"] == "result.published"
    assert published["result_sha256"] == hashlib.sha256(ballot.result_json.encode()).hexdigest()
    assert published["checkpoint"] == {"size": ballot.closed_index + 1, "root": ballot.seed_root}
    result = json.loads(ballot.result_json)
    assert len(result["winners"]) == 2 and result["totalBallots"] == 6


def test_result_matches_the_auditor_recount(db_session: Any) -> None:
    from civicforum.audit_tool.recount import recount
    from civicforum.ledger.entry import canonical_json

    voters = [make_user(db_session) for _ in range(4)]
    ballot = make_ballot(db_session, method=Method.APPROVAL, seats=2, max_approvals=2)
    choices = (approve("o1"), approve("o2", "o3"), approve("o3"), blank())
    for voter, choice in zip(voters, choices, strict=True):
        services.cast_ballot(db_session, ballot=ballot, voter=voter, choice=choice)
    close(db_session, ballot)
    entries = entries_of(db_session, ballot)
    opened = entries[0]
    live = [e["choice"] for e in entries if e["type"] == "ballot.cast"]
    redo = canonical_json(recount(opened, live, bytes.fromhex(ballot.seed_root)))
    assert redo.decode() == ballot.result_json


def test_closing_is_idempotent(db_session: Any) -> None:
    voter = make_user(db_session)
    ballot = make_ballot(db_session)
    services.cast_ballot(db_session, ballot=ballot, voter=voter, choice=approve("o2"))
    assert close(db_session, ballot)
    size = storage.log_size(db_session, log="votes")
    assert not services.close_ballot(db_session, ballot)
    assert not services.sync_ballot(db_session, ballot=ballot)
    assert storage.log_size(db_session, log="votes") == size


def test_close_due_opens_and_closes(db_session: Any) -> None:
    upcoming = make_ballot(db_session, open_now=False)
    ended = make_ballot(db_session)
    ended.closes_at = utcnow() - timedelta(seconds=1)
    upcoming.opens_at = utcnow() - timedelta(seconds=1)
    db_session.flush()
    changed = services.close_due(db_session)
    assert set(changed) == {upcoming.id, ended.id}
    assert upcoming.status == BallotStatus.OPEN and ended.status == BallotStatus.CLOSED
    assert services.close_due(db_session) == []


def test_zero_ballots_still_publish_a_result(db_session: Any) -> None:
    ballot = make_ballot(db_session, method=Method.IRV)
    assert close(db_session, ballot)
    assert json.loads(ballot.result_json)["totalBallots"] == 0
