"""Hypothesis properties of the counts (modest example counts to stay fast)."""

from __future__ import annotations

import random
from decimal import Decimal

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from civicforum.tabulation import (
    Ballot,
    Result,
    Rules,
    SeededLot,
    make_election,
    result_to_json,
    tabulate,
)

OPTIONS = "ABCDEF"
LOT = SeededLot(b"property tests")
FAST = settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])


@st.composite
def simple_ballots(draw: st.DrawFn, min_options: int = 2) -> tuple[str, list[Ballot]]:
    """Strict rankings (one option per rank, no repeats) with counts."""
    options = OPTIONS[: draw(st.integers(min_options, len(OPTIONS)))]
    rows = draw(
        st.lists(
            st.tuples(st.permutations(options), st.integers(1, len(options)), st.integers(1, 5)),
            max_size=25,
        )
    )
    ballots = [Ballot(tuple(frozenset([o]) for o in perm[:length]), n) for perm, length, n in rows]
    return options, ballots


@st.composite
def messy_ballots(draw: st.DrawFn) -> tuple[str, list[Ballot]]:
    """Rankings with blanks, overvotes and repeated options."""
    options = OPTIONS[: draw(st.integers(2, len(OPTIONS)))]
    rank = st.frozensets(st.sampled_from(options), max_size=2)
    rows = draw(st.lists(st.tuples(st.lists(rank, max_size=5), st.integers(1, 4)), max_size=25))
    return options, [Ballot(tuple(r), n) for r, n in rows]


ranked_rules = st.builds(
    Rules,
    overvote_rule=st.sampled_from(
        ["exhaustImmediately", "alwaysSkipToNextRank", "exhaustIfMultipleContinuing"]
    ),
    max_skipped_ranks=st.none() | st.integers(0, 2),
    exhaust_on_duplicate=st.booleans(),
    batch_elimination=st.booleans(),
    tiebreak_mode=st.sampled_from(["previousRoundCountsThenRandom", "useCandidateOrder", "random"]),
)

stv_rules = st.builds(
    Rules,
    seats=st.integers(2, 4),
    winner_election_mode=st.sampled_from(
        ["multiWinnerAllowMultipleWinnersPerRound", "multiWinnerAllowOnlyOneWinnerPerRound"]
    ),
    overvote_rule=st.sampled_from(["exhaustImmediately", "alwaysSkipToNextRank"]),
    hare_quota=st.booleans(),
    non_integer_threshold=st.booleans(),
    decimal_places=st.integers(0, 4),
)


def assert_ballots_accounted(result: Result) -> None:
    """Each round: tallies + inactive + surplus left + blanks + residual so far == ballots."""
    residual = Decimal(0)
    for r in result.rounds:
        total = (
            sum(r.tally.values(), Decimal(0))
            + r.exhausted
            + r.inactive.get("finalRoundSurplus", Decimal(0))
            + result.undervotes
            + residual
        )
        assert total == result.total_ballots, f"round {r.number}"
        assert r.exhausted == sum(
            (v for k, v in r.inactive.items() if k != "finalRoundSurplus"), Decimal(0)
        )
        residual += sum(
            (m.get("residual surplus", Decimal(0)) for m in r.transfers.values()), Decimal(0)
        )


@FAST
@given(simple_ballots())
def test_majority_first_choice_wins_irv(data: tuple[str, list[Ballot]]) -> None:
    options, ballots = data
    first: dict[str, int] = {}
    for b in ballots:
        first[next(iter(b.ranking[0]))] = first.get(next(iter(b.ranking[0])), 0) + b.count
    total = sum(first.values())
    result = tabulate(make_election("irv", options, ballots), lot=LOT)
    for option, votes in first.items():
        if 2 * votes > total:
            assert result.winners == (option,)
            assert len(result.rounds) == 1


@FAST
@given(messy_ballots(), ranked_rules, st.randoms(use_true_random=False))
def test_irv_does_not_depend_on_ballot_order(
    data: tuple[str, list[Ballot]], rules: Rules, rnd: random.Random
) -> None:
    options, ballots = data
    shuffled = list(ballots)
    rnd.shuffle(shuffled)
    one = tabulate(make_election("irv", options, ballots, rules), lot=LOT)
    two = tabulate(make_election("irv", options, shuffled, rules), lot=LOT)
    assert result_to_json(one) == result_to_json(two)
    assert_ballots_accounted(one)
    assert len(one.winners) == 1


@FAST
@given(messy_ballots(), stv_rules, st.randoms(use_true_random=False))
def test_stv_fills_the_seats_and_accounts_for_every_ballot(
    data: tuple[str, list[Ballot]], rules: Rules, rnd: random.Random
) -> None:
    options, ballots = data
    election = make_election("stv", options, ballots, rules)
    result = tabulate(election, lot=LOT)
    assert len(result.winners) == min(rules.seats, len(options))
    assert len(set(result.winners)) == len(result.winners)
    assert_ballots_accounted(result)
    shuffled = list(ballots)
    rnd.shuffle(shuffled)
    again = tabulate(make_election("stv", options, shuffled, rules), lot=LOT)
    assert result_to_json(again) == result_to_json(result)


@FAST
@given(simple_ballots(min_options=3))
def test_condorcet_winner_wins_schulze(data: tuple[str, list[Ballot]]) -> None:
    options, ballots = data
    position = [{next(iter(m)): i for i, m in enumerate(b.ranking)} for b in ballots]

    def beats(a: str, b: str) -> bool:
        wins = sum(
            bal.count
            for bal, pos in zip(ballots, position, strict=True)
            if pos.get(a, 99) < pos.get(b, 99)
        )
        losses = sum(
            bal.count
            for bal, pos in zip(ballots, position, strict=True)
            if pos.get(b, 99) < pos.get(a, 99)
        )
        return wins > losses

    result = tabulate(make_election("schulze", options, ballots), lot=LOT)
    assert result.ranking is not None and sorted(result.ranking) == sorted(options)
    for a in options:
        if all(beats(a, b) for b in options if b != a):
            assert result.winners == (a,)
            assert result.ranking[0] == a


@FAST
@given(
    st.lists(st.tuples(st.frozensets(st.sampled_from("ABCD")), st.integers(1, 5)), max_size=20),
    st.integers(1, 4),
)
def test_approval_winners_have_the_top_totals(
    rows: list[tuple[frozenset[str], int]], seats: int
) -> None:
    ballots = [Ballot((m,) if m else (), n) for m, n in rows]
    result = tabulate(make_election("approval", "ABCD", ballots, Rules(seats=seats)), lot=LOT)
    tally = result.rounds[0].tally
    assert len(result.winners) == seats
    worst_winner = min(tally[w] for w in result.winners)
    assert all(tally[o] <= worst_winner for o in tally if o not in result.winners)
