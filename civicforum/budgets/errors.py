"""Domain errors of the participatory-budget feature; each carries its HTTP status.

They derive from the ballots' errors: what a budget refuses is, in kind, a ballot that could
not be defined, and they share its lazily translated messages.
"""

from __future__ import annotations

from flask_babel import lazy_gettext as _l

from civicforum.ballots.errors import BallotError


class InvalidBudgetError(BallotError):
    """A field of a budget or project form is not valid; ``field`` names it."""

    status_code = 422

    def __init__(self, message: object, *, field: str | None = None) -> None:
        super().__init__(message)
        self.field = field


class BudgetLockedError(BallotError):
    status_code = 409

    @classmethod
    def default(cls) -> object:
        return _l(
            "Voting on this budget is set up: its projects and rules can no longer change."
            " Cancel its ballot first to change them."
        )
