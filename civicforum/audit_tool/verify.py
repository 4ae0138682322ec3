"""``civicforum-audit verify``: check an export end to end, streaming, in bounded memory.

For each log: the verifier key against the auditor's pinned key, every checkpoint signature, every
leaf hash, the root at every signed (and every saved) checkpoint size from one compact range (so all
checkpoints are consistent with each other and with the entries), the schema and replay rules of
every entry, and for each closed ballot a recount compared with the published result. The first
problem stops the log and names the entry index (or the narrowest index range the data allows).
An export must end at a signed checkpoint: entries after the last one are authenticated by
nothing, so an uncovered tail fails like any other mismatch.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

from civicforum.audit_tool.replay import CivicReplay, Recount, ReplayError, VoteReplay
from civicforum.ledger.checkpoint import Checkpoint, open_checkpoint, parse_checkpoint_body
from civicforum.ledger.cosignature import verify_cosignature
from civicforum.ledger.entry import VOTE_LOG, EntryError, decode_entry
from civicforum.ledger.export import ExportError, ExportReader
from civicforum.ledger.merkle import EMPTY_ROOT, CompactRange, leaf_hash
from civicforum.ledger.note import (
    SIG_COSIGNATURE_V1,
    NoteError,
    Verifier,
    parse_note,
    parse_verifier_key,
    verified_signers,
)
from civicforum.ledger.proof_file import HEADER as PROOF_HEADER
from civicforum.ledger.proof_file import ProofFileError, parse_proof

PROGRESS_EVERY = 100_000


def _span(first: int, last: int) -> str:
    return f"entry {first}" if first == last else f"entries {first}..{last}"


@dataclass(frozen=True, slots=True)
class Problem:
    """The first thing wrong with one log; ``index`` names the offending entry when known.

    When the data only narrows it to a range (a signed root that differs), ``index`` is the
    range's first entry (the first that can be at fault) and ``last`` its last one.
    """

    log: str
    index: int | None
    message: str
    last: int | None = None

    def __str__(self) -> str:
        if self.index is None:
            where = "log"
        else:
            where = _span(self.index, self.index if self.last is None else self.last)
        return f"{self.log} {where}: {self.message}"


class _Stop(Exception):
    def __init__(self, problem: Problem) -> None:
        super().__init__(str(problem))
        self.problem = problem


@dataclass(slots=True)
class LogReport:
    log: str
    origin: str = ""
    size: int = 0
    root: bytes = b""
    checkpoints: int = 0
    saved_checkpoints: int = 0
    cosignatures_verified: int = 0
    cosignatures_unverified: int = 0
    recounted: int = 0
    not_recounted: list[str] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)
    problem: Problem | None = None
    cosigned_by: set[Verifier] = field(default_factory=set)


@dataclass(slots=True)
class Report:
    logs: list[LogReport]
    warnings: list[str] = field(default_factory=list)  # about the whole export

    @property
    def ok(self) -> bool:
        return all(r.problem is None for r in self.logs)

    @property
    def problems(self) -> list[Problem]:
        return [r.problem for r in self.logs if r.problem is not None]

    def format(self) -> str:
        lines = []
        for r in self.logs:
            status = "FAILED" if r.problem else "ok"
            lines.append(f"[{status}] {r.log} ({r.origin})")
            if r.problem:
                lines.append(f"  entries read before the problem: {r.size}")
            else:
                lines.append(f"  entries: {r.size}  root: {r.root.hex()}")
            lines.append(
                f"  signed checkpoints: {r.checkpoints}  saved checkpoints: {r.saved_checkpoints}"
                f"  cosignatures verified: {r.cosignatures_verified}"
                f" (unverified: {r.cosignatures_unverified})"
            )
            if r.log == VOTE_LOG:
                lines.append(f"  results recounted: {r.recounted}")
                for ballot in r.not_recounted:
                    lines.append(f"  NOT recounted (--skip-recount): ballot {ballot}")
            lines += [f"  warning: {w}" for w in r.warnings]
            if r.problem:
                lines.append(f"  PROBLEM: {r.problem}")
        lines += [f"warning: {w}" for w in self.warnings]
        lines.append("VERIFIED" if self.ok else "VERIFICATION FAILED")
        return "\n".join(lines)


@dataclass(frozen=True, slots=True)
class _Target:
    size: int
    root: bytes
    label: str


def verify_export(
    reader: ExportReader,
    *,
    trusted_keys: Sequence[Verifier] = (),
    saved_checkpoints: Sequence[str] = (),
    witnesses: Sequence[Verifier] = (),
    recount: Recount | None,
    progress: Callable[[str], None] | None = None,
    require_covered: bool = True,
) -> Report:
    """Verify every log of the export; ``recount`` None skips re-tabulation (reported).

    ``require_covered``: entries after the last signed checkpoint fail verification, as they
    must in an export, which the server completes with a covering checkpoint before writing
    it. False makes them a warning: the server's self-audit of its live database, whose
    newest entries may still await one.
    """
    reports = []
    for log in reader.logs:
        report = LogReport(log, origin=reader.origin(log))
        try:
            _verify_log(
                reader,
                report,
                trusted_keys,
                saved_checkpoints,
                witnesses,
                recount,
                progress,
                require_covered,
            )
        except _Stop as stop:
            report.problem = stop.problem
        except ExportError as exc:
            report.problem = Problem(log, None, f"malformed export: {exc}")
        reports.append(report)
    result = Report(reports)
    if result.ok:
        # A pinned witness that cosigned nothing protects nothing: most likely a wrong key, or a
        # witness the operator never accepted or whose cosignatures it left out of the export.
        seen = set().union(*(r.cosigned_by for r in reports))
        for witness in witnesses:
            if witness not in seen:
                kind = "" if witness.sig_type == SIG_COSIGNATURE_V1 else " (not a cosignature key)"
                result.warnings.append(
                    f"pinned witness {witness.name}{kind} cosigned no checkpoint in the export"
                )
    return result


def _log_key(reader: ExportReader, report: LogReport, trusted: Sequence[Verifier]) -> Verifier:
    log, origin = report.log, report.origin
    try:
        exported = parse_verifier_key(reader.verifier_key(log))
    except (NoteError, KeyError, FileNotFoundError) as exc:
        raise _Stop(Problem(log, None, f"unreadable log.vkey: {exc}")) from exc
    pinned = [k for k in trusted if k.name == origin]
    if pinned:
        if exported not in pinned:
            raise _Stop(
                Problem(
                    log,
                    None,
                    "RE-KEYED: the export's log.vkey is not the trusted key given with --key "
                    f"({exported.text})",
                )
            )
        return exported
    report.warnings.append(
        "no --key for this origin: trusting the export's own log.vkey (pin it to detect re-keying)"
    )
    if exported.name != origin:
        raise _Stop(Problem(log, None, "log.vkey names another origin"))
    return exported


def _verify_log(
    reader: ExportReader,
    report: LogReport,
    trusted: Sequence[Verifier],
    saved: Sequence[str],
    witnesses: Sequence[Verifier],
    recount: Recount | None,
    progress: Callable[[str], None] | None,
    require_covered: bool,
) -> None:
    log = report.log
    expected = 0  # entries read so far: the size of the tree being rebuilt

    def stop(index: int | None, message: str, last: int | None = None) -> _Stop:
        report.size = expected
        return _Stop(Problem(log, index, message, last))

    key = _log_key(reader, report, trusted)
    witness_keys = [w for w in witnesses if w.sig_type == SIG_COSIGNATURE_V1]

    # Checkpoints are few (one per batch): verify all signatures first, keep the parsed heads.
    signed: dict[int, Checkpoint] = {}
    targets: list[_Target] = []
    last = -1
    for row in reader.iter_checkpoints(log):
        try:
            opened = open_checkpoint(row.note, key)
            witnessed = verified_signers(opened.note, witness_keys)
        except NoteError as exc:
            raise stop(
                None, f"checkpoint of size {row.size} does not verify (forged or re-keyed): {exc}"
            ) from exc
        cp = opened.checkpoint
        if cp.size != row.size or cp.size <= last:
            raise stop(None, f"checkpoint sizes out of order or mislabelled at size {row.size}")
        last = cp.size
        signed[cp.size] = cp
        targets.append(_Target(cp.size, cp.root, "signed"))
        report.cosignatures_verified += len(witnessed)
        report.cosigned_by.update(witnessed)
    report.checkpoints = len(signed)
    covered = max(signed, default=0)  # entries 0..covered-1 are under a signed root

    for text in saved:
        try:
            body = parse_checkpoint_body(parse_note(text).text)
        except NoteError as exc:
            raise stop(None, f"unreadable saved checkpoint: {exc}") from exc
        if body.origin != report.origin:
            continue
        try:
            cp = open_checkpoint(text, key).checkpoint
        except NoteError as exc:
            raise stop(None, f"saved checkpoint not signed by the log key: {exc}") from exc
        targets.append(_Target(cp.size, cp.root, "saved"))
        report.saved_checkpoints += 1
    targets.sort(key=lambda t: t.size)
    # Size 0 has no entry to check it after: its root must be the empty tree's.
    for target in targets:
        if target.size == 0 and target.root != EMPTY_ROOT:
            raise stop(None, f"the {target.label} checkpoint of size 0 has a non-empty root")
    targets = [t for t in targets if t.size > 0]

    replay: VoteReplay | CivicReplay = (
        VoteReplay(recount, reader.result) if log == VOTE_LOG else CivicReplay()
    )

    frontier = CompactRange()
    append = frontier.append_fast
    root_now = frontier.root
    apply = replay.apply
    next_target = 0
    # The largest size whose root matched, per kind: the export's own checkpoints pin its entries
    # file; only saved (external) checkpoints pin the signed history itself.
    good = {"signed": 0, "saved": 0}
    for item in reader.iter_entries(log):
        i = expected
        if item.index != i:
            raise stop(i, f"entry {i} is missing or out of order (the next line is {item.index})")
        lh = leaf_hash(item.entry)
        if lh != item.leaf_hash:
            raise stop(i, "the exported leaf hash does not match the entry")
        try:
            entry = decode_entry(item.entry, log)
        except EntryError as exc:
            raise stop(i, f"invalid entry: {exc}") from exc
        append(lh)
        expected += 1
        try:
            apply(i, entry, root_now)
        except ReplayError as exc:
            raise stop(i, f"{entry['type']}: {exc}") from exc
        if entry["type"] == "ballot.closed" and expected not in signed:
            raise stop(i, "no signed checkpoint right after ballot.closed (the lot seed)")
        while next_target < len(targets) and targets[next_target].size == expected:
            target = targets[next_target]
            if root_now() != target.root:
                first = good[target.label]
                raise stop(first, _mismatch(target, first), last=target.size - 1)
            good[target.label] = expected
            next_target += 1
        if progress is not None and expected % PROGRESS_EVERY == 0:
            progress(f"{log}: {expected} entries verified")

    report.size = expected
    report.root = frontier.root()
    if next_target < len(targets):
        target = targets[next_target]
        raise stop(
            expected,
            f"the {target.label} checkpoint has size {target.size} but the export ends after "
            f"{expected} entries: entries were removed (truncated or rolled back)",
        )
    if reader.size(log) != expected:
        raise stop(None, f"manifest says {reader.size(log)} entries, the export has {expected}")
    uncovered = None
    if expected > covered:
        # Nothing signed these entries: anyone could have edited them (and their leaf hashes).
        span = _span(covered, expected - 1)
        verb = "is" if expected - covered == 1 else "are"
        since = f"the last one has size {covered}" if signed else "this log has none"
        if require_covered:
            raise stop(
                covered,
                f"not covered by any signed checkpoint ({since}; {span} {verb} not covered)",
            )
        uncovered = f"{span} {verb} not yet covered by a signed checkpoint ({since})"
    try:
        report.warnings += replay.finish()
    except ReplayError as exc:
        raise stop(expected - 1, str(exc)) from exc
    if uncovered is not None:
        report.warnings.append(uncovered)
    if isinstance(replay, VoteReplay):
        report.recounted = replay.recounted
        report.not_recounted = replay.not_recounted

    for cosig in reader.iter_cosignatures(log):
        try:
            witness = parse_verifier_key(cosig.witness)
        except NoteError as exc:
            raise stop(None, f"cosignature with a malformed witness key: {exc}") from exc
        if witness not in witness_keys:
            report.cosignatures_unverified += 1
            continue
        cosigned = signed.get(cosig.size)
        if cosigned is None:
            raise stop(None, f"cosignature for size {cosig.size}, which has no checkpoint")
        try:
            verify_cosignature(cosigned, cosig.line, witness)
        except NoteError as exc:
            raise stop(None, f"invalid cosignature on size {cosig.size}: {exc}") from exc
        report.cosignatures_verified += 1
        report.cosigned_by.add(witness)


def _mismatch(target: _Target, good: int) -> str:
    """The message for a root that differs; the Problem names the range ``good..size-1``."""
    which = "this entry was" if target.size - 1 == good else "one of these entries was"
    if target.label == "signed":
        return (
            f"the root at size {target.size} differs from the signed checkpoint; {which} "
            "changed, inserted, removed or reordered after signing"
        )
    return (
        f"FORK: the root at size {target.size} differs from the saved checkpoint; {which} "
        "rewritten, so the log key signed two inconsistent checkpoints"
    )


class SavedCheckpointError(ValueError):
    """A file given as a saved checkpoint holds no readable checkpoint."""


def saved_checkpoints(data: bytes) -> list[str]:
    """The signed checkpoint texts in a saved file, not yet verified: a checkpoint note, a voter's
    receipt (``c2sp.org/tlog-proof@v1``: its checkpoint) or a witness state file (JSON written by
    ``civicforum-audit witness run --state``: each log's checkpoint and any kept evidence)."""
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise SavedCheckpointError("not UTF-8 text") from exc
    if text.startswith(PROOF_HEADER):
        try:
            found = [parse_proof(text).checkpoint]
        except ProofFileError as exc:
            raise SavedCheckpointError(f"unreadable receipt: {exc}") from exc
    elif text.lstrip().startswith("{"):
        found = _witness_state_checkpoints(text)
    else:
        found = [text]
    for checkpoint in found:
        try:
            parse_checkpoint_body(parse_note(checkpoint).text)
        except NoteError as exc:
            raise SavedCheckpointError(f"not a signed checkpoint: {exc}") from exc
    return found


def _witness_state_checkpoints(text: str) -> list[str]:
    # The witness's evidence is checkpoints the log key signed that it refused (a rollback or a
    # split view): the export must be consistent with those too, or the key equivocated.
    try:
        data = json.loads(text)
        found = [str(state["checkpoint"]) for state in data["logs"].values()]
        found += [str(evidence) for evidence in data.get("evidence", [])]
    except (ValueError, KeyError, TypeError, AttributeError) as exc:
        raise SavedCheckpointError(f"not a witness state file: {exc!r}") from exc
    if not found:
        raise SavedCheckpointError("the witness state file holds no checkpoint yet")
    return found
