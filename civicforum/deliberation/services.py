"""Discussion services: post, reply, edit, delete, vote, and thread loading. Callers commit.

Threads are stored as an adjacency list (parent_id) plus each comment's top-level ancestor
(root_id) and absolute depth. Loading a page of threads to the display depth is therefore
two queries whatever the nesting ("continue this thread" uses one bounded recursive CTE),
and a 10,000-level reply chain costs the same as a shallow one.
"""

from __future__ import annotations

import math
from collections import defaultdict
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any

from sqlalchemy import Select, func, or_, select, update
from sqlalchemy.orm import Session
from sqlalchemy.orm.attributes import set_committed_value

from civicforum.accounts.models import Role, User
from civicforum.audit.services import record_event
from civicforum.db import utcnow
from civicforum.deliberation.errors import (
    ClosedCommentError,
    DiscussionClosedError,
    EditWindowClosedError,
    InvalidParentError,
    InvalidStanceError,
    NotCommentAuthorError,
    OwnCommentVoteError,
)
from civicforum.deliberation.models import (
    Comment,
    CommentEdit,
    CommentStatus,
    CommentVote,
    Stance,
)
from civicforum.markup import render_markdown
from civicforum.moderation import policy
from civicforum.proposals import services as proposals
from civicforum.proposals.models import ModerationStatus, Proposal, ProposalState

BODY_MAX = 10_000
EDIT_WINDOW = timedelta(minutes=15)
DISPLAY_DEPTH = 6  # levels shown on one page; deeper replies sit behind "continue this thread"
# Top-level comments per page and per "load more": 20 threads with their replies (each
# showing its first three) keep a long discussion's page near 100 KB before compression.
PAGE_SIZE = 20
# A proposal can be discussed from publication until a decision closes it.
DISCUSSABLE = frozenset({ProposalState.PUBLISHED, ProposalState.QUALIFIED, ProposalState.ON_BALLOT})
SORTS = ("best", "oldest", "newest")
_STANCE_COLUMN = {
    Stance.IN_FAVOUR: "stance_in_favour",
    Stance.AGAINST: "stance_against",
    Stance.NEUTRAL: "stance_neutral",
}


def wilson_lower_bound(up: int, down: int, z: float = 1.96) -> float:
    """Lower bound of the 95 % Wilson score interval for the share of up-votes (0 if none)."""
    n = up + down
    if n == 0:
        return 0.0
    p = up / n
    centre = p + z * z / (2 * n)
    margin = z * math.sqrt((p * (1 - p) + z * z / (4 * n)) / n)
    return (centre - margin) / (1 + z * z / n)


def is_moderator(user: Any) -> bool:
    return bool(getattr(user, "is_authenticated", False) and user.has_role(Role.MODERATOR))


def visible_to(stmt: Select[Any], viewer: Any) -> Select[Any]:
    """Restrict a comment query to what `viewer` may see: pending ones only to their author
    and to moderators (hidden/removed/deleted stay listed and render as placeholders)."""
    if is_moderator(viewer):
        return stmt
    if getattr(viewer, "is_authenticated", False):
        return stmt.where(
            or_(Comment.status != CommentStatus.PENDING, Comment.author_id == viewer.id)
        )
    return stmt.where(Comment.status != CommentStatus.PENDING)


def can_discuss(proposal: Proposal) -> bool:
    return proposal.state in DISCUSSABLE and proposal.moderation_status is ModerationStatus.VISIBLE


def can_comment(session: Session, proposal: Proposal, viewer: Any) -> bool:
    """Whether to offer `viewer` the comment form: signed in, the discussion open, and no
    sanction in force (post_comment refuses them anyway; the form would lose their text)."""
    return (
        getattr(viewer, "is_authenticated", False)
        and can_discuss(proposal)
        and policy.active_restriction(session, viewer) is None
    )


def clean_body(body: str | None) -> str:
    return proposals.clean_field(body, field="body", maximum=BODY_MAX, multiline=True)


def post_comment(
    session: Session,
    *,
    proposal: Proposal,
    author: User,
    body: str,
    parent_id: int | None = None,
    stance: Stance | str | None = None,
    anti_abuse: bool = True,
) -> Comment:
    """Post a top-level comment or a reply; pending when the author is pre-moderated.

    Raises 400 for a parent from elsewhere, 409 for a closed parent or discussion, 429/409
    from the moderation policy's rate and duplicate checks (`anti_abuse=False`: seeding and
    test factories only). Caller commits.
    """
    policy.ensure_can_participate(session, author)
    text = clean_body(body)
    if anti_abuse:
        policy.check_comment_rate(session, author)
        policy.ensure_not_duplicate(session, author, text)
    proposal = proposals.lock_proposal(session, proposal)  # serialises counters of this proposal
    proposals.expire_if_due(session, proposal)
    if not can_discuss(proposal):
        raise DiscussionClosedError()
    parent = None
    if parent_id is not None:
        parent = session.get(Comment, parent_id)
        if parent is None or parent.proposal_id != proposal.id:
            raise InvalidParentError()
        check_can_reply(parent)
    if stance:
        if parent is not None:
            raise InvalidStanceError()
        stance = Stance(stance)
    status = (
        CommentStatus.PENDING
        if policy.needs_premoderation(session, author)
        else CommentStatus.VISIBLE
    )
    now = utcnow()
    comment = Comment(
        proposal_id=proposal.id,
        parent_id=parent.id if parent else None,
        root_id=parent.root_id if parent else None,
        depth=parent.depth + 1 if parent else 0,
        author_id=author.id,
        body_source=text,
        body_html=render_markdown(text),
        stance=stance or None,
        status=status,
        created_at=now,
    )
    session.add(comment)
    session.flush()  # need the id: a top-level comment is its own root
    if parent is None:
        comment.root_id = comment.id
    else:
        reply_count = session.execute(
            update(Comment)
            .where(Comment.id == parent.id)
            .values(reply_count=Comment.reply_count + 1)
            .returning(Comment.reply_count)
            .execution_options(synchronize_session=False)
        ).scalar_one()
        set_committed_value(parent, "reply_count", reply_count)
    proposals.bump_counter(session, proposal, "comment_count", 1)
    if comment.stance and status is CommentStatus.VISIBLE:
        proposals.bump_counter(session, proposal, _STANCE_COLUMN[comment.stance], 1)
    proposal.last_comment_at = now
    record_event(
        session,
        "deliberation:comment:create",
        actor=author,
        subject=comment,
        data={
            "proposal_id": proposal.id,
            "parent_id": comment.parent_id,
            "status": str(status),
        },
    )
    return comment


def can_edit(comment: Comment, user: Any, *, now: Any = None) -> bool:
    return bool(
        getattr(user, "is_authenticated", False)
        and comment.author_id == user.id
        and comment.status in (CommentStatus.VISIBLE, CommentStatus.PENDING)
        and (now or utcnow()) - comment.created_at <= EDIT_WINDOW
    )


def can_delete(comment: Comment, user: Any) -> bool:
    return bool(
        getattr(user, "is_authenticated", False)
        and comment.author_id == user.id
        and comment.status not in (CommentStatus.DELETED, CommentStatus.REMOVED)
    )


def edit_comment(session: Session, *, comment: Comment, editor: User, body: str) -> Comment:
    """Replace a comment's text within 15 minutes; the old text is kept for moderators."""
    if comment.author_id != editor.id:
        raise NotCommentAuthorError()
    policy.ensure_can_participate(session, editor)
    text = clean_body(body)
    if not can_edit(comment, editor):
        raise EditWindowClosedError()
    if text == comment.body_source:
        return comment
    now = utcnow()
    session.add(
        CommentEdit(
            comment_id=comment.id,
            body_source=comment.body_source,
            written_at=comment.edited_at or comment.created_at,
            replaced_at=now,
        )
    )
    comment.body_source = text
    comment.body_html = render_markdown(text)
    comment.edited_at = now
    record_event(
        session,
        "deliberation:comment:edit",
        actor=editor,
        subject=comment,
        data={"proposal_id": comment.proposal_id},
    )
    return comment


def delete_comment(session: Session, *, comment: Comment, actor: User) -> Comment:
    """The author deletes their comment: a "[deleted]" placeholder keeps the replies."""
    if comment.author_id != actor.id:
        raise NotCommentAuthorError()
    if comment.status is CommentStatus.DELETED:
        return comment
    if comment.status is CommentStatus.REMOVED:
        raise ClosedCommentError()
    proposal = proposals.lock_proposal(session, comment.proposal)
    was_counted = comment.status is CommentStatus.VISIBLE and comment.stance is not None
    comment.status = CommentStatus.DELETED
    comment.moderation_version += 1
    if was_counted and comment.stance is not None:
        proposals.bump_counter(session, proposal, _STANCE_COLUMN[comment.stance], -1)
    record_event(
        session,
        "deliberation:comment:delete",
        actor=actor,
        subject=comment,
        data={"proposal_id": comment.proposal_id},
    )
    return comment


def vote_comment(session: Session, *, comment: Comment, voter: User, value: int) -> int:
    """Set the voter's vote on a comment to +1, -1 or 0 (none); returns the vote now held."""
    if value not in (-1, 0, 1):
        raise ValueError("vote must be -1, 0 or 1")
    policy.ensure_can_participate(session, voter)
    if comment.author_id == voter.id:
        raise OwnCommentVoteError()
    if comment.status is not CommentStatus.VISIBLE:
        raise ClosedCommentError()
    # Lock the comment row so concurrent votes adjust the tallies one after another.
    comment = session.scalars(
        select(Comment)
        .where(Comment.id == comment.id)
        .with_for_update()
        .execution_options(populate_existing=True)
    ).one()
    vote = session.get(CommentVote, (comment.id, voter.id))
    old = vote.value if vote else 0
    if old == value:
        return value
    if vote is not None and value == 0:
        session.delete(vote)
    elif vote is not None:
        vote.value = value
    else:
        session.add(CommentVote(comment_id=comment.id, user_id=voter.id, value=value))
    comment.upvotes += (value == 1) - (old == 1)
    comment.downvotes += (value == -1) - (old == -1)
    comment.score = wilson_lower_bound(comment.upvotes, comment.downvotes)
    record_event(
        session,
        "deliberation:vote:cast",
        actor=voter,
        subject=comment,
        data={"value": value},
    )
    return value


def refresh_counts(session: Session, proposal: Proposal) -> None:
    """Recompute a proposal's stance counts from visible top-level comments.

    For moderation services that change a comment's status (hide, remove, approve).
    """
    rows = session.execute(
        select(Comment.stance, func.count())
        .where(
            Comment.proposal_id == proposal.id,
            Comment.depth == 0,
            Comment.status == CommentStatus.VISIBLE,
            Comment.stance.is_not(None),
        )
        .group_by(Comment.stance)
    ).all()
    counts = {stance: n for stance, n in rows}
    for stance, column in _STANCE_COLUMN.items():
        setattr(proposal, column, counts.get(stance, 0))


# --- reading ------------------------------------------------------------------------------


@dataclass
class Node:
    comment: Comment
    children: list[Node] = field(default_factory=list)
    my_vote: int = 0
    # Permission flags computed here (not in templates) for the current viewer.
    can_reply: bool = False
    can_edit: bool = False
    can_delete: bool = False
    can_vote: bool = False


@dataclass
class Thread:
    nodes: list[Node]  # top-level nodes of this page (or the one focused comment)
    total: int  # top-level comments in the whole discussion
    offset: int
    sort: str
    base_depth: int  # absolute depth of the nodes in `nodes`

    @property
    def next_offset(self) -> int | None:
        end = self.offset + PAGE_SIZE
        return end if end < self.total else None


def _order(sort: str) -> list[Any]:
    if sort == "newest":
        return [Comment.created_at.desc(), Comment.id.desc()]
    if sort == "oldest":
        return [Comment.created_at.asc(), Comment.id.asc()]
    return [Comment.score.desc(), Comment.upvotes.desc(), Comment.id.asc()]


def _sort_key(sort: str) -> Any:
    if sort == "newest":
        return lambda c: (-c.created_at.timestamp(), -c.id)
    if sort == "oldest":
        return lambda c: (c.created_at.timestamp(), c.id)
    return lambda c: (-c.score, -c.upvotes, c.id)


def _build(
    session: Session, roots: list[Comment], below: list[Comment], viewer: Any, sort: str
) -> list[Node]:
    viewer = _unproxied(viewer)
    nodes = {c.id: Node(c) for c in [*roots, *below]}
    children: dict[int, list[Node]] = defaultdict(list)
    for c in below:
        if c.parent_id is not None:
            children[c.parent_id].append(nodes[c.id])
    key = _sort_key(sort)
    for node in nodes.values():
        node.children = sorted(children.get(node.comment.id, []), key=lambda n: key(n.comment))
    _flag(nodes.values(), viewer)
    if getattr(viewer, "is_authenticated", False) and nodes:
        votes = session.execute(
            select(CommentVote.comment_id, CommentVote.value).where(
                CommentVote.user_id == viewer.id, CommentVote.comment_id.in_(list(nodes))
            )
        ).all()
        for comment_id, value in votes:
            nodes[comment_id].my_vote = value
    return [nodes[c.id] for c in roots]


def _unproxied(viewer: Any) -> Any:
    # flask-login's current_user is a LocalProxy: each attribute read goes through the
    # context lookup and the user loader check, and a thread page reads it ~5 times per
    # comment. Resolve it once.
    resolve = getattr(viewer, "_get_current_object", None)
    return resolve() if resolve is not None else viewer


def _flag(nodes: Any, viewer: Any, *, discussable: bool | None = None) -> None:
    viewer = _unproxied(viewer)
    signed_in = bool(getattr(viewer, "is_authenticated", False))
    now = utcnow()
    open_cache: dict[int, bool] = {}
    for node in nodes:
        c = node.comment
        if c.proposal_id not in open_cache:
            open_cache[c.proposal_id] = (
                can_discuss(c.proposal) if discussable is None else discussable
            )
        is_open = open_cache[c.proposal_id]
        visible = c.status is CommentStatus.VISIBLE
        node.can_reply = signed_in and is_open and visible
        node.can_vote = signed_in and is_open and visible and c.author_id != viewer.id
        node.can_edit = is_open and can_edit(c, viewer, now=now)
        node.can_delete = can_delete(c, viewer)


def single_node(session: Session, *, comment: Comment, viewer: Any) -> Node:
    """One comment as a tree node (no children) with the viewer's vote and permissions."""
    node = Node(comment)
    _flag([node], viewer)
    if getattr(viewer, "is_authenticated", False):
        vote = session.get(CommentVote, (comment.id, viewer.id))
        node.my_vote = vote.value if vote else 0
    return node


def _with_author(stmt: Select[Any]) -> Select[Any]:
    return stmt.options(proposals.shown_user(Comment.author))


def load_thread(
    session: Session, *, proposal: Proposal, viewer: Any, sort: str = "best", offset: int = 0
) -> Thread:
    """A page of PAGE_SIZE top-level comments with their replies to DISPLAY_DEPTH levels.

    A fixed number of queries (count, roots, replies, the viewer's votes) whatever the size.
    """
    sort = sort if sort in SORTS else "best"
    top = visible_to(
        select(Comment).where(Comment.proposal_id == proposal.id, Comment.depth == 0), viewer
    )
    total = session.scalar(select(func.count()).select_from(top.subquery())) or 0
    roots = list(
        session.scalars(_with_author(top).order_by(*_order(sort)).offset(offset).limit(PAGE_SIZE))
    )
    below: list[Comment] = []
    if roots:
        below = list(
            session.scalars(
                _with_author(
                    visible_to(
                        select(Comment).where(
                            Comment.root_id.in_([c.id for c in roots]),
                            Comment.depth > 0,
                            Comment.depth < DISPLAY_DEPTH,
                        ),
                        viewer,
                    )
                )
            )
        )
    nodes = _build(session, roots, below, viewer, sort)
    return Thread(nodes=nodes, total=total, offset=offset, sort=sort, base_depth=0)


def load_subthread(
    session: Session, *, comment: Comment, viewer: Any, sort: str = "best"
) -> Thread:
    """ "Continue this thread": one comment and its replies to DISPLAY_DEPTH levels below it.

    One bounded recursive query: the depth condition stops the recursion after six levels.
    """
    sort = sort if sort in SORTS else "best"
    limit_depth = comment.depth + DISPLAY_DEPTH - 1
    tree = select(Comment.id).where(Comment.id == comment.id).cte("tree", recursive=True)
    tree = tree.union_all(
        select(Comment.id).where(Comment.parent_id == tree.c.id, Comment.depth <= limit_depth)
    )
    rows = list(
        session.scalars(
            _with_author(
                visible_to(select(Comment).where(Comment.id.in_(select(tree.c.id))), viewer)
            )
        )
    )
    root = next((c for c in rows if c.id == comment.id), None)
    if root is None:
        return Thread(nodes=[], total=0, offset=0, sort=sort, base_depth=comment.depth)
    below = [c for c in rows if c.id != comment.id]
    nodes = _build(session, [root], below, viewer, sort)
    return Thread(nodes=nodes, total=1, offset=0, sort=sort, base_depth=comment.depth)


def get_comment(session: Session, comment_id: int) -> Comment | None:
    return session.scalar(_with_author(select(Comment).where(Comment.id == comment_id)))


def check_can_reply(parent: Comment) -> None:
    """Replies go to shown comments only: a hidden, removed, deleted or pending one's text
    must not reappear quoted above a reply form."""
    if parent.status is not CommentStatus.VISIBLE:
        raise ClosedCommentError()


def can_see(comment: Comment, viewer: Any) -> bool:
    if comment.status is not CommentStatus.PENDING or is_moderator(viewer):
        return True
    return bool(getattr(viewer, "is_authenticated", False) and comment.author_id == viewer.id)


@dataclass(frozen=True)
class CommentContext:
    """A comment with what a moderator needs to judge it."""

    comment: Comment
    proposal: Proposal
    parent: Comment | None
    edits: list[CommentEdit]


def comment_context(session: Session, comment_id: int) -> CommentContext | None:
    """For moderation: the comment, its proposal, its parent and its earlier versions."""
    comment = get_comment(session, comment_id)
    if comment is None:
        return None
    parent = get_comment(session, comment.parent_id) if comment.parent_id else None
    edits = list(
        session.scalars(
            select(CommentEdit)
            .where(CommentEdit.comment_id == comment.id)
            .order_by(CommentEdit.replaced_at)
        )
    )
    return CommentContext(comment, comment.proposal, parent, edits)
