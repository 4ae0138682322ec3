"""Every check a ballot must pass before it is recorded, in one place.

The web form is parsed here (``parse_choice``), and the casting service re-checks the parsed
choice and the voter (``check_choice``, ``check_voter``) inside its transaction, so a refusal
always happens before anything is written.

Blank ballots: an empty form is refused (it is almost always a slip), but a voter may abstain on
purpose by ticking "Cast a blank ballot". A blank ballot is recorded as an empty choice, counts
in the participation roll and turnout, and is an undervote in the tally.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from flask_babel import lazy_gettext as _l
from sqlalchemy.orm import Session

from civicforum.ballots.errors import (
    AlreadyVotedError,
    BallotNotOpenError,
    ContradictoryBlankError,
    DuplicateRankError,
    EmptyBallotError,
    InvalidChoiceError,
    InvalidRankError,
    JoinedAfterOpeningError,
    NotEligibleError,
    RankGapError,
    TooManyApprovalsError,
    TooManyVoteChangesError,
    UnknownOptionError,
)
from civicforum.ballots.models import Ballot, BallotStatus, Eligibility

# Each vote change appends two entries to a log that never shrinks: a cap per voter and
# ballot (anti-automation, ASVS 2.4.1), far above what a hesitating voter needs.
MAX_VOTE_CHANGES = 20


def check_change(ballot: Any, changes: int) -> None:
    """Refuse a vote change where changes are off, or past the cap."""
    if not ballot.vote_changes:
        raise AlreadyVotedError()
    if changes >= MAX_VOTE_CHANGES:
        raise TooManyVoteChangesError()


@dataclass(frozen=True, slots=True)
class Choice:
    """A voter's choice as option keys: approvals in ballot order, or a ranking from first down.

    ``blank`` marks a deliberate abstention (then both tuples are empty).
    """

    ranked: bool
    approvals: tuple[str, ...] = ()
    ranking: tuple[str, ...] = ()
    blank: bool = False
    points: tuple[tuple[str, int], ...] = ()  # cumulative budget ballots, in ballot order

    @property
    def is_empty(self) -> bool:
        return not self.approvals and not self.ranking and not self.points

    @property
    def chosen(self) -> tuple[str, ...]:
        """The option keys the choice names, whatever its shape."""
        return self.ranking or self.approvals or tuple(key for key, _ in self.points)

    def to_entry(self) -> list[Any]:
        """The ``choice`` field of a ``ballot.cast`` entry (docs/ledger.md §1.3)."""
        if self.ranked:
            return [[key] for key in self.ranking]
        if self.points:
            return [[key, n] for key, n in self.points]
        return list(self.approvals)

    @classmethod
    def from_entry(cls, ranked: bool, value: Iterable[Any]) -> Choice:
        items = list(value)
        if items and all(
            isinstance(p, list) and len(p) == 2 and isinstance(p[1], int) for p in items
        ):
            # [[project, points], ...]: a cumulative budget ballot
            return cls(ranked=False, points=tuple((str(p[0]), int(p[1])) for p in items))
        # The shape decides (an ordinal budget ballot ranks though its method is "budget");
        # ``ranked`` only tells what kind of blank an empty choice is.
        if ranked or any(isinstance(p, list) for p in items):
            ranking = tuple(p[0] if isinstance(p, list) else p for p in items)
            return cls(ranked=True, ranking=ranking, blank=not ranking)
        approvals = tuple(items)
        return cls(ranked=False, approvals=approvals, blank=not approvals)

    def form_fields(self, ballot: Ballot) -> list[tuple[str, str]]:
        """Hidden form fields that re-submit exactly this choice (the confirmation step)."""
        if self.blank:
            return [("blank", "1")]
        if self.ranked:
            return [(f"rank-{key}", str(i)) for i, key in enumerate(self.ranking, 1)]
        if self.points:
            return [(f"points-{key}", str(n)) for key, n in self.points]
        return [("approve", key) for key in self.approvals]


FormData = Mapping[str, Any]  # werkzeug MultiDict or a plain {name: [values]} mapping


def _getlist(form: FormData, name: str) -> list[str]:
    if hasattr(form, "getlist"):
        return [str(v) for v in form.getlist(name)]
    value = form.get(name)
    if value is None:
        return []
    return [str(v) for v in value] if isinstance(value, list | tuple) else [str(value)]


def parse_choice(ballot: Ballot, form: FormData) -> Choice:
    """Turn the voting form into a Choice, refusing anything malformed (422 errors)."""
    keys = [o.key for o in ballot.options]
    blank = "1" in _getlist(form, "blank")
    if ballot.vote_type == "cumulative":
        choice = _points_from_form(form, keys)
    elif ballot.is_ranked:
        ranks: dict[str, int] = {}
        for name in form:
            if not name.startswith("rank-"):
                continue
            key = name.removeprefix("rank-")
            values = [v.strip() for v in _getlist(form, name) if v.strip()]
            if not values:
                continue
            if key not in keys:
                raise UnknownOptionError()
            if len(values) > 1:
                raise InvalidRankError()
            try:
                rank = int(values[0])
            except ValueError:
                raise InvalidRankError() from None
            ranks[key] = rank
        choice = _ranking_from_ranks(ranks, len(keys))
    else:
        approvals = _getlist(form, "approve")
        if set(approvals) - set(keys):
            raise UnknownOptionError()
        if len(set(approvals)) != len(approvals):
            raise InvalidChoiceError(_l("An option is marked twice."))
        chosen = set(approvals)
        choice = Choice(ranked=False, approvals=tuple(k for k in keys if k in chosen))
    if blank and not choice.is_empty:
        raise ContradictoryBlankError()
    if blank:
        return Choice(ranked=ballot.is_ranked, blank=True)
    if choice.is_empty:
        raise EmptyBallotError()
    check_choice(ballot, choice)
    return choice


def _points_from_form(form: FormData, keys: list[str]) -> Choice:
    points: list[tuple[str, int]] = []
    for name in form:
        if name.startswith("points-") and name.removeprefix("points-") not in keys:
            raise UnknownOptionError()
    for key in keys:  # in ballot order
        values = [v.strip() for v in _getlist(form, f"points-{key}") if v.strip()]
        if not values:
            continue
        if len(values) > 1 or not values[0].isascii() or not values[0].isdigit():
            raise InvalidChoiceError(_l("Points must be whole numbers of 0 or more."))
        if len(values[0]) > 9:
            raise InvalidChoiceError(_l("That is more points than you have."))
        if int(values[0]):
            points.append((key, int(values[0])))
    return Choice(ranked=False, points=tuple(points))


def _ranking_from_ranks(ranks: Mapping[str, int], n: int) -> Choice:
    if any(r < 1 or r > n for r in ranks.values()):
        raise InvalidRankError()
    if len(set(ranks.values())) != len(ranks):
        raise DuplicateRankError()
    ordered = sorted(ranks, key=ranks.__getitem__)
    if sorted(ranks.values()) != list(range(1, len(ranks) + 1)):
        raise RankGapError()
    return Choice(ranked=True, ranking=tuple(ordered))


def check_choice(ballot: Ballot, choice: Choice) -> None:
    """Re-check a parsed choice against the ballot's method and options (422 errors)."""
    keys = {o.key for o in ballot.options}
    if choice.ranked != ballot.is_ranked:
        raise UnknownOptionError()
    if choice.blank:
        if not choice.is_empty:
            raise ContradictoryBlankError()
        return
    if choice.is_empty:
        raise EmptyBallotError()
    marked = choice.chosen
    if not set(marked) <= keys:
        raise UnknownOptionError()
    if len(set(marked)) != len(marked):
        if choice.ranked:
            raise DuplicateRankError()
        raise InvalidChoiceError(_l("An option is marked twice."))
    if ballot.is_budget:
        from civicforum.ballots.budget import check_budget_choice

        check_budget_choice(ballot, choice)
        return
    if choice.points:
        raise UnknownOptionError()
    limit = ballot.max_approvals
    if not choice.ranked and limit is not None and len(marked) > limit:
        raise TooManyApprovalsError(
            _l("You may approve at most %(n)d options; you chose %(k)d.", n=limit, k=len(marked))
        )


def is_eligible(ballot: Ballot, voter: Any) -> bool:
    """Whether ``voter`` meets the ballot's eligibility rule (ignores sanctions and timing)."""
    if not getattr(voter, "is_authenticated", False):
        return False
    rule = Eligibility(ballot.eligibility)
    if rule is Eligibility.EMAIL_VERIFIED:
        return bool(voter.is_email_verified)
    if rule is Eligibility.ROLL_VERIFIED:
        return bool(voter.is_roll_verified)
    return ballot.eligibility_role in voter.role_names


def is_open_at(ballot: Ballot, now: datetime) -> bool:
    return ballot.status == BallotStatus.OPEN and ballot.opens_at <= now < ballot.closes_at


def check_voter(session: Session, ballot: Ballot, voter: Any, *, now: datetime) -> None:
    """Refuse a voter who may not vote now: closed period, ineligible, not in the electorate
    fixed at opening (``electorate``), or sanctioned account."""
    from civicforum.ballots import electorate
    from civicforum.moderation.policy import ensure_can_participate

    if not is_open_at(ballot, now):
        raise BallotNotOpenError()
    if not is_eligible(ballot, voter):
        raise NotEligibleError()
    if not electorate.is_elector(session, ballot, voter):
        raise JoinedAfterOpeningError()
    ensure_can_participate(session, voter)
