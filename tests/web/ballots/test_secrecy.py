"""Ballot secrecy against a copy of everything (docs/ledger.md §8), on both databases.

* The correlation attack: voters log in, browse and vote one after another; after closing, an
  attacker holding the whole database, the session store and the application's log joins every
  time and order it can find. It must do no better than chance.
* Coercion: from the export and a voter's first receipt, nothing points to the ballot that
  replaced it.
* The electorate fixed at opening, and the count made from the signed log.
"""

from __future__ import annotations

import json
import logging
import random
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import inspect, select, text

from civicforum.ballots import services
from civicforum.ballots.errors import JoinedAfterOpeningError
from civicforum.ballots.models import Ballot, Eligibility
from civicforum.db import utcnow
from civicforum.ledger import entry as E
from civicforum.ledger.electorate import Electorate, elector_leaf
from civicforum.ledger.promise import parse_promise_file
from civicforum.logstore import checkpoints, proofs, sequencer, storage
from civicforum.logstore.errors import LedgerCorruptError
from tests.conftest import csrf_token_for
from tests.factories import TEST_PASSWORD, make_user
from tests.factories_ballots import approve, close, make_ballot

VOTERS = 16


def log_in(app: Flask, user: Any) -> FlaskClient:
    browser = app.test_client()
    browser.environ_base["HTTP_X_CSRF_TOKEN"] = csrf_token_for(browser, app)
    done = browser.post("/account/login", data={"email": user.email, "password": TEST_PASSWORD})
    assert done.status_code == 303, done.text[:300]
    browser.environ_base["HTTP_X_CSRF_TOKEN"] = csrf_token_for(browser, app)
    return browser


def vote(browser: FlaskClient, ballot: Ballot, key: str) -> str:
    """Browse, review and cast as a voter would; returns the tracker of the receipt."""
    return cast_reviewed(browser, ballot, key, review(browser, ballot, key))


def review(browser: FlaskClient, ballot: Ballot, key: str) -> str:
    """Browse to the ballot and review a choice; the confirmation form's cast token."""
    assert browser.get("/ballots/").status_code == 200
    assert browser.get(f"/ballots/{ballot.id}").status_code == 200
    page = browser.post(f"/ballots/{ballot.id}/review", data={"approve": key})
    marker = 'name="cast_token" value="'
    start = page.text.index(marker) + len(marker)
    return page.text[start : page.text.index('"', start)]


def cast_reviewed(browser: FlaskClient, ballot: Ballot, key: str, token: str) -> str:
    cast = browser.post(
        f"/ballots/{ballot.id}/cast", data={"approve": key, "action": "cast", "cast_token": token}
    )
    assert cast.status_code == 200, cast.text[:300]
    marker = 'data-testid="tracker">'
    start = cast.text.index(marker) + len(marker)
    return cast.text[start : start + 32]


def cast_entries(session: Any, ballot: Ballot) -> list[tuple[int, dict[str, Any]]]:
    size = storage.log_size(session, log="votes")
    found = []
    for index, data, _ in proofs.iter_entries(session, log="votes", upto=size):
        value = E.decode_entry(data, "votes")
        if value["type"] == "ballot.cast" and value["ballot"] == ballot.ledger_id:
            found.append((index, value))
    return found


def covering_checkpoint_size(session: Any, index: int) -> int:
    sizes = sorted(
        int(n.split("\n")[1]) for n in checkpoints.iter_checkpoints(session, log="votes")
    )
    return next(size for size in sizes if size > index)


class Attacker:
    """Everything a copy of the database, the session store and the app's log give away about
    *when* each voter acted and *when* each entry was written, joined by order."""

    def __init__(self, session: Any, log_records: list[logging.LogRecord]) -> None:
        self.session = session
        self.records = log_records
        self.postgres = session.get_bind().dialect.name == "postgresql"

    def voter_order(self, voters: list[Any]) -> list[int]:
        """Voters by the finest trace of their activity: the application log's login lines
        (millisecond times), then each session row's write order (PostgreSQL: xmin; SQLite:
        rowid) and times."""
        logged = {}
        for record in self.records:
            message = record.getMessage()
            if message.startswith("login user="):
                uid = int(message.split()[1].removeprefix("user="))
                logged.setdefault(uid, record.created)
        order_col = "xmin::text::bigint" if self.postgres else "rowid"
        rows = self.session.execute(
            text(f"SELECT user_id, {order_col}, created_at, last_seen_at FROM user_sessions")
        ).all()
        by_row = {uid: (order, created, seen) for uid, order, created, seen in rows if uid}
        ids = [v.id for v in voters]
        return sorted(ids, key=lambda uid: (logged.get(uid, 0.0), by_row.get(uid, (0,))[0]))

    def entry_order(self, entries: list[tuple[int, dict[str, Any]]]) -> list[str]:
        """Cast entries by every trace of when each was written: the checkpoint that first
        covers it, the transaction that wrote its row (PostgreSQL xmin), then its index."""
        xmins = {}
        if self.postgres:
            xmins = dict(
                self.session.execute(
                    text("SELECT idx, xmin::text::bigint FROM ledger_entries WHERE log = 'votes'")
                ).all()
            )
        return [
            value["tracker"]
            for index, value in sorted(
                entries,
                key=lambda e: (
                    covering_checkpoint_size(self.session, e[0]),
                    xmins.get(e[0], 0),
                    e[0],
                ),
            )
        ]


def test_a_copy_of_everything_links_voters_to_ballots_no_better_than_chance(
    app: Flask, db_session: Any, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    monkeypatch.setitem(app.config, "LEDGER_MIX_MIN", VOTERS)
    # A reproducible draw in place of the secrets-grade one, so the figure below is stable.
    draw = random.Random(20261207)
    monkeypatch.setattr(sequencer, "_shuffle", draw.shuffle)
    caplog.set_level(logging.INFO)
    voters = [make_user(db_session) for _ in range(VOTERS)]
    ballot = make_ballot(db_session, options=("A", "B", "C"))
    truth = {}
    for n, voter in enumerate(voters):  # one after another, at distinct times
        truth[voter.id] = vote(log_in(app, voter), ballot, f"o{1 + n % 3}")
    db_session.expire_all()
    assert close(db_session, ballot)
    db_session.commit()

    entries = cast_entries(db_session, ballot)
    assert sorted(t for _, t in [(i, e["tracker"]) for i, e in entries]) == sorted(truth.values())
    # Structurally: within the batch, nothing tells the entries apart but the drawn order.
    assert len({covering_checkpoint_size(db_session, i) for i, _ in entries}) == 1
    if db_session.get_bind().dialect.name == "postgresql":
        xmins = db_session.execute(
            text(
                "SELECT count(DISTINCT xmin::text) FROM ledger_entries WHERE log = 'votes' "
                "AND idx BETWEEN :a AND :b"
            ),
            {"a": entries[0][0], "b": entries[-1][0]},
        ).scalar()
        assert xmins == 1
    assert {e["day"] for _, e in entries} == {ballot.opens_at.date().isoformat()}
    # No column anywhere holds a finer time than the sessions' 15-minute steps, except on
    # tables about things other than voters' activity.
    from civicforum.accounts.models import UserSession

    for row in db_session.scalars(select(UserSession)):
        for moment in (row.created_at, row.last_seen_at):
            assert moment.minute % 15 == 0 and moment.second == moment.microsecond == 0, moment

    attacker = Attacker(db_session, caplog.records)
    guessed = dict(zip(attacker.voter_order(voters), attacker.entry_order(entries), strict=True))
    assert attacker.voter_order(voters) == [v.id for v in voters]  # it knows who voted when
    right = sum(guessed[uid] == tracker for uid, tracker in truth.items())
    # A random pairing of 16 gets 1 right on average; arrival order (before the pool) got all
    # 16. With this draw the attack gets exactly what a blind guess would.
    assert right <= 2, f"{right} of {VOTERS} voters linked"


def test_the_attack_is_real_it_links_everyone_when_ballots_are_not_mixed(
    app: Flask, db_session: Any, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    """The control: without the pool (each cast appended alone, in arrival order), the same
    attacker links every voter to their ballot, as the issue's attack on the old code did."""
    monkeypatch.setitem(app.config, "LEDGER_MIX_MIN", 1)
    caplog.set_level(logging.INFO)
    voters = [make_user(db_session) for _ in range(6)]
    ballot = make_ballot(db_session)
    truth = {v.id: vote(log_in(app, v), ballot, f"o{1 + n % 3}") for n, v in enumerate(voters)}
    attacker = Attacker(db_session, caplog.records)
    order = attacker.entry_order(cast_entries(db_session, ballot))
    guessed = dict(zip(attacker.voter_order(voters), order, strict=True))
    assert guessed == truth


@pytest.mark.parametrize("store_kind", ["sql", "redis"])
def test_session_records_carry_no_finer_time_and_the_cast_leaves_them_alone(
    app: Flask, db_session: Any, monkeypatch: pytest.MonkeyPatch, store_kind: str
) -> None:
    import os
    import secrets

    from civicforum.accounts import sessions
    from civicforum.accounts.models import UserSession
    from civicforum.accounts.sessions import RedisSessionStore, coarse

    if store_kind == "redis":
        url = os.environ.get("CIVICFORUM_TEST_REDIS_URL", "")
        if not url:
            pytest.skip("Redis session store not tested: CIVICFORUM_TEST_REDIS_URL is not set")
        redis_store = RedisSessionStore(url, prefix=f"civicforum-test-{secrets.token_hex(4)}:")
        monkeypatch.setattr(app.session_interface, "store", redis_store)
    voters = [make_user(db_session) for _ in range(3)]
    ballot = make_ballot(db_session)
    browsers = [log_in(app, v) for v in voters]

    def records() -> dict[str, tuple[datetime, datetime, datetime]]:
        """(created, last seen, expiry) of every session record."""
        if store_kind == "sql":
            db_session.expire_all()
            return {
                row.id: (row.created_at, row.last_seen_at, row.expires_at)
                for row in db_session.scalars(select(UserSession))
            }
        r = redis_store.r
        out = {}
        for key in r.scan_iter(f"{redis_store.prefix}session:*"):
            rec = json.loads(r.get(key) or "{}")
            expiry = datetime.fromtimestamp(int(r.pexpiretime(key)) / 1000, tz=UTC)
            seen = datetime.fromisoformat(rec["seen"])
            out[key] = (datetime.fromisoformat(rec["created"]), seen, expiry)
        return out

    tokens = [review(b, ballot, "o1") for b in browsers]
    before = records()
    assert len(before) == 3
    lifetime = timedelta(days=int(app.config["SESSION_LIFETIME_DAYS"]))
    for created, seen, expires in before.values():
        assert created == coarse(created) and seen == coarse(seen)
        # An absolute expiry fixed at login (coarse + lifetime), not a TTL counted from a write.
        assert expires == created + lifetime
    # An hour later, any other request would refresh the record's last use: the cast does not.
    later = utcnow() + timedelta(hours=1)
    monkeypatch.setattr(sessions, "utcnow", lambda: later)
    for browser, token in zip(browsers, tokens, strict=True):
        cast_reviewed(browser, ballot, "o1", token)
    assert records() == before  # casting touched no session record
    browsers[0].get("/ballots/")  # (and an ordinary page does)
    assert records() != before


def test_no_time_of_a_vote_is_stored_anywhere(app: Flask, db_session: Any) -> None:
    """Every timestamp column of the schema, listed: the ones near voting carry none."""
    columns = set()
    for table in inspect(db_session.get_bind()).get_table_names():
        for column in inspect(db_session.get_bind()).get_columns(table):
            if "TIME" in str(column["type"]).upper() or "DATE" in str(column["type"]).upper():
                columns.add(f"{table}.{column['name']}")
    near_voting = {c for c in columns if c.split(".")[0].startswith(("ballot_", "ledger_"))}
    assert near_voting == {
        # the pool's queueing minute, deleted with the row when its batch is appended
        "ledger_pending.queued_at",
        # about witnesses and audit runs: when a cosignature arrived dates a checkpoint no
        # more finely than its batch (witnesses poll every few minutes)
        "ledger_cosignatures.received_at",
        "ledger_witnesses.added_at",
        "ledger_verifications.at",
    }


def test_a_coercer_with_the_first_receipt_cannot_follow_the_change(
    app: Flask, db_session: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setitem(app.config, "LEDGER_MIX_MIN", 4)
    target, *others = [make_user(db_session) for _ in range(6)]
    ballot = make_ballot(db_session, vote_changes=True)
    shown = services.cast_ballot(db_session, ballot=ballot, voter=target, choice=approve("o1"))
    for voter in others[:2]:
        services.cast_ballot(db_session, ballot=ballot, voter=voter, choice=approve("o2"))
    # Under pressure, the voter later changes their vote, while others keep voting.
    services.cast_ballot(db_session, ballot=ballot, voter=target, choice=approve("o3"))
    for voter in others[2:]:
        services.cast_ballot(db_session, ballot=ballot, voter=voter, choice=approve("o3"))
    close(db_session, ballot)

    export = [e for _, e in cast_entries(db_session, ballot)]
    entries = [
        E.decode_entry(d, "votes")
        for _, d, _ in proofs.iter_entries(
            db_session, log="votes", upto=storage.log_size(db_session, log="votes")
        )
    ]
    mine = E.decode_entry(parse_promise_file(shown.promise).entry, "votes")
    # What the coercer learns: the shown ballot was replaced (a mark names its tracker)...
    marks = [e for e in entries if e["type"] == "ballot.superseded"]
    assert [m["tracker"] for m in marks] == [mine["tracker"]]
    # ...and nothing else: no entry but the cast and its mark mentions that tracker, the mark
    # sits after every cast of the ballot, and the replacement is one of several casts that
    # look alike (same day, same shape), the same choice as others' too.
    assert sum(mine["tracker"] in json.dumps(e) for e in entries) == 2
    mark_at = entries.index(marks[0])
    assert all(entries.index(e) < mark_at for e in export)
    later = [e for e in export if e["tracker"] != mine["tracker"]]
    assert len(later) == 6 and {e["day"] for e in later} == {mine["day"]}
    assert sorted(e["choice"] for e in later).count(["o3"]) >= 2


# ----------------------------------------------------------------------------- the electorate


@pytest.mark.parametrize("late", ["registered", "verified", "roll claim", "role granted"])
def test_who_joins_after_opening_cannot_vote_and_is_told_why(
    client: FlaskClient, db_session: Any, login_as: Any, late: str
) -> None:
    from civicforum.accounts.models import UserRole

    rule = {
        "roll claim": Eligibility.ROLL_VERIFIED,
        "role granted": Eligibility.ROLE,
    }.get(late, Eligibility.EMAIL_VERIFIED)
    member = make_user(db_session, verified=late != "verified")  # a member before opening...
    ballot = make_ballot(db_session, eligibility=rule, eligibility_role="auditor")
    now = utcnow()  # ...who becomes eligible once the ballot is open
    if late == "registered":
        member = make_user(db_session, member_since=now)
    elif late == "verified":
        member.email_verified_at = now
    elif late == "roll claim":
        member.roll_verified_at = now
    else:
        member.roles.append(UserRole(role="auditor", granted_at=now))
    db_session.flush()
    with pytest.raises(JoinedAfterOpeningError):
        services.cast_ballot(db_session, ballot=ballot, voter=member, choice=approve("o1"))
    login_as(member)
    page = client.get(f"/ballots/{ballot.id}").text
    assert "Who may vote in it was fixed when voting began" in page
    assert "Review my ballot" not in page  # no form to fill in for nothing


def test_the_electorate_is_committed_in_the_opening_entry(db_session: Any, app: Flask) -> None:
    from civicforum.ballots import electorate

    members = [make_user(db_session) for _ in range(3)]
    make_user(db_session, verified=False)  # not eligible
    ballot = make_ballot(db_session)
    opened = E.decode_entry(
        proofs.entry_data(db_session, log="votes", index=ballot.opened_index), "votes"
    )
    ids = electorate.elector_ids(db_session, ballot)
    assert set(ids) >= {m.id for m in members}
    commitment = Electorate.of(
        elector_leaf(electorate.key(), ballot=ballot.ledger_id, member=str(i)) for i in ids
    )
    assert opened["electorate"] == {"size": commitment.size, "root": commitment.root.hex()}
    assert ballot.electorate_size == commitment.size


# ----------------------------------------------------------------------------- counted from the log


def tamper(session: Any, index: int, **values: bytes) -> None:
    """Rewrite a stored entry behind the application's back (its guards refuse to)."""
    sets = ", ".join(f"{column} = :{column}" for column in values)
    session.execute(
        text(f"UPDATE ledger_entries SET {sets} WHERE log = 'votes' AND idx = :i"),
        {**values, "i": index},
    )


def test_closing_counts_from_the_signed_log_not_from_editable_rows(db_session: Any) -> None:
    voters = [make_user(db_session) for _ in range(4)]
    ballot = make_ballot(db_session)
    for voter, key in zip(voters, ("o1", "o1", "o2", "o3"), strict=True):
        services.cast_ballot(db_session, ballot=ballot, voter=voter, choice=approve(key))
    # Someone with write access edits a sequenced cast (and its leaf hash) before closing.
    index, entry = cast_entries(db_session, ballot)[0]
    forged = E.ballot_cast(
        ballot=entry["ballot"], tracker=entry["tracker"], choice=["o3"], day=entry["day"]
    )
    from civicforum.ledger.merkle import leaf_hash

    tamper(db_session, index, data=forged, leaf_hash=leaf_hash(forged))
    ballot.closes_at = utcnow() - timedelta(seconds=1)
    db_session.flush()
    with pytest.raises(LedgerCorruptError) as refused:
        services.close_ballot(db_session, ballot)
    assert "do not match their signed checkpoint" in str(refused.value.message)
    assert f"Entries {index - 0}" in str(refused.value.message) or str(index) in str(
        refused.value.message
    )


def test_an_entry_edited_without_its_leaf_hash_is_named(db_session: Any) -> None:
    voters = [make_user(db_session) for _ in range(2)]
    ballot = make_ballot(db_session)
    for voter in voters:
        services.cast_ballot(db_session, ballot=ballot, voter=voter, choice=approve("o1"))
    index, entry = cast_entries(db_session, ballot)[-1]
    forged = E.ballot_cast(
        ballot=entry["ballot"], tracker=entry["tracker"], choice=["o2"], day=entry["day"]
    )
    tamper(db_session, index, data=forged)
    ballot.closes_at = utcnow() - timedelta(seconds=1)
    db_session.flush()
    with pytest.raises(LedgerCorruptError) as refused:
        services.close_ballot(db_session, ballot)
    assert f"Entry {index} of the votes log does not match its leaf hash" in str(
        refused.value.message
    )
    assert db_session.scalar(select(Ballot.status).where(Ballot.id == ballot.id)) == "open"
