"""The one email class every app sends with.

Subjects are built from names and titles that people type (a meeting's title,
a partnership's name); a line break in one would make Django refuse the whole
email (BadHeaderError) and stop a digest or a papers-pack run. Whitespace in a
subject is folded to single spaces here, once, for every email.
"""

from __future__ import annotations

from typing import Any

from django.core import mail


class EmailMessage(mail.EmailMessage):
    """Django's EmailMessage with its subject folded onto one line."""

    def __init__(self, subject: str = "", *args: Any, **kwargs: Any) -> None:
        super().__init__(" ".join(str(subject).split()), *args, **kwargs)
