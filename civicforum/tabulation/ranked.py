"""Instant-runoff (one seat) and single transferable vote (several seats), RCTab 2.0 rules.

Counting rule, round by round: every ballot counts for its highest-ranked continuing option,
reached by scanning ranks in order under the overvote, skipped-rank and duplicate rules. In a
round either options are elected (tally >= threshold, or as many options left as seats) or
options are eliminated (undeclared write-ins first, then a batch of hopeless options if batch
elimination is on, else the lowest). An STV winner's surplus moves on at a fractional value
``trunc_d(value * trunc_d(surplus / tally))`` per ballot, exactly as RCTab does, with ``d`` =
``decimalPlacesForVoteArithmetic``; all amounts are integers scaled by ``10**d``.

Tie rule: see :mod:`civicforum.tabulation.ties` (previous-round counts and/or a lot, or a fixed
tie-break order). Every broken tie is recorded in ``Result.tiebreaks``.

Speed: the distinct rankings are sorted, so the ballots sharing a prefix form a contiguous
slice. A slice is held by the option at its current rank and only ever re-examined when that
option is eliminated or elected; splitting a slice on its next rank is a binary search. A whole
slice shares its scan state and its STV value, so ballots are never visited one by one. Each
option also keeps its votes per ballot value, which is all a surplus needs to know what the
winner keeps (a final surplus touches no slice). Once the next round must elect every option
still continuing, slices are no longer recorded, and the last transfer is counted for all its
rankings at once with byte operations (``_last_release``).
"""

from __future__ import annotations

from bisect import bisect_right
from collections.abc import Callable, Iterable
from dataclasses import replace
from decimal import Decimal
from itertools import accumulate, chain, compress, repeat
from operator import itemgetter
from typing import Any, cast

from civicforum.tabulation.errors import InvalidElectionError
from civicforum.tabulation.javarandom import JavaRandom, java_key, java_sorted, shuffle
from civicforum.tabulation.lot import JavaRandomLot, Lot
from civicforum.tabulation.ties import break_tie
from civicforum.tabulation.types import (
    EXHAUSTED,
    FINAL_ROUND_SURPLUS,
    INACTIVE_CAUSES,
    OVERVOTE,
    RANDOM_TIEBREAK_MODES,
    RESIDUAL_SURPLUS,
    SURPLUS_MODES,
    Election,
    Ranking,
    Result,
    Round,
    TieBreak,
    TieKind,
    to_decimal,
)

_CONTINUING, _ELECTED, _ELIMINATED, _EXCLUDED = 0, 1, 2, 3
_EXHAUSTED_CHOICES, _OVERVOTES, _SKIPPED, _REPEATED = 0, 1, 2, 3

# A held slice is six ints appended to its option's flat list ``holds[option]``:
# rankings[lo:hi] sit at rank index k; ``last``/``seen`` are the scan state before that rank
# (last marked rank, bit mask of the marks seen so far); ``value`` is each ballot's scaled value.
# Flat int lists rather than one tuple per slice: a count creates ~10**5 slices, and that many
# long-lived tuples would keep triggering the cyclic garbage collector (ints are not tracked).
_STRIDE = 6
_SEP = b"\xff"  # joins bytes rankings for bulk scans; never a position code (at most 255)


class _RankedCount:
    def __init__(self, election: Election, lot: Lot | None) -> None:
        rules = election.rules
        seed = rules.random_seed
        if rules.tiebreak_mode in RANDOM_TIEBREAK_MODES and seed is not None:
            if rules.tiebreak_mode == "generatePermutation" and rules.tiebreak_permutation is None:
                # RCTab sorts the declared candidates, then shuffles them with its seeded
                # generator (undeclared write-ins are never in the order).
                order = java_sorted(o for o in election.options if o != rules.undeclared_write_in)
                shuffle(order, JavaRandom(seed))
                rules = replace(rules, tiebreak_permutation=tuple(order))
                election = replace(election, rules=rules)
            elif lot is None:
                lot = JavaRandomLot(seed)
        self.election = election
        self.rules = rules
        self.lot = lot
        self.options = election.options
        self.keys = [java_key(name) for name in election.options]
        n = self.n = len(election.options)
        self.scale: int = 10**rules.decimal_places
        self.rankings = election.rankings
        self.prefix = [0, *accumulate(election.counts)]
        self.getters: list[Callable[[Ranking], int]] = []  # itemgetter(k), grown on demand
        index = {name: i for i, name in enumerate(election.options)}
        index[OVERVOTE] = n
        # Marks per position code, as option indices (#OVERVOTE is n), and as a bit mask of
        # those indices for duplicate checks.
        self.mark_lists: list[list[int]] = [
            sorted(index[name] for name in pos) for pos in election.positions
        ]
        self.marks: list[int] = [sum(1 << i for i in m) for m in self.mark_lists]
        rule = rules.overvote_rule
        self.overvote_rule = rule
        if rule == "exhaustIfMultipleContinuing" and any(m >> n & 1 for m in self.marks[n + 1 :]):
            raise InvalidElectionError(
                f"{OVERVOTE} marks need overvoteRule exhaustImmediately or alwaysSkipToNextRank"
            )
        skipped = rules.max_skipped_ranks
        self.max_gap = 1 << 62 if skipped is None else skipped + 1
        self.check_duplicates = rules.exhaust_on_duplicate
        uwi = rules.undeclared_write_in
        self.uwi = None if uwi is None else index[uwi]
        self.status = [_CONTINUING] * n
        for name in rules.excluded:  # in no tally; their marks are passed over like losers'
            self.status[index[name]] = _EXCLUDED
        self.candidates = n - len(rules.excluded)  # RCTab's getNumCandidates
        self.eliminated = 0
        self.thr, self.thr_scale = 0, 1  # the winning threshold is thr / thr_scale (scaled)
        self.bulk_scans = (
            not self.check_duplicates
            and len(election.positions) <= 255
            and all(isinstance(r, bytes) for r in self.rankings[-1:])
        )
        self.tally = [0] * n
        self.holds: list[list[int]] = [[] for _ in range(n)]
        # Per option: scaled ballot value -> votes held at that value. A surplus transfer needs
        # only these sums (what the winner keeps), never the slices themselves.
        self.by_value: list[dict[int, int]] = [{} for _ in range(n)]
        # False once the options still continuing will all be elected next round, filling the
        # last seats: their slices will never move again (a final surplus needs only by_value),
        # so the scan stops recording them.
        self.keep_holds = True
        self.inactive = [0, 0, 0, 0]
        self.final_surplus = 0
        self.winners: list[int] = []
        self.tiebreaks: list[TieBreak] = []
        self.history: list[list[int]] = []

    # -- the scan -----------------------------------------------------------------------------

    def _descend(
        self, lo: int, hi: int, k: int, last: int, seen: int, value: int, dest: list[int]
    ) -> None:
        """Scan rankings[lo:hi], which share their first k ranks, from rank index k.

        ``dest`` collects the votes (at ``value``) newly held per option, exhausted at ``n``;
        the caller adds them to the tallies.
        """
        rankings, prefix, n = self.rankings, self.prefix, self.n
        if len(rankings[lo]) == k:  # the (one) ranking that ends here runs out of choices
            amount = (prefix[lo + 1] - prefix[lo]) * value
            self.inactive[_EXHAUSTED_CHOICES] += amount
            dest[n] += amount
            lo += 1
        getters = self.getters
        while len(getters) <= k:
            getters.append(itemgetter(len(getters)))
        key = getters[k]
        status, holds, keep, rank = self.status, self.holds, self.keep_holds, k + 1
        # Inline fast path for the common case (one option marked, no skip or duplicate
        # exhaustion); everything else goes through _at_rank. Once past a single mark the gap
        # is 1, so the fast path stays valid all the way down.
        simple = rank - last <= self.max_gap and not self.check_duplicates
        while lo < hi:
            row = rankings[lo]
            code = row[k]
            mid = bisect_right(rankings, code, lo + 1, hi, key=key) if hi - lo > 1 else hi
            if not simple or code >= n:
                self._at_rank(lo, mid, k, code, last, seen, value, dest)
            elif status[code] == _CONTINUING:
                dest[code] += (prefix[mid] - prefix[lo]) * value
                if keep:
                    holds[code] += (lo, mid, k, last, seen, value)
            elif mid - lo > 1:
                self._descend(lo, mid, rank, rank, seen, value, dest)
            else:
                # One distinct ranking (most of them, deep in the tree): walk its marks here
                # instead of recursing once per rank.
                j, end = rank, len(row)
                while j < end:
                    code = row[j]
                    if code >= n or status[code] == _CONTINUING:
                        break
                    j += 1
                if j == end:
                    amount = (prefix[mid] - prefix[lo]) * value
                    self.inactive[_EXHAUSTED_CHOICES] += amount
                    dest[n] += amount
                elif code < n:
                    dest[code] += (prefix[mid] - prefix[lo]) * value
                    if keep:
                        holds[code] += (lo, mid, j, j, seen, value)
                else:
                    self._at_rank(lo, mid, j, code, j, seen, value, dest)
            lo = mid

    def _at_rank(
        self,
        lo: int,
        hi: int,
        k: int,
        code: int,
        last: int,
        seen: int,
        value: int,
        dest: list[int],
    ) -> None:
        """Apply RCTab's per-rank checks (skips, duplicates, overvotes) to one slice."""
        n = self.n
        if code == n:  # nothing marked at this rank
            self._descend(lo, hi, k + 1, last, seen, value, dest)
            return
        rank = k + 1
        if rank - last > self.max_gap:
            self._exhaust(lo, hi, value, _SKIPPED, dest)
            return
        after = seen
        if self.check_duplicates:
            marks = self.marks[code]
            if seen & marks:
                self._exhaust(lo, hi, value, _REPEATED, dest)
                return
            after = seen | marks
        status = self.status
        if code < n:
            if status[code] == _CONTINUING:
                self._hold(code, lo, hi, k, last, seen, value, dest)
            else:
                self._descend(lo, hi, rank, rank, after, value, dest)
            return
        rule = self.overvote_rule
        if rule == "exhaustImmediately":
            self._exhaust(lo, hi, value, _OVERVOTES, dest)
            return
        if rule == "exhaustIfMultipleContinuing":
            live = [c for c in self.mark_lists[code] if status[c] == _CONTINUING]
            if len(live) > 1:
                self._exhaust(lo, hi, value, _OVERVOTES, dest)
                return
            if live:
                self._hold(live[0], lo, hi, k, last, seen, value, dest)
                return
        self._descend(lo, hi, rank, rank, after, value, dest)

    def _hold(
        self,
        option: int,
        lo: int,
        hi: int,
        k: int,
        last: int,
        seen: int,
        value: int,
        dest: list[int],
    ) -> None:
        self.holds[option] += (lo, hi, k, last, seen, value)
        dest[option] += (self.prefix[hi] - self.prefix[lo]) * value

    def _exhaust(self, lo: int, hi: int, value: int, cause: int, dest: list[int]) -> None:
        amount = (self.prefix[hi] - self.prefix[lo]) * value
        self.inactive[cause] += amount
        dest[self.n] += amount

    def _rescan(self, option: int, values: Callable[[int], int]) -> list[int]:
        """Move every slice held by ``option`` on from its rank, at ``values(old value)``.

        Returns the votes moved per option and exhausted (index n), already added to the
        tallies. A new value of 0 moves nothing.
        """
        n, rankings, at_rank = self.n, self.rankings, self._at_rank
        groups: dict[int, list[int]] = {}  # new value -> votes newly held at it
        flat = self.holds[option]
        if not self.keep_holds and self._last_release(flat, values, groups):
            self.holds[option] = []
            self.by_value[option] = {}
            return self._add(groups)
        for lo, hi, k, last, seen, old in zip(
            flat[0::_STRIDE],
            flat[1::_STRIDE],
            flat[2::_STRIDE],
            flat[3::_STRIDE],
            flat[4::_STRIDE],
            flat[5::_STRIDE],
            strict=True,
        ):
            value = values(old)
            if value:
                dest = groups.get(value)
                if dest is None:
                    dest = groups[value] = [0] * (n + 1)
                at_rank(lo, hi, k, rankings[lo][k], last, seen, value, dest)
        self.holds[option] = []
        self.by_value[option] = {}
        return self._add(groups)

    def _last_release(
        self, flat: list[int], values: Callable[[int], int], groups: dict[int, list[int]]
    ) -> bool:
        """Count where the slices in ``flat`` go, in bulk, when no slice is recorded any more.

        Possible when the rankings are bytes with a spare byte value, there are no duplicate
        checks, and none of these rankings marks a blank rank or an overvote: then each ballot
        goes to the first continuing option anywhere after its current rank (the ranks before
        it are all non-continuing options), which byte operations find for all rankings at
        once. Returns False, having changed nothing, when that does not hold.
        """
        n, counts = self.n, self.election.counts
        rankings = cast("tuple[bytes, ...]", self.rankings)
        if not self.bulk_scans:
            return False
        # New value -> the slices moving at it, as lists of lo and of hi (no tuple per slice).
        spans: dict[int, tuple[list[int], list[int]]] = {}
        for lo, hi, old in zip(flat[0::_STRIDE], flat[1::_STRIDE], flat[5::_STRIDE], strict=True):
            value = values(old)
            if value:
                span = spans.get(value)
                if span is None:
                    span = spans[value] = ([], [])
                span[0].append(lo)
                span[1].append(hi)
        joined = {
            value: _SEP.join(chain.from_iterable(map(rankings.__getitem__, map(slice, *span))))
            for value, span in spans.items()
        }
        marks = bytes(range(n)) + _SEP
        if any(buf.translate(None, marks) for buf in joined.values()):
            return False  # a blank rank or an overvote needs RCTab's checks: scan normally
        status = self.status
        dead = bytes(c for c in range(n) if status[c] != _CONTINUING)
        live = [c for c in range(n) if status[c] == _CONTINUING]
        for value, buf in joined.items():
            dest = groups[value] = [0] * (n + 1)
            # Each ranking's continuing options, in order; the first one takes the ballot.
            rest = buf.translate(None, dead).split(_SEP)
            weights = list(chain.from_iterable(map(counts.__getitem__, map(slice, *spans[value]))))
            moved = 0
            for c in live:
                votes = sum(compress(weights, map(bytes.startswith, rest, repeat(bytes((c,))))))
                dest[c] = votes * value
                moved += votes
            exhausted = (sum(weights) - moved) * value
            self.inactive[_EXHAUSTED_CHOICES] += exhausted
            dest[n] = exhausted
        return True

    def _add(self, groups: dict[int, list[int]]) -> list[int]:
        """Add newly held votes, grouped by ballot value, to the tallies; return their sum."""
        n, tally, by_value = self.n, self.tally, self.by_value
        total = [0] * (n + 1)
        for value, dest in groups.items():
            for c in range(n):
                amount = dest[c]
                if amount:
                    tally[c] += amount
                    total[c] += amount
                    held = by_value[c]
                    held[value] = held.get(value, 0) + amount
            total[n] += dest[n]
        return total

    # -- thresholds and decisions ----------------------------------------------------------------

    def _set_threshold(self, active: int) -> None:
        """RCTab's winning threshold from the active votes (scaled), kept as ``thr / thr_scale``.

        Droop: ``floor(V / (seats + 1)) + 1`` (to ``d`` places with a non-integer threshold);
        Hare: ``ceil(V / seats)``; one seat: a majority. Bottoms-up with a percentage: exactly
        ``V * trunc_d(p / 100)``, which can need ``2d`` places, hence the separate scale. Never
        below a positive ``minimumVoteThreshold``.
        """
        rules, unit = self.rules, self.scale
        self.thr_scale = 1
        if rules.winner_election_mode == "bottomsUpUsingPercentageThreshold":
            fraction = (rules.bottoms_up_percentage or 0) * unit // 100
            self.thr, self.thr_scale = active * fraction, unit
        elif rules.seats <= 1:
            self.thr = (active // (2 * unit) + 1) * unit
        elif rules.hare_quota:
            step = 1 if rules.non_integer_threshold else unit
            self.thr = -(-active // (rules.seats * step)) * step
        elif rules.non_integer_threshold:
            self.thr = active // (rules.seats + 1) + 1
        else:
            self.thr = (active // ((rules.seats + 1) * unit) + 1) * unit
        minimum = (rules.minimum_vote_threshold or 0) * unit * self.thr_scale
        if minimum > self.thr:
            self.thr = minimum

    def _threshold_decimal(self) -> Decimal:
        extra = 0 if self.thr_scale == 1 else self.rules.decimal_places
        return to_decimal(self.thr, self.rules.decimal_places + extra)

    def _tie(self, tied: list[int], kind: TieKind, round_number: int) -> int:
        choice, record = break_tie(
            tied,
            kind=kind,
            round_number=round_number,
            history=self.history,
            options=self.options,
            rules=self.rules,
            lot=self.lot,
        )
        self.tiebreaks.append(record)
        return choice

    def _by_name(self, options: Iterable[int]) -> list[int]:
        return sorted(options, key=self.keys.__getitem__)

    def _elect(self, in_tally: list[int], round_number: int) -> list[int]:
        """RCTab's ``identifyWinners``: who is elected this round (maybe nobody)."""
        rules, tally, uwi, mode = self.rules, self.tally, self.uwi, self.rules.winner_election_mode
        if uwi in in_tally and tally[uwi] != 0:
            return []  # nobody is elected while undeclared write-ins hold votes (RCTab)
        thr, scale = self.thr, self.thr_scale
        if mode == "bottomsUpUsingPercentageThreshold":
            if all(tally[c] * scale > thr for c in in_tally):
                return self._by_name(in_tally)
            return []
        chosen: list[int] = []
        unfilled = rules.seats - len(self.winners)
        if unfilled > 0:
            if len(in_tally) <= unfilled:
                # Everyone left wins; RCTab lists them from its name-sorted tally map.
                return self._by_name(c for c in in_tally if c != uwi)
            if rules.first_round_determines_threshold and len(in_tally) - 1 == rules.seats:
                chosen = self._top(in_tally)
            elif mode != "bottomsUp":
                chosen = [c for c in in_tally if tally[c] * scale >= thr and c != uwi]
        one_only = mode == "multiWinnerAllowOnlyOneWinnerPerRound"
        # Two left in a one-seat count and neither at the threshold (a frozen threshold, or
        # an exact tie): the higher one wins, so that the last round never has one candidate.
        minimum = (rules.minimum_vote_threshold or 0) * self.scale
        two_left = (
            rules.seats == 1
            and not chosen
            and len(in_tally) == 2
            and unfilled == 1
            and all(tally[c] >= minimum for c in in_tally)
        )
        if two_left or (len(chosen) > 1 and (one_only or rules.first_round_determines_threshold)):
            chosen = self._top(in_tally)
            if len(chosen) > 1:
                chosen = [self._tie(chosen, "elect", round_number)]
        elif len(chosen) > unfilled > 0:
            # More candidates at the threshold than seats happens only with a zero Hare quota
            # (no active ballots); RCTab would elect them all, this elects the top ones.
            picked: list[int] = []
            while len(picked) < unfilled:
                best = self._top(chosen)
                one = best[0] if len(best) == 1 else self._tie(best, "elect", round_number)
                picked.append(one)
                chosen.remove(one)
            chosen = picked
        return sorted(chosen, key=lambda c: (-tally[c], self.keys[c]))

    def _top(self, among: list[int]) -> list[int]:
        top = max(self.tally[c] for c in among)
        return [c for c in among if self.tally[c] == top]

    def _eliminate(self, in_tally: list[int], round_number: int) -> list[int]:
        """RCTab's elimination order: write-ins, the minimum threshold, cut-off, batch, lowest."""
        rules, tally, uwi = self.rules, self.tally, self.uwi
        if uwi in in_tally and tally[uwi] > 0:
            return [uwi]
        if rules.minimum_vote_threshold:
            minimum = rules.minimum_vote_threshold * self.scale
            below = [c for c in in_tally if tally[c] < minimum]
            if below:
                declared = self.n - (uwi is not None)
                if len(below) >= declared:
                    raise InvalidElectionError(
                        "every declared candidate is below the minimumVoteThreshold of "
                        f"{rules.minimum_vote_threshold}: the count cannot go on (as in RCTab)"
                    )
                return self._by_name(below)
        if rules.cutoff_elimination:
            below = [c for c in in_tally if tally[c] * self.thr_scale < self.thr]
            if 0 < len(below) < len(in_tally):
                return self._by_name(below)
        if rules.batch_elimination:
            batch = self._batch(in_tally)
            if len(batch) > 1:
                return self._by_name(batch)
        lowest = min(tally[c] for c in in_tally)
        tied = [c for c in in_tally if tally[c] == lowest]
        return [tied[0] if len(tied) == 1 else self._tie(tied, "eliminate", round_number)]

    def _batch(self, in_tally: list[int]) -> list[int]:
        """Everyone who could not overtake the next group even with all lower votes (RCTab).

        With continueUntilTwoCandidatesRemain, a batch that would leave a single candidate is
        cut back to the batch before its last step.
        """
        tally = self.tally
        marked: list[int] = []
        previous: list[int] = []
        visited: list[int] = []
        running = 0
        for votes in sorted({tally[c] for c in in_tally}):
            group = [c for c in in_tally if tally[c] == votes]
            if votes > running and len(visited) > len(marked):
                previous, marked = marked, list(visited)
            visited += group
            running += votes * len(group)
        if self.rules.continue_until_two and len(marked) + self.eliminated == self.candidates - 1:
            marked = previous
        return marked

    # -- moving votes -------------------------------------------------------------------------

    def _release_eliminated(self, option: int) -> list[int]:
        return self._rescan(option, int)

    def _release_surplus(self, winner: int, threshold: int, seats_filled: bool) -> list[int]:
        """Move a winner's surplus on at RCTab's truncated per-ballot transfer value."""
        n, unit = self.n, self.scale
        votes = self.tally[winner]
        surplus = votes - threshold
        fraction = surplus * unit // votes if surplus > 0 else 0
        # Every ballot held at value v moves on at trunc(v * fraction) and the winner keeps the
        # rest, so what moves and what is kept only depends on the votes held per value.
        moves = {value: value * fraction // unit for value in self.by_value[winner]}
        kept = moving = 0
        for value, amount in self.by_value[winner].items():
            moved = amount // value * moves[value]
            moving += moved
            kept += amount - moved
        if seats_filled:  # all seats filled: the surplus leaves the count (RCTab step a)
            self.final_surplus += moving
            dest = [0] * n + [moving]
            self.holds[winner] = []
            self.by_value[winner] = {}
        else:
            dest = self._rescan(winner, moves.__getitem__)
        residual = kept - threshold if kept > threshold else 0
        dest.append(residual)  # [..options, exhausted, residual surplus]
        self.tally[winner] = kept - residual
        return dest

    def _last_moves(self) -> None:
        """Stop recording slices if the next round must elect every continuing option."""
        status, uwi = self.status, self.uwi
        continuing = [c for c in range(self.n) if status[c] == _CONTINUING]
        unfilled = self.rules.seats - len(self.winners)
        if uwi not in continuing and 0 < len(continuing) <= unfilled:
            self.keep_holds = False

    def _transfers(self, dest: list[int]) -> dict[str, int]:
        names = [*self.options, EXHAUSTED, RESIDUAL_SURPLUS]
        return {names[i]: amount for i, amount in enumerate(dest) if amount}

    # -- the count ----------------------------------------------------------------------------

    def run(self) -> Result:
        """RCTab's round loop: tally, threshold, elect or else eliminate, until it must stop."""
        election, rules, n = self.election, self.rules, self.n
        rankings = self.rankings
        start, undervotes = 0, 0
        if rankings and not rankings[0]:
            start, undervotes = 1, election.counts[0]
        if rules.max_rankings is not None and rankings:
            longest = max(map(len, rankings))
            if longest > rules.max_rankings:
                raise InvalidElectionError(
                    f"a ballot marks rank {longest}, but maxRankingsAllowed is "
                    f"{rules.max_rankings} (RCTab refuses such a cast vote record)"
                )
        if start < len(rankings):
            first = [0] * (n + 1)
            self._descend(start, len(rankings), 0, 0, 0, self.scale, first)
            self._add({self.scale: first})
        mode, seats = rules.winner_election_mode, rules.seats
        surpluses = mode in SURPLUS_MODES
        # With continueUntilTwoCandidatesRemain a one-seat winner keeps its ballots and stays
        # in the count (RCTab treats it as continuing) until two candidates are left.
        keep_winners = rules.continue_until_two and seats == 1
        last_round = rules.stop_after_round or 1 << 62
        rounds: list[dict[str, Any]] = []
        round_number = 0
        while True:
            round_number += 1
            status, tally = self.status, self.tally
            in_tally = [c for c in range(n) if status[c] == _CONTINUING]
            if round_number == 1:
                recompute = True
            elif seats > 1:
                recompute = False
            else:
                recompute = not rules.first_round_determines_threshold and not (
                    keep_winners and self.winners
                )
            if recompute:
                self._set_threshold(sum(tally[c] for c in in_tally))
            self.history.append(list(tally))
            shown = {c: tally[c] for c in range(n) if status[c] in (_CONTINUING, _ELECTED)}
            inactive = list(self.inactive)
            transfers: dict[int, dict[str, int]] = {}
            final_surplus: int | None = None
            elected = self._elect(in_tally, round_number) if in_tally else []
            eliminated: list[int] = []
            if elected:
                self.winners += elected
                if keep_winners:
                    transfers = {c: {} for c in elected}
                else:
                    for c in elected:
                        status[c] = _ELECTED
                    self._last_moves()
                    filled = len(self.winners) >= seats
                    nobody_left = _CONTINUING not in status
                    if surpluses and nobody_left and not filled:
                        # Every candidate is elected and seats stay empty (more seats than
                        # candidates): the count ends here and no surplus moves (RCTab).
                        transfers = {c: {} for c in elected}
                        final_surplus = 0
                    else:
                        for c in elected:
                            if surpluses:
                                dest = self._release_surplus(c, self.thr, filled)
                                transfers[c] = self._transfers(dest)
                            else:
                                transfers[c] = {}
            elif in_tally and (
                len(self.winners) < seats
                or mode == "bottomsUpUsingPercentageThreshold"
                or (keep_winners and self.eliminated < self.candidates - 2)
            ):
                eliminated = self._eliminate(in_tally, round_number)
                self.eliminated += len(eliminated)
                for c in eliminated:
                    status[c] = _ELIMINATED
                self._last_moves()
                for c in eliminated:
                    transfers[c] = self._transfers(self._release_eliminated(c))
                    self.tally[c] = 0
            rounds.append(
                {
                    "number": round_number,
                    "threshold": self._threshold_decimal(),
                    "tally": shown,
                    "elected": elected,
                    "eliminated": eliminated,
                    "inactive": inactive,
                    "transfers": transfers,
                    "final_surplus": final_surplus,
                }
            )
            if round_number >= last_round:
                # Votes move in the next round, which is never counted: nothing moves.
                rounds[-1]["transfers"] = dict.fromkeys(rounds[-1]["transfers"], {})
                break
            if keep_winners:
                decided = self.eliminated + len(self.winners)
                if decided + 1 < self.candidates or eliminated:
                    continue
                break
            if mode == "bottomsUpUsingPercentageThreshold":
                if self.winners or _CONTINUING not in status:
                    break
                continue
            if len(self.winners) >= seats or _CONTINUING not in status:
                if surpluses and elected and final_surplus is None:
                    # RCTab shows one more round in which the last winners' surpluses leave.
                    rounds.append(
                        {
                            "number": round_number + 1,
                            "threshold": self._threshold_decimal(),
                            "tally": {
                                c: tally[c]
                                for c in range(n)
                                if status[c] in (_CONTINUING, _ELECTED)
                            },
                            "elected": [],
                            "eliminated": [],
                            "inactive": list(self.inactive),
                            "transfers": {},
                            "final_surplus": self.final_surplus,
                        }
                    )
                break
        return self._result(rounds, undervotes)

    def _result(self, rounds: list[dict[str, Any]], undervotes: int) -> Result:
        places, names = self.rules.decimal_places, self.options

        def dec(x: int) -> Any:
            return to_decimal(x, places)

        built: list[Round] = []
        for r in rounds:
            order = sorted(r["tally"], key=lambda c: (-r["tally"][c], names[c]))
            inactive = {cause: dec(r["inactive"][i]) for i, cause in enumerate(INACTIVE_CAUSES)}
            if r["final_surplus"] is not None:
                inactive[FINAL_ROUND_SURPLUS] = dec(r["final_surplus"])
            built.append(
                Round(
                    number=r["number"],
                    threshold=r["threshold"],
                    tally={names[c]: dec(r["tally"][c]) for c in order},
                    elected=tuple(names[c] for c in r["elected"]),
                    eliminated=tuple(names[c] for c in r["eliminated"]),
                    inactive=inactive,
                    exhausted=dec(sum(r["inactive"])),
                    transfers={
                        names[c]: {dest: dec(a) for dest, a in sorted(moves.items())}
                        for c, moves in r["transfers"].items()
                    },
                )
            )
        election = self.election
        return Result(
            method=election.method,
            options=names,
            winners=tuple(names[c] for c in self.winners),
            rounds=tuple(built),
            tiebreaks=tuple(self.tiebreaks),
            threshold=built[-1].threshold if built else None,
            total_ballots=election.total_ballots,
            undervotes=undervotes,
            seats=self.rules.seats,
        )


def tally_ranked(election: Election, *, lot: Lot | None = None) -> Result:
    """Count an IRV (one seat) or STV (``rules.seats``) election round by round, per RCTab 2.0.

    Counting rule: highest continuing preference, RCTab's overvote/skip/duplicate rules, Droop
    or Hare threshold, fractional surplus transfer truncated to ``decimal_places``; RCTab's
    winner election modes (bottoms-up, with a percentage threshold, multi-pass IRV). Tie rule:
    ``rules.tiebreak_mode`` (previous-round counts, fixed order, an answer, ``lot``, or RCTab's
    ``java.util.Random(randomSeed)`` when no lot is given); a tie that needs a lot when none
    is given raises TieBreakError.
    """
    rules = election.rules
    if rules.winner_election_mode != "multiPassIrv":
        return _RankedCount(election, lot).run()
    # One single-winner count per seat, each excluding the winners before it, as RCTab does;
    # a seeded java.util.Random starts afresh for each pass.
    passes: list[Result] = []
    excluded = list(rules.excluded)
    for seat in range(rules.seats):
        one = replace(
            rules, seats=1, winner_election_mode="singleWinnerMajority", excluded=tuple(excluded)
        )
        if len(excluded) >= len(election.options):
            raise InvalidElectionError(f"no candidate is left for seat {seat + 1}")
        result = _RankedCount(replace(election, rules=one), lot).run()
        if len(result.winners) != 1:
            raise InvalidElectionError(f"pass {seat + 1} elected {len(result.winners)} winners")
        passes.append(result)
        excluded.append(result.winners[0])
    last = passes[-1]
    return Result(
        method=election.method,
        options=election.options,
        winners=tuple(p.winners[0] for p in passes),
        rounds=(),
        tiebreaks=tuple(t for p in passes for t in p.tiebreaks),
        threshold=last.threshold,
        total_ballots=election.total_ballots,
        undervotes=last.undervotes,
        seats=rules.seats,
        passes=tuple(passes),
    )
