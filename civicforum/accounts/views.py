from __future__ import annotations

from flask import Blueprint, flash, redirect, request, session, url_for
from flask.typing import ResponseReturnValue
from flask_babel import gettext as _
from flask_login import current_user, login_required, login_user, logout_user

from civicforum.accounts import services
from civicforum.accounts.forms import LoginForm
from civicforum.accounts.sessions import ServerSession
from civicforum.extensions import db
from civicforum.web import safe_next
from civicforum.web.htmx import render_page

bp = Blueprint("accounts", __name__, url_prefix="/account")


def start_session(user: services.User) -> None:
    """Log the user in on a fresh session token (no fixation), bound to their session version."""
    assert isinstance(session, ServerSession)
    session.regenerate()
    login_user(user)
    session["_sv"] = user.session_version


@bp.route("/login", methods=["GET", "POST"])
def login() -> ResponseReturnValue:
    form = LoginForm()
    if form.validate_on_submit():
        user = services.authenticate(db.session, email=form.email.data, password=form.password.data)
        if user is not None:
            db.session.commit()
            start_session(user)
            return redirect(safe_next(request.args.get("next"), url_for("pages.home")), code=303)
        form.password.errors = [_("Email or password is not correct.")]
    status = 422 if request.method == "POST" else 200
    return render_page("accounts/login.html", fragment="login_form", form=form), status


@bp.post("/logout")
@login_required
def logout() -> ResponseReturnValue:
    logout_user()
    assert isinstance(session, ServerSession)
    session.destroy()
    flash(_("You are logged out."), "info")
    return redirect(url_for("pages.home"), code=303)


@bp.get("/")
@login_required
def account() -> ResponseReturnValue:
    return render_page("accounts/account.html", user=current_user)


@bp.route("/register", methods=["GET", "POST"])
def register() -> ResponseReturnValue:
    from civicforum.accounts.forms import RegisterForm

    form = RegisterForm()
    if form.validate_on_submit():
        user = services.create_user(
            db.session,
            email=form.email.data,
            display_name=form.display_name.data,
            password=form.password.data,
        )
        db.session.commit()
        start_session(user)
        return redirect(url_for("pages.home"), code=303)
    status = 422 if request.method == "POST" else 200
    return render_page("accounts/register.html", fragment="register_form", form=form), status
