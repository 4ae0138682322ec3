"""The civic record: audit events that decide what reaches a ballot and what citizens may say
are appended to the `civic` log in the same transaction (docs/ledger.md §1.4).

Mapped kinds and the `record_event` data each needs:

| kind | subject | data |
|---|---|---|
| `proposal:revision:create` | the proposal | `revision` (int), `content_sha256` (hex) |
| `proposal:support:add` / `:withdraw` | the proposal | (actor = the supporter) |
| `proposal:state:change` | the proposal | `from`, `to`, `reason` |
| `moderation:*` | the item | optional: `action_id item action reason previous new` |
| `budget:project:create` | the project | `budget`, `title`; optional `cost`, `proposal` |
| `budget:project:review` | the project | `budget`, `feasible` (bool), `reason`; `cost` if so |

Supporters appear as per-proposal pseudonyms (HMAC of the user and proposal ids under an
instance key), so supports cannot be linked across proposals in public while a member can
recompute their own. Moderators appear by their public handle; flaggers and appellants
(`moderation:flag:*`, `moderation:appeal:*`), who are not acting with authority, appear as
per-item pseudonyms, so that reporting a comment does not publicly expose the reporter.
A missing required field raises, rolling the action back: the civic record is never partial.
"""

from __future__ import annotations

import hmac
from datetime import UTC
from typing import Any

from flask import Flask, current_app
from sqlalchemy.orm import Session

from civicforum.audit.models import AuditEvent
from civicforum.audit.services import subscribe
from civicforum.config import instance_secret
from civicforum.ledger import entry as E
from civicforum.ledger.entry import CIVIC_LOG
from civicforum.logstore.sequencer import append_entry

EXTENSION = "civicforum_logstore_pseudonym_key"
PROPOSAL_KINDS = frozenset(
    {
        "proposal:revision:create",
        "proposal:support:add",
        "proposal:support:withdraw",
        "proposal:state:change",
    }
)


BUDGET_KINDS = frozenset({"budget:project:create", "budget:project:review"})


def is_civic(kind: str) -> bool:
    return kind in PROPOSAL_KINDS or kind in BUDGET_KINDS or kind.startswith("moderation:")


def pseudonym(key: bytes, *parts: object) -> str:
    """A 32-hex handle: HMAC-SHA256(key, "a:b:...") truncated (docs/ledger.md §1.4)."""
    message = ":".join(str(p) for p in parts).encode()
    return hmac.new(key, message, "sha256").hexdigest()[:32]


def _key() -> bytes:
    key: bytes = current_app.extensions[EXTENSION]
    return key


def _state(value: Any) -> str:
    # Lifecycle and item states are identifiers; "none" stands for "no state yet".
    text = str(value) if value not in (None, "", "None") else "none"
    return text.replace(" ", "_")[:64]


def _reason(value: Any) -> str:
    text = str(value or "").strip()
    return (text or "-")[:2000]


def _handle(session: Session, user_id: int | None) -> str:
    if user_id is None:
        return "system"
    from civicforum.accounts.models import User

    user = session.get(User, user_id)
    return user.handle if user is not None else f"user-{user_id}"


def civic_entry(session: Session, event: AuditEvent) -> bytes:
    """The civic-record entry for one audit event (canonical bytes)."""
    data: dict[str, Any] = event.data or {}
    day = event.at.astimezone(UTC).date().isoformat()
    kind = event.kind
    if kind in BUDGET_KINDS:
        return _budget_entry(event, data, day)
    if kind.startswith("proposal:"):
        proposal = str(data.get("proposal") or event.subject_id)
        if kind == "proposal:revision:create":
            return E.proposal_revision(
                proposal=proposal,
                revision=int(data["revision"]),
                content_sha256=str(data["content_sha256"]),
                day=day,
            )
        if kind == "proposal:state:change":
            return E.proposal_transition(
                proposal=proposal,
                from_state=_state(data.get("from")),
                to_state=_state(data["to"]),
                reason=_reason(data.get("reason")),
                day=day,
            )
        if event.actor_id is None:
            raise ValueError(f"{kind} needs the supporter as actor")
        return E.proposal_support(
            proposal=proposal,
            supporter=pseudonym(_key(), event.actor_id, proposal),
            day=day,
            withdrawn=kind == "proposal:support:withdraw",
        )
    # moderation:<subject>:<verb>
    _, subject, verb = (kind.split(":") + ["", ""])[:3]
    item = data.get("item") or (
        f"user:{data['user']}"
        if data.get("user")
        else f"{event.subject_type or 'item'}:{event.subject_id}"
    )
    if subject == "action":
        action_id = str(data.get("action_id") or f"event-{event.id}")
        actor = _handle(session, event.actor_id)
    else:
        action_id = f"{subject}-{data.get(f'{subject}_id') or event.id}"
        actor = pseudonym(_key(), "moderation", event.actor_id, item)
    return E.moderation_action(
        action_id=action_id,
        item=str(item),
        action=str(data.get("action") or (verb if subject == "action" else f"{subject}-{verb}")),
        reason=_reason(data.get("reason") or data.get("reason_code")),
        previous=_state(data.get("previous")),
        new=_state(data.get("new")),
        moderator=actor,
        day=day,
    )


def _budget_entry(event: AuditEvent, data: dict[str, Any], day: str) -> bytes:
    budget, project = str(data["budget"]), str(event.subject_id)
    if event.kind == "budget:project:create":
        proposal = data.get("proposal")
        return E.budget_project(
            budget=budget,
            project=project,
            title=str(data["title"])[:500],
            cost=data.get("cost"),
            proposal=None if proposal is None else str(proposal),
            day=day,
        )
    return E.budget_review(
        budget=budget,
        project=project,
        feasible=bool(data["feasible"]),
        cost=data.get("cost"),
        reason=_reason(data.get("reason")),
        day=day,
    )


def record_civic_event(session: Session, event: AuditEvent) -> None:
    """Audit listener: append the civic-record entry of a mapped event (same transaction)."""
    if is_civic(event.kind):
        append_entry(session, log=CIVIC_LOG, entry=civic_entry(session, event))


def init_app(app: Flask) -> None:
    configured = app.config.get("LEDGER_PSEUDONYM_KEY")
    secret = configured or instance_secret(app, "ledger_pseudonym_key")
    app.extensions[EXTENSION] = str(secret).encode()
    subscribe(record_civic_event)
