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


def provisional(
    method: str, option_ids: Sequence[str], rules: Mapping[str, Any], choices: Iterable[Any]
) -> Result | None:
    """A count without a lot (for open ballots that show results); None if a lot is needed."""
    from civicforum.tabulation import TieBreakError

    try:
        return tabulate(election_of(method, option_ids, rules, choices), lot=None)
    except TieBreakError:
        return None


def sha256_hex(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()
