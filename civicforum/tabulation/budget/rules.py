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

All arithmetic is exact: results are ``fractions.Fraction``; inside an equal-shares run money is
an integer count of a common unit (see ``_equal_shares_run``). A run groups voters by their
remaining share and proves most projects unaffordable from what their supporters have paid,
so it costs a few C-level operations per supporter of the projects it funds or examines.
"""

from __future__ import annotations

import math
from collections import Counter, deque
from collections.abc import Callable, Collection, Sequence
from dataclasses import dataclass
from fractions import Fraction
from itertools import chain, repeat
from operator import itemgetter, mul, setitem

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
from civicforum.tabulation.budget.types import (
    ApprovalBallot,
    Ballot,
    BudgetInstance,
    OrdinalBallot,
)
from civicforum.tabulation.errors import InvalidElectionError
from civicforum.tabulation.types import TieBreak

_ZERO = Fraction(0)
_DEAD = 1  # the share class of voters with nothing left


def _identity(ballot: Ballot) -> object:
    """Equal for identical ballots (of one kind: an instance has one)."""
    if isinstance(ballot, ApprovalBallot):
        return ballot.projects
    if isinstance(ballot, OrdinalBallot):
        return ballot.ranking
    return frozenset(ballot.points.items())


def _weights(ballot: Ballot) -> dict[str, Fraction | int]:
    """The ballot's weights (as ints where whole: cheaper to add up)."""
    if isinstance(ballot, ApprovalBallot):
        return dict.fromkeys(ballot.projects, 1)
    if isinstance(ballot, OrdinalBallot):
        length = len(ballot.ranking)
        return {p: length - k for k, p in enumerate(ballot.ranking)}
    return {p: (v.numerator if v.denominator == 1 else v) for p, v in ballot.points.items()}


def _picker(indices: list[int]) -> Callable[[list[int]], tuple[int, ...]]:
    """``picker(seq)`` is ``tuple(seq[i] for i in indices)``, computed in C."""
    if len(indices) == 1:
        only = indices[0]
        return lambda seq: (seq[only],)
    return itemgetter(*indices)


def _named(ballot: Ballot) -> Collection[str]:
    if isinstance(ballot, ApprovalBallot):
        return ballot.projects
    return ballot.ranking if isinstance(ballot, OrdinalBallot) else ballot.points.keys()


class _Tally:
    """Projects, their votes and scores, and the tie-break chain: all that greedy needs."""

    def __init__(self, instance: BudgetInstance, tie_order: Sequence[str] | None) -> None:
        self.instance = instance
        self.ids = [p.id for p in instance.projects]
        self.index = {pid: j for j, pid in enumerate(self.ids)}
        self.cost = [p.cost for p in instance.projects]
        self.budget = instance.budget
        self.voters = instance.voters
        order = list(tie_order) if tie_order is not None else self.ids
        if sorted(order) != sorted(self.ids):
            raise InvalidElectionError("tie_order must list every project exactly once")
        position = {pid: k for k, pid in enumerate(order)}
        self.tie_position = [position[pid] for pid in self.ids]
        self.tie_source = "the lot's order" if tie_order is not None else "the listing order"
        self.votes, self.score = self._support()

    def _support(self) -> tuple[list[int], list[Fraction]]:
        ballots = self.instance.ballots
        if all(isinstance(b, ApprovalBallot) and b.count == 1 for b in ballots):
            named = Counter(chain.from_iterable(b.projects for b in ballots))  # type: ignore[union-attr]
            votes = [named[pid] for pid in self.ids]
            return votes, [Fraction(v) for v in votes]
        votes_by = dict.fromkeys(self.ids, 0)
        score_by: dict[str, Fraction | int] = dict.fromkeys(self.ids, 0)
        for ballot in ballots:
            for pid, weight in _weights(ballot).items():
                votes_by[pid] += ballot.count
                score_by[pid] += weight * ballot.count
        return list(votes_by.values()), [Fraction(v) for v in score_by.values()]

    def covered(self, selected: Sequence[int]) -> int:
        """Voters whose ballot names a funded project."""
        chosen = {self.ids[j] for j in selected}
        return sum(b.count for b in self.instance.ballots if not chosen.isdisjoint(_named(b)))

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


class _Profile(_Tally):
    """An instance indexed for equal shares; built once and shared by every run of add1.

    Identical ballots are counted once (their voters always keep identical shares). Weights
    are scaled to integers (``weight_unit`` is their common denominator, 1 unless cumulative
    points have decimals), so equal-shares runs compute with ints only.
    """

    def __init__(self, instance: BudgetInstance, tie_order: Sequence[str] | None) -> None:
        super().__init__(instance, tie_order)
        self.cost_unit = math.lcm(*(c.denominator for c in self.cost))
        first: dict[object, Ballot] = {}
        voters: dict[object, int] = {}
        for ballot in instance.ballots:
            key = _identity(ballot)
            if key in voters:
                voters[key] += ballot.count
            else:
                first[key], voters[key] = ballot, ballot.count
        index = self.index
        distinct = [
            ({index[p]: w for p, w in _weights(b).items()}, voters[key]) for key, b in first.items()
        ]
        self.counts = counts = [count for _, count in distinct]
        self.weight_unit = unit = math.lcm(
            *(w.denominator for ws, _ in distinct for w in ws.values() if type(w) is Fraction)
        )
        self.ballot_weights: list[dict[int, int]] = [
            ws if unit == 1 else {j: int(w * unit) for j, w in ws.items()}  # type: ignore[misc]
            for ws, _ in distinct
        ]
        n = len(self.ids)
        self.approval = all(isinstance(b, ApprovalBallot) for b in first.values())
        # Project -> weight -> the distinct ballots naming it with that weight.
        supporters: list[dict[int, list[int]]]
        if self.approval:
            lists: list[list[int]] = [[] for _ in range(n)]
            appends = [members.append for members in lists]
            for i, ws in enumerate(self.ballot_weights):
                for j in ws:
                    appends[j](i)
            supporters = [{1: members} if members else {} for members in lists]
        else:
            supporters = [{} for _ in range(n)]
            for i, ws in enumerate(self.ballot_weights):
                for j, w in ws.items():
                    supporters[j].setdefault(w, []).append(i)
        # The same, with each ballot repeated once per voter who cast it: a Counter over
        # these gives voters per share class at C speed.
        single = all(c == 1 for c in counts)
        self.by_weight: list[dict[int, list[int]]] = []
        self.distinct_by_weight = supporters
        self.scaled_score: list[int] = []
        self.overlaps: dict[int, list[int]] = {}
        for groups in supporters:
            if not single:
                groups = {
                    w: list(chain.from_iterable(map(repeat, ids, map(counts.__getitem__, ids))))
                    for w, ids in groups.items()
                }
            self.by_weight.append(groups)
            self.scaled_score.append(sum(w * len(ids) for w, ids in groups.items()))
        # itemgetters: one C call reads the share classes of a project's voters (ballots).
        self.voters_of = [{w: _picker(ids) for w, ids in g.items()} for g in self.by_weight]
        self.ballots_of = [{w: _picker(ids) for w, ids in g.items()} for g in supporters]

    def overlap(self, w: int) -> list[int]:
        """Project j -> the weight that w's voters who also support j give w (scaled).

        Computed once per funded project and kept for the other runs of add1.
        """
        row = self.overlaps.get(w)
        if row is None:
            row = [0] * len(self.ids)
            if self.approval:
                ballots = map(self.ballot_weights.__getitem__, self.by_weight[w][1])
                for j, voters in Counter(chain.from_iterable(ballots)).items():
                    row[j] = voters
            else:
                for members in self.distinct_by_weight[w].values():
                    for i in members:
                        weight = self.ballot_weights[i][w] * self.counts[i]
                        for j in self.ballot_weights[i]:
                            row[j] += weight
            self.overlaps[w] = row
        return row

    def covered(self, selected: Sequence[int]) -> int:
        chosen = set(selected)
        return sum(
            c
            for c, weights in zip(self.counts, self.ballot_weights, strict=True)
            if not chosen.isdisjoint(weights)
        )


# ----------------------------------------------------------------------------- greedy


def _greedy(
    prof: _Tally, *, skip: bool, threshold: Fraction | None
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

    Voters are kept in *share classes*: ballots whose voters have the same remaining share
    (class 0: untouched; class 1: nothing left). Funding a project moves each supporter from
    its class to "that class minus this payment", so examining a project only counts its
    supporters per class. Money is held as integers in units of ``1/scale``; funding a project
    whose payment is not a whole number of units refines the unit (every amount is multiplied
    by the same factor), so all of it stays exact without Fraction arithmetic per voter.
    With ``limit``, the run stops as soon as the funded cost exceeds it (add1 only needs to
    know that).
    """
    scale = math.lcm(share.denominator, prof.cost_unit)
    cls = [0] * len(prof.counts)
    left = [int(share * scale), 0]  # class -> each voter's remaining share, in 1/scale units
    costs = [int(c * scale) for c in prof.cost]
    get_left = left.__getitem__
    # Project -> float upper bound of its effective vote count (times weight_unit): its score
    # while nobody has paid; the last exact value after that (shares only shrink). Floats
    # only order the candidates; a candidate is skipped only when its bound is clearly lower.
    bound = {j: float(v) for j, v in enumerate(prof.scaled_score) if v > 0}
    selected: list[int] = []
    rounds: list[EqualSharesRound] = []
    ties: list[TieBreak] = []
    spent = _ZERO
    # Project -> a lower bound of what its supporters have paid so far (in 1/scale units):
    # their money is at most votes x share minus that, which proves most projects
    # unaffordable without counting their supporters (shares only shrink).
    paid_low = [0] * len(costs)

    def examine(j: int) -> tuple[int, int] | None:
        """(rest, weight): the poorer supporters pay all they have, the others pay
        rest / weight per unit of weight; None if the supporters cannot afford j."""
        cost = costs[j]
        if prof.approval:
            counted = Counter(prof.voters_of[j][1](cls))
            counted.pop(_DEAD, None)
            voters = list(counted.values())
            budgets = list(map(get_left, counted))
            if sum(map(mul, budgets, voters)) < cost:
                return None
            weight = sum(voters)
            rest = cost
            if budgets and min(budgets) * weight < rest:
                for b, m in sorted(zip(budgets, voters, strict=True)):
                    if rest > b * weight:  # cannot pay an equal part: pays all it has
                        rest -= b * m
                        weight -= m
                    else:
                        break
            return rest, weight
        groups: list[tuple[Fraction, int, int, int]] = []
        money = weight = 0
        for w, voters_of in prof.voters_of[j].items():
            for k, m in Counter(voters_of(cls)).items():
                if b := left[k]:
                    groups.append((Fraction(b, w), b, w, m))
                    money += b * m
                    weight += w * m
        if money < cost:
            return None
        rest = cost
        for _, b, w, m in sorted(groups):
            if rest * w > b * weight:
                rest -= b * m
                weight -= w * m
            else:
                break
        return rest, weight

    while bound:
        best: list[int] = []
        # The best effective vote count so far, cost * weight / rest, as an exact pair.
        top_num, top_den, top_float = 0, 1, 0.0
        found: dict[int, tuple[int, int]] = {}
        for j in sorted(bound, key=bound.__getitem__, reverse=True):
            if best and bound[j] < top_float * (1 - 1e-9):
                break
            if prof.votes[j] * left[0] - paid_low[j] < costs[j]:
                del bound[j]  # left[0] is the untouched share: nobody has more
                continue
            outcome = examine(j)
            if outcome is None:
                del bound[j]  # unaffordable now, and shares only shrink
                continue
            rest, weight = outcome
            num = costs[j] * weight  # effective votes = num / rest: cost per payment unit
            bound[j] = num / rest
            found[j] = outcome
            ahead = num * top_den - top_num * rest
            if not best or ahead > 0:
                best, top_num, top_den, top_float = [j], num, rest, bound[j]
            elif ahead == 0:
                best.append(j)
        if not best:
            break
        number = len(selected) + 1
        winner = best[0]
        if len(best) > 1:
            why = f"effective vote count {Fraction(top_num, top_den * prof.weight_unit)}"
            winner, record = prof.break_tie(best, number, why)
            ties.append(record)
        del bound[winner]
        selected.append(winner)
        spent += prof.cost[winner]
        if limit is not None and spent > limit:
            return _Run(selected, spent, rounds, ties, {}, over_limit=True)
        rest, weight = found[winner]
        common = math.gcd(rest, weight)
        factor, unit_due = weight // common, rest // common
        if factor != 1:  # refine the money unit so that every payment is whole
            scale *= factor
            left[:] = [b * factor for b in left]
            costs[:] = [c * factor for c in costs]
            paid_low[:] = [x * factor for x in paid_low]
        # Supporters of j who also back the winner paid unit_due per unit of weight, except
        # the winner's poorer and empty-handed ones, who may all be among them.
        short = prof.scaled_score[winner] - weight
        for j, shared in enumerate(prof.overlap(winner)):
            if shared > short and j in bound:
                paid_low[j] += unit_due * (shared - short)
        paid: dict[tuple[int, bool], int] = {}
        for w, distinct in prof.distinct_by_weight[winner].items():
            # Each share class among these supporters moves, as a whole, to a new class.
            due = unit_due * w
            classes_before = prof.ballots_of[winner][w](cls)
            present = Counter(prof.voters_of[winner][w](cls)) if explain else set(classes_before)
            remap: dict[int, int] = {}
            for k in present:
                b = left[k]
                if b <= due:
                    remap[k] = _DEAD
                else:
                    remap[k] = len(left)
                    left.append(b - due)
                if explain and b:
                    payment = (b, True) if b <= due else (due, False)
                    paid[payment] = paid.get(payment, 0) + present[k]  # type: ignore[index]
            moved = map(remap.__getitem__, classes_before)
            deque(map(setitem, repeat(cls), distinct, moved), maxlen=0)  # cls[i] = moved[i]
        if explain:
            payments = tuple(
                Payment(Fraction(amount, scale), voters, emptied)
                for (amount, emptied), voters in sorted(paid.items(), reverse=True)
            )
            max_payment = Fraction(unit_due * prof.weight_unit, scale)
            rounds.append(
                EqualSharesRound(
                    number,
                    prof.ids[winner],
                    prof.cost[winner],
                    prof.votes[winner],
                    prof.cost[winner] / max_payment,
                    max_payment,
                    payments,
                )
            )
    support_left: dict[str, Fraction] = {}
    if explain:
        chosen = set(selected)
        for j, pid in enumerate(prof.ids):
            if j not in chosen and prof.votes[j]:
                money = sum(
                    left[k] * m
                    for voters_of in prof.voters_of[j].values()
                    for k, m in Counter(voters_of(cls)).items()
                )
                support_left[pid] = Fraction(money, scale)
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
    name: RuleName = rule
    limit = None if threshold is None else Fraction(threshold)
    if name == "greedy-threshold" and limit is None:
        raise InvalidElectionError("greedy-threshold needs a threshold")
    if name.startswith("equalshares") and limit is not None:
        raise InvalidElectionError("a score threshold applies to the greedy rules only")
    if name.startswith("greedy"):
        tally = _Tally(instance, tie_order)
        funded, steps, ties = _greedy(tally, skip=name != "greedy-no-skip", threshold=limit)
        return _result(tally, name, funded, tuple(steps), ties, threshold=limit)
    prof = _Profile(instance, tie_order)
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
    prof: _Tally,
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
