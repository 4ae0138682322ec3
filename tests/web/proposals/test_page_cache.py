"""Page cache (civicforum/web/cache.py): anonymous pages are reused, never stale, never
for logged-in users; both backends."""

from __future__ import annotations

from datetime import timedelta

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import text, update

from civicforum.accounts.models import User
from civicforum.db import utcnow
from civicforum.proposals import services
from civicforum.proposals.models import Proposal
from civicforum.web.cache import EXTENSION, PageCache, current_version
from tests.factories import make_user
from tests.factories_proposals import make_comment, make_proposal

HX = {"HX-Request": "true"}


@pytest.fixture
def cache(app: Flask, db_session, monkeypatch: pytest.MonkeyPatch) -> PageCache:
    page_cache: PageCache = app.extensions[EXTENSION]
    monkeypatch.setitem(app.config, "PAGE_CACHE", True)
    page_cache.clear()
    page_cache.hits = page_cache.misses = 0
    yield page_cache
    page_cache.clear()


@pytest.fixture
def anonymous(app: Flask, db_session) -> FlaskClient:
    return app.test_client()  # no cookie at all, as a first-time visitor or a crawler


def test_anonymous_page_is_reused_and_a_write_shows_at_once(anonymous, cache, db_session):
    proposal = make_proposal(db_session, title="Cached proposal")
    make_comment(db_session, proposal=proposal, body="first words")
    url = f"/proposals/{proposal.id}"
    first = anonymous.get(url)
    again = anonymous.get(url)
    assert first.status_code == again.status_code == 200
    assert (cache.misses, cache.hits) == (1, 1)
    assert again.data == first.data and "first words" in again.text

    version = current_version()
    make_comment(db_session, proposal=proposal, body="second words")  # ORM flush + counters
    db_session.commit()
    assert current_version() == version + 1
    assert "second words" in anonymous.get(url).text


@pytest.mark.parametrize("change", ["title", "counter", "sql_text", "display_name", "comment_vote"])
def test_every_kind_of_write_invalidates(anonymous, cache, db_session, change):
    author = make_user(db_session)
    proposal = make_proposal(db_session, author=author, title="Before")
    comment = make_comment(db_session, proposal=proposal, body="a comment")
    for url in ("/proposals/", f"/proposals/{proposal.id}"):
        anonymous.get(url)
    if change == "title":
        proposal.title = "After"
        expected = "After"
    elif change == "counter":  # a bulk UPDATE, outside the ORM flush
        db_session.execute(
            update(Proposal).where(Proposal.id == proposal.id).values(support_count=4242)
        )
        expected = "4242"
    elif change == "sql_text":  # no compiled statement to name its table: the SQL text does
        sql = "UPDATE proposals SET support_count = 4343 WHERE id = :id"
        db_session.execute(text(sql), {"id": proposal.id})
        expected = "4343"
    elif change == "display_name":
        db_session.get(User, author.id).display_name = "Renamed Person"  # shown on both pages
        expected = "Renamed Person"
    else:
        comment.upvotes = 777
        expected = "777"
    db_session.commit()
    assert expected in anonymous.get(f"/proposals/{proposal.id}").text
    if change != "comment_vote":
        assert expected in anonymous.get("/proposals/").text


def test_unrelated_user_change_keeps_the_cache(anonymous, cache, db_session):
    proposal = make_proposal(db_session)
    db_session.commit()
    version = current_version()
    user = make_user(db_session)  # a new account shows on no public page
    db_session.commit()
    user.locale = "fr"  # not a watched attribute
    db_session.commit()
    assert current_version() == version
    anonymous.get(f"/proposals/{proposal.id}")
    anonymous.get(f"/proposals/{proposal.id}")
    assert cache.hits == 1


def test_logged_in_pages_are_never_cached(client, login_as, cache, db_session):
    login_as(make_user(db_session))
    proposal = make_proposal(db_session)
    for _ in range(2):
        assert client.get(f"/proposals/{proposal.id}").status_code == 200
        assert client.get("/proposals/").status_code == 200
    assert cache.hits == 0 and cache.local.size == 0


def test_a_session_cookie_bypasses_the_cache(client, cache, db_session):
    # The `client` fixture holds a session (a CSRF token): it might carry flashed messages.
    proposal = make_proposal(db_session)
    client.get(f"/proposals/{proposal.id}")
    client.get(f"/proposals/{proposal.id}")
    assert cache.hits == 0 and cache.local.size == 0


def test_headers_on_miss_and_hit(anonymous, cache, db_session):
    proposal = make_proposal(db_session)
    make_comment(db_session, proposal=proposal)
    for _ in range(2):
        response = anonymous.get(f"/proposals/{proposal.id}")
        assert "Set-Cookie" not in response.headers  # no session for an anonymous view
        assert response.headers["Cache-Control"] == "no-store"
        assert {"Cookie", "Accept-Language", "HX-Request"} <= set(response.vary)
        assert "Content-Security-Policy" in response.headers
        assert response.mimetype == "text/html"
    assert cache.hits == 1


def test_fragment_locale_and_query_are_keyed_apart(anonymous, cache, db_session):
    make_proposal(db_session)
    page = anonymous.get("/proposals/")
    fragment = anonymous.get("/proposals/", headers=HX)
    assert "<html" in page.text and "<html" not in fragment.text
    french = anonymous.get("/proposals/", headers={"Accept-Language": "fr"})
    assert french.data != page.data and 'lang="fr"' in french.text
    anonymous.get("/proposals/?sort=newest&state=published")
    anonymous.get("/proposals/?state=published&sort=newest")  # same query, other order
    assert cache.hits == 1


def test_errors_are_not_cached(anonymous, cache, db_session):
    assert anonymous.get("/proposals/999999").status_code == 404
    assert anonymous.get("/proposals/999999").status_code == 404
    assert cache.hits == 0 and cache.local.size == 0


def test_a_page_expires_with_its_support_deadline(anonymous, cache, db_session):
    proposal = make_proposal(db_session)
    deadline = utcnow() + timedelta(minutes=5)
    proposal.support_deadline = deadline
    db_session.commit()
    anonymous.get(f"/proposals/{proposal.id}")
    anonymous.get("/proposals/")
    entries = list(cache.local.entries.values())
    assert len(entries) == 2
    assert all(e.expires <= deadline.timestamp() for e in entries)
    # Once the deadline has passed, the next visitor archives it and sees the new state.
    proposal.support_deadline = utcnow() - timedelta(seconds=1)
    db_session.commit()
    text = anonymous.get(f"/proposals/{proposal.id}").text
    assert services.get_proposal(db_session, proposal.id).state == "archived"
    assert "Archived" in text


def _dispose(*apps: Flask) -> None:
    from civicforum.extensions import db

    for app in apps:
        with app.app_context():
            db.session.remove()
            db.engine.dispose()


def _two_instances(make_app):
    """Instance A serves anonymous pages; instance B (same database) takes a write."""
    from civicforum.extensions import db

    reader, writer = make_app(), make_app()
    try:
        _read_write(reader, writer, db)
    finally:
        _dispose(reader, writer)
    return reader


def _read_write(reader, writer, db):
    with writer.app_context():
        proposal = make_proposal(db.session, title="Real commit")
        db.session.commit()
        pid = proposal.id
        db.session.remove()
    client = reader.test_client()
    assert "Real commit" in client.get(f"/proposals/{pid}").text
    assert "Real commit" in client.get(f"/proposals/{pid}").text
    assert reader.extensions[EXTENSION].hits == 1
    with writer.app_context():
        db.session.get(Proposal, pid).title = "Changed on the other instance"
        db.session.commit()
        db.session.remove()
    assert "Changed on the other instance" in client.get(f"/proposals/{pid}").text
    assert "Changed on the other instance" in client.get("/proposals/").text


def test_real_commits_on_two_instances_postgresql(tmp_path) -> None:
    from tests.conftest import make_test_app, scratch_postgres_app

    with scratch_postgres_app(tmp_path, PAGE_CACHE=True) as first:
        url = first.config["DATABASE_URL"]
        _two_instances(lambda: make_test_app(url, tmp_path, PAGE_CACHE=True))


def test_real_commits_on_two_instances_sqlite_with_redis(tmp_path) -> None:
    import os
    import uuid

    import flask_migrate

    from tests.conftest import make_test_app

    if not (redis_url := os.environ.get("CIVICFORUM_TEST_REDIS_URL", "")):
        pytest.skip("Redis page cache not tested: CIVICFORUM_TEST_REDIS_URL is not set")
    url = f"sqlite:///{tmp_path / 'real.sqlite'}"
    config = {"PAGE_CACHE": True, "REDIS_URL": redis_url}
    config["PAGE_CACHE_REDIS_PREFIX"] = f"civicforum-test:{uuid.uuid4().hex}:"
    first = make_test_app(url, tmp_path, **config)
    with first.app_context():
        flask_migrate.upgrade()
    try:
        _two_instances(lambda: make_test_app(url, tmp_path, **config))
        # Another instance finds the list in Redis without rendering it.
        third = make_test_app(url, tmp_path, **config)
        assert "Changed on the other instance" in third.test_client().get("/proposals/").text
        assert third.extensions[EXTENSION].hits == 1
        _dispose(third)
    finally:
        first.extensions[EXTENSION].clear()
        _dispose(first)
