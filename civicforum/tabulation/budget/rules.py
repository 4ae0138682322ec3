"""Allocation rules for participatory budgets, named as Pabulib names them.

Every ballot gives each project on it a *weight* (1 for approval, the points for cumulative
ballots, the Borda score for rankings: see ``types``); a project's *votes* are the voters who
named it and its *score* the sum of their weights.

* ``greedy``: projects in descending score, each funded if it still fits in what is left of the
  budget (it is skipped otherwise, and cheaper ones further down can still be funded).
* ``greedy-no-skip``: the same, but counting stops at the first project that does not fit.
* ``greedy-threshold``: ``greedy`` among the projects whose score reaches the threshold (Pabulib's
  ``min_project_score_threshold``); a threshold may also be given to the other greedy rules.
* ``equalshares``: the Method of Equal Shares with cost utilities (equalshares.net): the budget is
  split equally among the voters; each round funds the project that its supporters can pay for
  with the smallest payment per unit of weight, each supporter paying an equal part of the cost
  per unit of weight, or all they have left if that is less. A supporter's utility is taken to
  be the cost times the weight, so a round maximises ``cost / max_payment`` (the *effective vote
  count*). It stops when no remaining project can be paid for.
* ``equalshares/add1``: equalshares.net's recommended completion. Start from the whole currency
  units of the per-voter share (``floor(budget / voters)``) and raise it by one unit at a time;
  stop at the first share whose outcome is *exhaustive* (no further project with supporters fits
  in the real budget), or when the next share's outcome would cost more than the budget. If all
  projects together fit in the budget, equal shares runs once with the real budget, as the
  equalshares.net tool does. Exhaustiveness ignores projects nobody voted for (as pabutools
  does): equal shares can never fund them, and counting them would never end.
* ``equalshares/add1-comparison``: add1, then equalshares.net's comparison step against
  ``greedy``: if strictly more voters prefer the greedy outcome (it funds more of their ballot's
  weight) than prefer the equal-shares one, the greedy outcome is taken.

Ties (equal score for greedy, equal effective vote count for equal shares) are broken as
equalshares.net recommends: the lower cost first, then the higher vote count, then a fixed
order of the projects: ``tie_order`` if given (civicforum draws it by lot from a published
seed: ``SeededLot.order``), else the order in which the instance lists them. The same order
serves every run of the add1 completion. Each tie that changed an outcome is recorded.

All arithmetic is exact (``fractions.Fraction``). Equal-shares runs group voters by their
remaining share, so a run costs a few operations per supporter of each project it examines.
"""

from __future__ import annotations

import math
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass
from fractions import Fraction

from civicforum.tabulation.budget.results import (
    RULES,
    BudgetResult,
    Comparison,
    EqualSharesRound,
    GreedyOutcome,
    GreedyStep,
    Payment,
    ProjectTally,
    RuleName,
)
from civicforum.tabulation.budget.types import BudgetInstance, group_ballots
from civicforum.tabulation.errors import InvalidElectionError
from civicforum.tabulation.types import TieBreak

_ZERO = Fraction(0)


class _Profile:
    """An instance indexed for counting; built once and shared by every run of add1."""

    def __init__(self, instance: BudgetInstance, tie_order: Sequence[str] | None) -> None:
        self.instance = instance
        self.ids = [p.id for p in instance.projects]
        index = {pid: j for j, pid in enumerate(self.ids)}
        self.cost = [p.cost for p in instance.projects]
        self.budget = instance.budget
        # Voters who cast identical ballots always keep identical shares: count them once.
        ballots = group_ballots(instance.ballots)
        self.counts = [b.count for b in ballots]
        self.voters = sum(self.counts)
        self.ballot_weights = [{index[p]: w for p, w in b.weights().items()} for b in ballots]
        n = len(self.ids)
        self.supporters: list[list[tuple[int, Fraction]]] = [[] for _ in range(n)]
        # Per project and weight, ballot indices repeated once per voter: Counter over them
        # gives voters per share class at C speed.
        self.by_weight: list[dict[Fraction, list[int]]] = [{} for _ in range(n)]
        self.votes = [0] * n
        self.score = [_ZERO] * n
        for i, weights in enumerate(self.ballot_weights):
            count = self.counts[i]
            for j, w in weights.items():
                self.supporters[j].append((i, w))
                self.by_weight[j].setdefault(w, []).extend([i] * count)
                self.votes[j] += count
                self.score[j] += w * count
        order = list(tie_order) if tie_order is not None else self.ids
        if sorted(order) != sorted(self.ids):
            raise InvalidElectionError("tie_order must list every project exactly once")
        position = {pid: k for k, pid in enumerate(order)}
        self.tie_position = [position[pid] for pid in self.ids]
        self.tie_source = "the lot's order" if tie_order is not None else "the listing order"

    def tally(self) -> tuple[ProjectTally, ...]:
        return tuple(
            ProjectTally(pid, self.cost[j], self.votes[j], self.score[j])
            for j, pid in enumerate(self.ids)
        )

    def tie_key(self, j: int) -> tuple[Fraction, int, int]:
        """Lower cost, then more votes, then the fixed tie order."""
        return (self.cost[j], -self.votes[j], self.tie_position[j])

    def break_tie(self, tied: list[int], round_number: int, why: str) -> tuple[int, TieBreak]:
        winner = min(tied, key=self.tie_key)
        cheapest = [j for j in tied if self.cost[j] == self.cost[winner]]
        if len(cheapest) == 1:
            reason = "it costs least"
        elif sum(self.votes[j] == self.votes[winner] for j in cheapest) == 1:
            reason = "it costs least and has the most votes among the cheapest"
        else:
            reason = f"same cost and votes: it comes first in {self.tie_source}"
        names = tuple(sorted(self.ids[j] for j in tied))
        record = TieBreak(
            round_number,
            "elect",
            names,
            self.ids[winner],
            f"{', '.join(names)} tied ({why}); {self.ids[winner]} chosen because {reason}",
        )
        return winner, record

    def covered(self, selected: Sequence[int]) -> int:
        chosen = set(selected)
        return sum(
            c
            for c, weights in zip(self.counts, self.ballot_weights, strict=True)
            if not chosen.isdisjoint(weights)
        )


# ----------------------------------------------------------------------------- greedy


def _greedy(
    prof: _Profile, *, skip: bool, threshold: Fraction | None
) -> tuple[list[int], list[GreedyStep], list[TieBreak]]:
    """The greedy family; returns funded indices, the steps and the ties that mattered."""
    n = len(prof.ids)
    order = sorted(range(n), key=lambda j: (-prof.score[j], *prof.tie_key(j)))
    remaining = prof.budget
    funded: list[int] = []
    steps: list[GreedyStep] = []
    stopped = False
    outcome_of: dict[int, GreedyOutcome] = {}
    for j in order:
        outcome: GreedyOutcome
        if threshold is not None and prof.score[j] < threshold:
            outcome = "below-threshold"
        elif stopped:
            outcome = "not-reached"
        elif prof.cost[j] <= remaining:
            outcome = "funded"
            remaining -= prof.cost[j]
            funded.append(j)
        else:
            outcome = "does-not-fit"
            stopped = not skip
        outcome_of[j] = outcome
        steps.append(
            GreedyStep(prof.ids[j], prof.cost[j], prof.score[j], prof.votes[j], outcome, remaining)
        )
    ties: list[TieBreak] = []
    groups: dict[Fraction, list[int]] = {}
    for j in order:
        groups.setdefault(prof.score[j], []).append(j)
    for score, tied in groups.items():
        if len(tied) > 1 and len({outcome_of[j] for j in tied}) > 1:
            # Only a tie whose members fared differently changed anything.
            step = order.index(tied[0]) + 1
            _, record = prof.break_tie(tied, step, f"score {score}")
            ties.append(record)
    return funded, steps, ties


# ----------------------------------------------------------------------- equal shares


@dataclass(slots=True)
class _Run:
    """One equal-shares run at a fixed per-voter share."""

    selected: list[int]
    spent: Fraction
    rounds: list[EqualSharesRound]
    ties: list[TieBreak]
    support_left: dict[str, Fraction]
    over_limit: bool = False


def _equal_shares_run(
    prof: _Profile, share: Fraction, *, explain: bool, limit: Fraction | None = None
) -> _Run:
    """The Method of Equal Shares (cost utilities) with every voter starting at ``share``.

    Voters are kept in *share classes*: a class is a group of ballots with the same remaining
    share (class 0: untouched; class 1: nothing left). Funding a project moves each supporter
    from its class to the class "that class minus this payment", so examining a project only
    counts its supporters per class. With ``limit``, the run stops as soon as the funded cost
    exceeds it (the add1 loop only needs to know that).
    """
    cls = [0] * len(prof.counts)
    left = [share, _ZERO]  # class -> remaining share of each of its voters
    cost = prof.cost
    # Project -> an upper bound of its effective vote count: its score while no supporter has
    # paid anything; the last exact value after that (shares only shrink, so it only falls).
    bound = {j: prof.score[j] for j in range(len(cost)) if prof.score[j] > 0}
    selected: list[int] = []
    rounds: list[EqualSharesRound] = []
    ties: list[TieBreak] = []
    spent = _ZERO

    def examine(j: int) -> Fraction | None:
        """The payment per unit of weight that funds j, or None if its supporters cannot."""
        groups: list[tuple[Fraction, Fraction, Fraction, int]] = []
        money = _ZERO
        weight = _ZERO
        for w, members in prof.by_weight[j].items():
            for k, voters in Counter(map(cls.__getitem__, members)).items():
                b = left[k]
                if b > 0:
                    groups.append((b / w, b, w, voters))
                    money += b * voters
                    weight += w * voters
        if money < cost[j]:
            return None
        groups.sort()
        rest = cost[j]
        for ratio, b, w, voters in groups:
            if rest > ratio * weight:  # they cannot pay an equal part: they pay all they have
                rest -= b * voters
                weight -= w * voters
            else:
                break
        return rest / weight

    while bound:
        best: list[int] = []
        best_eff = _ZERO
        best_q: dict[int, Fraction] = {}
        for j in sorted(bound, key=bound.__getitem__, reverse=True):
            if bound[j] < best_eff:
                break
            q = examine(j)
            if q is None:
                del bound[j]  # unaffordable now, and shares only shrink
                continue
            eff = cost[j] / q
            bound[j] = eff
            best_q[j] = q
            if eff > best_eff:
                best, best_eff = [j], eff
            elif eff == best_eff:
                best.append(j)
        if not best:
            break
        number = len(selected) + 1
        winner = best[0]
        if len(best) > 1:
            winner, record = prof.break_tie(best, number, f"effective vote count {best_eff}")
            ties.append(record)
        q = best_q[winner]
        del bound[winner]
        selected.append(winner)
        spent += cost[winner]
        if limit is not None and spent > limit:
            return _Run(selected, spent, rounds, ties, {}, over_limit=True)
        paid: dict[tuple[Fraction, bool], int] = {}
        remap: dict[tuple[int, Fraction], int] = {}
        for i, w in prof.supporters[winner]:
            key = (cls[i], w)
            new = remap.get(key)
            b = left[key[0]]
            due = q * w
            if new is None:
                if b <= due:
                    new = 1
                else:
                    new = len(left)
                    left.append(b - due)
                remap[key] = new
            cls[i] = new
            if explain and b > 0:
                amount, emptied = (b, True) if b <= due else (due, False)
                paid[(amount, emptied)] = paid.get((amount, emptied), 0) + prof.counts[i]
        if explain:
            payments = tuple(
                Payment(amount, voters, emptied)
                for (amount, emptied), voters in sorted(paid.items(), reverse=True)
            )
            rounds.append(
                EqualSharesRound(
                    number,
                    prof.ids[winner],
                    cost[winner],
                    prof.votes[winner],
                    best_eff,
                    q,
                    payments,
                )
            )
    support_left: dict[str, Fraction] = {}
    if explain:
        chosen = set(selected)
        for j, pid in enumerate(prof.ids):
            if j not in chosen and prof.votes[j]:
                support_left[pid] = sum(
                    (
                        left[k] * voters
                        for members in prof.by_weight[j].values()
                        for k, voters in Counter(map(cls.__getitem__, members)).items()
                    ),
                    _ZERO,
                )
    return _Run(selected, spent, rounds, ties, support_left)


def _exhaustive(prof: _Profile, run: _Run) -> bool:
    """No project with supporters that is not funded still fits in the real budget."""
    chosen = set(run.selected)
    room = prof.budget - run.spent
    return not any(
        j not in chosen and prof.votes[j] and prof.cost[j] <= room for j in range(len(prof.ids))
    )


def _add1(prof: _Profile) -> tuple[_Run, Fraction, Fraction, int]:
    """equalshares.net's add1 completion: (final run, initial share, final share, steps)."""
    voters = prof.voters
    if sum(prof.cost, _ZERO) <= prof.budget:
        share = prof.budget / voters
        return _equal_shares_run(prof, share, explain=True), share, share, 0
    start = Fraction(math.floor(prof.budget / voters))
    share = start
    current = _equal_shares_run(prof, share, explain=False)
    while not _exhaustive(prof, current):
        following = _equal_shares_run(prof, share + 1, explain=False, limit=prof.budget)
        if following.over_limit:
            break
        share += 1
        current = following
    final = _equal_shares_run(prof, share, explain=True)
    return final, start, share, int(share - start)


# ------------------------------------------------------------------------- interface


def allocate(
    instance: BudgetInstance,
    rule: str,
    *,
    threshold: Fraction | int | None = None,
    tie_order: Sequence[str] | None = None,
) -> BudgetResult:
    """Fund projects by ``rule`` (see the module docstring; ties as documented there).

    ``threshold`` is the minimum score for the greedy rules (required by greedy-threshold);
    ``tie_order`` lists every project id, the last step of each tie-break.
    """
    if rule not in RULES:
        raise InvalidElectionError(f"unknown rule {rule!r}; expected one of {RULES}")
    name: RuleName = rule  # type: ignore[assignment]
    limit = None if threshold is None else Fraction(threshold)
    if name == "greedy-threshold" and limit is None:
        raise InvalidElectionError("greedy-threshold needs a threshold")
    if name.startswith("equalshares") and limit is not None:
        raise InvalidElectionError("a score threshold applies to the greedy rules only")
    prof = _Profile(instance, tie_order)
    if name.startswith("greedy"):
        funded, steps, ties = _greedy(prof, skip=name != "greedy-no-skip", threshold=limit)
        return _result(prof, name, funded, tuple(steps), ties, threshold=limit)
    if not prof.voters:
        return _result(prof, name, [], (), [], share=_ZERO, initial_share=_ZERO)
    if name == "equalshares":
        share = prof.budget / prof.voters
        run = _equal_shares_run(prof, share, explain=True)
        return _result(
            prof,
            name,
            run.selected,
            tuple(run.rounds),
            run.ties,
            share=share,
            initial_share=share,
            support_left=run.support_left,
        )
    run, start, share, steps_taken = _add1(prof)
    extra: dict[str, object] = {
        "share": share,
        "initial_share": start,
        "add1_steps": steps_taken,
        "support_left": run.support_left,
    }
    if name == "equalshares/add1":
        return _result(prof, name, run.selected, tuple(run.rounds), run.ties, **extra)
    greedy_funded, greedy_steps, greedy_ties = _greedy(prof, skip=True, threshold=None)
    comparison = _compare(prof, run.selected, greedy_funded)
    if comparison.chosen == "greedy":
        return _result(
            prof,
            name,
            greedy_funded,
            tuple(greedy_steps),
            greedy_ties,
            comparison=comparison,
        )
    return _result(
        prof, name, run.selected, tuple(run.rounds), run.ties, comparison=comparison, **extra
    )


def _compare(prof: _Profile, mes: list[int], greedy: list[int]) -> Comparison:
    in_mes, in_greedy = set(mes), set(greedy)
    prefer_mes = prefer_greedy = 0
    for count, weights in zip(prof.counts, prof.ballot_weights, strict=True):
        mine = sum((w for j, w in weights.items() if j in in_mes), _ZERO)
        theirs = sum((w for j, w in weights.items() if j in in_greedy), _ZERO)
        if mine > theirs:
            prefer_mes += count
        elif theirs > mine:
            prefer_greedy += count
    return Comparison(
        prefer_mes,
        prefer_greedy,
        tuple(prof.ids[j] for j in mes),
        tuple(prof.ids[j] for j in greedy),
        "greedy" if prefer_greedy > prefer_mes else "equalshares",
    )


def _result(
    prof: _Profile,
    rule: RuleName,
    funded: list[int],
    rounds: tuple[GreedyStep, ...] | tuple[EqualSharesRound, ...],
    ties: list[TieBreak],
    **extra: object,
) -> BudgetResult:
    return BudgetResult(
        rule=rule,
        budget=prof.budget,
        selected=tuple(prof.ids[j] for j in funded),
        spent=sum((prof.cost[j] for j in funded), _ZERO),
        voters=prof.voters,
        voters_with_funded_project=prof.covered(funded),
        tallies=prof.tally(),
        rounds=rounds,
        tiebreaks=tuple(ties),
        **extra,  # type: ignore[arg-type]
    )
