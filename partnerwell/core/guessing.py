"""Slowing down people who guess: secret links, passwords, and reset emails.

Counts live in the shared cache (CACHE_URL), so every web process sees the
same ones, and are kept per client address (see `client_address`) and, for
passwords and resets, per email address typed. Each count runs for a fixed
window from its first entry; past its allowance the thing waits until the
window ends. A right link is never refused; a right password is, while its
account or address waits.
"""

from __future__ import annotations

import hashlib
import ipaddress
import math
import time
from collections.abc import Callable
from functools import lru_cache
from typing import Any, TypeVar

from django.conf import settings
from django.contrib.auth import get_user_model
from django.contrib.auth.backends import ModelBackend
from django.core.cache import cache
from django.core.exceptions import PermissionDenied
from django.http import HttpRequest

# Wrong links allowed from one address in the window before its wrong links are refused.
TOKEN_FAILURES_ALLOWED = 20
TOKEN_WINDOW_SECONDS = 15 * 60
# Wrong passwords allowed for one email address typed from one client, and from one client.
SIGN_IN_FAILURES_PER_ACCOUNT = 10
SIGN_IN_FAILURES_PER_ADDRESS = 50
# Wrong passwords for one account from all clients together: caps guessing spread over many
# addresses, and is out of reach of one address (which stops at 50), so a single guesser
# cannot lock the owner out.
SIGN_IN_FAILURES_PER_ACCOUNT_EVERYWHERE = 100
SIGN_IN_WINDOW_SECONDS = 15 * 60
# Reset emails sent for one email address typed, and requests from one client address.
RESETS_PER_ACCOUNT = 3
RESETS_PER_ADDRESS = 20
RESET_WINDOW_SECONDS = 60 * 60

T = TypeVar("T")


class TooManyAttempts(Exception):
    """Too many unknown links from one address: slow down guessing."""

    def __init__(self, wait_seconds: int = TOKEN_WINDOW_SECONDS) -> None:
        super().__init__(wait_seconds)
        self.wait_seconds = wait_seconds

    @property
    def wait_minutes(self) -> int:
        return wait_minutes(self.wait_seconds)


def wait_minutes(seconds: int) -> int:
    """Whole minutes to tell a person to wait, never fewer than one."""
    return max(1, math.ceil(seconds / 60))


# The client address ----------------------------------------------------------------


@lru_cache(maxsize=8)
def _networks(
    trusted: tuple[str, ...],
) -> tuple[ipaddress.IPv4Network | ipaddress.IPv6Network, ...]:
    return tuple(ipaddress.ip_network(value, strict=False) for value in trusted)


def _parse(value: str) -> ipaddress.IPv4Address | ipaddress.IPv6Address | None:
    try:
        address = ipaddress.ip_address(value.strip())
    except ValueError:
        return None
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped:
        return address.ipv4_mapped
    return address


def client_address(request: HttpRequest) -> str:
    """The address of the person making the request.

    REMOTE_ADDR, unless it is one of TRUSTED_PROXIES: then the right-most
    address in X-Forwarded-For that is not a trusted proxy, since everything
    left of it was written by the client and may be made up.
    """
    remote = request.META.get("REMOTE_ADDR", "") or ""
    networks = _networks(tuple(settings.TRUSTED_PROXIES))
    current = _parse(remote)

    def trusted(address: ipaddress.IPv4Address | ipaddress.IPv6Address) -> bool:
        return any(address in network for network in networks)

    if current is None:
        return remote or "unknown"
    if not networks or not trusted(current):
        return str(current)
    hops = request.META.get("HTTP_X_FORWARDED_FOR", "").split(",")
    for hop in reversed(hops):
        address = _parse(hop)
        # A hop our own proxy could not have written: keep the last address we can vouch for.
        if address is None:
            break
        current = address
        if not trusted(address):
            break
    return str(current)


def _address_key(request: HttpRequest | None) -> str | None:
    if request is None:
        return None
    address = client_address(request)
    parsed = _parse(address)
    # One IPv6 customer usually holds a whole /64; counting each address would let them rotate.
    if isinstance(parsed, ipaddress.IPv6Address):
        address = str(ipaddress.ip_network(f"{parsed}/64", strict=False))
    return address


def _account_key(email: str) -> str:
    # Hashed, so the cache holds no email addresses; typed in any case, counted as one.
    return hashlib.sha256(email.strip().lower().encode()).hexdigest()


# Counting in the cache -------------------------------------------------------------


def _count(key: str) -> int:
    value = cache.get(key, 0)
    return value if isinstance(value, int) else 0


def _wait(key: str, allowed: int, window: int) -> int:
    """Seconds left before `key` may be tried again; 0 while it is under its allowance."""
    if _count(key) < allowed:
        return 0
    until = cache.get(f"{key}:until")
    if not isinstance(until, (int, float)):
        return window
    return max(1, math.ceil(until - time.time()))


def _add_one(key: str, window: int) -> int:
    """Count one more in `key`'s window (which starts with its first count); the new count."""
    now = time.time()
    cache.add(f"{key}:until", now + window, window)
    until = cache.get(f"{key}:until")
    remaining = max(1, math.ceil(until - now)) if isinstance(until, (int, float)) else window
    if cache.add(key, 1, remaining):
        return 1
    try:
        count = cache.incr(key)
    except ValueError:
        # The window ended between the two calls: this is the first of a new one.
        cache.set(key, 1, remaining)
        return 1
    # The database and file caches' incr restarts the expiry; keep the window's end.
    cache.touch(key, remaining)
    return int(count)


def _clear(key: str) -> None:
    cache.delete_many([key, f"{key}:until"])


# Secret links ---------------------------------------------------------------------


def guarded_lookup(request: HttpRequest, token: str, find: Callable[[str], T | None]) -> T | None:
    """What `find` gives for the token, counting misses per client address.

    Raises TooManyAttempts for a miss once the address has had too many misses
    in the window. A token that `find` knows is always given back.
    """
    key = f"pw-token-failures:{_address_key(request)}"
    # Our tokens are 43 characters; anything far off is not worth a query.
    found = find(token) if 20 <= len(token) <= 100 else None
    # A right link always works, even from a waiting address: tokens hold 256 random bits, so
    # answering one tells a guesser nothing it could reach, while a shared address stays usable.
    if found is not None:
        return found
    waiting = _wait(key, TOKEN_FAILURES_ALLOWED, TOKEN_WINDOW_SECONDS)
    if waiting:
        raise TooManyAttempts(waiting)
    _add_one(key, TOKEN_WINDOW_SECONDS)
    return None


# Passwords ------------------------------------------------------------------------


def _pair_key(request: HttpRequest | None, email: str) -> str:
    # The account counts per client: wrong passwords typed elsewhere never lock its owner out.
    return f"pw-sign-in-account:{_account_key(email)}:{_address_key(request)}"


def _sign_in_keys(request: HttpRequest | None, email: str) -> list[tuple[str, int]]:
    keys = [
        (_pair_key(request, email), SIGN_IN_FAILURES_PER_ACCOUNT),
        (f"pw-sign-in-everywhere:{_account_key(email)}", SIGN_IN_FAILURES_PER_ACCOUNT_EVERYWHERE),
    ]
    address = _address_key(request)
    if address is not None:
        keys.append((f"pw-sign-in-address:{address}", SIGN_IN_FAILURES_PER_ADDRESS))
    return keys


def sign_in_wait(request: HttpRequest | None, email: str) -> int:
    """Seconds before this email address may sign in from this client; 0 for now."""
    return max(
        _wait(key, allowed, SIGN_IN_WINDOW_SECONDS)
        for key, allowed in _sign_in_keys(request, email)
    )


def sign_in_failed(request: HttpRequest | None, email: str) -> None:
    for key, _allowed in _sign_in_keys(request, email):
        _add_one(key, SIGN_IN_WINDOW_SECONDS)


def sign_in_succeeded(request: HttpRequest | None, email: str) -> None:
    # Only the account's own count: the address may have tried other people's accounts.
    _clear(_pair_key(request, email))


class LimitedModelBackend(ModelBackend):
    """Email and password, refused while the account or the client address waits.

    Every place that checks a password (the sign-in page, the admin's) goes
    through here, so none of them can be used to go on guessing.
    """

    def authenticate(
        self,
        request: HttpRequest | None,
        username: str | None = None,
        password: str | None = None,
        **kwargs: Any,
    ) -> Any:
        if username is None:
            username = kwargs.get(get_user_model().USERNAME_FIELD)
        if username is None or password is None:
            return None
        if sign_in_wait(request, username):
            # Stops every backend: even the right password waits, or guessing could go on.
            raise PermissionDenied
        user = super().authenticate(request, username=username, password=password, **kwargs)
        if user is None:
            sign_in_failed(request, username)
        else:
            sign_in_succeeded(request, username)
        return user


# Password reset emails ------------------------------------------------------------


def reset_allowed(request: HttpRequest | None, email: str) -> bool:
    """Whether to send a reset email now; counts the request either way."""
    address = _address_key(request)
    by_address = f"pw-reset-address:{address}"
    if address is not None and _add_one(by_address, RESET_WINDOW_SECONDS) > RESETS_PER_ADDRESS:
        return False
    account = f"pw-reset-account:{_account_key(email)}"
    return _add_one(account, RESET_WINDOW_SECONDS) <= RESETS_PER_ACCOUNT
