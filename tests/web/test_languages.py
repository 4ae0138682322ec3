"""Issue 15, item 11: a language switcher that works without JavaScript and is remembered
(a cookie for everyone, the account for members), Arabic pages right to left."""

from __future__ import annotations

from typing import Any

from flask.testing import FlaskClient

from civicforum.i18n import LANGUAGE_COOKIE
from tests.factories import make_user


def test_every_page_offers_the_switcher_in_each_language_s_own_name(
    anon_client: FlaskClient, db_session: Any
) -> None:
    page = anon_client.get("/proposals/").text
    assert 'action="/language"' in page and 'method="get"' in page
    for code, name in (("en", "English"), ("fr", "Français"), ("es", "Español"), ("ar", "العربية")):
        assert f'<option value="{code}" lang="{code}"' in page and name in page


def test_a_visitor_s_choice_is_remembered_in_a_cookie(
    anon_client: FlaskClient, db_session: Any
) -> None:
    response = anon_client.get("/language?lang=es&next=/proposals/%3Fsort%3Dnew")
    assert response.status_code == 303 and response.headers["Location"] == "/proposals/?sort=new"
    cookie = anon_client.get_cookie(LANGUAGE_COOKIE)
    assert cookie is not None and cookie.value == "es" and cookie.http_only
    page = anon_client.get("/proposals/", headers={"Accept-Language": "fr"}).text
    assert '<html lang="es" dir="ltr"' in page and "Propuestas" in page
    # No session was created for it: anonymous pages stay cacheable.
    assert anon_client.get_cookie("civicforum_session") is None


def test_unknown_languages_and_foreign_targets_are_ignored(
    anon_client: FlaskClient, db_session: Any
) -> None:
    response = anon_client.get("/language?lang=xx&next=https://evil.example/")
    assert response.status_code == 303 and response.headers["Location"] == "/"
    assert anon_client.get_cookie(LANGUAGE_COOKIE) is None


def test_arabic_pages_are_right_to_left(anon_client: FlaskClient, db_session: Any) -> None:
    anon_client.get("/language?lang=ar&next=/")
    page = anon_client.get("/").text
    assert '<html lang="ar" dir="rtl"' in page


def test_a_member_s_choice_is_saved_to_the_account(
    client: FlaskClient, db_session: Any, login_as: Any
) -> None:
    member = login_as(make_user(db_session, locale="en"))
    page = client.get("/account/").text
    assert 'method="post" action="/language"' in page
    response = client.post("/language", data={"lang": "fr", "next": "/account/"})
    assert response.status_code == 303
    db_session.refresh(member)
    assert member.locale == "fr"
    assert '<html lang="fr"' in client.get("/account/").text
