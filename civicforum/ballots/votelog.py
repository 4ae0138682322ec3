"""The ballots feature's only door into the vote log (civicforum.logstore), and a vote's rows.

Entries are built and schema-checked by the pure ``civicforum.ledger.entry`` constructors and
handed to the log store: ``append`` waits for the log head and appends in the caller's
transaction (opened, vote-change marks, closed, result: their position matters); ``submit``
pools a cast under its ballot's mix group, to be appended in a shuffled batch
(docs/ledger.md §2.2). ``record_vote`` writes a vote's own rows: the voter's link (the only
row naming a voter next to a tracker, deleted at closing), the participation roll and the
receipt kept under its cast token. ``replay`` reads a ballot's entries back from the log,
checked against their signed checkpoints, through the auditor's own replay rules.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, NamedTuple

from sqlalchemy import bindparam, delete, insert, select, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session

from civicforum.audit_tool.replay import BallotState, ReplayError, VoteReplay
from civicforum.ballots.models import (
    Ballot,
    BallotParticipation,
    BallotReceipt,
    BallotStatus,
    BallotVoterLink,
)
from civicforum.db import OnDriver
from civicforum.ledger import entry as ledger_entry
from civicforum.ledger.promise import parse_promise_file

LOG = ledger_entry.VOTE_LOG
LINKS = BallotVoterLink.__table__
ROLL = BallotParticipation.__table__
RECEIPTS = BallotReceipt.__table__
# A promise's merge-by: the ballot's closing time (shared by all its voters) plus the time a
# scheduled `civicforum ballots close-due` may take to get to it.
PROMISE_GRACE = timedelta(hours=1)


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


def init_app() -> None:
    """Tell the log store what it needs from ballots (it imports no feature)."""
    from civicforum.logstore import integrity, receipts

    integrity.register(results=published_results, participation=participation, labels=labels)
    receipts.register_retired_by(superseded_mark)
    receipts.register_closed(is_closed)


def day_of(moment: datetime) -> str:
    """Entries carry only the UTC day (docs/ledger.md §1.2)."""
    return moment.date().isoformat()


def append(session: Session, leaf: bytes, *, sweep: Sequence[str] = ()) -> Appended:
    """Append canonical entry bytes to the vote log in the caller's transaction, after the
    pooled casts of the ballots in `sweep` (a closing ballot's)."""
    from civicforum.logstore import sequencer

    appended = sequencer.append_entry(session, log=LOG, entry=leaf, sweep=sweep)
    cp = appended.checkpoint
    seed = None if cp is None else Seed(size=cp.size, root=bytes(cp.root))
    return Appended(index=appended.index, leaf_hash=appended.leaf_hash, checkpoint=seed)


def append_many(session: Session, leaves: Sequence[bytes]) -> None:
    """Append several entries together, in order (a closing's vote-change marks)."""
    from civicforum.logstore import sequencer

    sequencer.append_entries(session, log=LOG, entries=leaves)


def sweep(session: Session, *, ballot: str) -> int:
    """Append the ballot's pooled casts now, as one shuffled batch (waits for the head)."""
    from civicforum.logstore import sequencer

    return sequencer.sequence_due(session, log=LOG, sweep=[ballot])


def submit(session: Session, leaf: bytes, *, ballot: str, now: datetime) -> None:
    """Pool a cast under its ballot's mix group, in the caller's transaction (never waits for
    the log head; may sequence a due batch)."""
    from civicforum.logstore import sequencer

    sequencer.submit_entries(session, log=LOG, entries=[leaf], group=ballot, now=now)


def promise(leaf: bytes, *, closes_at: datetime) -> str:
    """The voter's receipt at casting time: the log's signed promise for `leaf`."""
    from civicforum.logstore import receipts

    return receipts.promise_for(LOG, leaf, merge_by=closes_at + PROMISE_GRACE)


def upgrade(session: Session, leaf: bytes) -> str | None:
    """The ``.tlog-proof`` for a cast entry once its batch is in the log; None while pooled."""
    from civicforum.logstore import receipts

    return receipts.upgrade(session, log=LOG, entry=leaf)


def entry_of_receipt(text: str) -> bytes:
    """The ``ballot.cast`` entry a stored receipt (a promise file) holds."""
    return parse_promise_file(text).entry


# --------------------------------------------------------------------------- a vote's rows


# Built once (casting is the busiest write): building a statement and its cache key on every
# call cost more CPU than running it.
def _claim(dialect: Any) -> Any:
    return (
        dialect.insert(LINKS)
        .values(
            ballot_id=bindparam("b"),
            voter_id=bindparam("v"),
            tracker=bindparam("t"),
            receipt_key=bindparam("k"),
        )
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
# A vote change keeps the replaced tracker on the voter's link, which closing turns into a
# `ballot.superseded` mark and deletes: no row records when, or that, this voter revoted.
_RELINK = (
    update(LINKS)
    .where(LINKS.c.ballot_id == bindparam("b"), LINKS.c.voter_id == bindparam("v"))
    .values(
        tracker=bindparam("t"),
        receipt_key=bindparam("k"),
        changes=LINKS.c.changes + 1,
        superseded=LINKS.c.superseded + bindparam("old_sep"),
    )
)
_RECEIPT = insert(RECEIPTS).values(
    token_key=bindparam("k"), ballot_id=bindparam("b"), text=bindparam("r")
)
# PostgreSQL: the vote's rows in one statement (data-modifying CTEs).
_FIRST_VOTE_PG = OnDriver(_RECEIPT.add_cte(_ROLL.cte("vote_roll")))
_CHANGE_PG = OnDriver(_RECEIPT.add_cte(_RELINK.cte("vote_link")))


class Claimed(NamedTuple):
    """The voter's existing link, locked: their current tracker and their changes so far."""

    tracker: str
    changes: int


def claim_link(
    session: Session, *, ballot_id: int, voter_id: int, tracker: str, receipt_key: str
) -> Claimed | None:
    """Take the voter's link row before anything else in a cast: insert it pointing at
    ``tracker`` (a first vote: returns None) or lock the existing one (returns it).

    Holding it first is what serialises a voter's own casts: a parallel twin of a first vote
    waits here for it, then finds the link and proceeds as a vote change (or is refused where
    changes are not allowed; with the same cast token, its receipt row conflicts instead).
    """
    params = {"b": ballot_id, "v": voter_id, "t": tracker, "k": receipt_key}
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
    receipt_key: str,
    receipt: str,
    replaces: str | None,
) -> None:
    """Write the rest of a vote's rows once its link is claimed (``claim_link``): the receipt
    under its cast token and, for a first vote, the roll row; a change (``replaces`` = the old
    tracker) points the link at the new tracker and keeps the old one on it instead.

    A second use of a cast token fails here on the receipt's primary key (IntegrityError),
    rolling the whole cast back: a retried request never casts twice.
    """
    params: dict[str, Any] = {
        "b": ballot_id,
        "v": voter_id,
        "t": tracker,
        "k": receipt_key,
        "r": receipt,
    }
    if replaces is not None:
        params["old_sep"] = f" {replaces}"
    if _dialect(session) == "postgresql":
        (_FIRST_VOTE_PG if replaces is None else _CHANGE_PG).rows(session, params)
        return
    session.execute(_ROLL if replaces is None else _RELINK, params)
    session.execute(_RECEIPT, params)


def receipt_by_token(session: Session, *, ballot_id: int, receipt_key: str) -> str | None:
    """The receipt a cast with this token already produced (a retried request), or None."""
    return session.scalar(
        select(RECEIPTS.c.text).where(
            RECEIPTS.c.token_key == receipt_key, RECEIPTS.c.ballot_id == ballot_id
        )
    )


def current_receipt(session: Session, *, link: BallotVoterLink) -> str | None:
    """The receipt of the voter's live vote (while the ballot is open)."""
    return session.scalar(select(RECEIPTS.c.text).where(RECEIPTS.c.token_key == link.receipt_key))


def superseded_trackers(session: Session, ballot_id: int) -> list[str]:
    """Every tracker a vote change replaced in this ballot, sorted (their marks' order says
    nothing about who changed or when)."""
    rows = session.scalars(select(LINKS.c.superseded).where(LINKS.c.ballot_id == ballot_id))
    return sorted(t for row in rows for t in (row or "").split())


def forget_links(session: Session, ballot_id: int) -> None:
    """Destroy every voter↔tracker link, and rewrite the roll and the receipts in an order
    that says nothing: PostgreSQL keeps in every row the transaction that wrote it (xmin) and
    its place in the table (ctid), so rows written vote by vote would keep the voting order."""
    session.execute(delete(LINKS).where(LINKS.c.ballot_id == ballot_id))
    voters = session.scalars(
        delete(ROLL).where(ROLL.c.ballot_id == ballot_id).returning(ROLL.c.voter_id)
    ).all()
    if voters:
        session.execute(
            insert(ROLL), [{"ballot_id": ballot_id, "voter_id": v} for v in sorted(voters)]
        )
    kept = session.execute(
        delete(RECEIPTS)
        .where(RECEIPTS.c.ballot_id == ballot_id)
        .returning(RECEIPTS.c.token_key, RECEIPTS.c.text)
    ).all()
    if kept:
        session.execute(
            insert(RECEIPTS),
            [{"token_key": k, "ballot_id": ballot_id, "text": t} for k, t in sorted(kept)],
        )


def _dialect(session: Session) -> str:
    return session.get_bind().dialect.name


# --------------------------------------------------------------------------- reading back


def replay(
    session: Session, *, ballot: str, opened_index: int, stop: int | None = None
) -> BallotState:
    """Replay one ballot's entries from its ``ballot.opened`` to ``stop`` (its
    ``ballot.closed``, once there is one) or the end of the log, with the
    auditor's rules (``audit_tool.replay``), reading them checked against every signed
    checkpoint in that range (``logstore.proofs.iter_verified``): what is counted is what was
    signed, whatever the tables say. Raises ``LedgerCorruptError`` naming the entry, or
    ``ReplayError``."""
    from civicforum.logstore import proofs

    state = VoteReplay(recount=None, result_bytes=lambda _ballot: None)
    needle = f'"ballot":"{ballot}"'.encode()  # canonical JSON: a cheap filter first

    def unused_root() -> bytes:  # only ballot.closed reads it; the caller stops before it
        raise ReplayError("replay of an open ballot reached a closing")

    for index, data in proofs.iter_verified(session, log=LOG, start=opened_index, stop=stop):
        if needle not in data:
            continue
        value = ledger_entry.decode_entry(data, LOG)
        if value["ballot"] == ballot:
            state.apply(index, value, unused_root)
    return state.ballots[ballot]


# --------------------------------------------------------------------------- log store hooks


def _ballot_of(session: Session, ledger_id: object) -> Ballot | None:
    name = str(ledger_id)
    if not (name.startswith("b") and name[1:].isdigit()):  # Ballot.ledger_id is "b<id>"
        return None
    found = session.get(Ballot, int(name[1:]))
    return found if found is not None and found.ledger_id == name else None


def published_results(session: Session) -> list[tuple[str, bytes]]:
    """(ledger ballot id, canonical result JSON bytes) of every published result (exports)."""
    rows = session.scalars(
        select(Ballot).where(Ballot.result_json.is_not(None)).order_by(Ballot.id)
    )
    return [(b.ledger_id, (b.result_json or "").encode("utf-8")) for b in rows]


def participation(session: Session) -> list[dict[str, Any]]:
    """The dashboard's per-ballot counts (the latest 50 ballots)."""
    from civicforum.ballots.services import count_ballots

    ballots = session.scalars(select(Ballot).order_by(Ballot.id.desc()).limit(50))
    return [{"ballot": b, "counts": vars(count_ballots(session, b))} for b in ballots]


def labels(session: Session, ledger_id: str) -> dict[str, str]:
    ballot = _ballot_of(session, ledger_id)
    return {} if ballot is None else {o.key: o.label for o in ballot.options}


def is_closed(session: Session, log: str, entry: Mapping[str, Any]) -> bool:
    """Whether the entry's ballot has closed (or was cancelled): every cast is in the log."""
    ballot = _ballot_of(session, entry.get("ballot")) if log == LOG else None
    return ballot is not None and ballot.status in (BallotStatus.CLOSED, BallotStatus.CANCELLED)


def superseded_mark(session: Session, log: str, entry: Mapping[str, Any], size: int) -> int | None:
    """The index of the `ballot.superseded` mark naming this cast's tracker, if a vote change
    replaced it. The marks sit right before the ballot's `ballot.closed`, so only those few
    entries are read (not the log since the cast)."""
    if log != LOG or entry.get("type") != "ballot.cast":
        return None
    ballot = _ballot_of(session, entry.get("ballot"))
    if ballot is None or ballot.closed_index is None or not ballot.superseded_count:
        return None
    from civicforum.logstore import proofs

    first = ballot.closed_index - ballot.superseded_count
    for index in range(first, min(ballot.closed_index, size)):
        value = ledger_entry.decode_entry(proofs.entry_data(session, log=LOG, index=index), LOG)
        if value["type"] == "ballot.superseded" and value["tracker"] == entry["tracker"]:
            return index
    return None
