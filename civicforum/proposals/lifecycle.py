"""The proposal lifecycle: the ONE place that decides which state changes are allowed.

    draft ──► published ──► qualified ──► on_ballot ──► adopted | rejected
      │           │  └──► archived (support deadline passed without qualifying)
      └──► withdrawn ◄─┘ (by the author, also from qualified)

Every move writes a ProposalTransition row (the public timeline) and the audit event
"proposal:state:change" that the civic ledger publishes. Callers (proposals, ballots,
the expiry command) never assign `proposal.state` themselves.
"""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from civicforum.audit.services import record_event
from civicforum.db import utcnow
from civicforum.proposals.errors import IllegalTransitionError
from civicforum.proposals.models import Proposal, ProposalState, ProposalTransition

S = ProposalState

ALLOWED: dict[ProposalState, frozenset[ProposalState]] = {
    S.DRAFT: frozenset({S.PUBLISHED, S.WITHDRAWN}),
    S.PUBLISHED: frozenset({S.QUALIFIED, S.ARCHIVED, S.WITHDRAWN}),
    S.QUALIFIED: frozenset({S.ON_BALLOT, S.WITHDRAWN}),
    S.ON_BALLOT: frozenset({S.ADOPTED, S.REJECTED}),
    S.ADOPTED: frozenset(),
    S.REJECTED: frozenset(),
    S.WITHDRAWN: frozenset(),
    S.ARCHIVED: frozenset(),
}

TERMINAL = frozenset(s for s, targets in ALLOWED.items() if not targets)


def can_transition(from_state: ProposalState, to_state: ProposalState) -> bool:
    return to_state in ALLOWED[from_state]


def support_period_days(session: Session) -> int:
    from civicforum.settings.services import get_setting

    return int(get_setting(session, "proposals.support_period_days"))


def transition(
    session: Session,
    proposal: Proposal,
    to: ProposalState,
    *,
    actor: Any,
    reason: str = "",
) -> ProposalTransition:
    """Move `proposal` to `to` or raise IllegalTransitionError (409, nothing changed).

    Records the timeline row and the "proposal:state:change" audit event; the caller commits.
    """
    to = ProposalState(to)
    # Lock the row and read the committed state: two concurrent requests (a support that
    # qualifies, an author withdrawing) must not both start from the same old state.
    current = session.scalar(
        select(Proposal.state).where(Proposal.id == proposal.id).with_for_update()
    )
    if current is None:  # not flushed yet: trust the object
        current = proposal.state
    if current is not proposal.state:
        session.refresh(proposal)
    if not can_transition(current, to):
        raise IllegalTransitionError(str(current), str(to))
    now = utcnow()
    proposal.state = to
    proposal.updated_at = now
    if to is S.PUBLISHED:
        proposal.published_at = now
        proposal.support_deadline = now + timedelta(days=support_period_days(session))
    elif to is S.QUALIFIED:
        proposal.qualified_at = now
    row = ProposalTransition(
        proposal_id=proposal.id,
        from_state=current,
        to_state=to,
        actor_id=getattr(actor, "id", None),
        reason=reason[:500],
        at=now,
    )
    session.add(row)
    record_event(
        session,
        "proposal:state:change",
        actor=actor,
        subject=proposal,
        data={"from": str(current), "to": str(to), "reason": reason[:500]},
    )
    return row
