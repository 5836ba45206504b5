"""Keep personal pages out of every cache: browsers' back/forward and disk caches,
shared proxies and CDNs.

A page for a signed-in person, an export of a member list, an answer page reached by a
personal link or a calendar feed holds personal data; a stored copy outlives sign-out,
a shared computer and an ended membership. Static files never reach this middleware
(WhiteNoise answers them earlier), so they keep their long cache.
"""

from __future__ import annotations

from collections.abc import Callable

from django.http import HttpRequest, HttpResponseBase

NO_STORE = "no-store"

# The anonymous answer pages: after a personal link is exchanged for a session-held
# reference the URL carries no token, yet the page is still that person's.
ANSWER_PAGES = "/r/"


def is_personal(request: HttpRequest) -> bool:
    """Whether the response is for one person: signed in, sent a token, or reached a
    URL whose path holds a secret (answer links, review links, feeds, reset links)."""
    user = getattr(request, "user", None)
    if user is not None and user.is_authenticated:
        return True
    if request.headers.get("Authorization"):
        return True
    match = request.resolver_match
    if match is not None and "token" in match.kwargs:
        return True
    return request.path_info.startswith(ANSWER_PAGES)


class NoStoreMiddleware:
    """Sets `Cache-Control: no-store` on every personal response.

    A view's own `no-store` is kept as it is; any weaker caching a view chose (such as
    `private, no-cache` or a max-age) is replaced, since no-store is the strictest.
    """

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponseBase]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponseBase:
        response = self.get_response(request)
        if is_personal(request) and NO_STORE not in response.get("Cache-Control", ""):
            response["Cache-Control"] = NO_STORE
        return response
