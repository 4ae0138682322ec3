"""Admin-editable settings of the proposals feature (registered at import time)."""

from __future__ import annotations

from flask_babel import lazy_gettext as _l

from civicforum.settings.services import SettingSpec, register_setting

SUPPORT_THRESHOLD = register_setting(
    SettingSpec(
        key="proposals.support_threshold",
        label=lambda: str(_l("Supports needed to qualify")),
        default=25,
        kind=int,
        minimum=1,
        maximum=1_000_000,
        help=lambda: str(_l("A published proposal qualifies when it reaches this many.")),
    )
)
SUPPORT_PERIOD_DAYS = register_setting(
    SettingSpec(
        key="proposals.support_period_days",
        label=lambda: str(_l("Support period (days)")),
        default=90,
        kind=int,
        minimum=1,
        maximum=3650,
        help=lambda: str(
            _l("How long a published proposal collects supports before it is archived.")
        ),
    )
)
