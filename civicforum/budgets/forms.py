"""Admin forms for budgets, their projects, feasibility reviews and the vote."""

from __future__ import annotations

from typing import Any

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import (
    BooleanField,
    IntegerField,
    RadioField,
    SelectField,
    StringField,
    TextAreaField,
)
from wtforms.fields.choices import SelectChoice
from wtforms.validators import DataRequired, Length, NumberRange, Optional

from civicforum.ballots.forms import MultiCheckboxField, VotingPeriodForm
from civicforum.budgets.services import BudgetFields, ProjectFields, VotingFields


def vote_type_choices() -> list[tuple[str, Any]]:
    return [
        ("approval", _l("Approval: members tick the projects they want")),
        ("choose-1", _l("One choice: members pick a single project")),
        ("cumulative", _l("Points: members share points among projects")),
        ("ordinal", _l("Ranking: members rank the projects they want")),
    ]


def rule_choices() -> list[tuple[str, Any]]:
    return [
        ("equalshares/add1", _l("Method of Equal Shares (completed by raising the shares)")),
        (
            "equalshares/add1-comparison",
            _l("Method of Equal Shares, or most votes first if more voters prefer it"),
        ),
        ("equalshares", _l("Method of Equal Shares, without completion")),
        ("greedy", _l("Most votes first, skipping projects that no longer fit")),
        ("greedy-no-skip", _l("Most votes first, stopping at the first that does not fit")),
    ]


class BudgetForm(FlaskForm):
    title = StringField(_l("Title"), validators=[DataRequired(), Length(max=200)])
    description = TextAreaField(_l("Description"), validators=[Length(max=5000)])
    amount = StringField(
        _l("Amount to share out"),
        validators=[DataRequired(), Length(max=30)],
        description=_l("In figures, like 250000 or 250000.50."),
    )
    currency = StringField(
        _l("Currency"),
        default="EUR",
        validators=[DataRequired(), Length(min=3, max=3)],
        description=_l("Its three-letter code: EUR, USD, PLN…"),
    )
    period = StringField(_l("Period"), validators=[Length(max=100)], description=_l("Like 2027."))
    area = StringField(
        _l("Area or theme"),
        validators=[Length(max=200)],
        description=_l("A district, or a theme such as green spaces."),
    )
    vote_type = SelectField(_l("How members vote"), choices=vote_type_choices, default="approval")
    rule = SelectField(
        _l("How the money is shared out"), choices=rule_choices, default="equalshares/add1"
    )
    min_projects = IntegerField(
        _l("Least number of projects a member must choose"),
        validators=[Optional(), NumberRange(min=1, max=200)],
    )
    max_projects = IntegerField(
        _l("Most projects a member may choose"),
        validators=[Optional(), NumberRange(min=1, max=200)],
    )
    cost_limit = BooleanField(
        _l("The projects a member chooses must fit in the budget (approval only)")
    )
    total_points = IntegerField(
        _l("Points each member may give (points only)"),
        validators=[Optional(), NumberRange(min=1, max=1000)],
    )
    max_points = IntegerField(
        _l("Most points for one project (points only)"),
        validators=[Optional(), NumberRange(min=1, max=1000)],
    )

    def to_fields(self) -> BudgetFields:
        return BudgetFields(
            title=self.title.data or "",
            description=self.description.data or "",
            amount=self.amount.data or "",
            currency=(self.currency.data or "").strip().upper(),
            period=self.period.data or "",
            area=self.area.data or "",
            vote_type=self.vote_type.data or "approval",
            rule=self.rule.data or "equalshares/add1",
            min_projects=self.min_projects.data,
            max_projects=self.max_projects.data,
            cost_limit=bool(self.cost_limit.data),
            max_points=self.max_points.data,
            total_points=self.total_points.data,
        )

    def fill_from(self, budget: Any) -> None:
        for name in (
            "title",
            "description",
            "amount",
            "currency",
            "period",
            "area",
            "vote_type",
            "rule",
            "min_projects",
            "max_projects",
            "cost_limit",
            "max_points",
            "total_points",
        ):
            getattr(self, name).data = getattr(budget, name)


class ProjectForm(FlaskForm):
    title = StringField(_l("Project title"), validators=[DataRequired(), Length(max=200)])
    description = TextAreaField(_l("What it is"), validators=[Length(max=10000)])
    category = StringField(_l("Category"), validators=[Length(max=100)])
    location = StringField(_l("Location (optional)"), validators=[Length(max=200)])
    requested_cost = StringField(
        _l("Cost asked for (optional)"),
        validators=[Length(max=30)],
        description=_l("Leave empty if the review will estimate it."),
    )

    def to_fields(self) -> ProjectFields:
        return ProjectFields(
            title=self.title.data or "",
            description=self.description.data or "",
            category=self.category.data or "",
            location=self.location.data or "",
            requested_cost=self.requested_cost.data or "",
        )


class ImportForm(FlaskForm):
    proposals = MultiCheckboxField(_l("Qualified proposals"), coerce=int)


class ReviewForm(FlaskForm):
    outcome = RadioField(
        _l("Decision"),
        choices=[
            SelectChoice("feasible", _l("Feasible")),
            SelectChoice("infeasible", _l("Not feasible")),
        ],
        validators=[DataRequired()],
    )
    cost = StringField(
        _l("Confirmed cost (when feasible)"),
        validators=[Length(max=30)],
        description=_l("What it will really cost; this is the cost on the ballot."),
    )
    reason = TextAreaField(
        _l("Reason (public)"),
        validators=[Length(max=2000)],
        description=_l(
            "Required when not feasible; it is shown to everyone and kept in the civic record."
        ),
    )


class VotingForm(VotingPeriodForm):
    vote_changes = BooleanField(
        _l("Voters may change their vote until closing (the last counts)"), default=True
    )

    def to_fields(self) -> VotingFields:
        opens_at, closes_at, rule, role = self.period()
        return VotingFields(
            opens_at=opens_at,
            closes_at=closes_at,
            eligibility=rule,
            eligibility_role=role,
            vote_changes=bool(self.vote_changes.data),
        )
