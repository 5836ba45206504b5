"""What the meetings app plugs into the apps below it (called from AppConfig.ready())."""

from __future__ import annotations


def register_all() -> None:
    # Each area registers its own panels, links, evidence indicators and digest sections.
    from partnerwell.meetings import calendar, evidence, notifications, papers

    papers.register()
    calendar.register()
    notifications.register()
    evidence.register()
