"""Admin pages of the proposals feature: categories, threshold and support period."""

from __future__ import annotations

from flask import flash, redirect, request, url_for
from flask.typing import ResponseReturnValue
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_login import current_user
from flask_wtf import FlaskForm
from wtforms import BooleanField, IntegerField, StringField
from wtforms.validators import InputRequired, NumberRange, Optional

from civicforum.admin import bp
from civicforum.extensions import db
from civicforum.proposals import services
from civicforum.proposals.errors import FieldError
from civicforum.proposals.models import Category
from civicforum.settings.services import (
    REGISTRY,
    InvalidSettingError,
    get_setting,
    set_setting,
    validate,
)
from civicforum.web import nav
from civicforum.web.htmx import render_page

SETTING_KEYS = ("proposals.support_threshold", "proposals.support_period_days")


class CategoryForm(FlaskForm):
    name = StringField(_l("Name"), validators=[InputRequired()])
    slug = StringField(_l("Slug"), validators=[InputRequired()])
    description = StringField(_l("Description (optional)"))
    position = IntegerField(
        _l("Order in lists"), default=0, validators=[Optional(), NumberRange(0, 10_000)]
    )
    active = BooleanField(_l("Active (offered to authors)"), default=True)


@bp.record_once
def _register_nav(state) -> None:  # type: ignore[no-untyped-def]
    nav.register(
        state.app,
        "admin",
        nav.NavItem("admin.proposal_categories", lambda: str(_l("Proposal categories")), 30),
    )
    nav.register(
        state.app,
        "admin",
        nav.NavItem("admin.proposal_settings", lambda: str(_l("Proposal settings")), 31),
    )


@bp.route("/proposals/categories", methods=["GET", "POST"])
def proposal_categories() -> ResponseReturnValue:
    editing = db.session.get(Category, request.args.get("edit", type=int) or 0)
    form = CategoryForm(obj=editing if request.method == "GET" else None)
    if form.validate_on_submit():
        try:
            services.save_category(
                db.session,
                actor=current_user,
                name=form.name.data or "",
                slug=form.slug.data or "",
                description=form.description.data or "",
                position=form.position.data or 0,
                active=bool(form.active.data),
                category=editing,
            )
        except FieldError as error:
            field = getattr(form, error.field, form.name)
            field.errors = [*field.errors, error.message]
        else:
            db.session.commit()
            flash(_("Category saved."), "success")
            return redirect(url_for("admin.proposal_categories"), code=303)
    status = 422 if request.method == "POST" else 200
    return render_page(
        "admin/proposals/categories.html",
        fragment="category_form",
        form=form,
        editing=editing,
        categories=services.list_categories(db.session, active_only=False),
    ), status


@bp.route("/proposals/settings", methods=["GET", "POST"])
def proposal_settings() -> ResponseReturnValue:
    errors: dict[str, str] = {}
    values = {key: get_setting(db.session, key) for key in SETTING_KEYS}
    if request.method == "POST":
        for key in SETTING_KEYS:
            values[key] = request.form.get(key, "")
            try:
                validate(REGISTRY[key], values[key])  # all or nothing: check every field first
            except InvalidSettingError as error:
                errors[key] = error.message
        if not errors:
            for key in SETTING_KEYS:
                set_setting(db.session, key, values[key], actor=current_user)
            db.session.commit()
            flash(_("Settings saved."), "success")
            return redirect(url_for("admin.proposal_settings"), code=303)
    fields = [(REGISTRY[key], values[key], errors.get(key)) for key in SETTING_KEYS]
    status = 422 if errors else 200
    return render_page(
        "admin/proposals/settings.html", fragment="settings_form", fields=fields
    ), status
