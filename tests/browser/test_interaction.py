"""app.js and the stylesheet in Chromium: irreversible actions ask exactly once (whether the
question sits on the button, the form or a chosen value), focus follows htmx swaps and full page
loads, the focus ring contrasts on every background, and submit inputs look like buttons."""

from __future__ import annotations

import itertools
from typing import Any

import pytest

from civicforum.deliberation.models import CommentStatus
from civicforum.moderation import services
from tests.browser.conftest import LiveServer, login
from tests.factories import TEST_TOTP_SECRET, make_user
from tests.factories_moderation import make_comment, make_moderator

pytestmark = pytest.mark.browser
_seq = itertools.count(1)


class Dialogs:
    """Records every window.confirm and answers it as told (accept or dismiss)."""

    def __init__(self, page: Any) -> None:
        self.messages: list[str] = []
        self.accept = False
        page.on("dialog", self._handle)

    def _handle(self, dialog: Any) -> None:
        self.messages.append(dialog.message)
        if self.accept:
            dialog.accept()
        else:
            dialog.dismiss()


def _build(live: LiveServer, build: Any) -> Any:
    with live.session() as s:
        return build(s)


def _focused(page: Any, selector: str) -> bool:
    return bool(page.evaluate("s => document.activeElement.matches(s)", selector))


def _wait_focus(page: Any, selector: str) -> None:
    page.wait_for_function(
        "s => document.activeElement && document.activeElement.matches(s)", arg=selector
    )


def _settle(page: Any) -> None:
    """Give a (wrongly) issued request time to come back before asserting nothing happened."""
    page.wait_for_timeout(400)


# ----------------------------------------------------------------------------- confirmation


def test_remove_asks_once_from_the_button_and_cancel_sends_nothing(
    page: Any, live_server: LiveServer
) -> None:
    ids = _build(
        live_server,
        lambda s: {
            "pending": make_comment(s, status=CommentStatus.PENDING, body="Remove me").id,
            "moderator": make_moderator(s).email,
        },
    )
    login(page, ids["moderator"], totp_secret=TEST_TOTP_SECRET, live=live_server)
    page.goto("/moderation/queue")
    dialogs = Dialogs(page)
    row_id = f"#queue-row-comment-{ids['pending']}"
    row = page.locator(row_id)
    row.get_by_label("Public reason (required to hide or remove)").fill("Illegal content")
    remove = row.get_by_role("button", name="Remove permanently")

    remove.click()
    _settle(page)
    assert dialogs.messages == ["Remove permanently? The text is erased and cannot be restored."]
    assert page.locator(row_id).get_by_text("Remove me").is_visible()  # nothing was sent

    dialogs.accept = True
    page.locator(row_id).get_by_role("button", name="Remove permanently").click()
    page.locator(row_id).get_by_role("status").wait_for()
    assert len(dialogs.messages) == 2  # once per click, never twice
    assert page.locator(row_id).get_by_text("[content removed]").is_visible()
    # Focus follows the swapped row: its status message, not <body>.
    _wait_focus(page, f"{row_id} [role=status]")

    # Reversible decisions do not ask.
    page.goto("/moderation/queue")
    assert len(dialogs.messages) == 2


def test_bulk_remove_asks_once_and_bulk_hide_does_not_ask(
    page: Any, live_server: LiveServer
) -> None:
    def build(s: Any) -> dict[str, Any]:
        flagged = [make_comment(s, body=f"Bulk words {next(_seq)}") for _ in range(3)]
        for comment in flagged:
            services.flag_item(s, item=comment, flagger=make_user(s), reason="spam")
        return {"flagged": [c.id for c in flagged], "moderator": make_moderator(s).email}

    ids = _build(live_server, build)
    login(page, ids["moderator"], totp_secret=TEST_TOTP_SECRET, live=live_server)
    page.goto("/moderation/queue")
    dialogs = Dialogs(page)

    page.get_by_label(f"Select Comment #{ids['flagged'][0]}").check()
    page.get_by_label("Action").select_option("hide")
    page.locator("#bulk-reason").fill("Spam wave")
    page.get_by_role("button", name="Apply to selected").click()
    page.get_by_text("1 item hidden.").wait_for()
    assert dialogs.messages == []
    _wait_focus(page, "#queue-list [role=status]")

    for comment_id in ids["flagged"][1:]:
        page.get_by_label(f"Select Comment #{comment_id}").check()
    page.get_by_label("Action").select_option("remove")
    page.locator("#bulk-reason").fill("Spam wave")
    page.get_by_role("button", name="Apply to selected").click()
    _settle(page)
    assert len(dialogs.messages) == 1 and "permanently" in dialogs.messages[0]
    assert page.get_by_text("1 item hidden.").is_visible()  # the old summary: nothing sent

    dialogs.accept = True
    page.get_by_role("button", name="Apply to selected").click()
    page.get_by_text("2 items removed.").wait_for()
    assert len(dialogs.messages) == 2


def test_ban_asks_once_and_the_label_says_permanent(page: Any, live_server: LiveServer) -> None:
    ids = _build(
        live_server,
        lambda s: {"troll": make_user(s).id, "moderator": make_moderator(s).email},
    )
    login(page, ids["moderator"], totp_secret=TEST_TOTP_SECRET, live=live_server)
    page.goto(f"/moderation/users/{ids['troll']}")
    dialogs = Dialogs(page)
    page.get_by_label("Ban permanently").check()
    page.get_by_label("Reason (shown to the member)").fill("Threats")
    page.get_by_role("button", name="Record sanction").click()
    _settle(page)
    assert len(dialogs.messages) == 1 and "permanently" in dialogs.messages[0]
    assert not page.get_by_text("Sanction recorded").is_visible()

    dialogs.accept = True
    page.get_by_role("button", name="Record sanction").click()
    page.get_by_text("Sanction recorded").wait_for()
    assert len(dialogs.messages) == 2
    assert page.get_by_text("This account is banned: Threats").is_visible()


def test_deleting_my_comment_asks_exactly_once(page: Any, live_server: LiveServer) -> None:
    def build(s: Any) -> dict[str, Any]:
        comment = make_comment(s, body="Second thoughts")
        return {"email": comment.author.email, "proposal": comment.proposal_id, "id": comment.id}

    ids = _build(live_server, build)
    login(page, ids["email"])
    page.goto(f"/proposals/{ids['proposal']}")
    dialogs = Dialogs(page)
    main = page.locator(f"#comment-main-{ids['id']}")

    main.get_by_role("button", name="Delete").click()
    _settle(page)
    assert dialogs.messages == ["Delete this comment? Replies stay in place."]
    assert main.get_by_text("Second thoughts").is_visible()

    dialogs.accept = True
    main.get_by_role("button", name="Delete").click()
    page.locator(f"#comment-main-{ids['id']}").get_by_text("[deleted]").wait_for()
    _settle(page)
    assert len(dialogs.messages) == 2


# ----------------------------------------------------------------------------- focus


def test_focus_follows_swaps_on_the_proposal_page(page: Any, live_server: LiveServer) -> None:
    def build(s: Any) -> dict[str, Any]:
        comment = make_comment(s, body="Vote on me")
        return {"proposal": comment.proposal_id, "comment": comment.id, "me": make_user(s).email}

    ids = _build(live_server, build)
    login(page, ids["me"])
    page.goto(f"/proposals/{ids['proposal']}")

    # Support: the panel is replaced; focus lands on its new toggle, not on <body>.
    page.get_by_role("button", name="Support this proposal").click()
    page.get_by_role("button", name="Withdraw my support").wait_for()
    _wait_focus(page, "#support-panel button")

    # Vote: focus stays on the button pressed (the down vote, not the first control).
    page.locator(f"#comment-vote-down-{ids['comment']}").click()
    page.wait_for_selector(f"#comment-vote-down-{ids['comment']}[aria-pressed=true]")
    _wait_focus(page, f"#comment-vote-down-{ids['comment']}")

    # Posting an empty comment: focus on the error.
    form = page.locator("#comment-form")
    form.get_by_role("button", name="Post comment").click()
    page.locator("#comment-body-error").wait_for()
    _wait_focus(page, "#comment-body-error")

    # Posting a comment: focus on the confirmation in the fresh form.
    page.locator("#comment-form").get_by_label("Your comment (Markdown)").fill("Focus here")
    page.locator("#comment-form").get_by_role("button", name="Post comment").click()
    page.locator("#comment-list").get_by_text("Focus here").wait_for()
    _wait_focus(page, "#comment-form [role=status]")
    assert page.locator("#comment-form [role=status]").inner_text() == "Your comment is posted."


def test_focus_after_report_and_on_a_full_page_load(page: Any, live_server: LiveServer) -> None:
    def build(s: Any) -> dict[str, Any]:
        comment = make_comment(s, body="Report me")
        return {"proposal": comment.proposal_id, "comment": comment.id, "me": make_user(s).email}

    ids = _build(live_server, build)
    login(page, ids["me"])
    page.goto(f"/moderation/report/comment/{ids['comment']}")
    page.get_by_role("button", name="Send report").click()  # no reason chosen: 422
    page.locator("#report-form [role=alert]").wait_for()
    _wait_focus(page, "#report-form [role=alert]")
    page.get_by_label("Spam or advertising").check()
    page.get_by_role("button", name="Send report").click()
    page.get_by_text("Moderators will review your report").wait_for()
    _wait_focus(page, "#report-form [role=status]")

    # A full page with [data-autofocus] (the reply page JS users reach by URL) focuses it once.
    page.goto(f"/proposals/{ids['proposal']}/comments/{ids['comment']}/reply")
    _wait_focus(page, f"#reply-body-{ids['comment']}")


# ----------------------------------------------------------------------------- styles


def _rgb(css: str) -> tuple[int, int, int]:
    inside = css[css.index("(") + 1 : css.index(")")]
    r, g, b = (int(float(v)) for v in inside.split(",")[:3])
    return r, g, b


def _contrast(a: tuple[int, int, int], b: tuple[int, int, int]) -> float:
    def lum(c: tuple[int, int, int]) -> float:
        lin = [
            v / 255 / 12.92 if v / 255 <= 0.03928 else ((v / 255 + 0.055) / 1.055) ** 2.4 for v in c
        ]
        return 0.2126 * lin[0] + 0.7152 * lin[1] + 0.0722 * lin[2]

    hi, lo = sorted((lum(a), lum(b)), reverse=True)
    return (hi + 0.05) / (lo + 0.05)


def _ring(page: Any, selector: str) -> tuple[list[tuple[int, int, int]], tuple[int, int, int]]:
    """The colours of the focus indicator of the focused element, and its surroundings."""
    style = page.evaluate(
        """s => {
            const el = document.querySelector(s);
            const cs = getComputedStyle(el);
            let bg = el.parentElement, colour = 'rgba(0, 0, 0, 0)';
            while (bg) {
                colour = getComputedStyle(bg).backgroundColor;
                if (colour !== 'rgba(0, 0, 0, 0)') break;
                bg = bg.parentElement;
            }
            return {outline: cs.outlineStyle !== 'none' ? cs.outlineColor : null,
                    width: cs.outlineWidth, shadow: cs.boxShadow, around: colour};
        }""",
        selector,
    )
    colours = []
    if style["outline"] and style["width"] != "0px":
        colours.append(_rgb(style["outline"]))
    if style["shadow"] and style["shadow"] != "none":
        colours.append(_rgb(style["shadow"]))
    return colours, _rgb(style["around"])


def test_focus_ring_contrasts_on_the_page_and_in_the_header(page: Any) -> None:
    page.goto("/")
    for selector in ("footer a", "header a.brand"):
        page.locator(selector).first.focus()
        page.keyboard.press("Shift+Tab")
        page.keyboard.press("Tab")  # keyboard focus, so :focus-visible applies
        assert _focused(page, selector)
        colours, around = _ring(page, selector)
        assert colours, f"{selector}: no focus indicator"
        # WCAG 1.4.11: some ring colour has 3:1 with what surrounds it; with two colours the
        # inner one must also stand out against the outer one (technique C40).
        assert max(_contrast(c, around) for c in colours) >= 3, (selector, colours, around)
        if len(colours) == 2:
            assert _contrast(colours[0], colours[1]) >= 3, colours


def test_submit_inputs_look_like_buttons(page: Any, live_server: LiveServer, live_user) -> None:
    login(page, live_user().email)
    page.goto("/proposals/new")
    styles = page.evaluate(
        """() => ['#proposal-form input[type=submit]:not(.secondary)',
                   '#proposal-form input[type=submit].secondary']
            .map(s => { const cs = getComputedStyle(document.querySelector(s));
                        return {bg: cs.backgroundColor, colour: cs.color, border: cs.borderTopColor,
                                radius: cs.borderTopLeftRadius, padding: cs.paddingLeft}; })"""
    )
    publish, draft = styles
    assert publish["bg"] == "rgb(27, 77, 140)" and publish["colour"] == "rgb(255, 255, 255)"
    assert publish["radius"] == "6px" and publish["padding"] == "16px"
    assert draft["bg"] == "rgb(255, 255, 255)" and draft["colour"] == "rgb(27, 77, 140)"
    assert draft["border"] == "rgb(27, 77, 140)"


# ----------------------------------------------------------------------------- axe rules


def _axe_rules(page: Any, *rules: str) -> list[dict[str, Any]]:
    """Run only the named axe rules (experimental ones included) and return their violations."""
    if not page.evaluate("() => typeof window.axe !== 'undefined'"):
        page.add_script_tag(url="/static/vendor/axe.min.js")
        page.wait_for_function("() => typeof window.axe !== 'undefined'")
    return list(
        page.evaluate(
            """async rules => (await axe.run(document, {
                runOnly: {type: 'rule', values: rules}, resultTypes: ['violations'],
            })).violations""",
            list(rules),
        )
    )


def test_vote_names_contain_their_text_and_queue_asides_are_unique(
    page: Any, live_server: LiveServer
) -> None:
    def build(s: Any) -> dict[str, Any]:
        comments = [make_comment(s, status=CommentStatus.PENDING) for _ in range(2)]
        make_comment(s, proposal=comments[0].proposal, body="Another view")
        return {
            "proposal": comments[0].proposal_id,
            "moderator": make_moderator(s).email,
        }

    ids = _build(live_server, build)
    login(page, ids["moderator"], totp_secret=TEST_TOTP_SECRET, live=live_server)
    page.goto("/moderation/queue")
    bad = _axe_rules(page, "landmark-unique", "label-content-name-mismatch")
    assert not bad, [(v["id"], [n["target"] for n in v["nodes"][:3]]) for v in bad]

    page.goto(f"/proposals/{ids['proposal']}")
    assert page.locator("button.vote").count() >= 2  # the moderator may vote on both comments
    bad = _axe_rules(page, "label-content-name-mismatch", "landmark-unique")
    assert not bad, [(v["id"], [n["target"] for n in v["nodes"][:3]]) for v in bad]
