"""Slowing down people who guess secret links (invitations, meeting reviews).

Each wrong link from an address counts; after too many in the window, every
link from that address waits, right or wrong. Another address is not held up.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TypeVar

from django.core.cache import cache
from django.http import HttpRequest

# Wrong links allowed from one address in the window before it must wait.
TOKEN_FAILURES_ALLOWED = 20
TOKEN_WINDOW_SECONDS = 15 * 60

T = TypeVar("T")


class TooManyAttempts(Exception):
    """Too many unknown links from one address: slow down guessing."""


def _client_key(request: HttpRequest) -> str:
    address = request.META.get("REMOTE_ADDR", "unknown")
    return f"pw-token-failures:{address}"


def guarded_lookup(request: HttpRequest, token: str, find: Callable[[str], T | None]) -> T | None:
    """What `find` gives for the token, counting misses per address; raises
    TooManyAttempts once the address has had too many misses in the window."""
    key = _client_key(request)
    if cache.get(key, 0) >= TOKEN_FAILURES_ALLOWED:
        raise TooManyAttempts
    # Our tokens are 43 characters; anything far off is not worth a query.
    found = find(token) if 20 <= len(token) <= 100 else None
    if found is None:
        cache.add(key, 0, TOKEN_WINDOW_SECONDS)
        try:
            cache.incr(key)
        except ValueError:
            cache.set(key, 1, TOKEN_WINDOW_SECONDS)
    return found
