"""Tie-breaking for ranked counts, following RCTab 2.0's tie-break modes.

* ``useCandidateOrder`` / ``usePermutationInConfig`` / ``generatePermutation``: a fixed order
  (``tiebreak_permutation``, else the option order). The tied option listed *latest* is
  eliminated; the one listed *earliest* is elected. ``generatePermutation`` with a
  ``random_seed`` gets RCTab's own shuffle (see ``ranked``); without one it uses the lot's order.
* ``random``: the lot decides (RCTab: ``java.util.Random(randomSeed)``).
* ``stopCountingAndAsk``: the operator's answer decides (an :class:`AnsweredLot`).
* ``previousRoundCountsThenRandom`` / ``previousRoundCountsThenAsk``: walk back from the
  previous round to round 1, keeping only the tied options with the fewest (eliminating) or
  most (electing) votes in that round; stop when one is left. A tie that survives round 1 goes
  to the lot, or to an answer.

Tied names are sorted as Java sorts them (``String.compareTo``). After the backward walk RCTab
holds them in ``java.util.HashSet`` iteration order, and its random draw indexes that order, so
they are handed to the lot in that order too (a seeded SHA-256 lot does not depend on it).
"""

from __future__ import annotations

from collections.abc import Sequence

from civicforum.tabulation.errors import TieBreakError
from civicforum.tabulation.javarandom import hashset_order, java_sorted
from civicforum.tabulation.lot import Lot
from civicforum.tabulation.types import Rules, TieBreak, TieKind, to_decimal

_PERMUTATION_MODES = ("useCandidateOrder", "usePermutationInConfig", "generatePermutation")
_WALK_MODES = ("previousRoundCountsThenRandom", "previousRoundCountsThenAsk")


def break_tie(
    tied: Sequence[int],
    *,
    kind: TieKind,
    round_number: int,
    history: Sequence[Sequence[int]],
    options: Sequence[str],
    rules: Rules,
    lot: Lot | None,
    lead: str | None = None,
) -> tuple[int, TieBreak]:
    """Pick one of the tied option indices; ``history[r]`` holds round r+1's scaled tallies.

    Returns the choice and its TieBreak record (tied names sorted, as RCTab sorts them).
    ``lead`` replaces the default description of the tie in the explanation.
    """
    names = java_sorted(options[i] for i in tied)
    index = {options[i]: i for i in tied}
    places = rules.decimal_places
    verb = "eliminated" if kind == "eliminate" else "elected"
    if lead is None:
        current = to_decimal(history[round_number - 1][tied[0]], places)
        lead = f"{', '.join(names)} tied at {current} votes in round {round_number}"
    mode = rules.tiebreak_mode
    if mode in _PERMUTATION_MODES and (
        rules.tiebreak_permutation is not None or mode != "generatePermutation"
    ):
        order = list(rules.tiebreak_permutation or options)
        order += [o for o in options if o not in order]  # e.g. undeclared write-ins: last
        position = {name: order.index(name) for name in names}
        ranked = sorted(names, key=position.__getitem__)
        selected = ranked[-1] if kind == "eliminate" else ranked[0]
        where = "latest" if kind == "eliminate" else "earliest"
        why = f"{selected} is listed {where} in the tie-break order ({mode})"
        return index[selected], TieBreak(
            round_number, kind, tuple(names), selected, f"{lead}; {why}"
        )
    remaining = list(names)  # in name order, for the explanation
    drawn = list(names)  # in RCTab's order, for its random draw
    steps: list[str] = []
    walked = mode in _WALK_MODES and round_number > 1
    if walked:
        pick = min if kind == "eliminate" else max
        for back in range(round_number - 1, 0, -1):
            counts = {n: history[back - 1][index[n]] for n in remaining}
            best = pick(counts.values())
            kept = [n for n in remaining if counts[n] == best]
            if len(kept) < len(remaining):
                shown = ", ".join(f"{n} {to_decimal(counts[n], places)}" for n in remaining)
                steps.append(f"round {back}: {shown}")
            remaining = kept
            drawn = [n for n in hashset_order(drawn) if counts[n] == best]
            if len(remaining) == 1:
                selected = remaining[0]
                why = f"previous round counts ({'; '.join(steps)}): {selected} {verb}"
                return index[selected], TieBreak(
                    round_number, kind, tuple(names), selected, f"{lead}; {why}"
                )
    if lot is None:
        if mode in ("stopCountingAndAsk", "previousRoundCountsThenAsk"):
            raise TieBreakError(f"{lead}: {mode} needs the answer: add --tiebreak-answer NAME")
        raise TieBreakError(
            f"{lead}: breaking it needs a lot; pass a published seed (e.g. --seed HEX)"
        )
    selected = lot.choose(tuple(drawn), kind=kind, round_number=round_number)
    if selected not in remaining:
        raise TieBreakError(f"the lot chose {selected!r}, which is not among {remaining}")
    prefix = ""
    if walked:
        prefix = f"previous round counts ({'; '.join(steps) or 'still tied'}), then "
    why = f"{prefix}{lot.describe()}: {selected} {verb}"
    return index[selected], TieBreak(round_number, kind, tuple(names), selected, f"{lead}; {why}")
