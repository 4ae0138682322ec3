from __future__ import annotations

from typing import Any

from flask import Blueprint, abort, redirect, request, url_for
from flask.typing import ResponseReturnValue
from flask_login import current_user, login_required

from civicforum.deliberation import services
from civicforum.deliberation.forms import CommentForm, EditCommentForm
from civicforum.deliberation.models import Comment
from civicforum.extensions import db
from civicforum.proposals import services as proposals
from civicforum.proposals.errors import FieldError
from civicforum.proposals.models import Proposal, ProposalState
from civicforum.web import db_id
from civicforum.web.cache import cached_page, valid_until
from civicforum.web.htmx import render_page, wants_fragment

bp = Blueprint("deliberation", __name__, url_prefix="/proposals/<int:proposal_id>/comments")


def _proposal(proposal_id: int) -> Proposal:
    proposal = proposals.get_proposal(db.session, proposal_id)
    if proposal is None or not proposals.can_view(proposal, current_user):
        abort(404)
    if proposals.expire_if_due(db.session, proposal):
        db.session.commit()
    if proposal.state is ProposalState.PUBLISHED:
        valid_until(proposal.support_deadline)  # a cached page must not outlive the deadline
    return proposal


def _comment(proposal: Proposal, comment_id: int) -> Comment:
    comment = services.get_comment(db.session, comment_id)
    if comment is None or comment.proposal_id != proposal.id:
        abort(404)
    if not services.can_see(comment, current_user):
        abort(404)
    return comment


def _offset() -> int:
    try:
        return max(0, int(request.args.get("offset", 0)))
    except ValueError:
        return 0


def _back_to(proposal: Proposal, comment: Comment) -> ResponseReturnValue:
    target = url_for("proposals.detail", proposal_id=proposal.id)
    return redirect(f"{target}#comment-{comment.id}", code=303)


def _common(proposal: Proposal) -> dict[str, Any]:
    return {
        "proposal": proposal,
        "can_comment": services.can_comment(db.session, proposal, current_user),
        "discussion_open": services.can_discuss(proposal),
    }


@bp.get("/")
@cached_page
def index(proposal_id: int) -> ResponseReturnValue:
    """All top-level comments, 50 at a time; htmx "load more" gets only the next page."""
    proposal = _proposal(proposal_id)
    thread = services.load_thread(
        db.session,
        proposal=proposal,
        viewer=current_user,
        sort=request.args.get("sort", "best"),
        offset=_offset(),
    )
    return render_page(
        "deliberation/comments.html",
        fragment="comment_page",
        thread=thread,
        form=CommentForm(),
        **_common(proposal),
    )


@bp.get("/<int:comment_id>")
@cached_page
def thread(proposal_id: int, comment_id: int) -> ResponseReturnValue:
    """One comment with its replies six levels down ("continue this thread", permalink)."""
    proposal = _proposal(proposal_id)
    comment = _comment(proposal, comment_id)
    subthread = services.load_subthread(
        db.session, comment=comment, viewer=current_user, sort=request.args.get("sort", "best")
    )
    return render_page(
        "deliberation/thread.html",
        fragment="comment_tree",
        thread=subthread,
        focus=comment,
        **_common(proposal),
    )


def _render_form(proposal: Proposal, form: CommentForm, parent: Comment | None, status: int):
    if parent is None:
        # Without htmx the whole discussion page comes back, comments included.
        thread = None
        if not wants_fragment():
            thread = services.load_thread(
                db.session, proposal=proposal, viewer=current_user, sort="best"
            )
        return render_page(
            "deliberation/comments.html",
            fragment="comment_form",
            thread=thread,
            form=form,
            **_common(proposal),
        ), status
    return render_page(
        "deliberation/reply.html",
        fragment="reply_form",
        parent=parent,
        form=form,
        **_common(proposal),
    ), status


@bp.get("/<int:comment_id>/reply")
@login_required
def reply(proposal_id: int, comment_id: int) -> ResponseReturnValue:
    proposal = _proposal(proposal_id)
    parent = _comment(proposal, comment_id)
    services.check_can_reply(parent)
    form = CommentForm(parent_id=str(parent.id))
    return _render_form(proposal, form, parent, 200)


@bp.post("/")
@login_required
def create(proposal_id: int) -> ResponseReturnValue:
    proposal = _proposal(proposal_id)
    form = CommentForm()
    parent_id = None
    if form.parent_id.data:
        parent_id = db_id(form.parent_id.data.strip())
        if not parent_id:
            abort(400)
    parent = None
    if parent_id:
        # The same checks as the reply page: the form sent back with errors quotes the parent.
        parent = services.get_comment(db.session, parent_id)
        if parent is None or parent.proposal_id != proposal.id:
            abort(400)
        services.check_can_reply(parent)
    if form.validate_on_submit():
        try:
            comment = services.post_comment(
                db.session,
                proposal=proposal,
                author=current_user,
                body=form.body.data or "",
                parent_id=parent_id,
                stance=(form.stance.data or None) if parent_id is None else None,
            )
        except FieldError as error:
            form.body.errors = [*form.body.errors, error.message]
        else:
            db.session.commit()
            if not wants_fragment():
                return _back_to(proposal, comment)
            node = services.single_node(db.session, comment=comment, viewer=current_user)
            return render_page(
                "deliberation/posted.html",
                fragment="posted",
                node=node,
                parent=parent,
                form=CommentForm(formdata=None),
                **_common(proposal),
            )
    form_parent = parent if parent is not None and parent.proposal_id == proposal.id else None
    return _render_form(proposal, form, form_parent, 422)


@bp.route("/<int:comment_id>/edit", methods=["GET", "POST"])
@login_required
def edit(proposal_id: int, comment_id: int) -> ResponseReturnValue:
    proposal = _proposal(proposal_id)
    comment = _comment(proposal, comment_id)
    if comment.author_id != current_user.id:
        abort(403)
    form = EditCommentForm(data={"body": comment.body_source} if request.method == "GET" else None)
    if form.validate_on_submit():
        try:
            services.edit_comment(
                db.session, comment=comment, editor=current_user, body=form.body.data or ""
            )
        except FieldError as error:
            form.body.errors = [*form.body.errors, error.message]
        else:
            db.session.commit()
            return _after_change(proposal, comment)
    status = 422 if request.method == "POST" else 200
    return render_page(
        "deliberation/edit.html",
        fragment="comment_edit_form",
        comment=comment,
        form=form,
        can_edit=services.can_edit(comment, current_user),
        **_common(proposal),
    ), status


def _after_change(proposal: Proposal, comment: Comment) -> ResponseReturnValue:
    if not wants_fragment():
        return _back_to(proposal, comment)
    node = services.single_node(db.session, comment=comment, viewer=current_user)
    return render_page(
        "deliberation/thread.html",
        fragment="comment_main",
        node=node,
        thread=None,
        focus=comment,
        **_common(proposal),
    )


@bp.post("/<int:comment_id>/delete")
@login_required
def delete(proposal_id: int, comment_id: int) -> ResponseReturnValue:
    proposal = _proposal(proposal_id)
    comment = _comment(proposal, comment_id)
    services.delete_comment(db.session, comment=comment, actor=current_user)
    db.session.commit()
    return _after_change(proposal, comment)


@bp.post("/<int:comment_id>/vote")
@login_required
def vote(proposal_id: int, comment_id: int) -> ResponseReturnValue:
    proposal = _proposal(proposal_id)
    comment = _comment(proposal, comment_id)
    try:
        value = int(request.form.get("value", "0"))
    except ValueError:
        abort(400)
    if value not in (-1, 0, 1):
        abort(400)
    services.vote_comment(db.session, comment=comment, voter=current_user, value=value)
    db.session.commit()
    if not wants_fragment():
        return _back_to(proposal, comment)
    node = services.single_node(db.session, comment=comment, viewer=current_user)
    return render_page(
        "deliberation/thread.html",
        fragment="comment_votes",
        node=node,
        thread=None,
        focus=comment,
        **_common(proposal),
    )
