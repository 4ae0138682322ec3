from __future__ import annotations

from civicforum.web.errors import CivicforumError


class AccountError(CivicforumError):
    """The account action could not be completed."""


class InvalidCredentialsError(AccountError):
    """Email or password is not correct."""

    status_code = 401
