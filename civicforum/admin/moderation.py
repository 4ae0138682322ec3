"""Admin: moderation settings (flag threshold, pre-moderation, rate limits)."""

from __future__ import annotations

from flask import flash, redirect, request, url_for
from flask.typing import ResponseReturnValue
from flask_babel import gettext as _
from flask_login import current_user

from civicforum.admin import bp
from civicforum.extensions import db
from civicforum.moderation import policy
from civicforum.settings.services import InvalidSettingError, get_setting, set_setting, validate
from civicforum.web.htmx import render_page


@bp.route("/moderation/settings", methods=["GET", "POST"])
def moderation_settings() -> ResponseReturnValue:
    values = {s.key: get_setting(db.session, s.key) for s in policy.SETTINGS}
    errors: dict[str, str] = {}
    if request.method == "POST":
        submitted = {s.key: request.form.get(s.key, "") for s in policy.SETTINGS}
        for spec in policy.SETTINGS:
            try:
                validate(spec, submitted[spec.key])
            except InvalidSettingError as error:
                errors[spec.key] = error.message
        if not errors:
            for spec in policy.SETTINGS:
                if validate(spec, submitted[spec.key]) != values[spec.key]:
                    set_setting(db.session, spec.key, submitted[spec.key], actor=current_user)
            db.session.commit()
            flash(_("Moderation settings saved."), "success")
            return redirect(url_for(".moderation_settings"), code=303)
        values = submitted
    return render_page(
        "admin/moderation/settings.html",
        specs=policy.SETTINGS,
        values=values,
        errors=errors,
    ), 422 if errors else 200


@bp.record_once
def _on_register(state) -> None:  # type: ignore[no-untyped-def]
    from flask_babel import lazy_gettext as _l

    from civicforum.web import nav

    nav.register(
        state.app,
        "admin",
        nav.NavItem("admin.moderation_settings", lambda: str(_l("Moderation settings")), 40),
    )
