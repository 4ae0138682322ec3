"""Condorcet completion by the Schulze method (beatpath), with a full ranking.

Counting rule: ``pairwise[a][b]`` is the number of ballots ranking a above b (options marked at
the same rank are tied on that ballot; unranked options come below every ranked one; a repeated
option counts at its first rank; an unidentified ``#OVERVOTE`` mark says nothing). The strongest
path strength ``p[a][b]`` is the widest path over the defeats ``d[a][b] > d[b][a]`` measured by
the winning votes ``d[a][b]`` (Floyd-Warshall). a beats b when ``p[a][b] > p[b][a]``; the ranking
repeatedly takes the options unbeaten among those left.

Tie rule: when several options are unbeaten, one is taken by the tie-break order or the lot
(see :mod:`civicforum.tabulation.ties`) and the draw is recorded. The first ``rules.seats``
options of the ranking are the winners (normally one).
"""

from __future__ import annotations

from civicforum.tabulation.lot import Lot
from civicforum.tabulation.ties import break_tie
from civicforum.tabulation.types import Election, Result, TieBreak


def pairwise_counts(election: Election) -> list[list[int]]:
    """``d[a][b]``: ballots (weighted by count) ranking option a strictly above option b."""
    n = len(election.options)
    index = {name: i for i, name in enumerate(election.options)}
    positions = [[index[x] for x in pos if x in index] for pos in election.positions]
    d = [[0] * n for _ in range(n)]
    for ranking, count in zip(election.rankings, election.counts, strict=True):
        rank = [len(ranking)] * n  # unranked: below everything ranked
        for level, code in enumerate(ranking):
            for c in positions[code]:
                if rank[c] > level:
                    rank[c] = level
        for a in range(n):
            ra, row = rank[a], d[a]
            for b in range(n):
                if ra < rank[b]:
                    row[b] += count
    return d


def strongest_paths(d: list[list[int]]) -> list[list[int]]:
    """Widest-path strengths over the pairwise defeats (Schulze 2011, section 2.3)."""
    n = len(d)
    p = [[d[i][j] if i != j and d[i][j] > d[j][i] else 0 for j in range(n)] for i in range(n)]
    for k in range(n):
        pk = p[k]
        for i in range(n):
            if i == k:
                continue
            pik = p[i][k]
            if not pik:
                continue
            pi = p[i]
            for j in range(n):
                if j != i and j != k:
                    via = pik if pik < pk[j] else pk[j]
                    if via > pi[j]:
                        pi[j] = via
    return p


def tally_schulze(election: Election, *, lot: Lot | None = None) -> Result:
    """Rank all options by the Schulze method; ties among unbeaten options use the tie rule."""
    options, rules = election.options, election.rules
    n = len(options)
    d = pairwise_counts(election)
    p = strongest_paths(d)
    left = list(range(n))
    ranking: list[int] = []
    tiebreaks: list[TieBreak] = []
    while left:
        unbeaten = [a for a in left if all(p[a][b] >= p[b][a] for b in left if b != a)]
        if len(unbeaten) == 1:
            choice = unbeaten[0]
        else:
            names = ", ".join(sorted(options[c] for c in unbeaten))
            lead = f"{names} are unbeaten for ranking place {len(ranking) + 1}"
            choice, record = break_tie(
                unbeaten,
                kind="elect",
                round_number=1,
                history=[[0] * n],
                options=options,
                rules=rules,
                lot=lot,
                lead=lead,
            )
            tiebreaks.append(record)
        ranking.append(choice)
        left.remove(choice)
    undervotes = sum(c for r, c in zip(election.rankings, election.counts, strict=True) if not r)
    winners = tuple(options[c] for c in ranking[: rules.seats])
    return Result(
        method="schulze",
        options=options,
        winners=winners,
        rounds=(),
        tiebreaks=tuple(tiebreaks),
        threshold=None,
        total_ballots=election.total_ballots,
        undervotes=undervotes,
        seats=rules.seats,
        ranking=tuple(options[c] for c in ranking),
        pairwise={options[a]: {options[b]: d[a][b] for b in range(n) if b != a} for a in range(n)},
        strongest_paths={
            options[a]: {options[b]: p[a][b] for b in range(n) if b != a} for a in range(n)
        },
    )
