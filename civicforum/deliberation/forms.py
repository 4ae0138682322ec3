from __future__ import annotations

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import HiddenField, RadioField, TextAreaField


def stance_choices() -> list[tuple[str, str]]:
    return [
        ("", str(_l("No stance"))),
        ("in_favour", str(_l("In favour"))),
        ("against", str(_l("Against"))),
        ("neutral", str(_l("Neutral"))),
    ]


class CommentForm(FlaskForm):
    # Length and characters are checked by the service after normalisation.
    body = TextAreaField(_l("Your comment (Markdown)"))
    stance = RadioField(_l("Your stance"), choices=[], validate_choice=False, default="")
    parent_id = HiddenField()

    def __init__(self, *args: object, **kwargs: object) -> None:
        super().__init__(*args, **kwargs)
        self.stance.choices = stance_choices()


class EditCommentForm(FlaskForm):
    body = TextAreaField(_l("Your comment (Markdown)"))
