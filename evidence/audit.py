"""The audit trail's writes."""

from datetime import timedelta

from django.utils import timezone

from evidence.models import AuditEntry
from submissions.models import MediaFile, Submission

# One played/viewed entry covers the many Range requests a player makes while seeking.
ACCESS_WINDOW = timedelta(minutes=10)


def record(*, actor, action: str, submission: Submission, media_file=None, reason="", detail=None) -> AuditEntry:
    """Write an audit entry. It raises on any failure: callers must not serve or change evidence without one."""
    entry = AuditEntry(
        actor=actor, action=action, submission=submission, media_file=media_file, reason=reason, detail=detail or {}
    )
    entry.full_clean()
    entry.save()
    return entry


def record_access(*, actor, action: str, media_file: MediaFile, detail=None) -> AuditEntry | None:
    """Audit playing or viewing a file, once per officer and file within ACCESS_WINDOW."""
    recent = AuditEntry.objects.filter(
        actor=actor, media_file=media_file, action=action, created_at__gte=timezone.now() - ACCESS_WINDOW
    )
    if recent.exists():
        return None
    return record(actor=actor, action=action, submission=media_file.submission, media_file=media_file, detail=detail)
