"""Housekeeping of uploads and sessions. The notification tasks are in submissions/notifications.py, the
media pipeline's in submissions/pipeline.py (both imported by the workers through CELERY_IMPORTS)."""

import logging
from datetime import timedelta

from celery import shared_task
from django.conf import settings
from django.core.management import call_command
from django.utils import timezone

from submissions.files import FileRefused
from submissions.models import Upload
from submissions.pipeline import record_stored_upload
from submissions.services import adopt_moved_upload, complete_upload

log = logging.getLogger(__name__)


@shared_task(soft_time_limit=1800, time_limit=1860)
def store_whole_uploads():
    """Store as evidence every upload whose last byte arrived but whose request died before storing it (or,
    on local disk, after moving it into evidence storage but before recording it), and record those stored in
    object storage whose SHA-256 was never recorded (the task was lost)."""
    for upload in Upload.objects.whole_but_unstored().select_related("submission")[:100]:
        try:
            partial = upload.hold_partial()
        except FileNotFoundError:
            try:
                adopt_moved_upload(upload=upload)
            except FileRefused as refused:
                log.info("Upload %s was refused when recorded: %s", upload.pk, refused.message)
                upload.discard()
            continue
        if partial is None:
            continue  # a request still storing it holds the lock
        with partial:
            upload.refresh_from_db()
            if upload.completed_at is not None or upload.offset_on_disk(partial) < upload.length:
                continue
            try:
                media_file = complete_upload(upload=upload, partial=partial)
            except FileRefused as refused:
                log.info("Upload %s was refused when stored: %s", upload.pk, refused.message)
                upload.discard()
                continue
            if media_file is None:
                log.info("Stored upload %s in object storage; its SHA-256 is recorded next", upload.pk)
            else:
                log.info("Stored upload %s as media file %s", upload.pk, media_file.pk)
    # Long enough for the task queued when it was stored, unless that was lost.
    stored_before = timezone.now() - timedelta(seconds=settings.MEDIA_STUCK_AFTER_SECONDS)
    for upload in Upload.objects.awaiting_hash().filter(completed_at__lt=stored_before).select_related("submission"):
        record_stored_upload(upload)


@shared_task(soft_time_limit=300, time_limit=330)
def expire_uploads():
    """Remove the bytes and rows of uploads left part-way past their expiry time (celery beat, hourly)."""
    removed = 0
    for upload in Upload.objects.abandoned()[:1000]:
        try:
            partial = upload.hold_partial()
        except FileNotFoundError:
            upload.discard()
            removed += 1
            continue
        if partial is None:
            continue  # never pull the file from under a request writing to it
        with partial:
            upload.discard()
        removed += 1
    log.info("Removed %s abandoned uploads", removed)


@shared_task(soft_time_limit=300, time_limit=330)
def clear_expired_sessions():
    """Delete expired sessions, and with them abandoned answers and contact details (celery beat, hourly)."""
    call_command("clearsessions")
