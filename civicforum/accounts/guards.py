"""Role checks: one helper used by decorators and blueprint guards alike."""

from __future__ import annotations

from collections.abc import Callable
from functools import wraps
from typing import Any, TypeVar

from flask import abort, redirect, request, session, url_for
from flask.typing import ResponseReturnValue
from flask_login import current_user

from civicforum.accounts.models import PRIVILEGED_ROLES, Role

F = TypeVar("F", bound=Callable[..., Any])


def check_role(*roles: Role | str) -> ResponseReturnValue | None:
    """None when the current user may pass; otherwise the response to send instead.

    Anonymous → login (302); lacking every role → 403; a privileged role without a
    two-factor login in this session → the 2FA set-up or challenge page.
    """
    if not current_user.is_authenticated:
        return redirect(url_for("accounts.login", next=request.full_path.rstrip("?")))
    wanted = {str(r) for r in roles}
    if not wanted & current_user.role_names:
        abort(403)
    if wanted & {str(r) for r in PRIVILEGED_ROLES}:
        if not current_user.has_totp:
            return redirect(url_for("accounts.totp_setup", next=request.full_path.rstrip("?")))
        if not session.get("mfa"):
            return redirect(url_for("accounts.totp_challenge", next=request.full_path.rstrip("?")))
    return None


def require_role(*roles: Role | str) -> Callable[[], ResponseReturnValue | None]:
    """A before_request guard for a whole blueprint: `bp.before_request(require_role(...))`."""

    def guard() -> ResponseReturnValue | None:
        return check_role(*roles)

    return guard


def role_required(*roles: Role | str) -> Callable[[F], F]:
    """Decorator form of require_role for single views."""

    def decorate(view: F) -> F:
        @wraps(view)
        def wrapped(*args: Any, **kwargs: Any) -> Any:
            return check_role(*roles) or view(*args, **kwargs)

        return wrapped  # type: ignore[return-value]

    return decorate
