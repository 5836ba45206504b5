from typing import Any

from django.http import HttpRequest
from django.urls import reverse

from partnerwell.core.access import visible_partnerships
from partnerwell.core.panels import links


def navigation(request: HttpRequest) -> dict[str, Any]:
    """The signed-in person's partnerships, for the header navigation."""
    if not request.user.is_authenticated:
        return {}
    return {
        "nav_partnerships": visible_partnerships(request.user).only("pk", "name")[:12],
        "nav_links": [(label, reverse(name)) for label, name in links("nav")],
    }
