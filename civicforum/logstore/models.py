"""Database storage of the two transparency logs (docs/ledger.md §2.1).

One head row per log (the append lock and a cache of the compact-range frontier), the entries
with their leaf hashes, the stored complete subtree hashes above the leaves, every signed
checkpoint, witness keys and their cosignatures, and the record of verification runs.
Entries, nodes, checkpoints and cosignatures are append-only.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import (
    BigInteger,
    ForeignKey,
    Index,
    Integer,
    LargeBinary,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.orm import Mapped, mapped_column

from civicforum.audit.models import register_append_only
from civicforum.db import db, utcnow


class LedgerHead(db.Model):
    """The tip of one log. Appenders lock this row, so indices are dense and never fork.

    `frontier` is the compact range of the first `size` leaves (32-byte hashes, largest
    subtree first): a cache of stored nodes that makes an append O(1) reads.
    `civicforum ledger verify` checks it against the entries.
    """

    __tablename__ = "ledger_heads"

    log: Mapped[str] = mapped_column(String(16), primary_key=True)
    size: Mapped[int] = mapped_column(BigInteger, default=0)
    frontier: Mapped[bytes] = mapped_column(LargeBinary, default=b"")


@register_append_only
class LedgerEntry(db.Model):
    """Leaf `idx` of a log: its canonical JSON bytes and RFC 9162 leaf hash (tree level 0).

    Indexed by leaf hash too: a voter's signed promise names the leaf, not the index, which
    is drawn when its batch is sequenced (docs/ledger.md §4).
    """

    __tablename__ = "ledger_entries"
    __table_args__ = (Index("ix_ledger_entries_leaf", "log", "leaf_hash"),)

    log: Mapped[str] = mapped_column(String(16), primary_key=True)
    idx: Mapped[int] = mapped_column(BigInteger, primary_key=True, autoincrement=False)
    data: Mapped[bytes] = mapped_column(LargeBinary)
    leaf_hash: Mapped[bytes] = mapped_column(LargeBinary(32))


class LedgerPending(db.Model):
    """The pool: entries committed with their vote, waiting for their batch (docs/ledger.md
    §2.2, `sequencer`).

    `data` is a tlog-tiles entry bundle (one submission's entries, kept together); `grp` the
    mix group (a ballot) it is shuffled with; `queued_at` the minute it was queued (for the
    maximum wait). Rows carry no voter and are deleted in the batch that appends them.
    """

    __tablename__ = "ledger_pending"

    # BIGINT on PostgreSQL; SQLite autoincrements only an INTEGER primary key.
    id: Mapped[int] = mapped_column(
        BigInteger().with_variant(Integer(), "sqlite"), primary_key=True, autoincrement=True
    )
    log: Mapped[str] = mapped_column(String(16))
    grp: Mapped[str] = mapped_column(String(64), server_default="")
    queued_at: Mapped[datetime | None]
    data: Mapped[bytes] = mapped_column(LargeBinary)


@register_append_only
class LedgerNode(db.Model):
    """A complete aligned subtree above the leaves: leaves [idx·2^level, (idx+1)·2^level).

    Level 0 is not repeated here: it is `LedgerEntry.leaf_hash`.
    """

    __tablename__ = "ledger_nodes"

    log: Mapped[str] = mapped_column(String(16), primary_key=True)
    level: Mapped[int] = mapped_column(primary_key=True, autoincrement=False)
    idx: Mapped[int] = mapped_column(BigInteger, primary_key=True, autoincrement=False)
    hash: Mapped[bytes] = mapped_column(LargeBinary(32))


@register_append_only
class LedgerCheckpoint(db.Model):
    """Every checkpoint ever signed is kept and served (a saved one must stay provable).

    No signing time: a vote-log checkpoint is signed by the batch it covers, and its time
    would date that batch's ballots more finely than anything public does."""

    __tablename__ = "ledger_checkpoints"
    __table_args__ = (UniqueConstraint("log", "size"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    log: Mapped[str] = mapped_column(String(16))
    size: Mapped[int] = mapped_column(BigInteger)
    root: Mapped[bytes] = mapped_column(LargeBinary(32))
    note: Mapped[str] = mapped_column(Text)  # the signed note, log signature only


class LedgerWitness(db.Model):
    """A witness whose cosignatures the server accepts (managed by auditors and admins)."""

    __tablename__ = "ledger_witnesses"

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(200))
    vkey: Mapped[str] = mapped_column(String(400), unique=True)  # name+keyid+base64(0x04||key)
    active: Mapped[bool] = mapped_column(default=True)
    added_at: Mapped[datetime] = mapped_column(default=utcnow)
    added_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))


@register_append_only
class LedgerCosignature(db.Model):
    """One witness's cosignature line on one checkpoint (the first one received is kept)."""

    __tablename__ = "ledger_cosignatures"
    __table_args__ = (UniqueConstraint("checkpoint_id", "witness_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    checkpoint_id: Mapped[int] = mapped_column(
        ForeignKey("ledger_checkpoints.id", ondelete="RESTRICT"), index=True
    )
    witness_id: Mapped[int] = mapped_column(ForeignKey("ledger_witnesses.id", ondelete="RESTRICT"))
    line: Mapped[str] = mapped_column(Text)  # "— <witness name> base64(...)\n"
    timestamp: Mapped[int] = mapped_column(BigInteger)  # the witness's cosignature time
    received_at: Mapped[datetime] = mapped_column(default=utcnow)


class LedgerVerification(db.Model):
    """One run of `civicforum ledger verify` (shown on the auditor dashboard)."""

    __tablename__ = "ledger_verifications"

    id: Mapped[int] = mapped_column(primary_key=True)
    at: Mapped[datetime] = mapped_column(default=utcnow, index=True)
    ok: Mapped[bool]
    sizes: Mapped[str] = mapped_column(String(200))  # "votes=12 civic=3"
    report: Mapped[str] = mapped_column(Text)
