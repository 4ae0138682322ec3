from __future__ import annotations

from tests.factories import make_user
from tests.factories_proposals import make_category, make_comment, make_proposal


def test_smoke(client, db_session, login_as) -> None:
    user = make_user(db_session)
    cat = make_category(db_session)
    p = make_proposal(db_session, author=user, category=cat, tags=["parks"])
    c = make_comment(db_session, proposal=p, stance="in_favour")
    make_comment(db_session, proposal=p, parent_id=c.id)
    login_as(user)
    for url in [
        "/proposals/",
        f"/proposals/{p.id}",
        f"/proposals/{p.id}/revisions",
        f"/proposals/{p.id}/comments/",
        f"/proposals/{p.id}/comments/{c.id}",
        f"/proposals/{p.id}/comments/{c.id}/reply",
        "/notifications/",
        "/notifications/settings",
        "/proposals/new",
        "/proposals/?q=propos",
    ]:
        r = client.get(url)
        assert r.status_code == 200, (url, r.text[-3000:])
