"""A result in the shape of RCTab's detailed report (``*_expected_detailed_report.json``).

Amounts are written as exact decimal strings, as RCTab writes them, so a report can be compared
with RCTab's own round by round. A multi-pass IRV count gives one report per pass, as RCTab
writes ``..._1``, ``..._2`` ... files.
"""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from civicforum.tabulation.rctab.config import ContestConfig
from civicforum.tabulation.types import INACTIVE_CAUSES, Result

GENERATED_BY = "civicforum-audit (RCTab 2.0 rules)"


def _text(value: Decimal | None) -> str:
    if value is None:
        return "0"
    text = format(value.normalize(), "f") if value else "0"
    return text


def detailed_reports(result: Result, config: ContestConfig) -> list[dict[str, Any]]:
    """One RCTab-shaped detailed report per count (several for multi-pass IRV)."""
    return [_report(one, config) for one in (result.passes or (result,))]


def _report(result: Result, config: ContestConfig) -> dict[str, Any]:
    results: list[dict[str, Any]] = []
    for r in result.rounds:
        decided: list[dict[str, Any]] = []
        for kind, names in (("elected", r.elected), ("eliminated", r.eliminated)):
            for name in names:
                moves = r.transfers.get(name, {})
                decided.append(
                    {kind: name, "transfers": {k: _text(v) for k, v in sorted(moves.items())}}
                )
        inactive = {cause: _text(r.inactive.get(cause)) for cause in INACTIVE_CAUSES}
        inactive.update({k: _text(v) for k, v in r.inactive.items() if k not in inactive})
        results.append(
            {
                "inactiveBallots": dict(sorted(inactive.items())),
                "round": r.number,
                "tally": {k: _text(v) for k, v in sorted(r.tally.items())},
                "tallyResults": decided,
                "threshold": _text(r.threshold),
            }
        )
    return {
        "config": {
            "contest": config.contest_name,
            "date": config.date,
            "generatedBy": GENERATED_BY,
            "jurisdiction": config.jurisdiction,
            "office": config.office,
        },
        "jsonFormatVersion": "1",
        "results": results,
        "summary": {
            "finalThreshold": _text(result.threshold),
            "numCandidates": len(config.names),
            "numWinners": result.seats,
            "totalNumBallots": str(result.total_ballots),
            "undervotes": result.undervotes,
        },
    }
