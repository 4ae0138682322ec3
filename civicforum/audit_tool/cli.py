"""``civicforum-audit``: verify exports and receipts, run a witness, re-tabulate elections."""

from __future__ import annotations

import argparse
import os
import sys
import time
import urllib.error
from collections.abc import Sequence
from pathlib import Path

from civicforum.audit_tool import verify as verify_mod
from civicforum.audit_tool import witness as witness_mod
from civicforum.audit_tool.recount import recount
from civicforum.ledger.cosignature import generate_witness_key
from civicforum.ledger.entry import EntryError, parse_canonical
from civicforum.ledger.export import ExportError, open_export
from civicforum.ledger.note import NoteError, Verifier, parse_signer_key, parse_verifier_key
from civicforum.ledger.promise import (
    PromiseError,
    PromiseFile,
    is_promise_file,
    parse_promise_file,
    verify_promise_file,
)
from civicforum.ledger.proof_file import ProofFileError, parse_proof, verify_proof

EXIT_OK = 0
EXIT_FAILED = 1
EXIT_USAGE = 2


def _text_or_file(value: str) -> str:
    """Accept a key or note inline, or ``@path`` / an existing path to read it from."""
    path = Path(value[1:] if value.startswith("@") else value)
    if value.startswith("@") or (len(value) < 4096 and "\n" not in value and path.is_file()):
        return path.read_text(encoding="utf-8")
    return value


def _key(value: str) -> Verifier:
    try:
        return parse_verifier_key(_text_or_file(value))
    except NoteError as exc:
        raise argparse.ArgumentTypeError(f"bad verifier key: {exc}") from exc


def _pinned_witness(value: str) -> verify_mod.PinnedWitness:
    """``KEY`` (every log) or ``LOG=KEY`` (one log) for --witness."""
    log, sep, rest = value.partition("=")
    if sep and log in ("votes", "civic"):
        return verify_mod.PinnedWitness(_key(rest), frozenset({log}))
    return verify_mod.PinnedWitness(_key(value))


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="civicforum-audit", description="Independent verification of civicforum ledgers."
    )
    sub = parser.add_subparsers(dest="command", required=True)

    v = sub.add_parser("verify", help="verify an export directory or .zip")
    v.add_argument("export", type=Path)
    v.add_argument(
        "--key",
        action="append",
        type=_key,
        default=[],
        help="pinned log verifier key (text or file); repeat for each log",
    )
    v.add_argument(
        "--checkpoint",
        action="append",
        type=Path,
        default=[],
        help="a signed checkpoint saved earlier (file): a checkpoint, a voter's .tlog-proof"
        " receipt or a witness state file; detects forks and truncation",
    )
    v.add_argument(
        "--witness",
        action="append",
        type=_pinned_witness,
        default=[],
        metavar="[LOG=]KEY",
        help="a trusted witness (text or file): it must have cosigned the latest checkpoint of"
        " every log, or of LOG (votes or civic) only",
    )
    v.add_argument(
        "--promise",
        action="append",
        type=Path,
        default=[],
        help="a voter's .tlog-promise: its entry must be in the export once its ballot closed",
    )
    v.add_argument("--skip-recount", action="store_true", help="do not re-tabulate results")
    v.add_argument("--quiet", action="store_true", help="no progress on stderr")

    r = sub.add_parser(
        "verify-receipt", help="verify a receipt offline: a .tlog-proof, or a .tlog-promise"
    )
    r.add_argument("file", type=Path)
    r.add_argument("--key", required=True, type=_key, help="the log verifier key")
    r.add_argument(
        "--export",
        type=Path,
        help="an export to look for a promised entry in (a broken promise exits 1)",
    )

    w = sub.add_parser("witness", help="act as a witness for a civicforum log")
    wsub = w.add_subparsers(dest="witness_command", required=True)
    kg = wsub.add_parser("keygen", help="create a witness key (cosignature/v1)")
    kg.add_argument("name", help="witness name, e.g. witness.example.org/alice")
    kg.add_argument(
        "--out",
        type=Path,
        required=True,
        help="signer key file (created 0600); the verifier key goes to OUT.pub (0644)",
    )
    run = wsub.add_parser("run", help="fetch, verify and cosign the latest checkpoint")
    run.add_argument("url", help="server base URL, e.g. https://forum.example.org")
    run.add_argument(
        "--log",
        default="votes",
        choices=["votes", "civic"],
        help="the log to witness (default: %(default)s); --log-key must be its key",
    )
    run.add_argument("--log-key", required=True, type=_key, help="pinned log verifier key")
    run.add_argument("--key", required=True, type=Path, help="witness signer key file")
    run.add_argument("--state", required=True, type=Path, help="witness state file (JSON)")
    run.add_argument("--submit", action="store_true", help="POST the cosignature to the server")

    sub.add_parser("tabulate", help="re-tabulate an election JSON (civicforum.tabulation)")
    sub.add_parser("budget", help="recount a participatory budget from a Pabulib .pb file")
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the ``civicforum-audit`` console script."""
    args_list = list(sys.argv[1:] if argv is None else argv)
    if args_list[:1] == ["tabulate"]:
        from civicforum.tabulation.cli import main as tabulate_main

        return int(tabulate_main(args_list[1:]))
    if args_list[:1] == ["budget"]:
        from civicforum.audit_tool.budget import main as budget_main

        return budget_main(args_list[1:])
    args = _parser().parse_args(args_list)
    if args.command == "verify":
        return _verify(args)
    if args.command == "verify-receipt":
        return _verify_receipt(args)
    if args.witness_command == "keygen":
        return _keygen(args)
    return _witness_run(args, witness_mod.HttpFetcher(args.url), int(time.time()))


def _verify(args: argparse.Namespace) -> int:
    def progress(message: str) -> None:
        if not args.quiet:
            print(message, file=sys.stderr, flush=True)

    saved: list[str] = []
    for path in args.checkpoint:
        try:
            saved += verify_mod.saved_checkpoints(path.read_bytes())
        except (verify_mod.SavedCheckpointError, OSError) as exc:
            print(f"error: --checkpoint {path}: {exc}", file=sys.stderr)
            return EXIT_USAGE
    promised: list[PromiseFile] = []
    for path in args.promise:
        try:
            promised.append(parse_promise_file(path.read_bytes()))
        except (PromiseError, OSError) as exc:
            print(f"error: --promise {path}: {exc}", file=sys.stderr)
            return EXIT_USAGE
    try:
        with open_export(args.export) as reader:
            report = verify_mod.verify_export(
                reader,
                trusted_keys=args.key,
                saved_checkpoints=saved,
                witnesses=args.witness,
                recount=None if args.skip_recount else recount,
                progress=progress,
            )
            if report.ok and promised:
                verify_mod.check_promises(reader, report, promised, trusted_keys=args.key)
    except (ExportError, OSError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return EXIT_USAGE
    print(report.format())
    for problem in report.problems:
        print(f"FIRST PROBLEM: {problem}", file=sys.stderr)
    return EXIT_OK if report.ok else EXIT_FAILED


def _verify_receipt(args: argparse.Namespace) -> int:
    try:
        data = args.file.read_bytes()
    except OSError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return EXIT_USAGE
    if is_promise_file(data):
        return _verify_promise(args, data)
    try:
        proof = parse_proof(data)
        receipt = verify_proof(proof, args.key)
    except ProofFileError as exc:
        print(f"receipt does NOT verify: {exc}", file=sys.stderr)
        return EXIT_FAILED
    cp = receipt.checkpoint
    print(f"receipt verified: entry {receipt.index} of {cp.origin} at tree size {cp.size}")
    print(f"root: {cp.root.hex()}")
    _print_entry(receipt.entry)
    print("note: a ballot.superseded mark for this tracker (appended when its ballot closes)")
    print("      means a later vote of the same voter replaced it; check the export.")
    return EXIT_OK


def _print_entry(data: bytes) -> None:
    try:
        entry = parse_canonical(data)
    except EntryError:
        print("entry (not canonical JSON):", data.decode("utf-8", "replace"))
        return
    for key in ("type", "ballot", "tracker", "choice", "voter", "day"):
        if key in entry:
            print(f"{key}: {entry[key]}")


def _verify_promise(args: argparse.Namespace, data: bytes) -> int:
    try:
        verified = verify_promise_file(parse_promise_file(data), args.key)
    except (PromiseError, ValueError) as exc:
        print(f"promise does NOT verify: {exc}", file=sys.stderr)
        return EXIT_FAILED
    promise = verified.promise
    merge_by = promise.merge_by.strftime("%Y-%m-%d %H:%M UTC")
    print(f"promise verified: {promise.origin} promised this entry by {merge_by}")
    print(f"leaf hash: {promise.leaf_hash.hex()}")
    _print_entry(verified.entry)
    if args.export is None:
        print("note: give --export to look for the entry in an export (or use /verify)")
        return EXIT_OK
    try:
        with open_export(args.export) as reader:
            found = verify_mod.find_promised(reader, verified)
    except (ExportError, OSError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return EXIT_USAGE
    if found.index is not None:
        print(f"KEPT: the entry is in the export at index {found.index}")
        return EXIT_OK
    if found.closed:
        print(
            "BROKEN PROMISE: the entry's ballot closed in this export without the entry; the"
            " signed promise is evidence of it",
            file=sys.stderr,
        )
        return EXIT_FAILED
    print("not in this export yet: its ballot is still open (casts join the log in batches)")
    return EXIT_OK


def _keygen(args: argparse.Namespace) -> int:
    skey, vkey = generate_witness_key(args.name)
    pub = args.out.with_name(args.out.name + ".pub")
    if pub.exists():  # checked first, so a refusal leaves no half-written pair behind
        print(f"error: {pub} exists; refusing to overwrite a key", file=sys.stderr)
        return EXIT_USAGE
    for path, data, mode in ((args.out, skey, 0o600), (pub, vkey, 0o644)):
        try:
            fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, mode)
        except FileExistsError:
            print(f"error: {path} exists; refusing to overwrite a key", file=sys.stderr)
            return EXIT_USAGE
        os.fchmod(fd, mode)  # the umask must not make the public half unreadable
        with os.fdopen(fd, "wb") as fp:
            fp.write(data + b"\n")
    print(vkey.decode())  # stdout stays the bare verifier key, for scripts
    print(f"signer key (keep it secret): {args.out} (mode 0600)", file=sys.stderr)
    print(
        f"verifier key: {pub} (mode 0644): give it to the forum's auditors"
        " (audit dashboard, or `civicforum ledger add-witness`)",
        file=sys.stderr,
    )
    return EXIT_OK


def _witness_run(args: argparse.Namespace, fetch: witness_mod.Fetcher, now: int) -> int:
    try:
        signer = parse_signer_key(args.key.read_text(encoding="utf-8"))
    except (NoteError, OSError) as exc:
        print(f"error: witness key: {exc}", file=sys.stderr)
        return EXIT_USAGE
    states, evidence = witness_mod.load_states(args.state)
    origin = args.log_key.name
    try:
        outcome = witness_mod.witness_once(
            fetch,
            log=args.log,
            log_key=args.log_key,
            witness=signer,
            state=states.get(origin),
            now=now,
        )
    except witness_mod.WitnessError as exc:
        if exc.evidence is not None:
            evidence.append(exc.evidence)
            witness_mod.save_states(args.state, states, evidence)
        print(f"WITNESS REFUSES: {exc}", file=sys.stderr)
        if isinstance(exc, witness_mod.WrongLogKeyError):
            print(
                f"hint: --log {args.log} and --log-key ({origin}) may not match: give the"
                f" verifier key of the {args.log} log (`civicforum ledger vkey {args.log}`);"
                " if they do match, the log was re-keyed",
                file=sys.stderr,
            )
        return EXIT_FAILED
    except OSError as exc:
        print(f"error: fetching from the log failed: {exc}", file=sys.stderr)
        return EXIT_USAGE
    states[origin] = outcome.state
    witness_mod.save_states(args.state, states, evidence)
    if outcome.first_contact:
        print(f"first contact with {origin}: trusting size {outcome.state.size}", file=sys.stderr)
    print(outcome.cosignature.line, end="")
    if args.submit:
        body = witness_mod.cosignature_submission(outcome.checkpoint, outcome.cosignature)
        try:
            fetch.post(f"/ledger/{args.log}/cosignatures", body)
        except OSError as exc:
            print(f"error: submitting the cosignature failed: {exc}", file=sys.stderr)
            if isinstance(exc, urllib.error.HTTPError) and exc.code == 403:
                print(
                    "hint: the server does not accept this witness key yet: an auditor must"
                    " first add its verifier key on the audit dashboard (/audit/ledger) or with"
                    " `civicforum ledger add-witness WVKEY`",
                    file=sys.stderr,
                )
            return EXIT_FAILED
    return EXIT_OK


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
