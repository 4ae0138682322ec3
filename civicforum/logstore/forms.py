"""Forms of the log store pages."""

from __future__ import annotations

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from flask_wtf.file import FileField
from wtforms import StringField, TextAreaField
from wtforms.validators import DataRequired, Length, Optional

MAX_RECEIPT = 64 * 1024  # a receipt is a few kilobytes; entries are at most 64 KiB


class VerifyForm(FlaskForm):
    receipt = TextAreaField(
        _l("Receipt text (.tlog-promise or .tlog-proof)"),
        validators=[Optional(), Length(max=2 * MAX_RECEIPT)],
    )
    receipt_file = FileField(_l("…or upload the receipt file"))

    def receipt_text(self) -> str | None:
        """The pasted text, or the uploaded file's; None when neither was given."""
        upload = self.receipt_file.data
        if upload is not None and getattr(upload, "filename", ""):
            raw = upload.read(2 * MAX_RECEIPT + 1)
            try:
                return raw.decode("utf-8")
            except UnicodeDecodeError:
                return raw.decode("latin-1")
        # Browsers send CRLF from a textarea, and a copy often loses the final newline,
        # which the note format needs; neither is part of what the signatures cover.
        text = (self.receipt.data or "").replace("\r\n", "\n").strip("\n")
        return text + "\n" if text.strip() else None


class WitnessForm(FlaskForm):
    vkey = StringField(
        _l("Witness verifier key"),
        validators=[DataRequired(), Length(max=400)],
        description=_l("name+keyid+base64 key, as printed by civicforum-audit witness keygen"),
    )
