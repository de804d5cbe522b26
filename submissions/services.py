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
        media_file.full_clean()
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
