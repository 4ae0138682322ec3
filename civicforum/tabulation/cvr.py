"""From cast vote records as (rank, name) marks to a canonical :class:`Election`.

Every reader (RCTab's six providers, NIST CDF, the RCTab-style CSV) turns a cast vote record
into the marks RCTab builds it from: ``(rank, label)`` pairs, where the label is a candidate
name, an alias of one, :data:`OVERVOTE` (an overvote without names) or the undeclared write-in
pseudo-candidate. :class:`BallotBuilder` resolves aliases, groups the marks by rank and counts
identical records, so readers stay small and all of them treat marks the same way.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Hashable, Iterable, Mapping, Sequence
from typing import Any

from civicforum.tabulation.errors import InputFormatError, InvalidElectionError
from civicforum.tabulation.types import (
    OVERVOTE,
    Election,
    Ranking,
    Rules,
    election_from_codes,
)

Marks = Iterable[tuple[int, str]]


class BallotBuilder:
    """Collects cast vote records for ``names`` (in tie-break order) from one or more files.

    ``aliases`` maps every accepted label (names included) to its candidate name. Unknown
    labels are counted, not fatal at once, so that the error can list them all, as RCTab does.
    A record marking a rank above ``max_rank`` is refused at once.
    """

    def __init__(
        self,
        names: Sequence[str],
        aliases: Mapping[str, str] | None = None,
        *,
        max_rank: int | None = None,
    ) -> None:
        self.names = tuple(names)
        self.max_rank = max_rank
        self.aliases: dict[str, str] = {name: name for name in names}
        self.aliases.update(aliases or {})
        self.aliases[OVERVOTE] = OVERVOTE
        self.positions: list[frozenset[str]] = [frozenset()]
        self._codes: dict[frozenset[str], int] = {frozenset(): 0}
        self.counts: Counter[Ranking] = Counter()
        self.unknown: Counter[str] = Counter()
        self.records = 0
        # Readers may remember what a row of theirs added (RCTab's scale test reads thirteen
        # copies of one file): reader settings -> row -> ranking key.
        self.memo: dict[Hashable, dict[Any, tuple[int, ...]]] = {}

    def add_key(self, key: tuple[int, ...], count: int) -> None:
        """Add ``count`` more records of a ranking ``add`` returned before."""
        self.counts[key] += count
        self.records += count

    def add(self, marks: Marks, count: int = 1, *, where: str = "") -> tuple[int, ...]:
        """Add ``count`` identical records marked ``marks``; ``where`` names one in errors.

        Returns the ranking's key, for ``add_key``.
        """
        ranks: dict[int, list[str]] = {}
        for rank, label in marks:
            if type(rank) is not int or rank < 1:
                raise InputFormatError(f"{where}bad rank {rank!r}: ranks are whole numbers from 1")
            name = self.aliases.get(label)
            if name is None:
                self.unknown[label] += count
                continue
            ranks.setdefault(rank, []).append(name)
        key: list[int] = []
        codes = self._codes
        last = max(ranks, default=0)
        if self.max_rank is not None and last > self.max_rank:
            raise InputFormatError(
                f"{where}a cast vote record marks rank {last}, but maxRankingsAllowed is "
                f"{self.max_rank} (RCTab refuses it too)"
            )
        for rank in range(1, last + 1):
            marked = ranks.get(rank)
            if not marked:
                key.append(0)
                continue
            cell = frozenset(marked)
            if len(cell) != len(marked):
                # RCTab counts a name twice at one rank as two marks (an overvote of one
                # candidate); a set of names cannot say that, so refuse rather than miscount.
                twice = next(n for n in marked if marked.count(n) > 1)
                raise InputFormatError(
                    f"{where}{twice!r} is marked twice at rank {rank}, which RCTab counts as an "
                    "overvote and civicforum cannot represent"
                )
            code = codes.get(cell)
            if code is None:
                code = codes[cell] = len(self.positions)
                self.positions.append(cell)
            key.append(code)
        found = tuple(key)
        self.counts[found] += count
        self.records += count
        return found

    def check_known(self, where: str) -> None:
        """Refuse labels that name no candidate, listing each with how often it appears."""
        if self.unknown:
            listed = ", ".join(f"{label!r} ({n}x)" for label, n in sorted(self.unknown.items()))
            raise InputFormatError(f"unrecognised candidate(s) in {where}: {listed}")

    def election(self, method: str, rules: Rules, *, where: str) -> Election:
        """The canonical election; errors name ``where`` (the file)."""
        self.check_known(where)
        try:
            return election_from_codes(method, self.names, self.positions, self.counts, rules)
        except InvalidElectionError as exc:
            raise InputFormatError(f"{where}: {exc}") from None
