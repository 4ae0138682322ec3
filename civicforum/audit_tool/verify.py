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
from civicforum.ledger.entry import VOTE_LOG, EntryError, decode_entry, parse_canonical
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
from civicforum.ledger.promise import (
    PromiseError,
    PromiseFile,
    VerifiedPromise,
    verify_promise_file,
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
    checkpoint_size: int = 0  # the size of the latest signed checkpoint
    latest_cosigned: dict[Verifier, int] = field(default_factory=dict)  # largest size cosigned

    def cosigned(self, witness: Verifier, size: int) -> None:
        self.cosigned_by.add(witness)
        self.latest_cosigned[witness] = max(size, self.latest_cosigned.get(witness, 0))


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
                f" (valid, from witnesses not pinned: {r.cosignatures_unverified})"
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


@dataclass(frozen=True, slots=True)
class PinnedWitness:
    """A witness the auditor trusts: its cosignature must be on the latest checkpoint of each
    of ``logs`` (every log of the export when None), or verification fails."""

    key: Verifier
    logs: frozenset[str] | None = None

    def covers(self, log: str) -> bool:
        return self.logs is None or log in self.logs


def verify_export(
    reader: ExportReader,
    *,
    trusted_keys: Sequence[Verifier] = (),
    saved_checkpoints: Sequence[str] = (),
    witnesses: Sequence[Verifier | PinnedWitness] = (),
    known_witnesses: Sequence[Verifier] = (),
    recount: Recount | None,
    progress: Callable[[str], None] | None = None,
    require_covered: bool = True,
) -> Report:
    """Verify every log of the export; ``recount`` None skips re-tabulation (reported).

    ``witnesses`` are pinned: each must have cosigned the latest checkpoint of its logs (the
    state the export claims), or verification fails: a fork or a rollback shown to this
    auditor would lack their cosignatures. ``known_witnesses`` have their cosignatures checked
    without that requirement (the server's self-audit, whose newest checkpoint the witnesses
    may not have seen yet). Every cosignature in the export must verify under the witness key
    it names, pinned or not.

    ``require_covered``: entries after the last signed checkpoint fail verification, as they
    must in an export, which the server completes with a covering checkpoint before writing
    it. False makes them a warning: the server's self-audit of its live database, whose
    newest entries may still await one.
    """
    pinned = [w if isinstance(w, PinnedWitness) else PinnedWitness(w) for w in witnesses]
    reports = []
    for log in reader.logs:
        report = LogReport(log, origin=reader.origin(log))
        mine = [w for w in pinned if w.covers(log)]
        try:
            _verify_log(
                reader,
                report,
                trusted_keys,
                saved_checkpoints,
                [w.key for w in mine] + list(known_witnesses),
                recount,
                progress,
                require_covered,
            )
            _require_pinned(report, mine)
        except _Stop as stop:
            report.problem = stop.problem
        except ExportError as exc:
            report.problem = Problem(log, None, f"malformed export: {exc}")
        reports.append(report)
    return Report(reports)


def _require_pinned(report: LogReport, pinned: Sequence[PinnedWitness]) -> None:
    """Each pinned witness cosigned this log's latest checkpoint: otherwise the export shows a
    state no trusted witness vouched for (a fork shown to this auditor, or a rollback)."""
    for witness in pinned:
        key = witness.key
        if key.sig_type != SIG_COSIGNATURE_V1:
            raise _Stop(
                Problem(report.log, None, f"pinned witness {key.name} is not a cosignature key")
            )
        latest = report.latest_cosigned.get(key)
        if latest == report.checkpoint_size:
            continue
        since = "no checkpoint" if latest is None else f"only up to size {latest}"
        raise _Stop(
            Problem(
                report.log,
                None,
                f"pinned witness {key.name} did not cosign the latest checkpoint (size "
                f"{report.checkpoint_size}; it cosigned {since}): wait for the witness to see "
                "it and export again, or this export shows a state the witness never saw",
            )
        )


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
        for witness in witnessed:
            report.cosigned(witness, cp.size)
    report.checkpoints = len(signed)
    report.checkpoint_size = max(signed, default=0)
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
        cosigned = signed.get(cosig.size)
        if cosigned is None:
            raise stop(None, f"cosignature for size {cosig.size}, which has no checkpoint")
        # Every cosignature must verify under the key it names, trusted or not: a bad one is
        # an altered export, whoever it claims to come from.
        try:
            verify_cosignature(cosigned, cosig.line, witness)
        except NoteError as exc:
            raise stop(
                None, f"invalid cosignature by {witness.name} on size {cosig.size}: {exc}"
            ) from exc
        if witness not in witness_keys:
            report.cosignatures_unverified += 1
            continue
        report.cosignatures_verified += 1
        report.cosigned(witness, cosig.size)


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


@dataclass(frozen=True, slots=True)
class Found:
    """Where a promised entry is in an export: its index, else whether its ballot closed
    there (every cast is in the log by then, so a missing one was dropped)."""

    index: int | None
    closed: bool


def find_promised(reader: ExportReader, promised: VerifiedPromise) -> Found:
    """Look for a promise's entry in the export's vote log (one streaming pass)."""
    ballot = parse_canonical(promised.entry).get("ballot")
    closing = canonical_ballot_closed_prefix(ballot)
    closed = False
    for item in reader.iter_entries(VOTE_LOG):
        if item.leaf_hash == promised.leaf_hash and leaf_hash(item.entry) == promised.leaf_hash:
            return Found(item.index, False)
        closed = closed or item.entry.startswith(closing)
    return Found(None, closed)


def canonical_ballot_closed_prefix(ballot: object) -> bytes:
    # Canonical JSON sorts the keys: a ballot.closed entry starts with its ballot id.
    return ('{"ballot":' + json.dumps(ballot) + ',"counts":').encode()


def check_promises(
    reader: ExportReader,
    report: Report,
    promised: Sequence[PromiseFile],
    *,
    trusted_keys: Sequence[Verifier],
) -> None:
    """Add to ``report``: a promise whose entry is missing although its ballot closed is a
    failure of the vote log (BROKEN PROMISE); one whose ballot is still open, a warning."""
    votes = next(r for r in report.logs if r.log == VOTE_LOG)
    key = next((k for k in trusted_keys if k.name == votes.origin), None) or parse_verifier_key(
        reader.verifier_key(VOTE_LOG)
    )
    for index, promise_file in enumerate(promised, 1):
        try:
            verified = verify_promise_file(promise_file, key)
        except (PromiseError, ValueError) as exc:
            votes.problem = Problem(VOTE_LOG, None, f"promise {index} does not verify: {exc}")
            return
        found = find_promised(reader, verified)
        if found.index is None and found.closed:
            votes.problem = Problem(
                VOTE_LOG,
                None,
                f"BROKEN PROMISE: promise {index} (leaf {verified.leaf_hash.hex()}) is not in "
                "the log although its ballot closed",
            )
            return
        if found.index is None:
            votes.warnings.append(f"promise {index}: not in the log yet (its ballot is open)")
