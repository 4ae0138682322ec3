"""JSON shapes: elections in (the corpus case format and the approval format), results out.

``result_to_json`` is the stable, canonical-JSON-serialisable form the ledger hashes. Vote amounts
are JSON integers when whole and otherwise numbers with at most ``decimal_places`` decimals
(written from exact decimals; read them back with ``parse_float=decimal.Decimal``).
"""

from __future__ import annotations

from collections.abc import Mapping
from decimal import Decimal
from typing import Any

from civicforum.tabulation.errors import InvalidElectionError
from civicforum.tabulation.types import (
    Ballot,
    Election,
    Result,
    Rules,
    make_election,
    normalise_method,
)

RESULT_FORMAT = "civicforum-tabulation-result/1"


def _amount(value: Decimal) -> int | float:
    """Whole amounts as int; others as the float whose shortest repr is the exact decimal."""
    if value == value.to_integral_value():
        return int(value)
    as_float = float(value)
    if Decimal(repr(as_float)) != value:  # pragma: no cover - needs > 15 significant digits
        raise InvalidElectionError(f"amount {value} cannot be written exactly as JSON")
    return as_float


def _names(value: Any, what: str) -> list[str]:
    if not isinstance(value, list) or not all(isinstance(x, str) for x in value):
        raise InvalidElectionError(f"{what} must be a list of strings")
    return value


def _count(entry: Mapping[str, Any], number: int) -> int:
    count = entry.get("count", 1)
    if not isinstance(count, int) or isinstance(count, bool) or count < 0:
        raise InvalidElectionError(f"ballot {number}: count must be a non-negative integer")
    return count


def ballot_from_json(entry: Any, number: int) -> Ballot:
    """One ``{"ranking": [[...], ...], "count": n}`` or ``{"approvals": [...], "count": n}``."""
    if not isinstance(entry, Mapping):
        raise InvalidElectionError(f"ballot {number}: expected an object")
    if unknown := sorted(set(entry) - {"ranking", "approvals", "count"}):
        raise InvalidElectionError(f"ballot {number}: unknown keys {unknown}")
    count = _count(entry, number)
    if "approvals" in entry:
        marks = frozenset(_names(entry["approvals"], f"ballot {number}: approvals"))
        return Ballot((marks,) if marks else (), count)
    ranking = entry.get("ranking")
    if not isinstance(ranking, list):
        raise InvalidElectionError(f"ballot {number}: ranking must be a list of lists")
    positions = []
    for rank in ranking:
        names = _names(rank, f"ballot {number}: each rank")
        if len(set(names)) != len(names):
            raise InvalidElectionError(f"ballot {number}: an option repeats within one rank")
        positions.append(frozenset(names))
    return Ballot(tuple(positions), count)


def election_from_json(data: Mapping[str, Any]) -> Election:
    """Rebuild an election from a case file (``expected`` ignored) or the approval format.

    Keys: ``method`` (or the corpus' ``category``), ``candidates`` (or ``options``), ``ballots``
    and ``rules`` (RCTab names; ``seats`` is accepted for ``numberOfWinners``).
    """
    if not isinstance(data, Mapping):
        raise InvalidElectionError("an election must be a JSON object")
    method = data.get("method", data.get("category"))
    if not isinstance(method, str):
        raise InvalidElectionError("missing 'method' (approval, irv, stv or schulze)")
    options = _names(data.get("candidates", data.get("options")), "candidates")
    rules_data = data.get("rules", {})
    if not isinstance(rules_data, Mapping):
        raise InvalidElectionError("rules must be an object")
    rules = Rules.from_json(rules_data)
    ballots = data.get("ballots")
    if not isinstance(ballots, list):
        raise InvalidElectionError("ballots must be a list")
    parsed = (ballot_from_json(b, i) for i, b in enumerate(ballots, 1))
    return make_election(normalise_method(method), options, parsed, rules)


def election_to_json(election: Election) -> dict[str, Any]:
    """The inverse of ``election_from_json``: canonical (grouped, sorted) ballots."""
    ballots: list[dict[str, Any]] = []
    approval = election.method == "approval"
    for ballot in election.ballots:
        if approval:
            marks = sorted(ballot.ranking[0]) if ballot.ranking else []
            ballots.append({"approvals": marks, "count": ballot.count})
        else:
            ranking = [sorted(pos) for pos in ballot.ranking]
            ballots.append({"ranking": ranking, "count": ballot.count})
    return {
        "method": election.method,
        "candidates": list(election.options),
        "rules": election.rules.to_json(),
        "ballots": ballots,
    }


def _matrix(m: Mapping[str, Mapping[str, int]] | None) -> Any:
    return None if m is None else {a: dict(row) for a, row in m.items()}


def result_to_json(result: Result) -> dict[str, Any]:
    """Stable JSON form: ``winners`` and ``rounds`` shaped like the corpus' ``expected``."""

    def amounts(m: Mapping[str, Decimal]) -> dict[str, int | float]:
        return {k: _amount(v) for k, v in m.items()}

    rounds: list[dict[str, Any]] = []
    for r in result.rounds:
        rounds.append(
            {
                "round": r.number,
                "threshold": None if r.threshold is None else _amount(r.threshold),
                "tally": amounts(r.tally),
                "elected": list(r.elected),
                "eliminated": list(r.eliminated),
                "exhausted": _amount(r.exhausted),
                "inactive": amounts(r.inactive),
                "transfers": {src: amounts(moves) for src, moves in r.transfers.items()},
            }
        )
    out: dict[str, Any] = {
        "format": RESULT_FORMAT,
        "method": result.method,
        "seats": result.seats,
        "options": list(result.options),
        "winners": list(result.winners),
        "threshold": None if result.threshold is None else _amount(result.threshold),
        "totalBallots": result.total_ballots,
        "undervotes": result.undervotes,
        "rounds": rounds,
        "tiebreaks": [
            {
                "round": t.round,
                "type": t.kind,
                "tied": list(t.tied),
                "selected": t.selected,
                "explanation": t.explanation,
            }
            for t in result.tiebreaks
        ],
    }
    if result.passes:
        out["passes"] = [result_to_json(p) for p in result.passes]
    if result.method == "schulze":
        out["ranking"] = list(result.ranking or ())
        out["pairwise"] = _matrix(result.pairwise)
        out["strongestPaths"] = _matrix(result.strongest_paths)
    return out
