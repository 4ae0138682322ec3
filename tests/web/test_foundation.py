"""Security baseline and the generic web layer."""

from __future__ import annotations

from flask.testing import FlaskClient

from tests.factories import make_user


def test_home_page_has_strict_csp_and_landmarks(client: FlaskClient) -> None:
    response = client.get("/")
    assert response.status_code == 200
    csp = response.headers["Content-Security-Policy"]
    assert "script-src 'self'" in csp and "unsafe-inline" not in csp.split("style-src")[0]
    assert response.headers["X-Content-Type-Options"] == "nosniff"
    assert "HX-Request" in response.headers["Vary"]
    html = response.text
    assert '<main id="main"' in html and 'class="skip-link"' in html
    assert '"allowEval": false' in html


def test_post_without_csrf_token_is_refused_and_changes_nothing(
    anon_client: FlaskClient, db_session
) -> None:
    from sqlalchemy import func, select

    from civicforum.accounts.models import User

    before = db_session.scalar(select(func.count()).select_from(User))
    response = anon_client.post(
        "/account/register",
        data={
            "display_name": "Mallory",
            "email": "mallory@example.test",
            "password": "a long enough password",
        },
    )
    assert response.status_code == 400
    assert db_session.scalar(select(func.count()).select_from(User)) == before


def test_unknown_page_is_a_helpful_404_page_and_fragment(client: FlaskClient) -> None:
    page = client.get("/no/such/page")
    assert page.status_code == 404 and "<html" in page.text and "home page" in page.text
    fragment = client.get("/no/such/page", headers={"HX-Request": "true"})
    assert fragment.status_code == 404 and "<html" not in fragment.text
    assert 'role="alert"' in fragment.text


def test_oversized_body_is_413(client: FlaskClient) -> None:
    response = client.post("/account/login", data={"email": "x" * (2 * 1024 * 1024)})
    assert response.status_code == 413


def test_citizen_opening_admin_page_gets_403(client: FlaskClient, db_session, login_as) -> None:
    login_as(make_user(db_session))
    assert client.get("/admin/").status_code == 403


def test_anonymous_opening_admin_page_goes_to_login(client: FlaskClient) -> None:
    response = client.get("/admin/")
    assert response.status_code == 302 and "/account/login" in response.headers["Location"]


def test_admin_without_two_factor_is_sent_to_setup(client, db_session, login_as) -> None:
    admin = make_user(db_session, roles=("citizen", "admin"), totp=False)
    login_as(admin)
    response = client.get("/admin/")
    assert response.status_code == 302 and "totp" in response.headers["Location"]


def test_admin_with_two_factor_opens_admin(client, db_session, login_as) -> None:
    login_as(make_user(db_session, roles=("citizen", "admin")))
    assert client.get("/admin/").status_code == 200
