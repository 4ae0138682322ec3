from __future__ import annotations

import re
import unicodedata
from typing import Any
from zoneinfo import available_timezones

from flask import current_app
from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from flask_wtf.file import FileField, FileRequired
from wtforms import (
    BooleanField,
    EmailField,
    Field,
    Form,
    PasswordField,
    SelectField,
    StringField,
)
from wtforms.fields.choices import SelectChoice
from wtforms.validators import DataRequired, Length, Optional, ValidationError

# Deliberately loose: one @, a dot in the domain, no spaces or control characters. The
# verification mail is the real check.
_EMAIL = re.compile(r"^[^@\s]{1,64}@[^@\s]+\.[^@\s.]{2,}$")


def email_address(form: Form, field: Field) -> None:
    value = (field.data or "").strip()
    if not _EMAIL.match(value) or any(unicodedata.category(c).startswith("C") for c in value):
        raise ValidationError(_l("Enter an email address like name@example.org."))


def no_control_characters(form: Form, field: Field) -> None:
    if any(unicodedata.category(c) in {"Cc", "Cf", "Cs"} for c in field.data or ""):
        raise ValidationError(_l("Remove invisible or control characters."))


def _nfc(value: Any) -> Any:
    return unicodedata.normalize("NFC", value) if isinstance(value, str) else value


def _strip(value: Any) -> Any:
    return _nfc(value).strip() if isinstance(value, str) else value


PASSWORD_MAX = 1024
EMAIL_FIELD = dict(
    label=_l("Email"),
    validators=[DataRequired(), Length(max=254), email_address],
    filters=[_strip],
)


class LoginForm(FlaskForm):
    email = EmailField(_l("Email"), validators=[DataRequired(), Length(max=254)], filters=[_strip])
    password = PasswordField(_l("Password"), validators=[DataRequired(), Length(max=PASSWORD_MAX)])


class RegisterForm(FlaskForm):
    display_name = StringField(
        _l("Display name"),
        validators=[DataRequired(), Length(2, 60), no_control_characters],
        filters=[_strip],
    )
    email = EmailField(**EMAIL_FIELD)  # type: ignore[arg-type]
    password = PasswordField(_l("Password"), validators=[DataRequired(), Length(max=PASSWORD_MAX)])


class EmailForm(FlaskForm):
    email = EmailField(**EMAIL_FIELD)  # type: ignore[arg-type]


class NewPasswordForm(FlaskForm):
    password = PasswordField(
        _l("New password"), validators=[DataRequired(), Length(max=PASSWORD_MAX)]
    )


class ChangePasswordForm(FlaskForm):
    current_password = PasswordField(
        _l("Current password"), validators=[DataRequired(), Length(max=PASSWORD_MAX)]
    )
    password = PasswordField(
        _l("New password"), validators=[DataRequired(), Length(max=PASSWORD_MAX)]
    )


class CodeForm(FlaskForm):
    code = StringField(
        _l("Authentication code"), validators=[DataRequired(), Length(max=40)], filters=[_strip]
    )


class DisableTotpForm(FlaskForm):
    password = PasswordField(_l("Password"), validators=[DataRequired(), Length(max=PASSWORD_MAX)])
    code = StringField(
        _l("Authentication code"), validators=[DataRequired(), Length(max=40)], filters=[_strip]
    )


def _valid_timezone(form: Form, field: Field) -> None:
    if field.data and field.data not in available_timezones():
        raise ValidationError(_l("Choose a time zone such as Europe/Paris or UTC."))


class SettingsForm(FlaskForm):
    display_name = StringField(
        _l("Display name"),
        validators=[DataRequired(), Length(2, 60), no_control_characters],
        filters=[_strip],
    )
    locale = SelectField(_l("Language"), validators=[Optional()], validate_choice=True)
    timezone = StringField(
        _l("Time zone"), validators=[Optional(), Length(max=64), _valid_timezone], filters=[_strip]
    )
    notify_email_digest = BooleanField(_l("Send me an email digest of activity"))

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        from babel import Locale

        self.locale.choices = [SelectChoice("", str(_l("Browser default")))] + [
            SelectChoice(code, Locale.parse(code).get_display_name(code) or code)
            for code in current_app.config["LANGUAGES"]
        ]


class RollClaimForm(FlaskForm):
    identifier = StringField(
        _l("Your roll identifier"), validators=[DataRequired(), Length(max=200)], filters=[_strip]
    )


class RoleForm(FlaskForm):
    role = SelectField(_l("Role"), validators=[DataRequired()])
    action = SelectField(_l("Action"))

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        from civicforum.accounts.models import Role

        super().__init__(*args, **kwargs)
        labels = {
            Role.CITIZEN: _l("Citizen"),
            Role.MODERATOR: _l("Moderator"),
            Role.AUDITOR: _l("Auditor"),
            Role.ADMIN: _l("Administrator"),
        }
        self.role.choices = [SelectChoice(str(r), str(labels[r])) for r in Role]
        self.action.choices = [
            SelectChoice("grant", str(_l("Grant"))),
            SelectChoice("revoke", str(_l("Revoke"))),
        ]


class RollImportForm(FlaskForm):
    file = FileField(_l("CSV file of identifiers"), validators=[FileRequired()])
    has_header = BooleanField(_l("The first row is a header"))
