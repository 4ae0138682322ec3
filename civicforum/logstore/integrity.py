"""Exports and self-audits of the stored logs.

`write_export` streams both logs into the export layout of docs/ledger.md §6 with the ledger
package's `ExportWriter`. `verify_database` runs the pure auditor (`civicforum.audit_tool`)
over the database itself — every leaf hash, every checkpoint signature and root, the replay
rules and recounts — and then checks what an export does not carry: every stored subtree
hash (proofs and tiles are served from them) and the cached head frontier.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from civicforum.audit_tool.verify import Report, verify_export
from civicforum.ledger import merkle
from civicforum.ledger.entry import LOGS
from civicforum.ledger.export import (
    ExportedCheckpoint,
    ExportedCosignature,
    ExportedEntry,
    ExportWriter,
)
from civicforum.logstore import checkpoints, proofs, storage, witnesses
from civicforum.logstore.errors import LedgerCorruptError
from civicforum.logstore.keys import current_keys
from civicforum.logstore.models import LedgerEntry, LedgerNode, LedgerVerification

ENTRIES = LedgerEntry.__table__
NODES = LedgerNode.__table__
CHUNK = 4096


# --------------------------------------------------------------------------- feature hooks
#
# The log store imports no feature. Ballots register, at init_app, what exports and the
# dashboard need from them: the published results, participation counts and option labels.

ResultsHook = Callable[[Session], list[tuple[str, bytes]]]
ParticipationHook = Callable[[Session], list[dict[str, Any]]]
LabelsHook = Callable[[Session, str], dict[str, str]]


@dataclass
class _Hooks:
    results: list[ResultsHook] = field(default_factory=list)
    participation: ParticipationHook | None = None
    labels: list[LabelsHook] = field(default_factory=list)


HOOKS = _Hooks()


def register(
    *,
    results: ResultsHook | None = None,
    participation: ParticipationHook | None = None,
    labels: LabelsHook | None = None,
) -> None:
    """Tell the log store how to read a feature's published results, participation and
    entry labels (idempotent: init_app may run once per app)."""
    if results is not None and results not in HOOKS.results:
        HOOKS.results.append(results)
    if participation is not None:
        HOOKS.participation = participation
    if labels is not None and labels not in HOOKS.labels:
        HOOKS.labels.append(labels)


def published_results(session: Session) -> list[tuple[str, bytes]]:
    """`(ledger ballot id, canonical result JSON)` of every published result."""
    return [(str(b), bytes(r)) for hook in HOOKS.results for b, r in hook(session)]


def participation(session: Session) -> list[dict[str, Any]] | None:
    """Per-ballot counts for the dashboard, or None when no feature offers them."""
    return None if HOOKS.participation is None else HOOKS.participation(session)


def option_labels(session: Session, ballot: str) -> dict[str, str]:
    """Option id -> label of a ballot named in the vote log (empty when unknown)."""
    for hook in HOOKS.labels:
        if found := hook(session, ballot):
            return found
    return {}


# --------------------------------------------------------------------------- export


@dataclass(frozen=True)
class Snapshot:
    """Each log's size fixed at the start, so entries and checkpoints agree."""

    sizes: dict[str, int]


def snapshot(session: Session) -> Snapshot:
    return Snapshot({log: storage.log_size(session, log=log) for log in LOGS})


def write_export(session: Session, directory: Path) -> dict[str, int]:
    """Write the complete export (both logs, all checkpoints, cosignatures, verifier keys,
    published results) into `directory`; returns each log's size.

    Each log up to its latest signed checkpoint (call checkpoints.sign_checkpoint first): an
    entry appended after it would go out with no signed root to check it against."""
    keys = current_keys()
    sizes = {}
    with ExportWriter(directory) as writer:
        for log in LOGS:
            latest = checkpoints.latest_checkpoint(session, log=log)
            size = sizes[log] = latest.size if latest else 0
            writer.write_log(
                log,
                origin=keys.origin(log),
                verifier_key=keys.verifier(log).text,
                entries=(data for _, data, _ in proofs.iter_entries(session, log=log, upto=size)),
                checkpoints=checkpoints.iter_checkpoints(session, log=log, upto=size),
                cosignatures=witnesses.iter_cosignatures(session, log=log, upto=size),
            )
        for ballot, result in published_results(session):
            writer.write_result(ballot, result)
    return sizes


# --------------------------------------------------------------------------- verification


class _DatabaseReader:
    """The `ExportReader` interface `verify_export` reads, served from the database."""

    def __init__(self, session: Session, snap: Snapshot) -> None:
        self.session = session
        self.snap = snap
        self.keys = current_keys()
        self.results = dict(published_results(session))

    @property
    def logs(self) -> list[str]:
        return list(LOGS)

    def origin(self, log: str) -> str:
        return self.keys.origin(log)

    def size(self, log: str) -> int:
        return self.snap.sizes[log]

    def verifier_key(self, log: str) -> str:
        return self.keys.verifier(log).text

    def result(self, ballot: str) -> bytes | None:
        return self.results.get(ballot)

    def iter_entries(self, log: str) -> Iterator[ExportedEntry]:
        for index, data, leaf in proofs.iter_entries(self.session, log=log, upto=self.size(log)):
            yield ExportedEntry(index, data, leaf)

    def iter_checkpoints(self, log: str) -> Iterator[ExportedCheckpoint]:
        for note in checkpoints.iter_checkpoints(self.session, log=log, upto=self.size(log)):
            yield ExportedCheckpoint(int(note.split("\n", 2)[1]), note)

    def iter_cosignatures(self, log: str) -> Iterator[ExportedCosignature]:
        for size, witness, line in witnesses.iter_cosignatures(
            self.session, log=log, upto=self.size(log)
        ):
            yield ExportedCosignature(size, witness, line)


@dataclass
class IntegrityReport:
    report: Report
    sizes: dict[str, int]
    storage_problems: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return self.report.ok and not self.storage_problems

    def format(self) -> str:
        lines = [self.report.format()]
        if self.storage_problems:
            lines += [f"STORAGE PROBLEM: {p}" for p in self.storage_problems]
            lines.append("VERIFICATION FAILED")
        else:
            lines.append("stored subtree hashes and log heads: ok")
        return "\n".join(lines)


def verify_database(session: Session, *, recount: bool = True) -> IntegrityReport:
    """Audit the stored logs with the pure verifier plus the storage checks; read-only."""
    from civicforum.audit_tool.recount import recount as recount_fn

    snap = snapshot(session)
    reader = _DatabaseReader(session, snap)
    report = verify_export(
        reader,  # type: ignore[arg-type]
        trusted_keys=[current_keys().verifier(log) for log in LOGS],
        known_witnesses=witnesses.witness_verifiers(session),
        recount=recount_fn if recount else None,
        require_covered=False,  # live logs: the newest entries may still await a checkpoint
    )
    problems: list[str] = []
    for log in LOGS:
        problems += check_nodes(session, log=log, size=snap.sizes[log])
        problems += check_head(session, log=log, size=snap.sizes[log])
    return IntegrityReport(report, snap.sizes, problems)


def _hashes(session: Session, log: str, level: int, start: int, end: int) -> dict[int, bytes]:
    if level == 0:
        query = select(ENTRIES.c.idx, ENTRIES.c.leaf_hash).where(
            ENTRIES.c.log == log, ENTRIES.c.idx >= start, ENTRIES.c.idx < end
        )
    else:
        query = select(NODES.c.idx, NODES.c.hash).where(
            NODES.c.log == log, NODES.c.level == level, NODES.c.idx >= start, NODES.c.idx < end
        )
    return {int(i): bytes(h) for i, h in session.execute(query)}


def check_nodes(session: Session, *, log: str, size: int) -> list[str]:
    """Every stored subtree hash equals the hash of its two stored children (level by level,
    from the leaf hashes that the pure verifier checked against the entries), and no node
    exists beyond the log's size. Reports the first bad node per log."""
    level = 1
    while size >> level:
        count = size >> level
        for start in range(0, count, CHUNK):
            end = min(count, start + CHUNK)
            parents = _hashes(session, log, level, start, end)
            children = _hashes(session, log, level - 1, 2 * start, 2 * end)
            for k in range(start, end):
                left, right = children.get(2 * k), children.get(2 * k + 1)
                expected = merkle.node_hash(left, right) if left and right else None
                if parents.get(k) is None or parents.get(k) != expected:
                    first, last = k << level, ((k + 1) << level) - 1
                    return [
                        f"{log}: stored node level {level} index {k} (entries {first}..{last}) "
                        "is missing or does not match its children"
                    ]
        level += 1
    stored = session.scalar(select(func.count()).select_from(NODES).where(NODES.c.log == log))
    expected_total = sum(size >> lv for lv in range(1, size.bit_length() + 1))
    if stored != expected_total:
        return [f"{log}: {stored} stored nodes where a log of {size} entries has {expected_total}"]
    entries = session.scalar(select(func.count()).select_from(ENTRIES).where(ENTRIES.c.log == log))
    if entries != size:
        return [f"{log}: {entries} stored entries where the head says {size}"]
    return []


def check_head(session: Session, *, log: str, size: int) -> list[str]:
    """The head's cached frontier equals the compact range rebuilt from stored subtrees."""
    from civicforum.logstore.models import LedgerHead

    head = session.get(LedgerHead, log)
    if head is None:
        return [f"{log}: no head row"]
    # Appends may have committed since the snapshot: compare at the head's own size.
    current = int(head.size)
    try:
        rebuilt = proofs.with_stored_hashes(
            session, log, lambda s: merkle.CompactRange.from_source(s, current).hashes
        )
    except LedgerCorruptError:
        return [f"{log}: a subtree of the frontier is missing"]
    if b"".join(rebuilt) != bytes(head.frontier):
        return [f"{log}: the head's frontier does not match the stored subtrees"]
    return []


# --------------------------------------------------------------------------- verification runs


def record_verification(
    session: Session, *, ok: bool, sizes: Mapping[str, int], report: str
) -> LedgerVerification:
    """Store the outcome of a `civicforum ledger verify` run; the caller commits."""
    run = LedgerVerification(
        ok=ok, sizes=" ".join(f"{k}={v}" for k, v in sizes.items()), report=report[:20000]
    )
    session.add(run)
    session.flush()  # need the id for the caller's message
    return run


def last_verification(session: Session) -> LedgerVerification | None:
    return session.scalar(
        select(LedgerVerification).order_by(LedgerVerification.id.desc()).limit(1)
    )
