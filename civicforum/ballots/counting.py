"""From vote-log values to a tabulated result: plain values in, canonical JSON bytes out.

This module imports only the pure packages, so the count it performs is exactly what an auditor
recomputes from the ``ballot.opened`` entry, the live ``ballot.cast`` choices and the seed:
candidates are the option ids in ballot order, the rules are the entry's ``rules`` object
(``Rules.from_json``), and ties are broken by ``SeededLot(checkpoint root)``.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

from civicforum.ledger.entry import canonical_json
from civicforum.tabulation import (
    Ballot,
    Election,
    Result,
    Rules,
    SeededLot,
    make_election,
    result_to_json,
    tabulate,
)
from civicforum.tabulation.types import TieKind


def ballot_of_choice(method: str, choice: Sequence[Any]) -> Ballot:
    """One ``ballot.cast`` choice as a tabulation ballot (empty choice = blank ballot)."""
    if method == "approval":
        return Ballot((frozenset(choice),) if choice else ())
    return Ballot(tuple(frozenset(position) for position in choice))


def election_of(
    method: str, option_ids: Sequence[str], rules: Mapping[str, Any], choices: Iterable[Any]
) -> Election:
    """The election an auditor rebuilds from the log."""
    ballots = (ballot_of_choice(method, c) for c in choices)
    return make_election(method, option_ids, ballots, Rules.from_json(rules))


def count(
    method: str,
    option_ids: Sequence[str],
    rules: Mapping[str, Any],
    choices: Iterable[Any],
    seed: bytes,
) -> tuple[Result, bytes]:
    """Tabulate with the lot seeded by ``seed``; return the result and its canonical JSON."""
    election = election_of(method, option_ids, rules, choices)
    result = tabulate(election, lot=SeededLot(seed))
    return result, canonical_json(result_to_json(result))


class UndecidedLot:
    """Stands in for the lot while a ballot is open: the lot's seed is the checkpoint signed
    right after closing, so no tie that needs it can be decided before. It lets the count go on
    (taking the first tied option in name order, a choice shown nowhere) and records every
    tie it was asked about, so the page can stop at the first one and call it undecided."""

    def __init__(self) -> None:
        self.ties: list[tuple[int, TieKind, tuple[str, ...]]] = []

    def choose(self, tied: Sequence[str], *, kind: TieKind, round_number: int) -> str:
        self.ties.append((round_number, kind, tuple(tied)))
        return sorted(tied)[0]

    def describe(self) -> str:
        return "undecided until the ballot closes"


def provisional(
    method: str, option_ids: Sequence[str], rules: Mapping[str, Any], choices: Iterable[Any]
) -> tuple[Result, UndecidedLot]:
    """A count for an open ballot that shows results; ``lot.ties`` lists the ties only the
    closing lot can break (the count is meaningful up to the first of them)."""
    lot = UndecidedLot()
    return tabulate(election_of(method, option_ids, rules, choices), lot=lot), lot


def has_votes(total_ballots: int, undervotes: int) -> bool:
    """Whether any ballot expressed a choice. Without one, the count's "winners" were drawn by
    lot among options that all have nothing: nobody won, and nothing is adopted (issue 15)."""
    return total_ballots - undervotes > 0


def decided_winners(result: Result | Mapping[str, Any]) -> tuple[str, ...]:
    """The winners the ballots decided: none when no ballot expressed a choice. Takes the
    Result or its published JSON form (``winners``, ``totalBallots``, ``undervotes``)."""
    if isinstance(result, Mapping):
        winners = tuple(str(w) for w in result["winners"])
        total, blank = int(result["totalBallots"]), int(result["undervotes"])
    else:
        winners, total, blank = result.winners, result.total_ballots, result.undervotes
    return winners if has_votes(total, blank) else ()


def sha256_hex(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()
