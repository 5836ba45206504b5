"""Emails from core, sent by the task worker and never inside a request."""

import logging
import resource
import sys
import time

from django.conf import settings
from django.contrib.auth.tokens import default_token_generator
from django.core.mail import get_connection
from django.template.loader import render_to_string
from django.urls import reverse
from django.utils import timezone
from django.utils.encoding import force_bytes
from django.utils.http import urlsafe_base64_encode
from django.utils.translation import gettext as _
from django_tasks import task

from partnerwell.core.imports import ImportFileError, check_rows, read_table
from partnerwell.core.mail import EmailMessage
from partnerwell.core.models import ImportStatus, MemberImport, Partnership, User

logger = logging.getLogger(__name__)

CHECK_FAILED = (
    "The file could not be checked because of a problem on the server. "
    "Upload it again; if it keeps failing, tell your administrator."
)


def _link(view_name: str, user: User) -> str:
    uid = urlsafe_base64_encode(force_bytes(user.pk))
    token = default_token_generator.make_token(user)
    return settings.SITE_URL + reverse(view_name, args=[uid, token])


@task()
def send_invitations(user_ids: list[int], partnership_id: int, invited_by: str) -> int:
    """Email each new person a link to set their password; returns how many were sent."""
    partnership = Partnership.objects.get(pk=partnership_id)
    days = settings.PASSWORD_RESET_TIMEOUT // 86400
    messages = []
    for user in User.objects.filter(pk__in=user_ids, is_active=True).iterator():
        body = render_to_string(
            "core/email/invitation.txt",
            {
                "user": user,
                "partnership": partnership,
                "invited_by": invited_by,
                "link": _link("core-accept-invitation", user),
                "days": days,
            },
        )
        subject = f"You have been added to {partnership.name} on partnerwell"
        messages.append(EmailMessage(subject, body, to=[user.email]))
    if messages:
        get_connection().send_messages(messages)
    return len(messages)


@task()
def send_added_notices(user_ids: list[int], partnership_id: int, added_by: str) -> int:
    """Tell people who already have an account that they were added to a partnership.

    Nobody is put on a partnership without hearing of it; returns how many were told.
    """
    partnership = Partnership.objects.get(pk=partnership_id)
    link = settings.SITE_URL + reverse("core-view-partnership", args=[partnership.pk])
    messages = []
    today = timezone.localdate()
    seats = {
        m.person_id: m
        for m in partnership.memberships.filter(person_id__in=user_ids).select_related(
            "organisation"
        )
    }
    for user in User.objects.filter(pk__in=user_ids, is_active=True).iterator():
        membership = seats.get(user.pk)
        start = membership.start_date if membership else None
        body = render_to_string(
            "core/email/added.txt",
            {
                "user": user,
                "partnership": partnership,
                "membership": membership,
                "starts": start if start and start > today else None,
                "added_by": added_by,
                "link": link,
                "reset_link": settings.SITE_URL + reverse("password_reset"),
            },
        )
        subject = _("You have been added to %(name)s on partnerwell") % {"name": partnership.name}
        messages.append(EmailMessage(subject, body, to=[user.email]))
    if messages:
        get_connection().send_messages(messages)
    return len(messages)


@task()
def send_password_reset(user_id: int) -> bool:
    user = User.objects.filter(pk=user_id, is_active=True).first()
    if user is None:
        return False
    body = render_to_string(
        "core/email/password_reset.txt",
        {
            "user": user,
            "link": _link("password_reset_confirm", user),
            "hours": settings.PASSWORD_RESET_TIMEOUT // 3600,
        },
    )
    EmailMessage("Reset your partnerwell password", body, to=[user.email]).send()
    return True


def _peak_rss_mb() -> float:
    """The process's highest memory use so far (ru_maxrss is KB on Linux, bytes on macOS)."""
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return peak / (1024 * 1024) if sys.platform == "darwin" else peak / 1024


@task()
def check_member_import(import_id: int) -> str:
    """Read and check an uploaded member file; the import becomes ready or refused.

    The streaming reader's row, column, cell and unpacked-size limits bound the memory.
    """
    pending = (
        MemberImport.objects.select_related("partnership")
        .filter(pk=import_id, status=ImportStatus.CHECKING)
        .first()
    )
    if pending is None:
        return "gone"
    started, peak_before = time.monotonic(), _peak_rss_mb()
    rows: list[dict[str, object]] = []
    row_errors: list[dict[str, object]] = []
    file_error = ""
    try:
        good, errors = check_rows(
            read_table(bytes(pending.data), pending.filename), pending.partnership
        )
        rows = [{**r.as_dict(), "invite": pending.invite} for r in good]
        row_errors = [{"line": e.line, "message": e.message} for e in errors]
    except ImportFileError as exc:
        file_error = str(exc)
    # Whatever went wrong, the person sees a sentence instead of "checking" for ever.
    except Exception:
        logger.exception("Member import %s could not be checked", import_id)
        file_error = CHECK_FAILED
    status = ImportStatus.REFUSED if file_error or row_errors else ImportStatus.READY
    MemberImport.objects.filter(pk=import_id, status=ImportStatus.CHECKING).update(
        status=status,
        data=b"",
        rows=rows if status == ImportStatus.READY else [],
        row_errors=row_errors,
        good_count=len(rows),
        file_error=file_error,
    )
    peak_after = _peak_rss_mb()
    logger.info(
        "Member import %s checked: %s, %d rows, %d row errors, %.1f s, "
        "peak memory %.0f MB (grew %.0f MB while reading)",
        import_id,
        status,
        len(rows),
        len(row_errors),
        time.monotonic() - started,
        peak_after,
        peak_after - peak_before,
    )
    return str(status)
