"""``tabulate FILE [--json] [--format ...] [--seed HEX] [--progress]``: count a ballot file.

Used stand-alone (``python -m civicforum.tabulation.cli``) and by ``civicforum-audit tabulate``,
which passes everything after the word ``tabulate`` as ``argv``. The whole count is finished
before anything is printed, so a failure leaves stdout empty: errors go to stderr with exit 2.
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Sequence
from typing import TextIO

from civicforum.tabulation.engine import tabulate
from civicforum.tabulation.errors import TabulationError
from civicforum.tabulation.formats import FORMATS, read_election
from civicforum.tabulation.lot import SeededLot
from civicforum.tabulation.serialize import result_to_json
from civicforum.tabulation.types import Result

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
        description="Count a ballot file (case JSON, approval JSON, CSV, BLT or NIST CDF JSON).",
    )
    parser.add_argument("file", help="the ballot file")
    parser.add_argument("--json", action="store_true", help="print the result as JSON")
    parser.add_argument("--format", choices=FORMATS, default="auto", help="input format")
    parser.add_argument(
        "--seed", metavar="HEX", help="published lot seed (hex), used for ties decided by lot"
    )
    parser.add_argument("--progress", action="store_true", help="always show a progress bar")
    return parser


def format_result(result: Result) -> str:
    """A readable report: one block per round, then winners and tie-breaks."""
    lines = [
        f"Method: {result.method}, {result.seats} seat(s), {result.total_ballots} ballots "
        f"({result.undervotes} blank)"
    ]
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
    if result.tiebreaks:
        lines.append("")
        lines.append("Tie-breaks:")
        lines.extend(f"  round {t.round}: {t.explanation}" for t in result.tiebreaks)
    lines.append("")
    lines.append("Winners: " + (", ".join(result.winners) or "none"))
    return "\n".join(lines) + "\n"


def main(argv: Sequence[str] | None = None) -> int:
    """Run the tabulate command; returns the exit status (0 ok, 2 on any error)."""
    parser = _parser()
    try:
        args = parser.parse_args(None if argv is None else list(argv))
    except SystemExit as exc:  # argparse already wrote usage or help
        return int(exc.code or 0)
    lot = None
    if args.seed is not None:
        try:
            lot = SeededLot(bytes.fromhex(args.seed))
        except (ValueError, TabulationError):
            sys.stderr.write("tabulate: error: --seed must be non-empty hexadecimal\n")
            return 2
    progress = None
    if args.progress or sys.stderr.isatty():
        progress = _ProgressBar(sys.stderr, force=args.progress)
    try:
        election = read_election(args.file, format=args.format, progress=progress)
        result = tabulate(election, lot=lot)
        if args.json:
            text = json.dumps(result_to_json(result), ensure_ascii=False, indent=2) + "\n"
        else:
            text = format_result(result)
    except TabulationError as exc:
        sys.stderr.write(f"tabulate: error: {exc}\n")
        return 2
    sys.stdout.write(text)
    return 0


if __name__ == "__main__":  # pragma: no cover
    raise SystemExit(main())
