"""Proposal services: write, revise, publish, withdraw, support, expire, list. Callers commit."""

from __future__ import annotations

import difflib
import hashlib
import json
import re
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from flask_babel import lazy_gettext as _l
from sqlalchemy import Select, case, func, literal_column, select, text, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session, joinedload, lazyload
from sqlalchemy.orm.attributes import set_committed_value

from civicforum.accounts.models import Role, User
from civicforum.audit.services import record_event
from civicforum.db import utcnow
from civicforum.markup import TextProblem, normalise_text, render_markdown, text_problem_message
from civicforum.moderation import policy
from civicforum.proposals import lifecycle
from civicforum.proposals.errors import (
    FieldError,
    InvalidInputError,
    NotAuthorError,
    ProposalClosedError,
    VerificationRequiredError,
)
from civicforum.proposals.models import (
    Category,
    ModerationStatus,
    Proposal,
    ProposalRevision,
    ProposalState,
    ProposalTag,
    ProposalTransition,
    Support,
)
from civicforum.settings.services import get_setting

TITLE_MAX = 150
SUMMARY_MAX = 500
BODY_MAX = 20_000
TAG_MAX = 40
TAGS_MAX = 8
PAGE_SIZE = 20
# States whose proposal is public (drafts are seen by their author only).
PUBLIC_STATES = tuple(s for s in ProposalState if s is not ProposalState.DRAFT)
EDITABLE_STATES = (ProposalState.DRAFT, ProposalState.PUBLISHED)

# Automatic transitions are recorded in English (the civic record); pages translate them.
EXPIRED_REASON = "The support period ended without reaching the threshold."

_TAG_RE = re.compile(r"^[\w][\w\- ]*$")


def shown_user(relationship: Any) -> Any:
    """Load option for a user shown by name: joined, without the roles that User loads
    eagerly (a SELECT ... IN per page that only the signed-in user's checks need)."""
    return joinedload(relationship).options(lazyload(User.roles))


def clean_field(
    value: str | None, *, field: str, maximum: int, required: bool = True, multiline: bool = False
) -> str:
    """NFC, trimmed, checked text of one form field, or FieldError naming that field."""
    try:
        text_value = normalise_text(value or "", multiline=multiline)
    except TextProblem as problem:
        raise FieldError(text_problem_message(problem), field=field) from None
    if required and not text_value:
        raise FieldError(str(_l("This field is required.")), field=field)
    if len(text_value) > maximum:
        raise FieldError(
            str(_l("At most %(n)s characters (this has %(m)s).", n=maximum, m=len(text_value))),
            field=field,
        )
    return text_value


def parse_tags(raw: str | list[str] | None) -> list[str]:
    """Comma-separated tags: lower-cased, unique, at most TAGS_MAX of TAG_MAX characters."""
    items = raw if isinstance(raw, list) else (raw or "").split(",")
    tags: list[str] = []
    for item in items:
        tag = clean_field(item, field="tags", maximum=TAG_MAX, required=False).lower()
        tag = " ".join(tag.split())
        if not tag:
            continue
        if not _TAG_RE.match(tag):
            raise FieldError(
                str(_l("Tags may contain letters, digits, spaces and hyphens.")), field="tags"
            )
        if tag not in tags:
            tags.append(tag)
    if len(tags) > TAGS_MAX:
        raise FieldError(str(_l("At most %(n)s tags.", n=TAGS_MAX)), field="tags")
    return tags


@dataclass(frozen=True)
class ProposalInput:
    title: str
    summary: str
    body: str
    category_id: int
    tags: list[str] = field(default_factory=list)


def clean_input(
    session: Session,
    *,
    title: str | None,
    summary: str | None,
    body: str | None,
    category_id: int | str | None,
    tags: str | list[str] | None,
) -> ProposalInput:
    """Validate a proposal form; raises InvalidInputError naming every bad field."""
    errors: dict[str, str] = {}
    values: dict[str, Any] = {}

    def check(name: str, fn: Any) -> None:
        try:
            values[name] = fn()
        except FieldError as error:
            errors[error.field] = error.message

    check("title", lambda: " ".join(clean_field(title, field="title", maximum=TITLE_MAX).split()))
    check(
        "summary",
        lambda: clean_field(summary, field="summary", maximum=SUMMARY_MAX, multiline=True),
    )
    check("body", lambda: clean_field(body, field="body", maximum=BODY_MAX, multiline=True))
    check("tags", lambda: parse_tags(tags))
    try:
        category = session.get(Category, int(category_id or 0))
    except (TypeError, ValueError):
        category = None
    if category is None or not category.active:
        errors["category_id"] = str(_l("Choose a category."))
    if errors:
        raise InvalidInputError(errors)
    assert category is not None
    return ProposalInput(
        values["title"], values["summary"], values["body"], category.id, values["tags"]
    )


def content_sha256(data: ProposalInput, category_name: str) -> str:
    canonical = json.dumps(
        {
            "title": data.title,
            "summary": data.summary,
            "body": data.body,
            "category": category_name,
            "tags": data.tags,
        },
        ensure_ascii=False,
        sort_keys=True,
        separators=(",", ":"),
    )
    return hashlib.sha256(canonical.encode()).hexdigest()


def _add_revision(
    session: Session, proposal: Proposal, data: ProposalInput, *, actor: User
) -> None:
    category = session.get(Category, data.category_id)
    assert category is not None
    digest = content_sha256(data, category.name)
    session.add(
        ProposalRevision(
            proposal_id=proposal.id,
            number=proposal.revision,
            author_id=actor.id,
            title=data.title,
            summary=data.summary,
            body_source=data.body,
            category_name=category.name,
            tags=list(data.tags),
            content_sha256=digest,
        )
    )
    record_event(
        session,
        "proposal:revision:create",
        actor=actor,
        subject=proposal,
        data={"revision": proposal.revision, "content_sha256": digest},
    )


def create_proposal(
    session: Session, *, author: User, data: ProposalInput, publish: bool = False
) -> Proposal:
    """Create a draft (revision 1), published at once when `publish`; the caller commits."""
    policy.ensure_can_participate(session, author)
    proposal = Proposal(
        author_id=author.id,
        category_id=data.category_id,
        title=data.title,
        summary=data.summary,
        body_source=data.body,
        body_html=render_markdown(data.body),
        state=ProposalState.DRAFT,
        revision=1,
    )
    proposal.tags = [ProposalTag(tag=t) for t in data.tags]
    session.add(proposal)
    session.flush()  # need the id for the revision, transition and audit rows
    _add_revision(session, proposal, data, actor=author)
    lifecycle_row = ProposalTransition(
        proposal_id=proposal.id, from_state=None, to_state=ProposalState.DRAFT, actor_id=author.id
    )
    session.add(lifecycle_row)
    if publish:
        publish_proposal(session, proposal=proposal, actor=author)
    return proposal


def _ensure_author(proposal: Proposal, user: User) -> None:
    if proposal.author_id != user.id:
        raise NotAuthorError()


def can_edit(proposal: Proposal, user: Any) -> bool:
    return bool(
        getattr(user, "is_authenticated", False)
        and proposal.author_id == user.id
        and proposal.state in EDITABLE_STATES
        and proposal.moderation_status is not ModerationStatus.REMOVED
    )


def edit_proposal(
    session: Session, *, proposal: Proposal, editor: User, data: ProposalInput
) -> bool:
    """Save a new revision (author only, draft or published); False when nothing changed."""
    policy.ensure_can_participate(session, editor)
    _ensure_author(proposal, editor)
    expire_if_due(session, proposal)
    if proposal.state not in EDITABLE_STATES:
        raise ProposalClosedError(
            str(_l("A proposal can be edited only until it qualifies or closes."))
        )
    unchanged = (
        proposal.title == data.title
        and proposal.summary == data.summary
        and proposal.body_source == data.body
        and proposal.category_id == data.category_id
        and proposal.tag_names == sorted(data.tags)
    )
    if unchanged:
        return False
    proposal.title = data.title
    proposal.summary = data.summary
    if proposal.body_source != data.body:
        proposal.body_html = render_markdown(data.body)
        proposal.body_source = data.body
    proposal.category_id = data.category_id
    proposal.tags = [ProposalTag(tag=t) for t in data.tags]
    proposal.revision += 1
    proposal.updated_at = utcnow()
    _add_revision(session, proposal, data, actor=editor)
    return True


def publish_proposal(session: Session, *, proposal: Proposal, actor: User) -> None:
    """Open a draft for supports and discussion (author only); the caller commits."""
    policy.ensure_can_participate(session, actor)
    _ensure_author(proposal, actor)
    lifecycle.transition(session, proposal, ProposalState.PUBLISHED, actor=actor)


def withdraw_proposal(session: Session, *, proposal: Proposal, actor: User, reason: str) -> None:
    """The author withdraws their proposal (from draft, published or qualified)."""
    _ensure_author(proposal, actor)
    reason = clean_field(reason, field="reason", maximum=500, required=False, multiline=True)
    lifecycle.transition(session, proposal, ProposalState.WITHDRAWN, actor=actor, reason=reason)


# --- supports -----------------------------------------------------------------------------


def support_threshold(session: Session) -> int:
    return int(get_setting(session, "proposals.support_threshold"))


def has_supported(session: Session, proposal: Proposal, user: Any) -> bool:
    if not getattr(user, "is_authenticated", False):
        return False
    return (
        session.scalar(
            select(Support.id).where(Support.proposal_id == proposal.id, Support.user_id == user.id)
        )
        is not None
    )


def lock_proposal(session: Session, proposal: Proposal) -> Proposal:
    # Row lock (PostgreSQL) and a fresh read: every support toggle and every comment on this
    # proposal queues here, so counters and the qualified transition see committed values.
    locked = session.scalars(
        select(Proposal)
        .where(Proposal.id == proposal.id)
        .with_for_update()
        .execution_options(populate_existing=True)
    ).one()
    return locked


def bump_counter(session: Session, proposal: Proposal, column: str, delta: int) -> int:
    # Arithmetic in SQL: the database adds to the committed value under the row lock.
    attr = getattr(Proposal, column)
    value = session.execute(
        update(Proposal)
        .where(Proposal.id == proposal.id)
        .values({column: attr + delta})
        .returning(attr)
        .execution_options(synchronize_session=False)
    ).scalar_one()
    set_committed_value(proposal, column, value)
    return int(value)


def set_support(session: Session, *, proposal: Proposal, user: User, support: bool) -> bool:
    """Add or withdraw `user`'s support (idempotent); qualifies the proposal at the threshold.

    Returns whether the user supports the proposal afterwards. The caller commits.
    """
    if not user.is_email_verified:
        raise VerificationRequiredError(str(_l("Verify your email address to support proposals.")))
    policy.ensure_can_participate(session, user)
    proposal = lock_proposal(session, proposal)
    expire_if_due(session, proposal)
    if proposal.state is not ProposalState.PUBLISHED or not proposal.is_visible:
        raise ProposalClosedError(str(_l("This proposal is not collecting supports.")))
    existing = session.scalar(
        select(Support).where(Support.proposal_id == proposal.id, Support.user_id == user.id)
    )
    if support == (existing is not None):
        return support
    handle = {"handle": user.handle}
    if existing is not None:
        session.delete(existing)
        session.flush()  # delete before the counter moves, inside the same lock
        bump_counter(session, proposal, "support_count", -1)
        record_event(
            session, "proposal:support:withdraw", actor=user, subject=proposal, data=handle
        )
        return False
    try:
        with session.begin_nested():
            session.add(Support(proposal_id=proposal.id, user_id=user.id))
            session.flush()  # a concurrent duplicate surfaces here as IntegrityError
    except IntegrityError:
        return True  # another request of the same user won; the count already includes it
    count = bump_counter(session, proposal, "support_count", 1)
    record_event(session, "proposal:support:add", actor=user, subject=proposal, data=handle)
    threshold = support_threshold(session)
    if count >= threshold:
        lifecycle.transition(
            session,
            proposal,
            ProposalState.QUALIFIED,
            actor=None,
            reason=f"Reached {threshold} supports.",  # civic record: kept in English
        )
    return True


# --- expiry -------------------------------------------------------------------------------


def expire_if_due(session: Session, proposal: Proposal, *, now: datetime | None = None) -> bool:
    """Archive a published proposal whose support period ended (lazily, on read)."""
    now = now or utcnow()
    if (
        proposal.state is ProposalState.PUBLISHED
        and proposal.support_deadline is not None
        and proposal.support_deadline <= now
    ):
        lifecycle.transition(
            session,
            proposal,
            ProposalState.ARCHIVED,
            actor=None,
            reason=EXPIRED_REASON,
        )
        return True
    return False


def expire_proposals(session: Session, *, now: datetime | None = None) -> int:
    """Archive every published proposal past its deadline; returns how many. Caller commits."""
    now = now or utcnow()
    due = session.scalars(
        select(Proposal).where(
            Proposal.state == ProposalState.PUBLISHED, Proposal.support_deadline <= now
        )
    ).all()
    return sum(expire_if_due(session, p, now=now) for p in due)


def next_deadline(session: Session) -> datetime | None:
    """When the next published proposal's support period ends (pages change then)."""
    return session.scalar(
        select(func.min(Proposal.support_deadline)).where(Proposal.state == ProposalState.PUBLISHED)
    )


# --- reading ------------------------------------------------------------------------------


def can_view(proposal: Proposal, user: Any) -> bool:
    is_author = getattr(user, "is_authenticated", False) and proposal.author_id == user.id
    is_moderator = getattr(user, "is_authenticated", False) and user.has_role(Role.MODERATOR)
    if proposal.state is ProposalState.DRAFT:
        return bool(is_author)
    if proposal.moderation_status is ModerationStatus.REMOVED:
        return bool(is_moderator)
    return True


def get_proposal(session: Session, proposal_id: int) -> Proposal | None:
    return session.scalar(
        select(Proposal)
        .where(Proposal.id == proposal_id)
        .options(shown_user(Proposal.author), joinedload(Proposal.category))
    )


def timeline(session: Session, proposal: Proposal) -> list[ProposalTransition]:
    return list(
        session.scalars(
            select(ProposalTransition)
            .where(ProposalTransition.proposal_id == proposal.id)
            .options(shown_user(ProposalTransition.actor))
            .order_by(ProposalTransition.at, ProposalTransition.id)
        )
    )


def revisions(session: Session, proposal: Proposal) -> list[ProposalRevision]:
    return list(
        session.scalars(
            select(ProposalRevision)
            .where(ProposalRevision.proposal_id == proposal.id)
            .order_by(ProposalRevision.number)
        )
    )


@dataclass(frozen=True)
class DiffLine:
    op: str  # "same" | "add" | "del"
    text: str


def _revision_text(rev: ProposalRevision) -> list[str]:
    lines = [
        f"# {rev.title}",
        "",
        f"{_l('Category')}: {rev.category_name}",
        f"{_l('Tags')}: {', '.join(rev.tags) or '—'}",
        "",
    ]
    lines += rev.summary.splitlines() + ["", "---", ""] + rev.body_source.splitlines()
    return lines


def diff_revisions(old: ProposalRevision, new: ProposalRevision) -> list[DiffLine]:
    """Line diff between two revisions (title, category, tags, summary and body)."""
    result: list[DiffLine] = []
    a, b = _revision_text(old), _revision_text(new)
    for tag, i1, i2, j1, j2 in difflib.SequenceMatcher(None, a, b, autojunk=False).get_opcodes():
        if tag == "equal":
            result += [DiffLine("same", line) for line in a[i1:i2]]
            continue
        result += [DiffLine("del", line) for line in a[i1:i2]]
        result += [DiffLine("add", line) for line in b[j1:j2]]
    return result


SORTS = ("newest", "supported", "discussed", "closing")
STATE_FILTERS = tuple(str(s) for s in PUBLIC_STATES)


@dataclass(frozen=True)
class ProposalQuery:
    q: str = ""
    state: str = ""
    category: str = ""
    tag: str = ""
    sort: str = ""
    page: int = 1
    mine: bool = False

    @classmethod
    def from_args(cls, args: Any) -> ProposalQuery:
        def text_arg(name: str, limit: int = 100) -> str:
            return str(args.get(name, "") or "").strip()[:limit]

        try:
            page = max(1, min(int(args.get("page", 1)), 10_000))
        except (TypeError, ValueError):
            page = 1
        state = text_arg("state")
        sort = text_arg("sort")
        return cls(
            q=text_arg("q", 200),
            state=state if state in STATE_FILTERS else "",
            category=text_arg("category", 60),
            tag=text_arg("tag", TAG_MAX).lower(),
            sort=sort if sort in SORTS or sort == "relevance" else "",
            page=page,
            mine=args.get("mine") in ("1", "true", "on"),
        )

    @property
    def effective_sort(self) -> str:
        if self.sort == "relevance" and not self.q:
            return "newest"
        return self.sort or ("relevance" if self.q else "newest")

    def args(self, **changes: Any) -> dict[str, Any]:
        """Query-string arguments for links (empty values left out)."""
        values = {
            "q": self.q,
            "state": self.state,
            "category": self.category,
            "tag": self.tag,
            "sort": self.sort,
            "mine": "1" if self.mine else "",
            "page": self.page if self.page > 1 else "",
        }
        values.update(changes)
        return {k: v for k, v in values.items() if v not in ("", None)}


_WORD = re.compile(r"\w+", re.UNICODE)


def search_terms(q: str) -> list[str]:
    return _WORD.findall(q.lower())[:12]


def _search(stmt: Select[Any], session: Session, terms: list[str]) -> tuple[Select[Any], Any]:
    """Restrict to full-text matches; returns the statement and a relevance expression."""
    if session.get_bind().dialect.name == "postgresql":
        tsquery = func.to_tsquery("simple", " & ".join(f"{t}:*" for t in terms))
        stmt = stmt.where(Proposal.search_vector.op("@@")(tsquery))
        return stmt, func.ts_rank(Proposal.search_vector, tsquery).desc()
    # FTS5: each term quoted (no query syntax from users) with prefix match, all required.
    match = " ".join('"' + t.replace('"', "") + '"*' for t in terms)
    fts = (
        select(
            literal_column("rowid").label("pid"),
            literal_column("bm25(proposals_fts, 10.0, 4.0, 1.0)").label("rank"),
        )
        .select_from(text("proposals_fts"))
        .where(text("proposals_fts MATCH :match").bindparams(match=match))
        .subquery("fts")
    )
    stmt = stmt.join(fts, fts.c.pid == Proposal.id)
    return stmt, fts.c.rank.asc()


def list_proposals(session: Session, *, query: ProposalQuery, viewer: Any) -> Any:
    """One page of proposals for the browse page (filters, search, sort); a Pagination."""
    from civicforum.extensions import db

    stmt = select(Proposal).options(shown_user(Proposal.author), joinedload(Proposal.category))
    viewer_id = viewer.id if getattr(viewer, "is_authenticated", False) else None
    if query.mine and viewer_id is not None:
        stmt = stmt.where(Proposal.author_id == viewer_id)
    else:
        stmt = stmt.where(Proposal.state.in_(PUBLIC_STATES))
    if not (viewer_id and viewer.has_role(Role.MODERATOR)):
        stmt = stmt.where(Proposal.moderation_status != ModerationStatus.REMOVED)
    if query.state:
        stmt = stmt.where(Proposal.state == ProposalState(query.state))
    if query.category:
        stmt = stmt.join(Category, Category.id == Proposal.category_id).where(
            Category.slug == query.category
        )
    if query.tag:
        stmt = stmt.where(
            Proposal.id.in_(select(ProposalTag.proposal_id).where(ProposalTag.tag == query.tag))
        )
    relevance = None
    terms = search_terms(query.q)
    if terms:
        stmt, relevance = _search(stmt, session, terms)
    sort = query.effective_sort
    if sort == "relevance" and relevance is not None:
        order = [relevance, Proposal.id.desc()]
    elif sort == "supported":
        order = [Proposal.support_count.desc(), Proposal.id.desc()]
    elif sort == "discussed":
        order = [Proposal.comment_count.desc(), Proposal.id.desc()]
    elif sort == "closing":
        open_first = case((Proposal.state == ProposalState.PUBLISHED, 0), else_=1)
        order = [open_first, Proposal.support_deadline.asc(), Proposal.id.desc()]
    else:
        order = [
            func.coalesce(Proposal.published_at, Proposal.created_at).desc(),
            Proposal.id.desc(),
        ]
    stmt = stmt.order_by(*order)
    return db.paginate(stmt, page=query.page, per_page=PAGE_SIZE, error_out=False, count=True)


def list_categories(session: Session, *, active_only: bool = True) -> list[Category]:
    stmt = select(Category).order_by(Category.position, Category.name)
    if active_only:
        stmt = stmt.where(Category.active.is_(True))
    return list(session.scalars(stmt))


def popular_tags(session: Session, *, limit: int = 20) -> list[str]:
    rows = session.execute(
        select(ProposalTag.tag, func.count())
        .join(Proposal, Proposal.id == ProposalTag.proposal_id)
        .where(Proposal.state.in_(PUBLIC_STATES))
        .group_by(ProposalTag.tag)
        .order_by(func.count().desc(), ProposalTag.tag)
        .limit(limit)
    ).all()
    return [tag for tag, _n in rows]


def save_category(
    session: Session,
    *,
    actor: User,
    name: str,
    slug: str,
    description: str = "",
    position: int = 0,
    active: bool = True,
    category: Category | None = None,
) -> Category:
    """Create or update an admin-managed category; the caller commits."""
    name = clean_field(name, field="name", maximum=80)
    slug = clean_field(slug, field="slug", maximum=60).lower()
    if not re.fullmatch(r"[a-z0-9][a-z0-9-]*", slug):
        raise FieldError(str(_l("Lower-case letters, digits and hyphens only.")), field="slug")
    description = clean_field(description, field="description", maximum=300, required=False)
    clash = session.scalar(
        select(Category.id).where(
            Category.slug == slug, Category.id != (category.id if category else -1)
        )
    )
    if clash is not None:
        raise FieldError(str(_l("Another category uses this slug.")), field="slug")
    created = category is None
    if category is None:
        category = Category()
        session.add(category)
    category.name, category.slug, category.description = name, slug, description
    category.position, category.active = position, active
    session.flush()  # need the id for the audit row
    record_event(
        session,
        "proposal:category:create" if created else "proposal:category:update",
        actor=actor,
        subject=category,
        data={"slug": slug, "name": name, "active": active},
    )
    return category
