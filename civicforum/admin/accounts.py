"""Admin pages for accounts: user search, role grants and revocations, the voter roll.

Every route here is behind the admin blueprint's guard (admin role + two-factor login).
"""

from __future__ import annotations

import csv
import io

from flask import abort, current_app, flash, redirect, request, url_for
from flask.typing import ResponseReturnValue
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_babel import ngettext
from flask_wtf import FlaskForm

from civicforum.accounts import services
from civicforum.accounts.errors import LastAdminError
from civicforum.accounts.forms import RoleForm, RollImportForm
from civicforum.accounts.models import Role, User
from civicforum.accounts.sessions import current_store
from civicforum.accounts.views import me
from civicforum.admin import bp
from civicforum.extensions import db
from civicforum.web import nav
from civicforum.web.htmx import render_page


@bp.record_once
def _register_nav(state: object) -> None:
    app = state.app  # type: ignore[attr-defined]
    nav.register(app, "admin", nav.NavItem("admin.users", lambda: str(_l("Users and roles")), 10))
    nav.register(app, "admin", nav.NavItem("admin.roll", lambda: str(_l("Voter roll")), 11))


@bp.get("/users")
def users() -> ResponseReturnValue:
    query = request.args.get("q", "")[:100]
    role = request.args.get("role", "")
    page = request.args.get("page", 1, type=int) or 1
    result = services.search_users(db.session, query=query, role=role, page=page)
    return render_page(
        "admin/accounts/users.html",
        fragment="user_list",
        page=result,
        q=query,
        role=role,
        roles=[str(r) for r in Role],
    )


def _user_page(user: User, form: RoleForm, status: int = 200) -> ResponseReturnValue:
    return render_page(
        "admin/accounts/user.html",
        user=user,
        form=form,
        history=services.role_history(db.session, user=user),
        roles=[str(r) for r in Role],
    ), status


@bp.get("/users/<int:user_id>")
def user(user_id: int) -> ResponseReturnValue:
    return _user_page(db.get_or_404(User, user_id), RoleForm(formdata=None))


@bp.post("/users/<int:user_id>/roles")
def change_role(user_id: int) -> ResponseReturnValue:
    target = db.get_or_404(User, user_id)
    form = RoleForm()
    if not form.validate_on_submit():
        return _user_page(target, form, 422)
    role = Role(form.role.data)
    try:
        if form.action.data == "grant":
            changed = services.grant_role(db.session, actor=me(), user=target, role=role)
        else:
            changed = services.revoke_role(db.session, actor=me(), user=target, role=role)
    except LastAdminError as error:
        form.role.errors = [error.message]
        return _user_page(target, form, error.status_code)
    db.session.commit()
    if changed:
        flash(_("The roles of %(name)s were changed.", name=target.display_name), "success")
    else:
        flash(_("Nothing to change."), "info")
    return redirect(url_for("admin.user", user_id=target.id), code=303)


@bp.post("/users/<int:user_id>/end-sessions")
def end_sessions(user_id: int) -> ResponseReturnValue:
    """Sign a user out everywhere (ASVS 7.4.5): a stolen account, a lost phone."""
    target = db.get_or_404(User, user_id)
    if not FlaskForm().validate_on_submit():
        abort(400)
    services.end_all_sessions(db.session, user=target, actor=me())
    db.session.commit()
    current_store(current_app).delete_for_user(target.id)
    flash(_("Every session of %(name)s was ended.", name=target.display_name), "success")
    return redirect(url_for("admin.user", user_id=target.id), code=303)


@bp.route("/roll", methods=["GET", "POST"])
def roll() -> ResponseReturnValue:
    form = RollImportForm()
    status = 200
    if form.validate_on_submit():
        try:
            identifiers = _read_identifiers(form.file.data.read(), header=form.has_header.data)
        except UnicodeDecodeError:
            form.file.errors = [_("The file must be UTF-8 text (CSV).")]
        else:
            result = services.import_roll(db.session, actor=me(), identifiers=identifiers)
            db.session.commit()
            added = ngettext(
                "%(num)d identifier added.", "%(num)d identifiers added.", result.added
            )
            present = ngettext(
                "%(num)d was already on the roll.",
                "%(num)d were already on the roll.",
                result.already_present,
            )
            flash(f"{added} {present}" if result.already_present else added, "success")
            return redirect(url_for("admin.roll"), code=303)
    if request.method == "POST":
        status = 422
    total, claimed = services.roll_summary(db.session)
    return render_page(
        "admin/accounts/roll.html",
        form=form,
        total=total,
        claimed=claimed,
        max_bytes=current_app.config["MAX_CONTENT_LENGTH"],
    ), status


def _read_identifiers(raw: bytes, *, header: bool) -> list[str]:
    """First column of each CSV row; the rest of the row (names, notes) is never stored."""
    text = raw.decode("utf-8-sig")
    rows = csv.reader(io.StringIO(text))
    if header:
        next(rows, None)
    return [row[0] for row in rows if row and row[0].strip()]
