"""Admin role management, the voter roll, account settings and locale selection."""

from __future__ import annotations

import io
from typing import Any

from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import select

from civicforum.accounts.models import Role, RoleChange, RollEntry
from civicforum.audit.models import AuditEvent
from tests.factories import make_user
from tests.web.accounts.helpers import cookie, full_login, new_client, whoami


def _admin(db_session: Any, login_as: Any) -> Any:
    return login_as(make_user(db_session, roles=(Role.CITIZEN, Role.ADMIN)))


def test_admin_grants_and_revokes_a_role_with_history(
    client: FlaskClient, db_session: Any, login_as: Any
) -> None:
    admin = _admin(db_session, login_as)
    target = make_user(db_session, display_name="Tess Target")
    url = f"/admin/users/{target.id}/roles"
    assert client.post(url, data={"role": "moderator", "action": "grant"}).status_code == 303
    assert client.post(url, data={"role": "moderator", "action": "revoke"}).status_code == 303
    changes = db_session.scalars(
        select(RoleChange).where(RoleChange.user_id == target.id).order_by(RoleChange.id)
    ).all()
    assert [(c.action, c.role, c.actor_id) for c in changes] == [
        ("grant", "moderator", admin.id),
        ("revoke", "moderator", admin.id),
    ]
    kinds = db_session.scalars(
        select(AuditEvent.kind).where(AuditEvent.subject_id == target.id)
    ).all()
    assert "accounts:role:grant" in kinds and "accounts:role:revoke" in kinds
    page = client.get(f"/admin/users/{target.id}")
    assert "granted moderator" in page.text and "revoked moderator" in page.text
    assert admin.display_name in page.text


def test_admin_ends_every_session_of_a_user(
    app: Flask, client: FlaskClient, db_session: Any, login_as: Any
) -> None:
    target = make_user(db_session, display_name="Tess Target")
    laptop, phone = new_client(app), new_client(app)
    full_login(laptop, app, target)
    full_login(phone, app, target)
    stolen = cookie(phone, app)
    assert whoami(laptop) == 200 and whoami(phone) == 200
    admin = _admin(db_session, login_as)
    page = client.get(f"/admin/users/{target.id}")
    assert (
        f'action="/admin/users/{target.id}/end-sessions"' in page.text
        and "data-confirm" in page.text
    )
    response = client.post(f"/admin/users/{target.id}/end-sessions")
    assert response.status_code == 303
    assert whoami(laptop) == 302 and whoami(phone) == 302
    replay = app.test_client()
    replay.set_cookie(app.config["SESSION_COOKIE_NAME"], stolen or "")
    assert whoami(replay) == 302
    event = db_session.scalars(
        select(AuditEvent).where(
            AuditEvent.kind == "accounts:session:end-all", AuditEvent.subject_id == target.id
        )
    ).one()
    assert event.actor_id == admin.id
    assert whoami(client) == 200  # the admin's own session is untouched
    assert client.post("/admin/users/999999/end-sessions").status_code == 404


def test_role_change_by_a_non_admin_is_403_and_changes_nothing(
    client: FlaskClient, db_session: Any, login_as: Any
) -> None:
    login_as(make_user(db_session, roles=(Role.CITIZEN, Role.MODERATOR)))
    target = make_user(db_session)
    response = client.post(
        f"/admin/users/{target.id}/roles", data={"role": "admin", "action": "grant"}
    )
    assert response.status_code == 403
    db_session.refresh(target)
    assert target.role_names == {"citizen"}
    assert not db_session.scalars(select(RoleChange).where(RoleChange.user_id == target.id)).all()


def test_last_admin_cannot_revoke_their_own_admin_role(
    client: FlaskClient, db_session: Any, login_as: Any
) -> None:
    admin = _admin(db_session, login_as)
    response = client.post(
        f"/admin/users/{admin.id}/roles", data={"role": "admin", "action": "revoke"}
    )
    assert response.status_code == 409 and "last administrator" in response.text
    db_session.refresh(admin)
    assert admin.has_role("admin")


def test_unknown_role_is_a_field_error(client: FlaskClient, db_session: Any, login_as: Any) -> None:
    _admin(db_session, login_as)
    target = make_user(db_session)
    response = client.post(
        f"/admin/users/{target.id}/roles", data={"role": "superuser", "action": "grant"}
    )
    assert response.status_code == 422 and 'class="field-error"' in response.text


def test_user_list_searches_and_paginates(
    client: FlaskClient, db_session: Any, login_as: Any
) -> None:
    _admin(db_session, login_as)
    for n in range(30):
        make_user(db_session, email=f"member{n:02d}@search.test")
    first = client.get("/admin/users?q=search.test")
    assert first.status_code == 200 and "30 users" in first.text
    assert "Page 1 of 2" in first.text and "member00@search.test" in first.text
    second = client.get("/admin/users?q=search.test&page=2")
    assert "member29@search.test" in second.text and "member00@search.test" not in second.text
    fragment = client.get("/admin/users?q=member07", headers={"HX-Request": "true"})
    assert "<html" not in fragment.text and "member07@search.test" in fragment.text
    assert "1 user" in fragment.text


def _import(client: FlaskClient, text: str, header: bool = False) -> Any:
    data: dict[str, Any] = {"file": (io.BytesIO(text.encode()), "roll.csv")}
    if header:
        data["has_header"] = "y"
    return client.post("/admin/roll", data=data, content_type="multipart/form-data")


def test_roll_import_claim_and_double_claim(
    app: Any, client: FlaskClient, db_session: Any, login_as: Any
) -> None:
    _admin(db_session, login_as)
    response = _import(client, "number,name\nM-001,Ann\n  m-002 ,Ben\nM-001,dup\n\n", header=True)
    assert response.status_code == 303
    hashes = db_session.scalars(select(RollEntry.keyed_hash)).all()
    assert len(hashes) == 2 and all(len(h) == 64 and "m-00" not in h for h in hashes)
    assert "2 identifiers on the roll" in client.get("/admin/roll").text
    assert _import(client, "M-002\nM-003\n").status_code == 303
    assert len(db_session.scalars(select(RollEntry)).all()) == 3

    member = login_as(make_user(db_session))
    claimed = client.post("/account/roll", data={"identifier": " M-002 "})
    assert claimed.status_code == 303
    db_session.refresh(member)
    assert member.is_roll_verified

    login_as(make_user(db_session))
    double = client.post("/account/roll", data={"identifier": "m-002"})
    assert double.status_code == 422 and "already claimed by another account" in double.text
    unknown = client.post("/account/roll", data={"identifier": "Z-999"})
    assert unknown.status_code == 422 and "not on the roll" in unknown.text
    assert 'value="Z-999"' in unknown.text


def test_roll_claims_are_throttled(client: FlaskClient, db_session: Any, login_as: Any) -> None:
    login_as(make_user(db_session))
    statuses = [
        client.post("/account/roll", data={"identifier": f"guess-{n}"}).status_code
        for n in range(7)
    ]
    assert statuses[:5] == [422] * 5 and statuses[5] == 429


def test_roll_page_is_for_admins_only(client: FlaskClient, db_session: Any, login_as: Any) -> None:
    login_as(make_user(db_session))
    assert _import(client, "M-1\n").status_code == 403
    assert not db_session.scalars(select(RollEntry)).all()


def test_settings_save_and_keep_input_on_error(
    client: FlaskClient, db_session: Any, login_as: Any
) -> None:
    user = login_as(make_user(db_session))
    bad = client.post(
        "/account/settings",
        data={"display_name": "New Name", "locale": "xx", "timezone": "Mars/Olympus"},
    )
    assert bad.status_code == 422 and 'value="New Name"' in bad.text
    assert 'value="Mars/Olympus"' in bad.text
    ok = client.post(
        "/account/settings",
        data={
            "display_name": "New Name",
            "locale": "fr",
            "timezone": "Europe/Paris",
            "notify_email_digest": "y",
        },
    )
    assert ok.status_code == 303
    db_session.refresh(user)
    assert (user.display_name, user.locale, user.timezone, user.notify_email_digest) == (
        "New Name",
        "fr",
        "Europe/Paris",
        True,
    )


def test_locale_comes_from_the_account_then_accept_language(
    client: FlaskClient, db_session: Any, login_as: Any, anon_client: FlaskClient
) -> None:
    browser_fr = anon_client.get("/account/login", headers={"Accept-Language": "fr-FR,fr;q=0.9"})
    assert '<html lang="fr"' in browser_fr.text and "Se connecter" in browser_fr.text
    assert '<html lang="en"' in anon_client.get("/account/login").text

    login_as(make_user(db_session, locale="en"))
    english = client.get("/account/", headers={"Accept-Language": "fr"})
    assert '<html lang="en"' in english.text and "Your account" in english.text
    login_as(make_user(db_session, locale="fr"))
    french = client.get("/account/", headers={"Accept-Language": "en"})
    assert '<html lang="fr"' in french.text and "Votre compte" in french.text
