"""Panels that other apps add to the partnership page.

core imports no other app, so apps register what they show here from their
AppConfig.ready(); the partnership view asks each for its panel.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from partnerwell.core.models import Partnership, User

Provider = Callable[[Partnership, User], dict[str, Any] | None]


@dataclass(frozen=True)
class Panel:
    order: int
    template: str
    provider: Provider


_panels: list[Panel] = []


def register(*, order: int, template: str, provider: Provider) -> None:
    if any(p.template == template for p in _panels):
        return
    _panels.append(Panel(order, template, provider))
    _panels.sort(key=lambda p: p.order)


def panels_for(partnership: Partnership, user: User) -> list[dict[str, Any]]:
    shown = []
    for panel in _panels:
        context = panel.provider(partnership, user)
        if context is not None:
            shown.append({"template": panel.template, **context})
    return shown


# Links other apps add to the main navigation ("nav") and to the account page ("account").
_links: dict[str, list[tuple[str, str]]] = {"nav": [], "account": []}


def register_link(*, where: str, label: str, url_name: str) -> None:
    if (label, url_name) not in _links[where]:
        _links[where].append((label, url_name))


def links(where: str) -> list[tuple[str, str]]:
    return list(_links[where])
