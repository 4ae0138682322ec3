"""Issue 15, item 10: states, methods and counts in plain language with real plurals, and one
date format per locale (no stored names such as "on_ballot", "stv" or "open" on a page)."""

from __future__ import annotations

import io
import re
from typing import Any

from civicforum.accounts.models import Role
from civicforum.ballots.models import Method
from civicforum.proposals import lifecycle
from civicforum.proposals.models import ProposalState
from tests.factories import make_user
from tests.factories_ballots import make_ballot
from tests.factories_proposals import make_comment, make_proposal


def test_a_state_change_notification_names_the_state_in_words(client, db_session, login_as) -> None:
    author = login_as(make_user(db_session))
    proposal = make_proposal(db_session, author=author, title="Night buses")
    lifecycle.transition(db_session, proposal, ProposalState.WITHDRAWN, actor=make_user(db_session))
    page = client.get("/notifications/").text
    assert "“Night buses” is now: Withdrawn" in page and "withdrawn</" not in page


def test_the_admin_ballot_list_names_methods_and_states(client, db_session, login_as) -> None:
    login_as(make_user(db_session, roles=(Role.CITIZEN, Role.ADMIN)))
    make_ballot(db_session, method=Method.STV, seats=2, options=("A", "B", "C"))
    make_ballot(db_session, method=Method.IRV, open_now=False)
    page = client.get("/admin/ballots/").text
    cells = re.findall(r"<td>([^<]*)</td>", page)
    assert "stv" not in cells and "irv" not in cells and "open" not in cells
    assert "Single transferable vote" in page and ">Open<" in page and ">Upcoming<" in page


def test_counts_have_plurals(client, db_session, login_as) -> None:
    login_as(make_user(db_session, roles=(Role.CITIZEN, Role.ADMIN)))
    data: dict[str, Any] = {"file": (io.BytesIO(b"M-1\n"), "roll.csv")}
    client.post("/admin/roll", data=data, content_type="multipart/form-data")
    data = {"file": (io.BytesIO(b"M-1\nM-2\n"), "roll.csv")}
    page = client.post(
        "/admin/roll", data=data, content_type="multipart/form-data", follow_redirects=True
    ).text
    assert "1 identifier added. 1 was already on the roll." in page
    assert "1 were" not in page


def test_home_page_support_count_is_singular_for_one(client, db_session) -> None:
    from civicforum.proposals import services

    proposal = make_proposal(db_session, title="Benches by the river")
    verified = make_user(db_session)
    services.set_support(db_session, proposal=proposal, user=verified, support=True)
    page = client.get("/").text
    assert "1 support<" in page and "1 supports" not in page


def test_one_date_format_on_every_page(client, db_session) -> None:
    proposal = make_proposal(db_session)
    make_comment(db_session, proposal=proposal)
    page = client.get(f"/proposals/{proposal.id}").text
    shown = re.findall(r"<time datetime=\"[^\"]+\">([^<]+)</time>", page)
    assert shown, page
    # Babel's English pattern for every moment: "Dec 7, 2026, 11:27 PM"; never "2026-12-07".
    moment = re.compile(r"^[A-Z][a-z]{2} \d{1,2}, \d{4}, \d{1,2}:\d{2}\s[AP]M$")
    assert all(moment.match(text.strip()) for text in shown), shown
    assert " UTC" not in page
