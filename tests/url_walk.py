"""The URL walkers' shared part: every route the project serves, with its pattern."""

from __future__ import annotations

from django.urls import URLPattern, URLResolver, get_resolver


def all_routes(
    resolver: URLResolver | None = None, prefix: str = ""
) -> list[tuple[str, URLPattern]]:
    """(route, pattern) for every URL pattern, with included prefixes joined on."""
    found = []
    for entry in (resolver or get_resolver()).url_patterns:
        route = prefix + str(entry.pattern)
        if isinstance(entry, URLResolver):
            found.extend(all_routes(entry, route))
        else:
            found.append((route, entry))
    return found
