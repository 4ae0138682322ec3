"""Adapter from vote-log entries to ``civicforum.tabulation``: the recount of one ballot."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from civicforum.ledger.entry import APPROVAL_METHODS


def election_json(opened: Mapping[str, Any], choices: Sequence[Any]) -> dict[str, Any]:
    """The tabulation input for a closed ballot: its definition and the live choices."""
    approval = opened["method"] in APPROVAL_METHODS
    key = "approvals" if approval else "ranking"
    # Identical ballots are grouped (with a count) first: tabulation groups them anyway, and a
    # ballot of a million votes has few distinct choices.
    groups: dict[str, tuple[Any, int]] = {}
    for choice in choices:
        sig = repr(choice)
        seen = groups.get(sig)
        groups[sig] = (choice, 1) if seen is None else (seen[0], seen[1] + 1)
    return {
        "method": opened["method"],
        "options": [option["id"] for option in opened["options"]],
        "rules": dict(opened["rules"]),
        "ballots": [{key: list(choice), "count": n} for choice, n in groups.values()],
    }


def recount(opened: Mapping[str, Any], choices: Sequence[Any], seed: bytes) -> dict[str, Any]:
    """Tabulate with the lot seeded by the closing checkpoint root; returns the result JSON."""
    # Imported lazily so `civicforum-audit verify --skip-recount` works without tabulation.
    from civicforum.tabulation import SeededLot, election_from_json, result_to_json, tabulate

    election = election_from_json(election_json(opened, choices))
    return result_to_json(tabulate(election, lot=SeededLot(seed)))
