"""Keep personal links out of the logs.

Several addresses carry a secret that works without signing in: a health-check
answer link (/r/<token>/), a meeting-review link, a digest unsubscribe link, the
calendar feeds and the password-reset and invitation links. Anyone who reads the
access log could use them, so every log line from the web servers (gunicorn's
access and error logs, Django's `django.server` and `django.request`) has those
path segments, and token-like query values, replaced by REDACTED before it is
written. tests/core/test_serve.py walks the URL configuration so that a new
route with a secret in its path fails a test until it is listed here.
"""

from __future__ import annotations

import logging
import re

MARK = "REDACTED"
# Characters that end a path segment inside a log line (a space, a quote, a query).
_SEGMENT = r"[^/\s?#\"'<>]+"

# Each: what stays visible (group 1), then the secret part that is replaced.
_SECRET_PATHS = [
    re.compile(rf"(/r/){_SEGMENT}"),
    re.compile(rf"(/meeting-review/){_SEGMENT}"),
    re.compile(rf"(/digest/unsubscribe/){_SEGMENT}"),
    re.compile(r"(/calendar/(?:me|partnership)/)[^/\s?#\"'<>]+?(?=\.ics|[/\s?#\"'<>]|$)"),
    # Django's password-reset and invitation links: /accounts/reset/<uidb64>/<token>/
    re.compile(rf"(/(?:reset|invitation)/){_SEGMENT}/{_SEGMENT}"),
]
_SECRET_QUERY = re.compile(r"([?&](?:token|key|secret|code)=)[^&\s\"'#]+", re.IGNORECASE)


def redact(text: str) -> str:
    """`text` with every secret in a link replaced by REDACTED."""
    for pattern in _SECRET_PATHS:
        text = pattern.sub(lambda m: m.group(1) + MARK, text)
    return _SECRET_QUERY.sub(lambda m: m.group(1) + MARK, text)


class RedactSecrets(logging.Filter):
    """A logging filter that writes the redacted message in place of the original."""

    def filter(self, record: logging.LogRecord) -> bool:
        try:
            message = record.getMessage()
        except (TypeError, ValueError):
            # A malformed record is left for the handler to report as usual.
            return True
        clean = redact(message)
        if clean != message:
            record.msg = clean
            record.args = ()
        return True
