"""Proposal services: lifecycle, revisions, supports, expiry, search (both backends)."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import func, select

from civicforum.audit.models import AuditEvent
from civicforum.db import utcnow
from civicforum.proposals import lifecycle, services
from civicforum.proposals.errors import (
    IllegalTransitionError,
    InvalidInputError,
    NotAuthorError,
    ProposalClosedError,
    VerificationRequiredError,
)
from civicforum.proposals.models import (
    ProposalRevision,
    ProposalState,
    ProposalTransition,
    Support,
)
from civicforum.settings.services import set_setting
from tests.factories import make_user
from tests.factories_proposals import make_category, make_proposal

S = ProposalState


def events(session, kind: str) -> list[AuditEvent]:
    return list(session.scalars(select(AuditEvent).where(AuditEvent.kind == kind)))


def test_every_transition_in_the_table_is_allowed_and_others_are_409(db_session) -> None:
    for source in S:
        for target in S:
            assert lifecycle.can_transition(source, target) == (target in lifecycle.ALLOWED[source])
    assert {S.ADOPTED, S.REJECTED, S.WITHDRAWN, S.ARCHIVED} == lifecycle.TERMINAL


@pytest.mark.parametrize(
    ("state", "target"),
    [
        (S.DRAFT, S.QUALIFIED),
        (S.DRAFT, S.ON_BALLOT),
        (S.PUBLISHED, S.ON_BALLOT),
        (S.PUBLISHED, S.ADOPTED),
        (S.QUALIFIED, S.ADOPTED),
        (S.ARCHIVED, S.PUBLISHED),
        (S.WITHDRAWN, S.PUBLISHED),
        (S.ADOPTED, S.REJECTED),
        (S.REJECTED, S.ON_BALLOT),
    ],
)
def test_illegal_transition_is_409_and_changes_nothing(db_session, state, target) -> None:
    proposal = make_proposal(db_session, state=state)
    rows = db_session.scalar(select(func.count()).select_from(ProposalTransition))
    audit = db_session.scalar(select(func.count()).select_from(AuditEvent))
    with pytest.raises(IllegalTransitionError) as info:
        lifecycle.transition(db_session, proposal, target, actor=None, reason="test")
    assert info.value.status_code == 409
    assert proposal.state is state
    assert db_session.scalar(select(func.count()).select_from(ProposalTransition)) == rows
    assert db_session.scalar(select(func.count()).select_from(AuditEvent)) == audit


def test_transition_records_timeline_and_civic_event(db_session) -> None:
    author = make_user(db_session)
    proposal = make_proposal(db_session, author=author, state=S.QUALIFIED)
    official = make_user(db_session, roles=("citizen", "admin"))
    lifecycle.transition(db_session, proposal, S.ON_BALLOT, actor=official, reason="ballot 7")
    timeline = services.timeline(db_session, proposal)
    assert [(t.from_state, t.to_state) for t in timeline] == [
        (None, S.DRAFT),
        (S.DRAFT, S.PUBLISHED),
        (S.PUBLISHED, S.QUALIFIED),
        (S.QUALIFIED, S.ON_BALLOT),
    ]
    assert timeline[-1].actor_id == official.id and timeline[-1].reason == "ballot 7"
    last = events(db_session, "proposal:state:change")[-1]
    assert last.data == {"from": "qualified", "to": "on_ballot", "reason": "ballot 7"}
    assert last.subject_type == "proposals" and last.subject_id == proposal.id


def test_publish_sets_deadline_from_setting(db_session) -> None:
    admin = make_user(db_session)
    set_setting(db_session, "proposals.support_period_days", 10, actor=admin)
    proposal = make_proposal(db_session)
    assert proposal.support_deadline is not None and proposal.published_at is not None
    assert proposal.support_deadline - proposal.published_at == timedelta(days=10)


def test_input_is_normalised_and_bad_fields_named(db_session) -> None:
    category = make_category(db_session)
    data = services.clean_input(
        db_session,
        title="  Cafe\u0301   terraces ",
        summary="Short",
        body="Body",
        category_id=category.id,
        tags="Parks, parks, cycling lanes",
    )
    assert data.title == "Café terraces" and data.tags == ["parks", "cycling lanes"]
    with pytest.raises(InvalidInputError) as info:
        services.clean_input(
            db_session,
            title="evil\u202e",
            summary="x" * 501,
            body="b" * (services.BODY_MAX + 1),
            category_id=999999,
            tags="ok",
        )
    errors = info.value.errors
    assert set(errors) == {"title", "summary", "body", "category_id"}
    assert "U+202E" in errors["title"] and "500" in errors["summary"]


def test_revisions_are_kept_with_hash_event_and_diff(db_session) -> None:
    author = make_user(db_session)
    proposal = make_proposal(db_session, author=author, body="line one\nline two")
    data = services.ProposalInput(
        proposal.title, proposal.summary, "line one\nline 2", proposal.category_id, ["new"]
    )
    assert services.edit_proposal(db_session, proposal=proposal, editor=author, data=data)
    assert not services.edit_proposal(db_session, proposal=proposal, editor=author, data=data)
    revs = services.revisions(db_session, proposal)
    assert [r.number for r in revs] == [1, 2] and proposal.revision == 2
    assert revs[0].content_sha256 != revs[1].content_sha256
    kinds = [e.data["revision"] for e in events(db_session, "proposal:revision:create")]
    assert kinds[-2:] == [1, 2]
    diff = services.diff_revisions(revs[0], revs[1])
    assert ("del", "line two") in [(d.op, d.text) for d in diff]
    assert ("add", "line 2") in [(d.op, d.text) for d in diff]
    with pytest.raises(NotAuthorError):
        services.edit_proposal(
            db_session, proposal=proposal, editor=make_user(db_session), data=data
        )


def test_revisions_are_append_only(db_session) -> None:
    from civicforum.audit.models import AppendOnlyError

    proposal = make_proposal(db_session)
    rev = db_session.scalar(
        select(ProposalRevision).where(ProposalRevision.proposal_id == proposal.id)
    )
    rev.title = "rewritten history"
    with pytest.raises(AppendOnlyError):
        db_session.flush()
    db_session.rollback()


def test_no_edit_after_qualifying(db_session) -> None:
    author = make_user(db_session)
    proposal = make_proposal(db_session, author=author, state=S.QUALIFIED)
    data = services.ProposalInput("New", "s", "b", proposal.category_id, [])
    with pytest.raises(ProposalClosedError):
        services.edit_proposal(db_session, proposal=proposal, editor=author, data=data)


def test_support_toggle_counts_and_qualifies_at_threshold(db_session) -> None:
    set_setting(db_session, "proposals.support_threshold", 2, actor=None)
    proposal = make_proposal(db_session)
    a, b = make_user(db_session), make_user(db_session)
    assert services.set_support(db_session, proposal=proposal, user=a, support=True)
    assert services.set_support(db_session, proposal=proposal, user=a, support=True)  # idempotent
    assert proposal.support_count == 1 and proposal.state is S.PUBLISHED
    assert not services.set_support(db_session, proposal=proposal, user=a, support=False)
    assert proposal.support_count == 0
    services.set_support(db_session, proposal=proposal, user=a, support=True)
    services.set_support(db_session, proposal=proposal, user=b, support=True)
    assert proposal.support_count == 2 and proposal.state is S.QUALIFIED
    assert (
        db_session.scalar(
            select(func.count()).select_from(Support).where(Support.proposal_id == proposal.id)
        )
        == 2
    )
    assert [e.data for e in events(db_session, "proposal:support:add")][-1] == {"handle": b.handle}
    assert events(db_session, "proposal:support:withdraw")[-1].data == {"handle": a.handle}
    with pytest.raises(ProposalClosedError):  # supports are frozen once qualified
        services.set_support(db_session, proposal=proposal, user=a, support=False)


def test_unverified_account_cannot_support(db_session) -> None:
    proposal = make_proposal(db_session)
    with pytest.raises(VerificationRequiredError) as info:
        services.set_support(
            db_session, proposal=proposal, user=make_user(db_session, verified=False), support=True
        )
    assert info.value.status_code == 403 and proposal.support_count == 0


def test_expire_archives_only_overdue_published(db_session) -> None:
    overdue = make_proposal(db_session)
    fresh = make_proposal(db_session)
    draft = make_proposal(db_session, state=S.DRAFT)
    overdue.support_deadline = utcnow() - timedelta(minutes=1)
    db_session.flush()
    assert services.expire_proposals(db_session) == 1
    assert (overdue.state, fresh.state, draft.state) == (S.ARCHIVED, S.PUBLISHED, S.DRAFT)
    # Lazily on read too:
    fresh.support_deadline = utcnow() - timedelta(seconds=1)
    assert services.expire_if_due(db_session, fresh) and fresh.state is S.ARCHIVED


def test_search_filters_and_sorts(db_session) -> None:
    parks = make_category(db_session, name="Parks", slug="parks-t")
    transport = make_category(db_session, name="Transport", slug="transport-t")
    bikes = make_proposal(
        db_session, title="Protected bicycle lanes", category=transport, tags=["cycling"]
    )
    trees = make_proposal(
        db_session, title="Plant trees", body="More shade along the bicycle path", category=parks
    )
    make_proposal(db_session, title="Draft about bicycles", state=S.DRAFT)
    bikes.support_count = 5
    db_session.flush()

    def ids(**args):
        query = services.ProposalQuery.from_args(args)
        return [p.id for p in services.list_proposals(db_session, query=query, viewer=None).items]

    found = ids(q="bicycle")
    assert found[0] == bikes.id and trees.id in found  # title weighs more than body
    assert len(found) == 2  # the draft is not public
    assert ids(q="bicyc") == found  # prefix search
    assert ids(q="bicycle", category="parks-t") == [trees.id]
    assert ids(tag="cycling") == [bikes.id]
    assert ids(q='"; DROP TABLE proposals; --') == []  # no query syntax from users
    assert ids(sort="supported", category="transport-t")[0] == bikes.id
    # Edits re-index (trigger on PostgreSQL, FTS5 triggers on SQLite).
    trees.title = "Plant oaks"
    db_session.flush()
    assert trees.id in ids(q="oaks")
