"""Anonymous answers held while collection is open, sealed once it closes.

Every app that collects anonymous answers (health checks, meeting reviews,
priority votes) holds them apart while open and, once closed, rewrites them
in random order so a copy of the database cannot link them to people. core
imports no other app, so each registers its "seal whatever has closed"
function here from AppConfig.ready(), and `partnerwell seal_rounds` runs them all.
"""

from __future__ import annotations

from collections.abc import Callable

# label -> function sealing everything of that kind that has closed; returns how many answers moved.
_sealers: dict[str, Callable[[], int]] = {}


def register(label: str, sealer: Callable[[], int]) -> None:
    _sealers[label] = sealer


def seal_all() -> dict[str, int]:
    """Seal every closed collection of every kind; how many answers each kind moved."""
    return {label: sealer() for label, sealer in _sealers.items()}
