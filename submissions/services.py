from django.conf import settings
from django.core.files import File
from django.db import transaction
from django.utils import timezone

from appeals.models import Appeal
from evidence.models import AuditEntry
from evidence.services import record
from submissions.files import FileRefused, too_many_files_message
from submissions.models import MediaFile, Submission, SubmissionNote, Upload
from submissions.references import new_upload_token, seal_upload_token
from submissions.streaming import sync_and_hash
from submissions.tasks import enqueue_on_commit, notify_new_submission, notify_witness_receipt, process_media_file


def create_submission(*, appeal: Appeal, submission: Submission) -> tuple[Submission, str]:
    """Store a witness's account durably, then tell the officers and the witness once it is committed.

    Returns the submission and its upload token: the only time the token exists in clear. What is owed
    is stored with the account (officers_notified_at, receipt_token), so the sweep sends it if the broker
    never gets the task.
    """
    submission.appeal = appeal
    token = new_upload_token()
    submission.set_upload_token(token)
    if submission.contact_email:
        # The receipt carries the private link; only the token's hash is kept otherwise (see notify_witness_receipt).
        submission.receipt_token = seal_upload_token(token)
    submission.full_clean(exclude=["reference"])
    with transaction.atomic():
        submission.save()
        enqueue_on_commit(notify_new_submission, submission.pk)
        if submission.contact_email:
            enqueue_on_commit(notify_witness_receipt, submission.pk)
    return submission, token


class PartialFile(File):
    """A finished upload on local disk: FileSystemStorage moves it into place instead of copying."""

    def temporary_file_path(self):
        return self.file.name


def add_media_file(*, submission: Submission, content: File, filename: str, size: int, sha256: str, content_type: str):
    """Keep a received file as evidence and queue its processing; raises FileRefused with a message."""
    if size == 0:
        raise FileRefused(f"{filename} is empty.", status=400)
    with transaction.atomic():
        # One file at a time per submission, so the duplicate and count checks cannot race.
        Submission.objects.select_for_update().filter(pk=submission.pk).first()
        if sent := submission.media_files.filter(sha256=sha256).values_list("original_filename", flat=True).first():
            if sent == filename:
                raise FileRefused(f"You have already sent {sent}.")
            raise FileRefused(f"{filename} is the same file as {sent}, which you have already sent.")
        if submission.media_files.count() >= settings.UPLOAD_MAX_FILES:
            raise FileRefused(too_many_files_message())
        media_file = MediaFile(
            submission=submission, original_filename=filename, size=size, sha256=sha256, content_type=content_type
        )
        media_file.original.save(sha256, content, save=False)
        media_file.full_clean()
        media_file.save()
        enqueue_on_commit(process_media_file, media_file.pk)
    return media_file


def complete_upload(*, upload: Upload, partial) -> MediaFile:
    """Keep an upload whose last byte is in as evidence, hashed as it is on disk; raises FileRefused.

    The caller holds the partial file's lock: a tus PATCH or HEAD, or the sweep when the request died.
    """
    upload.check_type(partial)
    sha256 = sync_and_hash(partial)
    with open(upload.partial_path, "rb") as whole, transaction.atomic():
        media_file = add_media_file(
            submission=upload.submission,
            content=PartialFile(whole),
            filename=upload.filename,
            size=upload.length,
            sha256=sha256,
            content_type=upload.content_type,
        )
        upload.media_file = media_file
        upload.completed_at = timezone.now()
        upload.save(update_fields=["media_file", "completed_at"])
    # Storage that copies (object storage) leaves the partial behind.
    upload.partial_path.unlink(missing_ok=True)
    return media_file


class TriageError(Exception):
    pass


def change_state(*, submission: Submission, to: str, by, reason: str = "", duplicate_of=None) -> None:
    """Move a submission along an allowed transition, audited; a decision needs a reason.

    The UPDATE is conditional on the state it was read in, so two officers cannot decide at once.
    """
    old = submission.state
    if problem := submission.transition_problem(to, reason, duplicate_of):
        raise TriageError(problem)
    target = Submission.State(to)
    reason = reason.strip()
    decided = target in Submission.DECISIONS
    now = timezone.now()
    changes = {
        "state": target,
        "decision_reason": reason if decided else "",
        "decided_at": now if decided else None,
        "decided_by": by if decided else None,
        "duplicate_of": duplicate_of if target == Submission.State.DUPLICATE else None,
        "updated_at": now,
    }
    with transaction.atomic():
        if not Submission.objects.filter(pk=submission.pk, state=old).update(**changes):
            raise TriageError("Someone else changed this submission's state; reload it and try again.")
        record(
            actor=by,
            action=AuditEntry.Action.CHANGED_STATE,
            submission=submission,
            reason=reason,
            detail={"from": old, "to": target.value}
            | ({"duplicate_of": duplicate_of.reference} if target == Submission.State.DUPLICATE else {}),
        )
    for field, value in changes.items():
        setattr(submission, field, value)


def assign(*, submission: Submission, to, by) -> None:
    with transaction.atomic():
        Submission.objects.filter(pk=submission.pk).update(assignee=to, updated_at=timezone.now())
        record(
            actor=by,
            action=AuditEntry.Action.ASSIGNED,
            submission=submission,
            detail={
                "from": submission.assignee.get_username() if submission.assignee else None,
                "to": to.get_username() if to else None,
            },
        )
    submission.assignee = to


def set_priority(*, submission: Submission, priority: int, by) -> None:
    with transaction.atomic():
        Submission.objects.filter(pk=submission.pk).update(priority=priority, updated_at=timezone.now())
        record(
            actor=by,
            action=AuditEntry.Action.CHANGED_PRIORITY,
            submission=submission,
            detail={"from": submission.priority, "to": priority},
        )
    submission.priority = priority


def add_note(*, submission: Submission, by, text: str) -> SubmissionNote:
    note = SubmissionNote(submission=submission, author=by, text=text.strip())
    note.full_clean()
    with transaction.atomic():
        note.save()
        record(actor=by, action=AuditEntry.Action.ADDED_NOTE, submission=submission, detail={"note": note.pk})
    return note


def revoke_footage_link(*, submission: Submission, by, reason: str) -> bool:
    """Turn the witness's private link off for good, audited with the officer's reason; False if it was off."""
    reason = reason.strip()
    if not reason:
        raise TriageError("Give a reason for turning the footage link off.")
    now = timezone.now()
    with transaction.atomic():
        # Conditional, so two officers turning it off at once leave one entry in the trail.
        if not Submission.objects.filter(pk=submission.pk, footage_link_revoked_at__isnull=True).update(
            footage_link_revoked_at=now, updated_at=now
        ):
            return False
        record(actor=by, action=AuditEntry.Action.REVOKED_FOOTAGE_LINK, submission=submission, reason=reason)
    submission.footage_link_revoked_at = now
    return True
