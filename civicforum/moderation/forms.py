from __future__ import annotations

from typing import Any

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import (
    HiddenField,
    IntegerField,
    RadioField,
    SelectField,
    SelectMultipleField,
    StringField,
    TextAreaField,
)
from wtforms.fields.choices import SelectChoice
from wtforms.validators import (
    AnyOf,
    DataRequired,
    InputRequired,
    Length,
    NumberRange,
    Optional,
    ValidationError,
)

from civicforum.moderation.models import APPEAL_MAX, REASON_MAX, FlagReason
from civicforum.web.inputs import PlainText


def choices(pairs: list[tuple[str, Any]]) -> list[SelectChoice]:
    return [SelectChoice(value, str(label)) for value, label in pairs]


def reason_choices() -> list[SelectChoice]:
    labels = reason_labels()
    return choices([(r.value, labels[r.value]) for r in FlagReason])


def reason_labels() -> dict[str, str]:
    return {
        "spam": str(_l("Spam or advertising")),
        "harassment": str(_l("Harassment or personal attack")),
        "hate": str(_l("Hate speech")),
        "off-topic": str(_l("Off-topic")),
        "illegal": str(_l("Illegal content")),
        "other": str(_l("Something else")),
    }


def item_name(ref: str | None) -> str:
    """ "comment:12" as people read it ("Comment #12"); the ref itself stays in the log."""
    kind, _sep, item_id = (ref or "").partition(":")
    if kind == "comment":
        return str(_l("Comment #%(id)s", id=item_id))
    if kind == "proposal":
        return str(_l("Proposal #%(id)s", id=item_id))
    return str(_l("an account"))


def action_labels() -> dict[str, str]:
    return {
        "flag_threshold": str(_l("Hidden after reports")),
        "approve": str(_l("Approved")),
        "hide": str(_l("Hidden")),
        "remove": str(_l("Removed")),
        "restore": str(_l("Restored")),
        "warn": str(_l("Warning")),
        "suspend": str(_l("Suspension")),
        "ban": str(_l("Ban")),
        "lift": str(_l("Sanction lifted")),
        "appeal_granted": str(_l("Appeal granted")),
        "appeal_rejected": str(_l("Appeal rejected")),
    }


class FlagForm(FlaskForm):
    reason = RadioField(_l("Why are you reporting this?"), validators=[InputRequired()])
    details = TextAreaField(
        _l("Details (required for “Something else”)"),
        validators=[Optional(), Length(max=REASON_MAX), PlainText(multiline=True)],
    )

    def __init__(self, *args: object, **kwargs: object) -> None:
        super().__init__(*args, **kwargs)
        self.reason.choices = reason_choices()

    def validate_details(self, field: TextAreaField) -> None:
        if self.reason.data == "other" and not (field.data or "").strip():
            raise ValidationError(_l("Please describe the problem."))


class DecisionForm(FlaskForm):
    """One decision on one item; `version` is the moderation_version the moderator saw."""

    version = HiddenField(validators=[DataRequired()])
    action = StringField(
        validators=[DataRequired(), AnyOf(["approve", "hide", "remove", "restore"])]
    )
    reason_code = SelectField(_l("Reason"), validators=[Optional()])
    # No Optional() here: it stops the chain on an empty value, and validate_reason must run
    # exactly then.
    reason = StringField(_l("Public reason"), validators=[Length(max=REASON_MAX), PlainText()])

    def __init__(self, *args: object, **kwargs: object) -> None:
        super().__init__(*args, **kwargs)
        self.reason_code.choices = choices([("", _l("(none)"))]) + reason_choices()

    def validate_reason(self, field: StringField) -> None:
        if self.action.data in ("hide", "remove") and not (field.data or "").strip():
            raise ValidationError(_l("Write a public reason: one is required to hide or remove."))


class BulkForm(FlaskForm):
    # Values are whatever the queue rendered ("comment:12:3"); the view parses, the service
    # re-checks every item, so the choices are not fixed here.
    selected = SelectMultipleField(
        _l("Selected items"),
        validators=[DataRequired(_l("Select at least one item in the list below."))],
        choices=[],
        validate_choice=False,
    )
    action = SelectField(_l("Action"), validators=[DataRequired()])
    reason_code = SelectField(_l("Reason"), validators=[Optional()])
    reason = StringField(_l("Public reason"), validators=[Length(max=REASON_MAX), PlainText()])

    validate_reason = DecisionForm.validate_reason

    def __init__(self, *args: object, **kwargs: object) -> None:
        super().__init__(*args, **kwargs)
        self.action.choices = choices(
            [
                ("approve", _l("Approve")),
                ("hide", _l("Hide")),
                ("remove", _l("Remove")),
                ("restore", _l("Restore")),
            ]
        )
        self.reason_code.choices = choices([("", _l("(none)"))]) + reason_choices()


class SanctionForm(FlaskForm):
    kind = RadioField(_l("Sanction"), validators=[InputRequired()])
    days = IntegerField(_l("Days (suspension only)"), validators=[Optional(), NumberRange(1, 365)])
    reason = TextAreaField(
        _l("Reason (shown to the member)"),
        validators=[DataRequired(), Length(max=REASON_MAX), PlainText(multiline=True)],
    )

    def __init__(self, *args: object, **kwargs: object) -> None:
        super().__init__(*args, **kwargs)
        self.kind.choices = choices(
            [
                ("warn", _l("Warn (a message to the member)")),
                ("suspend", _l("Suspend for a number of days")),
                ("ban", _l("Ban")),
            ]
        )

    def validate(self, extra_validators: Any = None) -> bool:
        ok = super().validate(extra_validators)
        # Not a validate_days method: Optional() ends the field's chain when it is empty.
        if self.kind.data == "suspend" and not self.days.data and not self.days.errors:
            self.days.errors = [str(_l("How many days?"))]
            return False
        return ok


class LiftForm(FlaskForm):
    reason = StringField(
        _l("Reason"), validators=[DataRequired(), Length(max=REASON_MAX), PlainText()]
    )


class AppealForm(FlaskForm):
    text = TextAreaField(
        _l("Why should the decision change?"),
        validators=[DataRequired(), Length(max=APPEAL_MAX), PlainText(multiline=True)],
    )


class AppealDecisionForm(FlaskForm):
    decision = RadioField(_l("Decision"), validators=[InputRequired()])
    reason = TextAreaField(
        _l("Reason (shown to the author)"),
        validators=[DataRequired(), Length(max=REASON_MAX), PlainText(multiline=True)],
    )

    def __init__(self, *args: object, **kwargs: object) -> None:
        super().__init__(*args, **kwargs)
        self.decision.choices = choices(
            [("grant", _l("Grant (restore if hidden)")), ("reject", _l("Reject"))]
        )
