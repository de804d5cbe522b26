import logging
from pathlib import Path

from django.conf import settings
from django.core.files import File
from django.db import transaction
from django.utils import timezone

from appeals.models import Appeal
from submissions.files import FileRefused, too_many_files_message
from submissions.models import MediaFile, Submission, Upload, evidence_store
from submissions.notifications import notify_new_submission, notify_witness_receipt
from submissions.pipeline import process_media_file, record_upload
from submissions.queueing import enqueue_on_commit
from submissions.references import new_upload_token, seal_upload_token
from submissions.request_bodies import sync_and_hash
from submissions.storage import FinishedFile, in_object_storage

log = logging.getLogger(__name__)


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
    # Every field checked as it will be stored, without a query for what the database enforces on this very
    # insert (the appeal's foreign key, the unique token, the check constraints): a violation stores nothing.
    submission.full_clean(exclude=["reference", "appeal"], validate_unique=False, validate_constraints=False)
    with transaction.atomic():
        submission.save()
        enqueue_on_commit(notify_new_submission, submission.pk)
        if submission.contact_email:
            enqueue_on_commit(notify_witness_receipt, submission.pk)
    return submission, token


def add_media_file(*, submission: Submission, content: File, filename: str, size: int, sha256: str, content_type: str):
    """Keep a received file as evidence and queue its processing; raises FileRefused with a message."""
    if size == 0:
        raise FileRefused(f"{filename} is empty.", status=400)
    with transaction.atomic():
        # One file at a time per submission, so the duplicate and count checks cannot race.
        Submission.objects.select_for_update().filter(pk=submission.pk).first()
        submission.check_not_sent(sha256=sha256, filename=filename)
        if submission.media_files.count() >= settings.UPLOAD_MAX_FILES:
            raise FileRefused(too_many_files_message())
        media_file = MediaFile(
            submission=submission, original_filename=filename, size=size, sha256=sha256, content_type=content_type
        )
        media_file.original.save(sha256, content, save=False)
        media_file.check_fields()
        media_file.save()
        enqueue_on_commit(process_media_file, media_file.pk)
    return media_file


def complete_upload(*, upload: Upload, partial) -> MediaFile | None:
    """Keep an upload whose last byte is in as evidence, hashed as it is on disk; raises FileRefused.

    With object storage, the parts already in the bucket are joined and the upload is marked received; its
    SHA-256 and media file are recorded after commit by record_upload (None is returned), which also removes
    the partial file, so the answer never waits for anything the size of the file.

    The caller holds the partial file's lock: a tus PATCH or HEAD, or the sweep when the request died.
    """
    upload.check_type(partial)
    if in_object_storage(evidence_store()):
        upload.store_parts(partial)
        with transaction.atomic():
            upload.completed_at = timezone.now()
            upload.save(update_fields=["completed_at"])
            enqueue_on_commit(record_upload, str(upload.pk))
        return None
    sha256 = sync_and_hash(partial)
    # Committed before the file moves into evidence storage, so that if this request dies before its commit
    # below, the file it leaves there can be checked and recorded (adopt_moved_upload).
    upload.sha256 = sha256
    upload.save(update_fields=["sha256"])
    with open(upload.partial_path, "rb") as whole, transaction.atomic():
        media_file = add_media_file(
            submission=upload.submission,
            content=FinishedFile(whole),
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


def adopt_moved_upload(*, upload: Upload) -> MediaFile | None:
    """Record the file of a whole upload whose request moved it into evidence storage (local disk) and died
    before committing its media file, once it is shown to be that upload's: its length, and the SHA-256
    saved before the move. Raises FileRefused if the submission has kept the same file since (the witness's
    client found nothing to resume and sent it again): its bytes are kept once, so the copy left is removed.

    Returns the upload's media file, recorded now or already, or None, changing nothing, when no file of the
    upload's is left. Safe to repeat, and to run while the request that moved the file is alive: that request
    holds its submission's row lock from before the move to its commit.
    """
    if in_object_storage(evidence_store()) or not upload.sha256:
        # Nothing was moved: object storage has parts sent to it, and the hash is saved before a move.
        log.error("Upload %s has all its bytes recorded but no partial file", upload.pk)
        return None
    media_file = MediaFile(
        submission=upload.submission,
        original_filename=upload.filename,
        size=upload.length,
        sha256=upload.sha256,
        content_type=upload.content_type,
    )
    # The name that add_media_file's save gave it.
    media_file.original.name = media_file.original.field.generate_filename(media_file, upload.sha256)
    left = Path(media_file.original.path)
    # Checked before taking the lock, as hashing a large file takes a while; a stored file never changes.
    matches = left.is_file() and media_file.matches_record(left)
    with transaction.atomic():
        submission = Submission.objects.select_for_update().get(pk=upload.submission_id)
        try:
            upload.refresh_from_db()
        except Upload.DoesNotExist:
            return None
        if upload.media_file_id is not None:
            return upload.media_file
        if not matches:
            log.error(
                "Upload %s has all its bytes recorded but no partial file, nor a file of its length and SHA-256 in "
                "evidence storage",
                upload.pk,
            )
            return None
        try:
            submission.check_not_sent(sha256=media_file.sha256, filename=upload.filename)
        except FileRefused:
            if not MediaFile.objects.filter(original=media_file.original.name).exists():
                left.unlink()
                log.info("Upload %s: removed the file its request left, as the submission has kept it since", upload.pk)
            raise
        media_file.check_fields()
        media_file.save()
        upload.media_file = media_file
        upload.completed_at = timezone.now()
        upload.save(update_fields=["media_file", "completed_at"])
        enqueue_on_commit(process_media_file, media_file.pk)
    log.warning(
        "Upload %s: its request died after moving the file into evidence storage; recorded the file, its length "
        "and SHA-256 checked, as media file %s",
        upload.pk,
        media_file.pk,
    )
    return media_file
