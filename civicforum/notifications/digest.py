"""Email digests of unread notifications, queued through civicforum.mail."""

from __future__ import annotations

from flask_babel import force_locale, ngettext
from flask_babel import gettext as _
from sqlalchemy.orm import Session

from civicforum.mail import queue_mail
from civicforum.notifications import services
from civicforum.notifications.services import Digest
from civicforum.proposals.labels import state_label
from civicforum.web.urls import external_url


def collect(session: Session) -> list[Digest]:
    return services.pending_digests(session)


def render(item: Digest) -> tuple[str, str]:
    """Subject and plain-text body of one digest, in the user's language."""
    with force_locale(item.user.locale or "en"):
        lines = [_("Hello %(name)s,", name=item.user.display_name), ""]
        count = len(item.notifications)
        lines.append(
            ngettext(
                "You have %(num)d new notification:", "You have %(num)d new notifications:", count
            )
        )
        lines.append("")
        for n in item.notifications:
            lines.append(f"- {describe(n)}")
            if n.proposal_id:
                link = external_url("proposals.detail", proposal_id=n.proposal_id)
                lines.append(f"  {link}")
        lines += [
            "",
            _(
                "Change what you receive: %(url)s",
                url=external_url("notifications.settings"),
            ),
        ]
        return _("Your civicforum notifications"), "\n".join(lines)


def describe(n: object) -> str:
    kind = str(getattr(n, "kind", ""))
    data = getattr(n, "data", {}) or {}
    title = data.get("title", "")
    if kind == "comment_reply":
        return _("New reply to your comment on “%(title)s”", title=title)
    if kind == "proposal_comment":
        return _("New comment on your proposal “%(title)s”", title=title)
    # The state in words ("On the ballot"), never its stored name ("on_ballot").
    state = state_label(data.get("to", ""))
    return _("“%(title)s” is now: %(state)s", title=title, state=state)


def queue(session: Session, item: Digest) -> None:
    """Queue the digest's mail and mark its notifications mailed, together; caller commits."""
    subject, body = render(item)
    queue_mail(session, to=item.user.email, subject=subject, body=body)
    services.mark_emailed(session, item)
