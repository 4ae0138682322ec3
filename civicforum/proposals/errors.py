"""Domain errors of the proposals feature; each carries its HTTP status."""

from __future__ import annotations

from flask_babel import lazy_gettext as _l

from civicforum.web.errors import CivicforumError


class ProposalError(CivicforumError):
    """The proposal action could not be completed."""


class FieldError(ProposalError):
    """A problem with one form field; views show it next to that field."""

    status_code = 422

    def __init__(self, message: str, *, field: str) -> None:
        super().__init__(message)
        self.field = field


class InvalidInputError(ProposalError):
    """Some fields are not valid; `errors` maps each field name to its message."""

    status_code = 422

    def __init__(self, errors: dict[str, str]) -> None:
        super().__init__("; ".join(errors.values()))
        self.errors = errors


class IllegalTransitionError(ProposalError):
    """This proposal cannot move to that state from its current state."""

    status_code = 409

    def __init__(self, from_state: str, to_state: str) -> None:
        super().__init__(
            str(_l("A proposal cannot go from “%(a)s” to “%(b)s”.", a=from_state, b=to_state))
        )
        self.from_state = from_state
        self.to_state = to_state


class ProposalClosedError(ProposalError):
    """This proposal is not open for that any more."""

    status_code = 409


class NotAuthorError(ProposalError):
    """Only the author can do this."""

    status_code = 403


class VerificationRequiredError(ProposalError):
    """Verify your email address first."""

    status_code = 403
