from __future__ import annotations

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import SelectField, StringField, SubmitField, TextAreaField
from wtforms.validators import InputRequired

# Lengths are checked by the services after normalisation (NFC, trimming); the form only
# carries the values so the error appears next to the field that caused it.


class ProposalForm(FlaskForm):
    title = StringField(_l("Title"), validators=[InputRequired()])
    summary = TextAreaField(_l("Summary"), validators=[InputRequired()])
    body = TextAreaField(_l("Proposal text (Markdown)"), validators=[InputRequired()])
    category_id = SelectField(_l("Category"), coerce=int, validate_choice=False)
    tags = StringField(_l("Tags (optional, separated by commas)"))
    save_draft = SubmitField(_l("Save draft"))
    publish = SubmitField(_l("Publish"))


class WithdrawForm(FlaskForm):
    reason = TextAreaField(_l("Why are you withdrawing it? (optional)"))
