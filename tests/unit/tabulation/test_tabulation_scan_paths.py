"""The bulk count of a last transfer agrees with the slice-by-slice scan it replaces."""

from __future__ import annotations

import random

import pytest

from civicforum.tabulation import Ballot, Rules, SeededLot, make_election, tabulate
from civicforum.tabulation import ranked as ranked_module

OPTIONS = "ABCDEFG"


def profile(seed: int, *, blanks: bool, duplicates: bool) -> list[Ballot]:
    """Seeded rankings of 1..7 marks, optionally with blank ranks and repeated options."""
    rng = random.Random(seed)
    ballots = []
    for _ in range(400):
        order = rng.sample(OPTIONS, rng.randint(1, len(OPTIONS)))
        if duplicates and len(order) > 2 and rng.random() < 0.2:
            order.insert(rng.randrange(1, len(order)), order[0])
        marks = [frozenset([c]) for c in order]
        if blanks and len(marks) > 1 and rng.random() < 0.2:
            marks.insert(rng.randrange(1, len(marks)), frozenset())
        ballots.append(Ballot(tuple(marks), rng.randint(1, 3)))
    return ballots


@pytest.mark.parametrize("seed", range(6))
@pytest.mark.parametrize(
    ("method", "seats"), [("irv", 1), ("stv", 2), ("stv", 3)], ids=["irv", "stv2", "stv3"]
)
@pytest.mark.parametrize(
    ("blanks", "duplicates"),
    [(False, False), (True, False), (False, True)],
    ids=["plain", "blanks", "duplicates"],
)
def test_last_release_in_bulk_matches_the_scan(
    monkeypatch: pytest.MonkeyPatch,
    seed: int,
    method: str,
    seats: int,
    blanks: bool,
    duplicates: bool,
) -> None:
    rules = Rules(seats=seats, exhaust_on_duplicate=duplicates, decimal_places=4)
    election = make_election(
        method, OPTIONS, profile(seed, blanks=blanks, duplicates=duplicates), rules
    )
    used: list[bool] = []
    bulk = ranked_module._RankedCount._last_release

    def spy(self: ranked_module._RankedCount, *args: object) -> bool:
        used.append(bulk(self, *args))  # type: ignore[arg-type]
        return used[-1]

    monkeypatch.setattr(ranked_module._RankedCount, "_last_release", spy)
    fast = tabulate(election, lot=SeededLot(b"scan paths"))
    monkeypatch.setattr(ranked_module._RankedCount, "_last_release", lambda *args: False)
    assert tabulate(election, lot=SeededLot(b"scan paths")) == fast
    if not blanks and not duplicates:
        assert all(used)  # empty when a majority decides before the last transfer
    if blanks or duplicates:
        assert not any(used)
