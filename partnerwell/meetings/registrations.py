"""What the meetings app plugs into the apps below it (called from AppConfig.ready())."""

from __future__ import annotations


def register_all() -> None:
    # Each area registers its own panels, links, evidence indicators and digest sections.
    from partnerwell.meetings import evidence, notifications, papers

    papers.register()
    notifications.register()
    evidence.register()
