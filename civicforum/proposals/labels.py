"""A proposal's lifecycle state in words: the one list pages, notifications and mail share."""

from __future__ import annotations

from flask_babel import gettext as _


def state_labels() -> dict[str, str]:
    """Every state's label in the current language (call once per page: gettext per use was
    most of a list page's rendering time)."""
    return {
        "draft": _("Draft"),
        "published": _("Collecting supports"),
        "qualified": _("Qualified"),
        "on_ballot": _("On the ballot"),
        "adopted": _("Adopted"),
        "rejected": _("Rejected"),
        "withdrawn": _("Withdrawn"),
        "archived": _("Archived"),
    }


def state_label(state: object) -> str:
    """One state's label; an unknown state (a newer release's) shows as itself."""
    return state_labels().get(str(state), str(state))
