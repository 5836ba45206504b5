"""Follow-up links other apps add to each principle and statement on the results page.

The delivery app registers "Turn into an action" here; healthcheck imports no
app that builds on it.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from partnerwell.healthcheck.models import Round

# (round, principle dict, statement dict or None, may the viewer manage?) -> (label, url) or None
Provider = Callable[[Round, dict[str, Any], dict[str, Any] | None, bool], tuple[str, str] | None]

_providers: list[Provider] = []


def register(provider: Provider) -> None:
    if provider not in _providers:
        _providers.append(provider)


def links_for(
    round: Round, principle: dict[str, Any], statement: dict[str, Any] | None, manager: bool
) -> list[tuple[str, str]]:
    found = []
    for provider in _providers:
        link = provider(round, principle, statement, manager)
        if link is not None:
            found.append(link)
    return found
