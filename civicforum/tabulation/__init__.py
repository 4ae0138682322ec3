"""Pure tabulation engine: approval, instant-runoff, STV (RCTab 2.0 rules) and Schulze.

Standard library only, exact arithmetic, no I/O outside ``formats`` and ``cli``.
"""

from __future__ import annotations

from civicforum.tabulation.engine import tabulate
from civicforum.tabulation.errors import (
    InputFormatError,
    InvalidElectionError,
    TabulationError,
    TieBreakError,
)
from civicforum.tabulation.lot import Lot, RecordedLot, SeededLot
from civicforum.tabulation.serialize import election_from_json, election_to_json, result_to_json
from civicforum.tabulation.types import (
    OVERVOTE,
    Ballot,
    Election,
    Result,
    Round,
    Rules,
    TieBreak,
    election_from_codes,
    make_election,
)

__all__ = [
    "OVERVOTE",
    "Ballot",
    "Election",
    "InputFormatError",
    "InvalidElectionError",
    "Lot",
    "RecordedLot",
    "Result",
    "Round",
    "Rules",
    "SeededLot",
    "TabulationError",
    "TieBreak",
    "TieBreakError",
    "election_from_codes",
    "election_from_json",
    "election_to_json",
    "make_election",
    "result_to_json",
    "tabulate",
]
