"""The ballots feature's only door into the vote log (civicforum.logstore).

Entries are built and schema-checked by the pure ``civicforum.ledger.entry`` constructors and
handed to ``logstore.services``: ``append`` waits for the log head and appends in the caller's
transaction (opened, closed, result: their position matters); ``submit`` (casts) appends at
once when the head is free and otherwise commits the entries as pending with the vote, to be
appended by the next sequencer batch (docs/ledger.md §2.2). ``record_indices`` runs in every
batch and writes each sequenced cast's index into ``ballot_casts`` and its voter link.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import bindparam, update
from sqlalchemy.orm import Session

from civicforum.ballots.models import BallotCast, BallotVoterLink
from civicforum.ledger import entry as ledger_entry

LOG = ledger_entry.VOTE_LOG
CASTS = BallotCast.__table__
LINKS = BallotVoterLink.__table__


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


def record_indices(session: Session, appended: list[tuple[int, bytes]]) -> None:
    """Sequencer hook: store the log index of each appended ``ballot.cast`` (under the head
    lock, in the batch's transaction: two statements whatever the batch size)."""
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
    for table in (CASTS, LINKS):
        # A link whose tracker changed since (a later vote change) is left alone.
        session.execute(
            update(table)
            .where(table.c.ballot_id == bindparam("b"), table.c.tracker == bindparam("t"))
            .values(log_index=bindparam("i")),
            rows,
        )


def receipt(session: Session, *, index: int) -> str:
    """The ``.tlog-proof`` text for the committed entry at ``index``.

    May sign a checkpoint covering the entry: the caller commits afterwards.
    """
    from civicforum.logstore import services as logstore

    data = logstore.entry_data(session, log=LOG, index=index)
    return logstore.receipt_for(session, log=LOG, index=index, extra=data)
