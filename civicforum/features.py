"""The feature packages, in registration order. Each exposes init_app(app)."""

from __future__ import annotations

from civicforum import (
    accounts,
    admin,
    audit,
    ballots,
    budgets,
    deliberation,
    demo,
    logstore,
    moderation,
    notifications,
    pages,
    proposals,
    settings,
)

FEATURES = (
    pages,
    accounts,
    audit,
    settings,
    logstore,
    proposals,
    deliberation,
    notifications,
    moderation,
    ballots,
    budgets,
    admin,
    demo,
)
