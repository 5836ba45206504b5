"""Personal access tokens for the API. Only a hash of each token is stored."""

from __future__ import annotations

import hashlib
import secrets

from django.db import models
from django.utils import timezone

from partnerwell.core.models import User

PREFIX = "pw_"


def hash_token(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


class AccessToken(models.Model):
    user = models.ForeignKey(User, on_delete=models.CASCADE, related_name="api_tokens")
    name = models.CharField(max_length=100)
    token_hash = models.CharField(max_length=64, unique=True)
    # The first characters, shown so a person can tell their tokens apart.
    hint = models.CharField(max_length=12)
    created_at = models.DateTimeField(auto_now_add=True)
    last_used_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at"]

    def __str__(self) -> str:
        return f"{self.name} ({self.hint}…)"

    @classmethod
    def issue(cls, *, user: User, name: str) -> tuple[AccessToken, str]:
        """Create a token; the plain text is returned once and never stored."""
        plain = PREFIX + secrets.token_urlsafe(32)
        token = cls.objects.create(
            user=user, name=name, token_hash=hash_token(plain), hint=plain[:10]
        )
        return token, plain

    @classmethod
    def authenticate(cls, plain: str) -> User | None:
        if not plain.startswith(PREFIX) or len(plain) > 100:
            return None
        token = (
            cls.objects.select_related("user")
            .filter(token_hash=hash_token(plain), user__is_active=True)
            .first()
        )
        if token is None:
            return None
        now = timezone.now()
        # Record use at most once a minute to spare the database a write per request.
        if token.last_used_at is None or (now - token.last_used_at).total_seconds() > 60:
            cls.objects.filter(pk=token.pk).update(last_used_at=now)
        return token.user
