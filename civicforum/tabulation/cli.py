"""``tabulate``: count a ballot file, or an RCTab contest from its configuration.

    tabulate FILE [--format F] [--rules RULES.json] [--method M] [--seats N] [--seed HEX]
    tabulate --rctab-config CONFIG.json [--tiebreak-answer NAME ...] [--rctab-report]
    ... [--json] [--progress]

Used stand-alone (``python -m civicforum.tabulation.cli``) and by ``civicforum-audit tabulate``,
which passes everything after the word ``tabulate`` as ``argv``. The whole count is finished
before anything is printed, so a failure leaves stdout empty: errors go to stderr with exit 2.
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import sys
from collections.abc import Sequence
from typing import Any, TextIO

from civicforum.tabulation.engine import tabulate
from civicforum.tabulation.errors import TabulationError
from civicforum.tabulation.formats import FORMATS, read_election
from civicforum.tabulation.lot import AnsweredLot, Lot, RenamedLot, SeededLot
from civicforum.tabulation.rulesfile import load_rules_file
from civicforum.tabulation.serialize import result_to_json
from civicforum.tabulation.types import (
    ASKING_TIEBREAK_MODES,
    METHODS,
    Election,
    Result,
    with_rules,
)

_PROGRESS_MIN_BYTES = 8 * 1024 * 1024


class _ProgressBar:
    """A one-line progress bar on stderr, redrawn at most once per percent."""

    def __init__(self, stream: TextIO, *, force: bool) -> None:
        self.stream, self.force, self.shown = stream, force, -1

    def __call__(self, done: int, total: int) -> None:
        if not self.force and total < _PROGRESS_MIN_BYTES:
            return
        percent = 100 * done // total if total else 100
        if percent == self.shown:
            return
        self.shown = percent
        bar = "#" * (percent // 4)
        self.stream.write(f"\rreading [{bar:<25}] {percent:3d}% of {total / 1e6:.1f} MB")
        if done >= total:
            self.stream.write("\n")
        self.stream.flush()


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="tabulate",
        description="Count a ballot file (case JSON, approval JSON, CSV, BLT or NIST CDF "
        "JSON/XML), or an RCTab contest from its configuration file (--rctab-config).",
    )
    parser.add_argument("file", nargs="?", help="the ballot file")
    parser.add_argument("--json", action="store_true", help="print the result as JSON")
    parser.add_argument("--format", choices=FORMATS, default="auto", help="input format")
    parser.add_argument(
        "--rules",
        metavar="RULES",
        help="a civicforum-rules/1 file: the method, rules and lot the ballots are counted by",
    )
    parser.add_argument("--method", choices=METHODS, help="count by this method")
    parser.add_argument("--seats", type=int, metavar="N", help="the number of seats")
    parser.add_argument(
        "--seed", metavar="HEX", help="published lot seed (hex), used for ties decided by lot"
    )
    parser.add_argument(
        "--rctab-config",
        metavar="CONFIG",
        help="an RCTab contest configuration: reads its CVR files and counts by its rules",
    )
    parser.add_argument(
        "--tiebreak-answer",
        action="append",
        default=[],
        metavar="NAME",
        help="who is selected in the next tie the rules leave to the operator "
        "(stopCountingAndAsk, previousRoundCountsThenAsk); repeat in the order ties arise",
    )
    parser.add_argument(
        "--rctab-report",
        action="store_true",
        help="with --rctab-config: print RCTab's detailed report JSON (one per pass)",
    )
    parser.add_argument("--progress", action="store_true", help="always show a progress bar")
    return parser


def format_result(result: Result) -> str:
    """A readable report: one block per round, then winners and tie-breaks."""
    lines = [
        f"Method: {result.method}, {result.seats} seat(s), {result.total_ballots} ballots "
        f"({result.undervotes} blank)"
    ]
    for number, one in enumerate(result.passes, 1):
        lines.append("")
        lines.append(f"== Pass {number} (multi-pass IRV, seat {number}) ==")
        lines += _rounds(one)
        lines += _tiebreaks(one)
        lines.append(f"Winner of pass {number}: {', '.join(one.winners)}")
    lines += _rounds(result)
    if result.ranking is not None:
        lines.append("")
        lines.append("Ranking: " + " > ".join(result.ranking))
        names = list(result.options)
        width = max(len(n) for n in names)
        lines.append("Pairwise (row preferred to column):")
        lines.append(" " * (width + 2) + " ".join(f"{n[:8]:>8}" for n in names))
        pairwise = result.pairwise or {}
        for a in names:
            cells = " ".join(f"{'-' if a == b else pairwise[a][b]:>8}" for b in names)
            lines.append(f"  {a:<{width}}{cells}")
    if not result.passes:
        lines += _tiebreaks(result)
    lines.append("")
    lines.append("Winners: " + (", ".join(result.winners) or "none"))
    return "\n".join(lines) + "\n"


def _tiebreaks(result: Result) -> list[str]:
    if not result.tiebreaks:
        return []
    return ["", "Tie-breaks:", *(f"  round {t.round}: {t.explanation}" for t in result.tiebreaks)]


def _rounds(result: Result) -> list[str]:
    lines: list[str] = []
    for r in result.rounds:
        head = f"Round {r.number}"
        if r.threshold is not None:
            head += f" (threshold {r.threshold})"
        lines.append("")
        lines.append(head)
        width = max((len(name) for name in r.tally), default=0)
        for name, votes in r.tally.items():
            mark = (
                " elected" if name in r.elected else " eliminated" if name in r.eliminated else ""
            )
            lines.append(f"  {name:<{width}}  {votes:>14}{mark}")
        lines.append(f"  {'inactive':<{width}}  {r.exhausted:>14}")
        for source, moves in r.transfers.items():
            if moves:
                spread = ", ".join(f"{dest} {amount}" for dest, amount in moves.items())
                lines.append(f"  {source} -> {spread}")
    return lines


class _UsageError(Exception):
    pass


def _ballot_file(
    args: argparse.Namespace, progress: _ProgressBar | None
) -> tuple[Election, Lot | None]:
    """The election of FILE with the rules of --rules/--method/--seats, and its lot."""
    election = read_election(args.file, format=args.format, progress=progress)
    sidecar = load_rules_file(args.rules) if args.rules else None
    method = args.method or (sidecar and sidecar.method) or election.method
    rules = (sidecar and sidecar.rules) or election.rules
    if args.seats is not None:
        if args.seats < 1:
            raise _UsageError("--seats must be at least 1")
        rules = dataclasses.replace(rules, seats=args.seats, winner_election_mode="")
        if method == "irv" and args.seats > 1:
            method = "stv"
    election = with_rules(election, method=method, rules=rules)
    seed = sidecar.seed if sidecar else None
    if args.seed is not None:
        try:
            seed = bytes.fromhex(args.seed)
        except ValueError:
            seed = b""
        if not seed:
            raise _UsageError("--seed must be non-empty hexadecimal")
    lot: Lot | None = None
    if seed:
        lot = SeededLot(seed)
        if sidecar and sidecar.lot_names:
            lot = RenamedLot(lot, sidecar.lot_names)
    return election, lot


def main(argv: Sequence[str] | None = None) -> int:
    """Run the tabulate command; returns the exit status (0 ok, 2 on any error)."""
    parser = _parser()
    try:
        args = parser.parse_args(None if argv is None else list(argv))
    except SystemExit as exc:  # argparse already wrote usage or help
        return int(exc.code or 0)
    progress = None
    if args.progress or sys.stderr.isatty():
        progress = _ProgressBar(sys.stderr, force=args.progress)
    try:
        text = _run(args, progress)
    except _UsageError as exc:
        sys.stderr.write(f"tabulate: error: {exc}\n")
        return 2
    except TabulationError as exc:
        sys.stderr.write(f"tabulate: error: {exc}\n")
        return 2
    sys.stdout.write(text)
    return 0


def _run(args: argparse.Namespace, progress: _ProgressBar | None) -> str:
    report: Any = None
    if args.rctab_config:
        if args.file or args.rules or args.method or args.seats is not None or args.seed:
            raise _UsageError(
                "--rctab-config takes no FILE, --rules, --method, --seats or --seed: the "
                "configuration names the CVR files and holds the rules (and randomSeed)"
            )
        from civicforum.tabulation.rctab import load_contest
        from civicforum.tabulation.rctab.report import detailed_reports

        contest = load_contest(args.rctab_config)
        election, lot = contest.election, None
    elif args.file:
        if args.rctab_report:
            raise _UsageError("--rctab-report needs --rctab-config")
        election, lot = _ballot_file(args, progress)
    else:
        raise _UsageError("give a ballot FILE or --rctab-config CONFIG (see --help)")
    if election.rules.tiebreak_mode in ASKING_TIEBREAK_MODES:
        lot = AnsweredLot(args.tiebreak_answer)
    elif args.tiebreak_answer:
        raise _UsageError(
            f"--tiebreak-answer is for tiebreakMode {' or '.join(ASKING_TIEBREAK_MODES)}, "
            f"not {election.rules.tiebreak_mode}"
        )
    result = tabulate(election, lot=lot)
    if isinstance(lot, AnsweredLot) and lot.used < len(lot.answers):
        raise _UsageError(
            f"{len(lot.answers)} --tiebreak-answer given, but the count asked for {lot.used}"
        )
    if args.rctab_report:
        report = detailed_reports(result, contest.config)
        report = report[0] if len(report) == 1 else report
        return json.dumps(report, ensure_ascii=False, indent=2) + "\n"
    if args.json:
        return json.dumps(result_to_json(result), ensure_ascii=False, indent=2) + "\n"
    return format_result(result)


if __name__ == "__main__":  # pragma: no cover
    raise SystemExit(main())
