"""Admin forms for defining and cancelling ballots. (Voting forms are parsed in validation.py.)"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any
from zoneinfo import ZoneInfo

from flask_babel import get_timezone
from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import (
    BooleanField,
    DateTimeLocalField,
    IntegerField,
    SelectField,
    SelectMultipleField,
    StringField,
    TextAreaField,
    widgets,
)
from wtforms.validators import DataRequired, Length, NumberRange, Optional

from civicforum.ballots.models import Eligibility, Method
from civicforum.ballots.services import BallotDraft, OptionDraft

DATETIME_FORMAT = "%Y-%m-%dT%H:%M"


def method_choices() -> list[tuple[str, Any]]:
    return [
        (Method.APPROVAL.value, _l("Approval (tick any number of options)")),
        (Method.IRV.value, _l("Instant-runoff (rank options; one winner)")),
        (Method.STV.value, _l("Single transferable vote (rank options; several seats)")),
        (Method.SCHULZE.value, _l("Condorcet / Schulze (rank options; one winner)")),
    ]


def method_label(method: str) -> Any:
    return dict(method_choices()).get(method, method)


def eligibility_choices() -> list[tuple[str, Any]]:
    return [
        (Eligibility.EMAIL_VERIFIED.value, _l("Members with a verified email address")),
        (Eligibility.ROLL_VERIFIED.value, _l("Members verified against the voter roll")),
        (Eligibility.ROLE.value, _l("Members with a role")),
    ]


def role_choices() -> list[tuple[str, Any]]:
    return [
        ("citizen", _l("Citizen")),
        ("moderator", _l("Moderator")),
        ("auditor", _l("Auditor")),
        ("admin", _l("Administrator")),
    ]


class MultiCheckboxField(SelectMultipleField):
    widget = widgets.ListWidget(prefix_label=False)
    option_widget = widgets.CheckboxInput()


def local_to_utc(value: datetime) -> datetime:
    """A naive datetime typed in the viewer's time zone, as aware UTC."""
    zone = get_timezone()
    tz = ZoneInfo(str(zone)) if zone is not None else UTC
    return value.replace(tzinfo=tz).astimezone(UTC)


def utc_to_local(value: datetime) -> datetime:
    zone = get_timezone()
    tz = ZoneInfo(str(zone)) if zone is not None else UTC
    return value.astimezone(tz).replace(tzinfo=None)


class VotingPeriodForm(FlaskForm):
    """When voting happens and who may vote: a ballot's form, and a budget's "put to the vote"."""

    opens_at = DateTimeLocalField(
        _l("Opens at"), format=DATETIME_FORMAT, validators=[DataRequired()]
    )
    closes_at = DateTimeLocalField(
        _l("Closes at"), format=DATETIME_FORMAT, validators=[DataRequired()]
    )
    eligibility = SelectField(_l("Who may vote"), choices=eligibility_choices)
    eligibility_role = SelectField(
        _l("Role (when voting is limited to a role)"), choices=role_choices, default="citizen"
    )

    def period(self) -> tuple[datetime, datetime, Eligibility, str | None]:
        """(opens, closes as aware UTC, who may vote, the role when limited to one)."""
        rule = Eligibility(self.eligibility.data)
        return (
            local_to_utc(self.opens_at.data),
            local_to_utc(self.closes_at.data),
            rule,
            self.eligibility_role.data if rule is Eligibility.ROLE else None,
        )


class BallotForm(VotingPeriodForm):
    title = StringField(_l("Title"), validators=[DataRequired(), Length(max=200)])
    description = TextAreaField(_l("Description"), validators=[Length(max=5000)])
    method = SelectField(_l("Voting method"), choices=method_choices, default="approval")
    seats = IntegerField(
        _l("Number of winners"),
        default=1,
        validators=[DataRequired(), NumberRange(min=1, max=50)],
        description=_l("Approval and STV may elect several; instant-runoff and Schulze elect one."),
    )
    max_approvals = IntegerField(
        _l("Maximum approvals per voter (approval only)"),
        validators=[Optional(), NumberRange(min=1, max=100)],
        description=_l("Leave empty for no limit."),
    )
    options_text = TextAreaField(
        _l("Options"),
        description=_l("One option per line. Linked proposals below are added after these."),
        validators=[Length(max=20000)],
    )
    proposals = MultiCheckboxField(_l("Qualified proposals to put on the ballot"), coerce=int)
    secret = BooleanField(_l("Secret ballot (voters' names are never recorded with choices)"))
    vote_changes = BooleanField(_l("Voters may change their vote until closing (the last counts)"))
    results_hidden = BooleanField(
        _l("Hide results until the ballot closes"),
        description=_l(
            "Only this site's results page waits for the closing. The vote log is public and "
            "lists each ballot as it is recorded, so anyone can count them as the vote goes."
        ),
    )

    def to_draft(self) -> BallotDraft:
        labels = [line.strip() for line in (self.options_text.data or "").splitlines()]
        titles = dict(self.proposals.choices or [])  # type: ignore[arg-type]
        options = [OptionDraft(label=label) for label in labels if label]
        options += [
            OptionDraft(label=str(titles.get(pid, pid)), proposal_id=pid)
            for pid in self.proposals.data or []
        ]
        opens_at, closes_at, eligibility, role = self.period()
        return BallotDraft(
            title=self.title.data or "",
            description=self.description.data or "",
            method=Method(self.method.data),
            options=tuple(options),
            opens_at=opens_at,
            closes_at=closes_at,
            seats=self.seats.data or 1,
            max_approvals=self.max_approvals.data,
            eligibility=eligibility,
            eligibility_role=role,
            secret=bool(self.secret.data),
            vote_changes=bool(self.vote_changes.data),
            results_hidden=bool(self.results_hidden.data),
        )

    def fill_from(self, ballot: Any) -> None:
        self.title.data = ballot.title
        self.description.data = ballot.description
        self.method.data = ballot.method
        self.seats.data = ballot.seats
        self.max_approvals.data = ballot.max_approvals
        self.options_text.data = "\n".join(o.label for o in ballot.options if o.proposal_id is None)
        self.proposals.data = [o.proposal_id for o in ballot.options if o.proposal_id]
        self.opens_at.data = utc_to_local(ballot.opens_at)
        self.closes_at.data = utc_to_local(ballot.closes_at)
        self.eligibility.data = ballot.eligibility
        self.eligibility_role.data = ballot.eligibility_role or "citizen"
        self.secret.data = ballot.secret
        self.vote_changes.data = ballot.vote_changes
        self.results_hidden.data = ballot.results_hidden


class CancelForm(FlaskForm):
    reason = TextAreaField(
        _l("Reason for cancelling (shown publicly)"),
        validators=[DataRequired(), Length(max=2000)],
    )
