"""Approval voting: one point per approved option, the ``seats`` highest totals win.

Counting rule: a ballot approving more than ``rules.max_approvals`` options, or carrying an
unidentified overvote mark, is void and reported as "overvotes"; a ballot approving nothing is
an undervote. Tie rule: options tied across the last winning place are separated by the tie-break
order (``useCandidateOrder``/``usePermutationInConfig``/``generatePermutation`` with a stored
permutation) or else by the lot; every such draw is recorded in ``Result.tiebreaks``.
"""

from __future__ import annotations

from civicforum.tabulation.errors import InvalidElectionError
from civicforum.tabulation.lot import Lot
from civicforum.tabulation.ties import break_tie
from civicforum.tabulation.types import (
    INACTIVE_CAUSES,
    OVERVOTE,
    Election,
    Result,
    Round,
    TieBreak,
    to_decimal,
)


def tally_approval(election: Election, *, lot: Lot | None = None) -> Result:
    """Sum approvals per option and elect the top ``rules.seats``; ties need the tie rule above."""
    rules, options = election.rules, election.options
    n = len(options)
    index = {name: i for i, name in enumerate(options)}
    totals = [0] * n
    void = undervotes = 0
    limit = rules.max_approvals
    for ranking, count in zip(election.rankings, election.counts, strict=True):
        if not ranking:
            undervotes += count
            continue
        if len(ranking) > 1:
            raise InvalidElectionError("an approval ballot has exactly one set of approvals")
        marks = election.positions[ranking[0]]
        if OVERVOTE in marks or (limit is not None and len(marks) > limit):
            void += count
            continue
        for name in marks:
            totals[index[name]] += count
    order = sorted(range(n), key=lambda c: (-totals[c], options[c]))
    seats = min(rules.seats, n)
    winners: list[int] = []
    tiebreaks: list[TieBreak] = []
    if seats:
        cut = totals[order[seats - 1]]
        winners = [c for c in order if totals[c] > cut]
        pool = [c for c in order if totals[c] == cut]
        while len(winners) < seats:
            if len(pool) == seats - len(winners):
                winners += pool
                break
            names = ", ".join(sorted(options[c] for c in pool))
            lead = f"{names} tied at {cut} approvals for {seats - len(winners)} remaining seat(s)"
            choice, record = break_tie(
                pool,
                kind="elect",
                round_number=1,
                history=[totals],
                options=options,
                rules=rules,
                lot=lot,
                lead=lead,
            )
            tiebreaks.append(record)
            winners.append(choice)
            pool.remove(choice)
    inactive = dict.fromkeys(INACTIVE_CAUSES, to_decimal(0, 0))
    inactive["overvotes"] = to_decimal(void, 0)
    round_ = Round(
        number=1,
        threshold=None,
        tally={options[c]: to_decimal(totals[c], 0) for c in order},
        elected=tuple(options[c] for c in winners),
        eliminated=(),
        inactive=inactive,
        exhausted=to_decimal(void, 0),
        transfers={},
    )
    return Result(
        method="approval",
        options=options,
        winners=tuple(options[c] for c in winners),
        rounds=(round_,),
        tiebreaks=tuple(tiebreaks),
        threshold=None,
        total_ballots=election.total_ballots,
        undervotes=undervotes,
        seats=rules.seats,
    )
