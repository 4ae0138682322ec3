"""Pure tabulation engine: approval, instant-runoff, STV (RCTab 2.0 rules) and Schulze.

Exact arithmetic; standard library only, but for the optional Rust/C++ file readers
(python-calamine, and pyarrow/fastexcel from the ``fast`` extra). File I/O only in the readers
(``formats``, ``cdf``, ``arrowcsv``, ``rulesfile``, ``rctab``) and ``cli``; no Flask, no
database. ``rctab`` reads RCTab contest configurations and their cast vote record files.
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
