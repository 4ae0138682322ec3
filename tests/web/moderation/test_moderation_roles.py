"""Role matrix: every moderator and admin endpoint, as anonymous, citizen, suspended user and
moderator (admin for admin pages). A refused call must change nothing."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import pytest
from sqlalchemy import text

from civicforum.deliberation.models import CommentStatus
from civicforum.moderation import services
from tests.factories import make_user
from tests.factories_moderation import make_admin, make_comment, make_moderator, make_suspension

WATCHED = (
    "moderation_actions",
    "moderation_flags",
    "moderation_sanctions",
    "moderation_appeals",
    "comments",
    "settings",
    "audit_events",
)


def snapshot(session) -> dict[str, list[Any]]:
    return {
        table: [tuple(row) for row in session.execute(text(f"SELECT * FROM {table} ORDER BY 1"))]
        for table in WATCHED
    }


@dataclass
class World:
    pending: Any
    bulk_item: Any
    target: Any
    sanction: Any
    appeal: Any


def build(session) -> World:
    acting = make_moderator(session)
    hidden = make_comment(session)
    services.moderate_item(
        session, item=hidden, actor=acting, action="hide", expected_version=1, reason="Rude"
    )
    appeal = services.file_appeal(session, item=hidden, appellant=hidden.author, text="Please")
    sanctioned = make_user(session)
    sanction = services.sanction_user(
        session, user=sanctioned, actor=acting, kind="suspend", reason="x", days=2
    )
    return World(
        pending=make_comment(session, status=CommentStatus.PENDING),
        bulk_item=make_comment(session, status=CommentStatus.PENDING),
        target=make_user(session),
        sanction=sanction,
        appeal=appeal,
    )


def moderator_calls(w: World) -> list[tuple[str, str, dict[str, Any]]]:
    return [
        ("GET", "/moderation/queue", {}),
        ("GET", "/moderation/queue?tab=hidden", {}),
        ("GET", f"/moderation/items/comment/{w.pending.id}", {}),
        (
            "POST",
            f"/moderation/items/comment/{w.pending.id}/decide",
            {"version": "1", "action": "approve"},
        ),
        (
            "POST",
            "/moderation/queue/bulk",
            {"selected": [f"comment:{w.bulk_item.id}:1"], "action": "approve"},
        ),
        ("GET", f"/moderation/users/{w.target.id}", {}),
        (
            "POST",
            f"/moderation/users/{w.target.id}/sanction",
            {"kind": "warn", "reason": "Mind your tone"},
        ),
        ("POST", f"/moderation/sanctions/{w.sanction.id}/lift", {"reason": "Early end"}),
        ("GET", "/moderation/appeals", {}),
        (
            "POST",
            f"/moderation/appeals/{w.appeal.id}/decide",
            {"decision": "reject", "reason": "Stands"},
        ),
    ]


def admin_calls(w: World) -> list[tuple[str, str, dict[str, Any]]]:
    return [
        ("GET", "/admin/moderation/settings", {}),
        (
            "POST",
            "/admin/moderation/settings",
            {
                "moderation.flag_threshold": "5",
                "moderation.premoderation": "new",
                "moderation.premoderation_days": "7",
                "moderation.premoderation_min_approved": "3",
                "moderation.comments_per_10_minutes": "10",
                "moderation.flags_per_hour": "20",
                "moderation.duplicate_window_hours": "24",
            },
        ),
    ]


def who(session, identity: str):
    if identity == "anonymous":
        return None
    if identity == "citizen":
        return make_user(session)
    user = make_user(session) if identity == "suspended citizen" else make_moderator(session)
    if identity.startswith("suspended"):
        make_suspension(session, user=user)
    return user


REFUSED = ["anonymous", "citizen", "suspended citizen", "suspended moderator"]


def call(client, method: str, url: str, data: dict[str, Any]):
    return client.get(url) if method == "GET" else client.post(url, data=data)


@pytest.mark.parametrize("identity", REFUSED)
@pytest.mark.parametrize("calls", [moderator_calls, admin_calls], ids=["moderator", "admin"])
def test_refused_calls_change_nothing(client, db_session, login_as, identity, calls) -> None:
    world = build(db_session)
    user = who(db_session, identity)
    if user is not None:
        login_as(user)
    for method, url, data in calls(world):
        before = snapshot(db_session)
        response = call(client, method, url, data)
        if identity == "anonymous":
            assert response.status_code == 302, url
            assert "/account/login" in response.headers["Location"]
        else:
            assert response.status_code == 403, (url, response.status_code)
        assert snapshot(db_session) == before, url


def test_moderator_may_call_every_moderator_endpoint(client, db_session, login_as) -> None:
    world = build(db_session)
    login_as(make_moderator(db_session))
    for method, url, data in moderator_calls(world):
        response = call(client, method, url, data)
        assert response.status_code == (200 if method == "GET" else 303), (url, response.text)
    db_session.expire_all()
    assert world.pending.status is CommentStatus.VISIBLE
    assert world.appeal.status == "rejected"


def test_moderator_is_refused_admin_pages_and_admin_may_use_them(
    client, db_session, login_as
) -> None:
    world = build(db_session)
    login_as(make_moderator(db_session))
    for method, url, data in admin_calls(world):
        before = snapshot(db_session)
        assert call(client, method, url, data).status_code == 403
        assert snapshot(db_session) == before
    login_as(make_admin(db_session))
    for method, url, data in admin_calls(world):
        assert call(client, method, url, data).status_code == (200 if method == "GET" else 303)
    from civicforum.settings.services import get_setting

    assert get_setting(db_session, "moderation.flag_threshold") == 5
    assert get_setting(db_session, "moderation.premoderation") == "new"


def test_admin_setting_out_of_range_is_a_field_error(client, db_session, login_as) -> None:
    login_as(make_admin(db_session))
    data = dict(admin_calls(build(db_session))[1][2], **{"moderation.flag_threshold": "0"})
    response = client.post("/admin/moderation/settings", data=data)
    assert response.status_code == 422 and 'class="field-error"' in response.text
