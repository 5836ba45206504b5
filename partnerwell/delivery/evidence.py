"""The delivery records' evidence indicators, registered with the health check's results.

Each indicator turns a partnership's records into a 0–100 value as of a date.
The results page shows it beside the principles a framework maps to it and
flags a blind spot where members rate a principle a strength but the records
say otherwise. Actions and measures are written in their own modules; an
indicator whose module is not there (yet) is left out rather than breaking start-up.
"""

from __future__ import annotations

import importlib
from types import ModuleType

from partnerwell.delivery.risks import RISKS_REVIEWED_RULE, risks_reviewed
from partnerwell.healthcheck.evidence import register

ACTION_ON_TIME_RULE = (
    "Of the actions that fell due in the year before the date, the share done by their due "
    "date. Actions still open after their date count as late; dropped actions are left out."
)
MEASURES_CURRENT_RULE = (
    "The share of the partnership's measures whose latest value is no older than the "
    "measure's own update interval, such as three months for a quarterly measure."
)


def _module(name: str) -> ModuleType | None:
    try:
        return importlib.import_module(name)
    except ModuleNotFoundError as exc:
        # Only a module that is missing altogether is skipped; a broken one still fails loudly.
        if exc.name != name:
            raise
        return None


def register_indicators() -> None:
    """Register risks_reviewed, action_on_time and measures_current (when their code exists)."""
    register(
        key="risks_reviewed",
        title="Risks reviewed on time",
        rule=RISKS_REVIEWED_RULE,
        compute=risks_reviewed,
    )
    actions = _module("partnerwell.delivery.actions")
    if actions is not None and hasattr(actions, "action_on_time"):
        register(
            key="action_on_time",
            title=getattr(actions, "ACTION_ON_TIME_TITLE", "Actions done on time"),
            # The module that computes the figure is the one that can say how.
            rule=getattr(actions, "ACTION_ON_TIME_RULE", ACTION_ON_TIME_RULE),
            compute=actions.action_on_time,
        )
    measures = _module("partnerwell.delivery.measures")
    if measures is not None and hasattr(measures, "measures_current"):
        register(
            key="measures_current",
            title=getattr(measures, "MEASURES_CURRENT_TITLE", "Measures kept up to date"),
            rule=getattr(measures, "MEASURES_CURRENT_RULE", MEASURES_CURRENT_RULE),
            compute=measures.measures_current,
        )
