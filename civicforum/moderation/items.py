"""One view of the two moderated kinds (comments and proposals), so services stay generic.

Comment.status holds visible | pending | hidden | removed | deleted; Proposal keeps its
lifecycle state apart and has moderation_status visible | hidden | removed. Both carry
hidden_reason and moderation_version, which is the optimistic lock: every moderation
change is a conditional UPDATE on the version the moderator saw, so two moderators can
never both apply a decision to the same item.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import update
from sqlalchemy.orm import Session

from civicforum.moderation.errors import ItemNotFoundError
from civicforum.moderation.models import ItemType

VISIBLE, PENDING, HIDDEN, REMOVED, DELETED = "visible", "pending", "hidden", "removed", "deleted"


def item_model(kind: str) -> type[Any]:
    if kind == ItemType.COMMENT:
        from civicforum.deliberation.models import Comment

        return Comment
    if kind == ItemType.PROPOSAL:
        from civicforum.proposals.models import Proposal

        return Proposal
    raise ItemNotFoundError()


def kind_of(item: Any) -> str:
    return ItemType.PROPOSAL if type(item).__tablename__ == "proposals" else ItemType.COMMENT


def is_public(item: Any) -> bool:
    """Shown as it is to everyone: never a draft, nor pending, hidden, removed or deleted
    text. Only such an item can be reported, so a report page never quotes anything else."""
    if kind_of(item) == ItemType.PROPOSAL and item.state == "draft":
        return False
    return state_of(item) == VISIBLE


def ref(item: Any) -> str:
    """The public reference of an item in the log: "comment:123"."""
    return f"{kind_of(item)}:{item.id}"


def load_item(session: Session, kind: str, item_id: int) -> Any:
    try:
        model = item_model(kind)
    except ItemNotFoundError:
        raise ItemNotFoundError() from None
    item = session.get(model, item_id)
    if item is None:
        raise ItemNotFoundError()
    return item


def _state_attr(item: Any) -> str:
    return "moderation_status" if kind_of(item) == ItemType.PROPOSAL else "status"


def state_of(item: Any) -> str:
    value = getattr(item, _state_attr(item))
    return str(getattr(value, "value", value))


def author_id_of(item: Any) -> int | None:
    return getattr(item, "author_id", None)


def set_state(
    session: Session, item: Any, *, expected_version: int, state: str, hidden_reason: str | None
) -> bool:
    """Move the item to `state` if nobody changed it since `expected_version`.

    Returns False (and changes nothing) when the version moved on: the caller reports 409.
    """
    model = type(item)
    column = getattr(model, _state_attr(item))
    enum_type = getattr(column.type, "enum_class", None)
    value: Any = enum_type(state) if enum_type is not None else state
    result = session.execute(
        update(model)
        .where(model.id == item.id, model.moderation_version == expected_version)
        .values(
            {
                _state_attr(item): value,
                "hidden_reason": hidden_reason,
                "moderation_version": expected_version + 1,
            }
        )
        .execution_options(synchronize_session=False)
    )
    if result.rowcount != 1:  # type: ignore[attr-defined]
        session.expire(item)
        return False
    session.expire(item)  # reload the new state and version on next access
    if kind_of(item) == ItemType.COMMENT:
        # A proposal's stance counts include only visible comments.
        from civicforum.deliberation.services import refresh_counts

        refresh_counts(session, item.proposal)
    return True


def purge_content(session: Session, item: Any) -> None:
    """Erase the text of a removed item, including its edit history; the row stays."""
    from civicforum.moderation import queries

    queries.purge_item_text(session, item)
