"""``civicforum-audit budget FILE.pb [--rule NAME] [--json] [--seed HEX] [--lenient]``.

Recounts a participatory budget from a Pabulib file (a civicforum export or any Pabulib file)
with the rule its META names, or ``--rule``. Prints a readable report, or with ``--json`` the
result JSON (``rule``, ``budget``, ``selected``, ``spent``, ``rounds``, ...). Bad input exits 2
with a message naming the file, line and key; nothing is printed on stdout then.
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Sequence

from civicforum.tabulation.budget.pabulib import PabulibFile, read_pabulib_file
from civicforum.tabulation.budget.results import RULES, BudgetResult, EqualSharesRound
from civicforum.tabulation.budget.rules import allocate
from civicforum.tabulation.budget.serialize import result_to_json
from civicforum.tabulation.errors import InputFormatError, TabulationError
from civicforum.tabulation.lot import SeededLot

EXIT_OK = 0
EXIT_USAGE = 2


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="civicforum-audit budget",
        description="Recount a participatory budget from a Pabulib (.pb) file.",
    )
    parser.add_argument("file", help="the .pb file")
    parser.add_argument("--rule", choices=RULES, help="allocation rule (default: META rule)")
    parser.add_argument("--json", action="store_true", help="print the result as JSON")
    parser.add_argument(
        "--seed",
        metavar="HEX",
        help="published lot seed: ties that cost and votes leave open follow its order"
        " (default: the order of the PROJECTS section)",
    )
    parser.add_argument(
        "--lenient",
        action="store_true",
        help="count ballots that break the META limits (min/max length, costs, points)",
    )
    return parser


def count(data: PabulibFile, rule: str, seed: bytes | None) -> BudgetResult:
    """Allocate with ``rule``; META's score threshold applies to the greedy rules."""
    ids = [p.id for p in data.instance.projects]
    tie_order = SeededLot(seed).order(ids) if seed is not None else None
    threshold = data.threshold if rule.startswith("greedy") else None
    return allocate(data.instance, rule, threshold=threshold, tie_order=tie_order)


def format_report(result: BudgetResult, names: dict[str, str]) -> str:
    """A readable report: funded projects, each round, the fairness figure."""
    lines = [
        f"Rule: {result.rule}; budget {result.budget}; spent {result.spent}"
        f" ({result.voters} voters)",
        "",
        "Funded:",
    ]
    for pid in result.selected:
        tally = next(t for t in result.tallies if t.project == pid)
        lines.append(f"  {pid}  cost {tally.cost}  votes {tally.votes}  {names.get(pid, '')}")
    lines += ["", "Rounds:"]
    for step in result.rounds:
        if isinstance(step, EqualSharesRound):
            paid = ", ".join(
                f"{p.voters} x {float(p.amount):.2f}{' (all they had)' if p.all_they_had else ''}"
                for p in step.payments
            )
            lines.append(
                f"  {step.number}. {step.project}: effective votes"
                f" {float(step.effective_votes):.3f} of {step.votes}; paid by {paid}"
            )
        else:
            lines.append(
                f"  {step.project}: score {step.score}, cost {step.cost}: {step.outcome}"
                f" (left {step.remaining})"
            )
    if result.share is not None:
        lines.append(
            f"Per-voter share: {result.share} (start {result.initial_share},"
            f" {result.add1_steps} add1 steps)"
        )
    for pid, money in (result.support_left or {}).items():
        tally = next(t for t in result.tallies if t.project == pid)
        lines.append(
            f"Not funded: {pid} (cost {tally.cost}, {tally.votes} votes): its supporters'"
            f" shares had {float(money):.2f} left"
        )
    if result.comparison is not None:
        c = result.comparison
        lines.append(
            f"Comparison: {c.prefer_equal_shares} voters prefer equal shares,"
            f" {c.prefer_greedy} greedy: {c.chosen} kept"
        )
    for tie in result.tiebreaks:
        lines.append(f"Tie: {tie.explanation}")
    share = result.voters_with_funded_project / result.voters if result.voters else 0.0
    lines.append(
        f"Voters with at least one funded project: {result.voters_with_funded_project}"
        f" of {result.voters} ({share:.1%})"
    )
    return "\n".join(lines)


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point; ``civicforum-audit budget`` passes everything after the word."""
    args = _parser().parse_args(argv)
    seed = None
    if args.seed is not None:
        try:
            seed = bytes.fromhex(args.seed)
        except ValueError:
            print(f"error: --seed {args.seed!r} is not hexadecimal", file=sys.stderr)
            return EXIT_USAGE
    try:
        data = read_pabulib_file(args.file, validate=not args.lenient)
        rule = args.rule or data.rule
        if rule not in RULES:
            print(
                f"error: {args.file}: META rule {rule!r} is not one of {', '.join(RULES)};"
                " pass --rule",
                file=sys.stderr,
            )
            return EXIT_USAGE
        if rule == "greedy-threshold" and data.threshold is None:
            raise InputFormatError(
                "META has no min_project_score_threshold, which greedy-threshold needs",
                path=args.file,
            )
        result = count(data, rule, seed)
    except (TabulationError, OSError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return EXIT_USAGE
    if args.json:
        print(json.dumps(result_to_json(result), ensure_ascii=False, indent=2))
    else:
        names = {row["project_id"]: row.get("name", "") for row in data.project_rows}
        print(format_report(result, names))
    return EXIT_OK


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
