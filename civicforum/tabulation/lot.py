"""Lots: reproducible choices among tied options.

civicforum publishes the seed before counting (the ledger's final checkpoint root hash), so any
auditor can redo every draw with :class:`SeededLot` and a SHA-256 implementation.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable, Sequence
from typing import Protocol

from civicforum.tabulation.errors import TieBreakError
from civicforum.tabulation.types import TieKind


class Lot(Protocol):
    """Draws one option out of ``tied`` (sorted by name) for a tie in ``round_number``."""

    def choose(self, tied: Sequence[str], *, kind: TieKind, round_number: int) -> str:
        """Return the option to eliminate (kind "eliminate") or to elect (kind "elect")."""
        ...

    def describe(self) -> str:
        """Short human description used in tie-break explanations."""
        ...


class SeededLot:
    """The lot drawn from a published seed: a fixed priority order of the options.

    Each option's priority is ``SHA-256(seed || UTF-8 bytes of the option name)``. Among tied
    options the one with the lowest digest (as a big-endian number) is *elected* first and the
    one with the highest digest is *eliminated* first. The order does not depend on the round or
    on which other options are tied, so an auditor can list it once for the whole count.
    """

    def __init__(self, seed: bytes) -> None:
        if not isinstance(seed, bytes | bytearray) or not seed:
            raise TieBreakError("the lot seed must be non-empty bytes")
        self.seed = bytes(seed)

    def priority(self, option: str) -> bytes:
        """The option's digest; lower is luckier."""
        return hashlib.sha256(self.seed + option.encode("utf-8")).digest()

    def order(self, options: Iterable[str]) -> list[str]:
        """Options from luckiest (elected first) to unluckiest (eliminated first)."""
        return sorted(options, key=lambda o: (self.priority(o), o))

    def choose(self, tied: Sequence[str], *, kind: TieKind, round_number: int) -> str:
        ordered = self.order(tied)
        return ordered[0] if kind == "elect" else ordered[-1]

    def describe(self) -> str:
        return (
            "lot (SHA-256(seed || name): lowest digest elected first, highest eliminated first;"
            f" seed {self.seed.hex()})"
        )


class RecordedLot:
    """Replays draws recorded elsewhere, e.g. RCTab's Java RNG outcomes in the corpus.

    ``records`` are ``(round, kind, selected)``; asking for a draw that was not recorded, or whose
    recorded choice is not among the tied options, raises TieBreakError.
    """

    def __init__(self, records: Iterable[tuple[int, TieKind, str]]) -> None:
        self.records = {(r, k): s for r, k, s in records}

    def choose(self, tied: Sequence[str], *, kind: TieKind, round_number: int) -> str:
        selected = self.records.get((round_number, kind))
        if selected is None or selected not in tied:
            raise TieBreakError(
                f"no recorded draw for the {kind} tie in round {round_number} among {list(tied)}"
            )
        return selected

    def describe(self) -> str:
        return "recorded draw"
