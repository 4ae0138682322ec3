"""Every RCTab-derived case in the shared corpus, round by round."""

from __future__ import annotations

from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from tabulation_corpus import CASES, CORPUS, load_case

from civicforum.tabulation import RecordedLot, Result, election_from_json, tabulate
from civicforum.tabulation.lot import Lot

pytestmark = pytest.mark.skipif(
    not CORPUS.is_dir(), reason=f"conformance corpus folder {CORPUS} is absent"
)

# Modes whose draws come from RCTab's java.util.Random: replay the recorded outcomes.
JAVA_RNG_MODES = {"random", "previousRoundCountsThenRandom"}


def _lot(case: dict[str, Any]) -> Lot | None:
    if case["rules"]["tiebreakMode"] not in JAVA_RNG_MODES:
        return None  # useCandidateOrder / stored permutations must work natively
    return RecordedLot(
        (t["round"], t["type"], t["selected"]) for t in case["expected"]["tiebreaks"]
    )


def _count(path: Path) -> tuple[dict[str, Any], Result]:
    case = load_case(path)
    return case, tabulate(election_from_json(case), lot=_lot(case))


@pytest.fixture(scope="module", params=CASES, ids=[p.stem for p in CASES])
def counted(request: pytest.FixtureRequest) -> tuple[dict[str, Any], Result]:
    return _count(request.param)


def test_winners_threshold_and_totals(counted: tuple[dict[str, Any], Result]) -> None:
    case, result = counted
    expected = case["expected"]
    assert list(result.winners) == expected["winners"]
    assert result.threshold == expected["threshold"]
    assert result.total_ballots == expected["totalBallots"]
    assert result.undervotes == expected["undervotes"]
    assert len(result.rounds) == len(expected["rounds"])


def test_every_round(counted: tuple[dict[str, Any], Result]) -> None:
    case, result = counted
    for got, want in zip(result.rounds, case["expected"]["rounds"], strict=True):
        where = f"round {want['round']}"
        assert got.number == want["round"], where
        assert got.threshold == want["threshold"], where
        assert dict(got.tally) == want["tally"], where
        assert list(got.tally.values()) == sorted(got.tally.values(), reverse=True), where
        assert list(got.elected) == want["elected"], where
        assert list(got.eliminated) == want["eliminated"], where
        assert got.exhausted == want["exhausted"], where
        assert dict(got.inactive) == want["inactive"], where
        assert {k: dict(v) for k, v in got.transfers.items()} == want["transfers"], where


def test_tiebreaks(counted: tuple[dict[str, Any], Result]) -> None:
    case, result = counted
    got = [
        {"round": t.round, "type": t.kind, "tied": list(t.tied), "selected": t.selected}
        for t in result.tiebreaks
    ]
    assert got == case["expected"]["tiebreaks"]
    assert all(t.explanation for t in result.tiebreaks)


def test_ballot_accounting(counted: tuple[dict[str, Any], Result]) -> None:
    """README invariant: tally + inactive + surplus left + undervotes + residuals = ballots."""
    case, result = counted
    residual = Decimal(0)
    for r in result.rounds:
        total = (
            sum(r.tally.values(), Decimal(0))
            + r.exhausted
            + r.inactive.get("finalRoundSurplus", Decimal(0))
            + result.undervotes
            + residual
        )
        assert total == result.total_ballots, f"round {r.number}"
        residual += sum(
            (m.get("residual surplus", Decimal(0)) for m in r.transfers.values()), Decimal(0)
        )
