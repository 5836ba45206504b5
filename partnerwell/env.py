"""Typed readers for settings that come from environment variables.

A bad value raises ImproperlyConfigured naming the variable, so a mistake in
deployment is reported at start-up rather than as odd behaviour later.
"""

import ipaddress
import os
from typing import Any

from django.core.exceptions import ImproperlyConfigured

_TRUE = {"1", "true", "yes", "on"}
_FALSE = {"0", "false", "no", "off", ""}


def env_str(name: str, default: str = "") -> str:
    return os.environ.get(name, default)


def env_bool(name: str, default: bool = False) -> bool:
    raw = os.environ.get(name)
    if raw is None:
        return default
    value = raw.strip().lower()
    if value in _TRUE:
        return True
    if value in _FALSE:
        return False
    raise ImproperlyConfigured(f"{name} must be true or false (got {raw!r}).")


def env_int(name: str, default: int, *, minimum: int | None = None) -> int:
    raw = os.environ.get(name)
    if raw is None or raw.strip() == "":
        return default
    try:
        value = int(raw)
    except ValueError as exc:
        raise ImproperlyConfigured(f"{name} must be a whole number (got {raw!r}).") from exc
    if minimum is not None and value < minimum:
        raise ImproperlyConfigured(f"{name} must be at least {minimum} (got {value}).")
    return value


def env_list(name: str, default: list[str]) -> list[str]:
    raw = os.environ.get(name)
    if raw is None:
        return default
    return [item.strip() for item in raw.split(",") if item.strip()]


def env_choice(name: str, default: str, choices: set[str]) -> str:
    value = os.environ.get(name, default).strip().lower()
    if value not in choices:
        allowed = ", ".join(sorted(choices))
        raise ImproperlyConfigured(f"{name} must be one of {allowed} (got {value!r}).")
    return value


_CACHE_BACKENDS = {
    "redis": "django.core.cache.backends.redis.RedisCache",
    "rediss": "django.core.cache.backends.redis.RedisCache",
    "db": "django.core.cache.backends.db.DatabaseCache",
    "file": "django.core.cache.backends.filebased.FileBasedCache",
    "locmem": "django.core.cache.backends.locmem.LocMemCache",
}


def env_cache(name: str, default: str) -> dict[str, Any]:
    """A CACHES entry from an address: redis://host:6379/0, db://table, file:///path, locmem://."""
    raw = os.environ.get(name, "").strip() or default
    scheme, separator, rest = raw.partition("://")
    scheme = scheme.lower()
    if not separator or scheme not in _CACHE_BACKENDS:
        allowed = ", ".join(f"{s}://" for s in sorted(_CACHE_BACKENDS))
        raise ImproperlyConfigured(f"{name} must start with one of {allowed} (got {raw!r}).")
    backend: dict[str, Any] = {"BACKEND": _CACHE_BACKENDS[scheme]}
    if scheme not in {"redis", "rediss"}:
        # Django's default of 300 entries would let a flood of new keys push out the counts.
        backend["OPTIONS"] = {"MAX_ENTRIES": 100_000}
    if scheme in {"redis", "rediss"}:
        if not rest.split("/")[0]:
            raise ImproperlyConfigured(f"{name} must name the Redis host (got {raw!r}).")
        return {**backend, "LOCATION": raw}
    if scheme == "db":
        table = rest or "partnerwell_cache"
        if not table.isidentifier() or not table.isascii():
            raise ImproperlyConfigured(
                f"{name} must name a table of letters, digits and underscores (got {raw!r})."
            )
        return {**backend, "LOCATION": table}
    if scheme == "file":
        if not rest.startswith("/"):
            raise ImproperlyConfigured(
                f"{name} must give an absolute folder, e.g. file:///var/cache/partnerwell "
                f"(got {raw!r})."
            )
        return {**backend, "LOCATION": rest}
    return {**backend, "LOCATION": "partnerwell"}


def env_networks(name: str) -> list[str]:
    """Comma-separated IP addresses or networks (CIDR), each checked."""
    values = env_list(name, [])
    for value in values:
        try:
            ipaddress.ip_network(value, strict=False)
        except ValueError as exc:
            raise ImproperlyConfigured(
                f"{name} must list IP addresses or networks such as 10.0.0.0/8 (got {value!r})."
            ) from exc
    return values
