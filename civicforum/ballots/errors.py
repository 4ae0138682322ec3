"""Ballot errors: each refusal carries its HTTP status and a message the voter can act on."""

from __future__ import annotations

from flask_babel import lazy_gettext as _l

from civicforum.web.errors import CivicforumError


class BallotError(CivicforumError):
    """This ballot action is not possible."""

    status_code = 400

    def __init__(self, message: object | None = None, *, status_code: int | None = None) -> None:
        # Messages stay lazy strings: they translate when rendered, in the viewer's locale,
        # and services can raise them outside a request (CLI) without a locale to ask.
        text = message if message is not None else self.default()
        Exception.__init__(self, text)
        self.message = text  # type: ignore[assignment]
        if status_code is not None:
            self.status_code = status_code

    @classmethod
    def default(cls) -> object:
        return cls.__doc__ or "Error"


class InvalidChoiceError(BallotError):
    """The ballot is not valid."""

    status_code = 422


class UnknownOptionError(InvalidChoiceError):
    @classmethod
    def default(cls) -> object:
        return _l("Your ballot names an option that is not on this ballot.")


class InvalidRankError(InvalidChoiceError):
    @classmethod
    def default(cls) -> object:
        return _l("Each rank must be a whole number between 1 and the number of options.")


class DuplicateRankError(InvalidChoiceError):
    @classmethod
    def default(cls) -> object:
        return _l("Two options have the same rank. Give each option its own rank.")


class RankGapError(InvalidChoiceError):
    @classmethod
    def default(cls) -> object:
        return _l("Your ranks skip a number. Use 1, 2, 3 … without gaps.")


class TooManyApprovalsError(InvalidChoiceError):
    pass


class EmptyBallotError(InvalidChoiceError):
    @classmethod
    def default(cls) -> object:
        return _l(
            "Your ballot is empty. Choose at least one option, or tick "
            "“Cast a blank ballot” to abstain on purpose."
        )


class ContradictoryBlankError(InvalidChoiceError):
    @classmethod
    def default(cls) -> object:
        return _l("You chose options and also asked for a blank ballot. Do one or the other.")


class AlreadyVotedError(BallotError):
    status_code = 409

    @classmethod
    def default(cls) -> object:
        return _l("You have already voted in this ballot, and it does not allow changes.")


class TooManyVoteChangesError(BallotError):
    status_code = 429

    @classmethod
    def default(cls) -> object:
        return _l(
            "You have changed your vote in this ballot as many times as allowed. "
            "Your last vote is the one counted."
        )


class DuplicateSubmissionError(BallotError):
    status_code = 409

    @classmethod
    def default(cls) -> object:
        return _l(
            "Your ballot was already being recorded from another submission. "
            "Reload the page to see it."
        )


class BallotNotOpenError(BallotError):
    status_code = 409

    @classmethod
    def default(cls) -> object:
        return _l("This ballot is not open for voting.")


class NotEligibleError(BallotError):
    status_code = 403

    @classmethod
    def default(cls) -> object:
        return _l("You are not eligible to vote in this ballot.")


class JoinedAfterOpeningError(BallotError):
    status_code = 403

    @classmethod
    def default(cls) -> object:
        return _l(
            "You became eligible after this ballot opened. Who may vote in it was fixed when "
            "voting began, so you cannot vote in it; you can vote in ballots that open from now on."
        )


class StaleCastFormError(BallotError):
    status_code = 422

    @classmethod
    def default(cls) -> object:
        return _l(
            "This confirmation form has expired or was not issued to you. Review your ballot "
            "again and confirm it: nothing was recorded."
        )


class BallotNotEditableError(BallotError):
    status_code = 409

    @classmethod
    def default(cls) -> object:
        return _l("This ballot has opened (or ended) and can no longer be changed.")


class InvalidBallotDefinitionError(BallotError):
    status_code = 422
