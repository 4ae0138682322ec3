"""Lots: reproducible choices among tied options.

civicforum publishes the seed before counting (the ledger's final checkpoint root hash), so any
auditor can redo every draw with :class:`SeededLot` and a SHA-256 implementation.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable, Mapping, Sequence
from typing import Protocol

from civicforum.tabulation.errors import TieBreakError
from civicforum.tabulation.javarandom import JavaRandom
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


class JavaRandomLot:
    """RCTab's draws: one ``java.util.Random(randomSeed)`` per count, one ``nextDouble()`` per tie.

    The pick is ``tied[floor(x * len(tied))]``, so ``tied`` must come in RCTab's order: sorted
    by ``String.compareTo``, or after previous-round counts in ``HashSet`` order
    (:mod:`civicforum.tabulation.ties` hands them over that way).
    """

    def __init__(self, seed: int) -> None:
        self.seed = seed
        self.random = JavaRandom(seed)

    def choose(self, tied: Sequence[str], *, kind: TieKind, round_number: int) -> str:
        return tied[int(self.random.next_double() * len(tied))]

    def describe(self) -> str:
        return f"RCTab's random draw (java.util.Random, randomSeed {self.seed})"


class AnsweredLot:
    """The operator's answers to ties, in the order the ties arise (RCTab asks on screen).

    A tie with no answer left, or whose answer is not among the tied, raises TieBreakError
    saying which tie needs which answer.
    """

    def __init__(self, answers: Iterable[str]) -> None:
        self.answers = list(answers)
        self.used = 0

    def choose(self, tied: Sequence[str], *, kind: TieKind, round_number: int) -> str:
        number = self.used + 1
        verb = "eliminate" if kind == "eliminate" else "elect"
        if self.used >= len(self.answers):
            raise TieBreakError(
                f"tie {number} (round {round_number}, whom to {verb} among "
                f"{', '.join(tied)}) needs an answer: add --tiebreak-answer NAME"
            )
        answer = self.answers[self.used]
        if answer not in tied:
            raise TieBreakError(
                f"answer {number} ({answer!r}) is not among the tied candidates of round "
                f"{round_number} ({', '.join(tied)})"
            )
        self.used += 1
        return answer

    def describe(self) -> str:
        return "the operator's answer"


class RenamedLot:
    """A lot drawn under other names: ``names`` maps a shown name to the name the lot uses.

    civicforum draws its lot over option ids (``SHA-256(seed || "o1")``) while its downloads
    name options by label; the rules file of a download carries this map, so a recount of the
    download draws exactly what the published count drew.
    """

    def __init__(self, lot: Lot, names: Mapping[str, str]) -> None:
        self.lot = lot
        self.names = dict(names)
        self.back = {inner: shown for shown, inner in self.names.items()}

    def choose(self, tied: Sequence[str], *, kind: TieKind, round_number: int) -> str:
        inner = [self.names.get(name, name) for name in tied]
        picked = self.lot.choose(inner, kind=kind, round_number=round_number)
        return self.back.get(picked, picked)

    def describe(self) -> str:
        return f"{self.lot.describe()}, drawn over the option ids"
