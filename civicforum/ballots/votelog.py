"""The ballots feature's only door into the vote log (civicforum.logstore).

Entries are built and schema-checked by the pure ``civicforum.ledger.entry`` constructors and
handed to ``logstore.services``: ``append`` waits for the log head and appends in the caller's
transaction (opened, closed, result: their position matters); ``submit`` (casts) appends at
once when the head is free and otherwise commits the entries as pending with the vote, to be
appended by the next sequencer batch (docs/ledger.md §2.2). ``record_vote`` writes a vote's
rows with its log index when it was sequenced at once; ``record_indices`` runs in every batch
and fills in the index of each cast that was committed as pending.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import datetime
from typing import Any, NamedTuple

from sqlalchemy import bindparam, insert, select, text, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session

from civicforum.ballots.models import BallotCast, BallotParticipation, BallotVoterLink
from civicforum.db import OnDriver
from civicforum.ledger import entry as ledger_entry

LOG = ledger_entry.VOTE_LOG
CASTS = BallotCast.__table__
LINKS = BallotVoterLink.__table__
ROLL = BallotParticipation.__table__


@dataclass(frozen=True, slots=True)
class Seed:
    """A signed checkpoint of the vote log: tree size and 32-byte root (a lot seed)."""

    size: int
    root: bytes


@dataclass(frozen=True, slots=True)
class Appended:
    index: int
    leaf_hash: bytes
    checkpoint: Seed | None  # set for ballot.closed: the checkpoint signed right after it


@dataclass(frozen=True, slots=True)
class Submitted:
    """Indices of the submitted entries when appended at once, else the pending row's id."""

    indices: tuple[int, ...] | None
    pending_id: int | None


def day_of(moment: datetime) -> str:
    """Entries carry only the UTC day (docs/ledger.md §1.2)."""
    return moment.date().isoformat()


def init_app() -> None:
    from civicforum.logstore import services as logstore

    logstore.on_sequenced(LOG, record_indices)


def append(session: Session, leaf: bytes) -> Appended:
    """Append canonical entry bytes to the vote log in the caller's transaction."""
    from civicforum.logstore import services as logstore

    appended = logstore.append_entry(session, log=LOG, entry=leaf)
    cp = appended.checkpoint
    seed = None if cp is None else Seed(size=cp.size, root=bytes(cp.root))
    return Appended(index=appended.index, leaf_hash=appended.leaf_hash, checkpoint=seed)


def submit(session: Session, leaves: list[bytes]) -> Submitted:
    """Append ``leaves`` contiguously now, or queue them as pending, in the caller's
    transaction (never waits for the log head). After committing a pending submission, call
    ``settle``."""
    from civicforum.logstore import services as logstore

    done = logstore.submit_entries(session, log=LOG, entries=leaves)
    return Submitted(indices=done.indices, pending_id=done.pending_id)


def settle(session: Session, *, pending_id: int) -> None:
    """Wait until the committed pending row is in the log; the caller commits."""
    from civicforum.logstore import services as logstore

    logstore.await_sequenced(session, log=LOG, pending_id=pending_id)


def sequence(session: Session) -> int:
    """Append every committed pending vote-log entry now; the caller commits."""
    from civicforum.logstore import services as logstore

    return logstore.sequence_pending(session, log=LOG)


# Built once (casting is the busiest write): building a statement and its cache key on every
# call cost more CPU than running it.
def _claim(dialect: Any) -> Any:
    return (
        dialect.insert(LINKS)
        .values(ballot_id=bindparam("b"), voter_id=bindparam("v"), tracker=bindparam("t"))
        .on_conflict_do_nothing(index_elements=["ballot_id", "voter_id"])
        .returning(LINKS.c.tracker)
    )


# The statements every cast runs go straight to the driver on PostgreSQL (db.OnDriver).
_CLAIM = {"postgresql": OnDriver(_claim(postgresql)), "sqlite": OnDriver(_claim(sqlite))}
_LOCK_LINK = OnDriver(
    select(LINKS.c.tracker, LINKS.c.changes)
    .where(LINKS.c.ballot_id == bindparam("b"), LINKS.c.voter_id == bindparam("v"))
    .with_for_update()
)
_ROLL = insert(ROLL).values(ballot_id=bindparam("b"), voter_id=bindparam("v"))
_RELINK = (
    update(LINKS)
    .where(LINKS.c.ballot_id == bindparam("b"), LINKS.c.voter_id == bindparam("v"))
    .values(tracker=bindparam("t"), changes=LINKS.c.changes + 1)
)
_SUPERSEDE = (
    update(CASTS)
    .where(CASTS.c.ballot_id == bindparam("b"), CASTS.c.tracker == bindparam("old"))
    .values(superseded=True)
)
_CAST = insert(CASTS).values(
    ballot_id=bindparam("b"),
    tracker=bindparam("t"),
    choice=bindparam("c", type_=CASTS.c.choice.type),
    log_index=bindparam("i", type_=CASTS.c.log_index.type),
    superseded=False,
)
# PostgreSQL: the vote's rows in one statement (data-modifying CTEs).
_FIRST_VOTE_PG = OnDriver(_CAST.add_cte(_ROLL.cte("vote_roll")))
_CHANGE_PG = OnDriver(_CAST.add_cte(_RELINK.cte("vote_link"), _SUPERSEDE.cte("vote_old")))


class Claimed(NamedTuple):
    """The voter's existing link, locked: their current tracker and their changes so far."""

    tracker: str
    changes: int


def claim_link(session: Session, *, ballot_id: int, voter_id: int, tracker: str) -> Claimed | None:
    """Take the voter's link row before anything else in a cast: insert it pointing at
    ``tracker`` (a first vote: returns None) or lock the existing one (returns it).

    Holding it first is what keeps casts and sequencer batches free of deadlocks: after this
    a cast only ever waits for rows nobody else's cast holds, while a batch's hook locks
    other voters' cast rows (``record_indices``) and never a link. A parallel twin of a
    first vote waits here for it, then finds the link and proceeds as a vote change.
    """
    params = {"b": ballot_id, "v": voter_id, "t": tracker}
    if _CLAIM[_dialect(session)].rows(session, params):
        return None
    [(current, changes)] = _LOCK_LINK.rows(session, params)
    return Claimed(str(current), int(changes))


def record_vote(
    session: Session,
    *,
    ballot_id: int,
    voter_id: int,
    tracker: str,
    choice: Any,
    index: int | None,
    replaces: str | None,
) -> None:
    """Write the rest of a vote's rows once its link is claimed (``claim_link``): its cast
    (with its log index; None while pending, until the sequencer's ``record_indices``) and,
    for a first vote, the roll row; a change (``replaces`` = the old tracker) points the
    link at the new tracker and marks the old cast superseded instead.

    On PostgreSQL in one statement: this runs while the transaction may hold the log head,
    where every round trip delays every waiting voter.
    """
    params = {"b": ballot_id, "v": voter_id, "t": tracker, "c": choice, "i": index}
    if replaces is not None:
        params["old"] = replaces
    if _dialect(session) == "postgresql":
        (_FIRST_VOTE_PG if replaces is None else _CHANGE_PG).rows(session, params)
        return
    for stmt in (_ROLL,) if replaces is None else (_RELINK, _SUPERSEDE):
        session.execute(stmt, params)
    session.execute(_CAST, params)


def _dialect(session: Session) -> str:
    return session.get_bind().dialect.name


def record_indices(session: Session, appended: list[tuple[int, bytes]]) -> None:
    """Sequencer hook: store the log index of each ``ballot.cast`` that was committed as
    pending in its cast row (under the head lock, in the batch's transaction: one statement
    whatever the batch size)."""
    rows = []
    for index, data in appended:
        if b'"type":"ballot.cast"' not in data:  # canonical JSON: a cheap filter first
            continue
        value = json.loads(data)
        ballot = value["ballot"]
        if value["type"] != "ballot.cast" or not ballot[1:].isdigit() or ballot[0] != "b":
            continue  # not a ballot of this instance (ledger_id is "b<id>")
        rows.append({"b": int(ballot[1:]), "t": value["tracker"], "i": index})
    if not rows:
        return
    # Only cast rows (by primary key): a link row may be held by a vote change in flight,
    # which must never wait for this batch while this batch waits for it.
    if _dialect(session) == "postgresql":  # the whole batch as arrays: one short statement
        columns = {key: [row[key] for row in rows] for key in ("b", "t", "i")}
        _INDICES_PG.rows(session, columns)
        return
    session.execute(_INDICES, rows)


_INDICES = (
    update(CASTS)
    .where(CASTS.c.ballot_id == bindparam("b"), CASTS.c.tracker == bindparam("t"))
    .values(log_index=bindparam("i"))
)
_INDICES_PG = OnDriver(
    text(
        "UPDATE ballot_casts SET log_index = v.i"
        " FROM unnest(CAST(:b AS integer[]), CAST(:t AS varchar[]), CAST(:i AS bigint[]))"
        " AS v(b, t, i)"
        " WHERE ballot_casts.ballot_id = v.b AND ballot_casts.tracker = v.t"
    )
)


def receipt(session: Session, *, index: int) -> str:
    """The ``.tlog-proof`` text for the committed entry at ``index``.

    May sign a checkpoint covering the entry: the caller commits afterwards.
    """
    from civicforum.logstore import services as logstore

    data = logstore.entry_data(session, log=LOG, index=index)
    return logstore.receipt_for(session, log=LOG, index=index, extra=data)
