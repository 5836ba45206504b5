"""What the meetings app plugs into the apps below it (called from AppConfig.ready())."""

from __future__ import annotations


def register_all() -> None:
    # Each area registers its own panels, links, evidence indicators and digest sections.
    from partnerwell.core import sealing
    from partnerwell.meetings import evidence, notifications, papers
    from partnerwell.meetings.review import reviews_seal_due

    sealing.register("meeting-review answers", reviews_seal_due)
    papers.register()
    notifications.register()
    evidence.register()
