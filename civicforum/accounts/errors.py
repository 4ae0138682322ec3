from __future__ import annotations

from civicforum.web.errors import CivicforumError


class AccountError(CivicforumError):
    """The account action could not be completed."""


class FieldError(AccountError):
    """A problem with one form field; views show it next to that field."""

    status_code = 422

    def __init__(self, message: str, *, field: str) -> None:
        super().__init__(message)
        self.field = field


class InvalidCredentialsError(AccountError):
    """Email or password is not correct."""

    status_code = 401


class InvalidTokenError(AccountError):
    """This link is invalid or has expired."""

    status_code = 400


class InvalidCodeError(AccountError):
    """The code is not correct or was already used."""

    status_code = 422


class LastAdminError(AccountError):
    """The last administrator cannot lose the admin role."""

    status_code = 409


class TotpRequiredError(AccountError):
    """Two-factor authentication is required for your roles."""

    status_code = 409


class RollClaimError(AccountError):
    """The identifier could not be claimed."""

    status_code = 409
