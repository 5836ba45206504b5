"""What the meetings app plugs into the apps below it (called from AppConfig.ready())."""

from __future__ import annotations


def register_all() -> None:
    """Each area adds its own registration here."""
