"""Typed site settings with registered defaults; the caller commits."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from sqlalchemy.orm import Session

from civicforum.settings.models import Setting
from civicforum.web.errors import CivicforumError


class InvalidSettingError(CivicforumError):
    """The value is not allowed for this setting."""

    status_code = 422


@dataclass(frozen=True)
class SettingSpec:
    key: str
    label: Callable[[], str]
    default: Any
    kind: type = int  # int | str | bool
    minimum: int | None = None
    maximum: int | None = None
    choices: tuple[tuple[str, Callable[[], str]], ...] = ()
    help: Callable[[], str] | None = None


REGISTRY: dict[str, SettingSpec] = {}


def register_setting(spec: SettingSpec) -> SettingSpec:
    """Declare a setting (at import time of the feature that owns it)."""
    REGISTRY[spec.key] = spec
    return spec


def get_setting(session: Session, key: str) -> Any:
    """The stored value, or the registered default."""
    spec = REGISTRY[key]
    row = session.get(Setting, key)
    return spec.default if row is None else row.value


def validate(spec: SettingSpec, value: Any) -> Any:
    if spec.kind is bool:
        return bool(value)
    if spec.kind is int:
        try:
            number = int(value)
        except (TypeError, ValueError):
            raise InvalidSettingError(f"{spec.label()}: a whole number is required") from None
        if (spec.minimum is not None and number < spec.minimum) or (
            spec.maximum is not None and number > spec.maximum
        ):
            raise InvalidSettingError(f"{spec.label()}: between {spec.minimum} and {spec.maximum}")
        return number
    text = str(value).strip()
    if spec.choices and text not in {c for c, _ in spec.choices}:
        raise InvalidSettingError(f"{spec.label()}: not one of the allowed choices")
    return text


def set_setting(session: Session, key: str, value: Any, *, actor: Any) -> Any:
    """Validate and store a setting, with an audit event; the caller commits."""
    from civicforum.audit.services import record_event

    spec = REGISTRY[key]
    clean = validate(spec, value)
    row = session.get(Setting, key)
    old = spec.default if row is None else row.value
    if row is None:
        session.add(Setting(key=key, value=clean, updated_by_id=getattr(actor, "id", None)))
    else:
        row.value = clean
        row.updated_by_id = getattr(actor, "id", None)
    record_event(
        session, "settings:setting:change", actor=actor, data={"key": key, "old": old, "new": clean}
    )
    return clean
