"""Carrying out an approved disposal: every stored copy removed, the tombstone and the erasure record written.

See evidence/retention.py for why rows stay and only their content goes.
"""

import logging

from django.db import transaction
from django.utils import timezone

from evidence.audit import record
from evidence.models import AuditEntry, Disposal, EvidenceExport
from submissions.models import MediaFile, Submission

log = logging.getLogger(__name__)

DISPOSED = "Disposed of"


class DisposalBusy(Exception):
    """A worker or request is still writing one of the submission's files: try again later."""


def dispose(disposal_id: int) -> bool:
    """Dispose of an approved, not withdrawn submission that is not held; True if done now, False if nothing to do.

    Idempotent: a second run finds the record completed. Files are deleted before the transaction commits,
    so a run that fails part-way leaves the disposal open and the retry (or the sweep) deletes the rest.
    """
    with transaction.atomic():
        disposal = Disposal.objects.select_for_update().filter(pk=disposal_id).first()
        if disposal is None or disposal.completed_at or disposal.withdrawn_at:
            log.info("Disposal %s is gone, done or withdrawn", disposal_id)
            return False
        # The same lock the supervisors' decisions take: a hold placed now waits for us, or we see it.
        submission = Submission.objects.select_for_update().get(pk=disposal.submission_id)
        if submission.held_at is not None:
            log.warning("Disposal %s not done: %s is on legal hold", disposal_id, submission)
            return False
        removed = _remove_files(submission)
        now = timezone.now()
        Submission.objects.filter(pk=submission.pk).update(
            account="",
            seen_on=None,
            seen_at_time=None,
            seen_where="",
            relationship="",
            is_anonymous=True,
            contact_name="",
            contact_email="",
            contact_phone="",
            upload_token_hash=None,
            receipt_token="",
            disposed_at=now,
            updated_at=now,
        )
        originals = [item for item in removed if item["kind"] == "original"]
        Disposal.objects.filter(pk=disposal.pk).update(
            completed_at=now,
            file_count=len(originals),
            total_bytes=sum(item["size"] for item in originals),
            removed=removed,
        )
        record(
            actor=disposal.approved_by,
            action=AuditEntry.Action.DISPOSED,
            submission=submission,
            reason=disposal.reason,
            detail={"disposal": disposal.pk, "files": len(originals)},
        )
    return True


def _remove_files(submission: Submission) -> list[dict]:
    """Delete every stored copy of the submission's files (originals, derivatives, exports, partial uploads).

    Returns what was removed, by size and SHA-256 only. Raises DisposalBusy while a worker still writes one.
    """
    # First stop new work (an export or a file is only claimed while waiting), then wait for work already
    # claimed: a claim racing this update waits for the transaction and then finds nothing to take.
    now = timezone.now()
    submission.exports.filter(state=EvidenceExport.State.PENDING).update(
        state=EvidenceExport.State.FAILED, failure_reason=DISPOSED, finished_at=now
    )
    submission.media_files.filter(state=MediaFile.State.RECEIVED).update(
        state=MediaFile.State.FAILED, state_reason=DISPOSED, updated_at=now
    )
    submission.media_files.filter(proxy_state=MediaFile.ProxyState.WAITING).update(
        proxy_state=MediaFile.ProxyState.FAILED, proxy_reason=DISPOSED, proxy_updated_at=now
    )
    if submission.exports.filter(state=EvidenceExport.State.BUILDING).exists():
        raise DisposalBusy(f"An export of {submission} is being built")
    if submission.media_files.filter(state=MediaFile.State.PROCESSING).exists():
        raise DisposalBusy(f"A file of {submission} is being processed")
    if submission.media_files.filter(proxy_state=MediaFile.ProxyState.MAKING).exists():
        raise DisposalBusy(f"A web proxy of {submission} is being made")
    for upload in submission.uploads.all():
        try:
            partial = upload.hold_partial()
        except FileNotFoundError:
            upload.discard()  # with what it sent to object storage
            continue
        if partial is None:
            raise DisposalBusy(f"An upload to {submission} is under way")
        with partial:
            upload.discard()

    removed = []
    for export in submission.exports.all():
        if export.file:
            export.file.storage.delete(export.file.name)
            removed.append({"kind": "export", "size": export.size, "sha256": export.sha256})
    for media_file in submission.media_files.prefetch_related("derivatives"):
        for derivative in media_file.derivatives.all():
            derivative.file.storage.delete(derivative.file.name)
            removed.append({"kind": derivative.kind, "size": derivative.size, "sha256": derivative.sha256})
        media_file.original.storage.delete(media_file.original.name)
        removed.append({"kind": "original", "size": media_file.size, "sha256": media_file.sha256})
    # Metadata can hold where and when (GPS, capture time).
    submission.media_files.update(metadata={}, updated_at=now)
    return removed
