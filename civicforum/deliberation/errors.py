"""Domain errors of the deliberation feature; each carries its HTTP status."""

from __future__ import annotations

from civicforum.web.errors import CivicforumError


class DeliberationError(CivicforumError):
    """The discussion action could not be completed."""


class InvalidParentError(DeliberationError):
    """That comment does not belong to this discussion."""

    status_code = 400


class ClosedCommentError(DeliberationError):
    """This comment can no longer be answered."""

    status_code = 409


class DiscussionClosedError(DeliberationError):
    """The discussion of this proposal is closed."""

    status_code = 409


class NotCommentAuthorError(DeliberationError):
    """Only the author can change this comment."""

    status_code = 403


class EditWindowClosedError(DeliberationError):
    """Comments can be edited only within 15 minutes of posting."""

    status_code = 409


class OwnCommentVoteError(DeliberationError):
    """You cannot vote on your own comment."""

    status_code = 403


class InvalidStanceError(DeliberationError):
    """A stance can be given on top-level comments only."""

    status_code = 400
