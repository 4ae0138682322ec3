"""seed-demo gives the demo moderator a working queue and an appeal to decide."""

from __future__ import annotations

from civicforum.accounts import demo as accounts_demo
from civicforum.accounts.demo import demo_user
from civicforum.moderation import demo, queries, services


def test_demo_moderator_sees_a_working_queue(db_session) -> None:
    accounts_demo.seed(db_session)
    demo.seed(db_session)
    demo.seed(db_session)  # a second run adds nothing
    moderator = demo_user(db_session, "moderator")
    page = queries.queue_page(db_session, tab="review", page=1, viewer=moderator)
    assert {e.state for e in page.items} == {"visible", "hidden", "pending"}
    assert page.total == 4
    [appeal] = queries.pending_appeals(db_session)
    assert services.can_decide_appeal(moderator, appeal)
    assert queries.unseen_notice_count(db_session, demo_user(db_session, "bob").id) == 1
