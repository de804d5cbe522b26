"""Review and retain, legal hold and disposal of submissions (MoPI), each decided by a supervisor and audited.

Disposal keeps the rows and removes what they held. The Submission row stays as a tombstone (account,
contact details and what the witness said about when and where blanked, `disposed_at` set), and the MediaFile,
Derivative and EvidenceExport rows stay with their size and SHA-256 while their files are deleted from storage.
So the audit trail keeps every entry and the foreign keys it PROTECTs, and the application's database role
needs no DELETE on evidence and no right to rewrite an original's name, size or hash (evidence/privileges.py).
"""

import logging
from datetime import date

from django.core.exceptions import PermissionDenied
from django.db import models, transaction
from django.utils import timezone

from evidence.audit import record
from evidence.models import AuditEntry, Disposal
from evidence.tasks import dispose_submission
from incidents.access import is_supervisor
from submissions.models import Submission
from submissions.queueing import enqueue_on_commit

log = logging.getLogger(__name__)


class RetentionError(Exception):
    pass


def due_for_review(queryset):
    """Submissions whose review date has come: not held, not disposed of, no disposal approved."""
    approved = Disposal.objects.filter(submission=models.OuterRef("pk"), withdrawn_at__isnull=True)
    return queryset.filter(review_on__lte=timezone.localdate(), held_at__isnull=True, disposed_at__isnull=True).exclude(
        models.Exists(approved)
    )


def _locked(submission: Submission, by, reason: str) -> tuple[Submission, str]:
    """The submission, locked against every other retention decision and the disposal task, for a supervisor."""
    if not is_supervisor(by):
        raise PermissionDenied("Only a supervisor decides what is kept or disposed of.")
    reason = reason.strip()
    if not reason:
        raise RetentionError("Give a reason; it is kept in the audit trail.")
    locked = Submission.objects.select_for_update().get(pk=submission.pk)
    if locked.is_disposed():
        raise RetentionError(f"{locked} has been disposed of.")
    return locked, reason


def retain(*, submission: Submission, by, reason: str, review_on: date) -> None:
    """Keep a decided submission after its review, until a new review date."""
    if review_on <= timezone.localdate():
        raise RetentionError("The next review date must be in the future.")
    with transaction.atomic():
        locked, reason = _locked(submission, by, reason)
        if not locked.is_decided():
            raise RetentionError(f"{locked} is not decided yet, so it has no review date.")
        if Disposal.objects.filter(submission=locked).open().exists():
            raise RetentionError(f"Disposal of {locked} is already approved.")
        before = locked.review_on
        Submission.objects.filter(pk=locked.pk).update(review_on=review_on, updated_at=timezone.now())
        record(
            actor=by,
            action=AuditEntry.Action.RETAINED,
            submission=locked,
            reason=reason,
            detail={"from": before.isoformat() if before else None, "to": review_on.isoformat()},
        )
    submission.review_on = review_on


def place_legal_hold(*, submission: Submission, by, reason: str) -> None:
    """Never dispose of this submission while held; a disposal approved and not yet done is withdrawn."""
    now = timezone.now()
    with transaction.atomic():
        locked, reason = _locked(submission, by, reason)
        if locked.held_at is not None:
            raise RetentionError(f"{locked} is already on legal hold.")
        Submission.objects.filter(pk=locked.pk).update(held_at=now, updated_at=now)
        record(actor=by, action=AuditEntry.Action.PLACED_LEGAL_HOLD, submission=locked, reason=reason)
        for disposal in Disposal.objects.filter(submission=locked).open():
            Disposal.objects.filter(pk=disposal.pk).update(withdrawn_at=now)
            record(
                actor=by,
                action=AuditEntry.Action.WITHDREW_DISPOSAL,
                submission=locked,
                reason=reason,
                detail={"disposal": disposal.pk},
            )
    submission.held_at = now


def lift_legal_hold(*, submission: Submission, by, reason: str) -> None:
    with transaction.atomic():
        locked, reason = _locked(submission, by, reason)
        if locked.held_at is None:
            raise RetentionError(f"{locked} is not on legal hold.")
        Submission.objects.filter(pk=locked.pk).update(held_at=None, updated_at=timezone.now())
        record(actor=by, action=AuditEntry.Action.LIFTED_LEGAL_HOLD, submission=locked, reason=reason)
    submission.held_at = None


def approve_disposal(*, submission: Submission, by, reason: str) -> Disposal:
    """Approve disposing of a decided submission that is not held; a worker disposes of it once this commits."""
    with transaction.atomic():
        locked, reason = _locked(submission, by, reason)
        if locked.held_at is not None:
            raise RetentionError(f"{locked} is on legal hold: lift the hold first.")
        if not locked.is_decided():
            raise RetentionError(f"{locked} is not decided yet.")
        if Disposal.objects.filter(submission=locked).open().exists():
            raise RetentionError(f"Disposal of {locked} is already approved.")
        disposal = Disposal(submission=locked, reference=locked.reference, approved_by=by, reason=reason)
        disposal.full_clean()
        disposal.save()
        record(
            actor=by,
            action=AuditEntry.Action.APPROVED_DISPOSAL,
            submission=locked,
            reason=reason,
            detail={"disposal": disposal.pk},
        )
        enqueue_on_commit(dispose_submission, disposal.pk)
    return disposal
