"""Moderation's domain errors: each carries its HTTP status and a translated message."""

from __future__ import annotations

from civicforum.web.errors import CivicforumError


class ModerationError(CivicforumError):
    """The moderation action could not be completed."""


class NotAllowedError(ModerationError):
    """You may not do this."""

    status_code = 403


class AlreadyHandledError(ModerationError):
    """Someone else has already handled this item."""

    status_code = 409


class InvalidStateError(ModerationError):
    """This item is not in a state that allows this action."""

    status_code = 409


class DuplicateFlagError(ModerationError):
    """You have already reported this."""

    status_code = 409


class DuplicateAppealError(ModerationError):
    """You have already appealed this decision."""

    status_code = 409


class DuplicateCommentError(ModerationError):
    """You have already posted this text."""

    status_code = 409


class RateLimitedError(ModerationError):
    """Too many in a short time."""

    status_code = 429


class ItemNotFoundError(ModerationError):
    """No such item."""

    status_code = 404
