import fcntl
import logging

from celery import shared_task
from django.conf import settings
from django.core.mail import send_mail
from django.db import transaction
from django.template.loader import render_to_string
from django.urls import reverse
from django.utils import timezone

from submissions.models import MediaFile, Notification, Submission, Upload

log = logging.getLogger(__name__)


@shared_task(autoretry_for=(OSError,), retry_backoff=True, max_retries=8, soft_time_limit=30, time_limit=45)
def notify_new_submission(submission_id: int):
    """Email the incident's officers that a submission arrived; at most once per officer."""
    submission = Submission.objects.select_related("appeal__incident").filter(pk=submission_id).first()
    if submission is None:
        log.warning("Submission %s is gone; nothing to notify", submission_id)
        return
    event_key = f"new_submission:{submission.pk}"
    subject = f"New information for {submission.appeal.incident.reference}: {submission.reference}"
    body = render_to_string(
        "submissions/email/new_submission.txt",
        {"submission": submission, "admin_url": settings.SITE_URL + submission.get_admin_url()},
    )
    for officer in submission.officers_to_notify():
        send_notification_once(event_key, officer, submission, subject, body)


def send_notification_once(event_key, recipient, submission, subject, body):
    """Claim the (event, recipient) row, then send; a second run finds it claimed and does nothing."""
    with transaction.atomic():
        notification, _ = Notification.objects.get_or_create(
            event_key=event_key, recipient=recipient, defaults={"submission": submission}
        )
        claimed = Notification.objects.filter(pk=notification.pk, sent_at__isnull=True).update(sent_at=timezone.now())
    if not claimed:
        return
    try:
        send_mail(subject, body, None, [recipient.email])
    except Exception:
        # Release the claim so the retry sends it.
        Notification.objects.filter(pk=notification.pk).update(sent_at=None)
        raise


@shared_task(autoretry_for=(OSError,), retry_backoff=True, max_retries=8, soft_time_limit=30, time_limit=45)
def notify_witness_receipt(submission_id: int, upload_token: str):
    """Email the witness their reference and private "add more footage" link, once; never the account.

    The token travels in the task because only its hash is stored.
    """
    submission = Submission.objects.select_related("appeal__incident").filter(pk=submission_id).first()
    if submission is None or not submission.contact_email:
        log.warning("Submission %s is gone or has no email; no receipt sent", submission_id)
        return
    claimed = Submission.objects.filter(pk=submission.pk, receipt_sent_at__isnull=True).update(
        receipt_sent_at=timezone.now()
    )
    if not claimed:
        log.info("Receipt for submission %s was already sent", submission.pk)
        return
    context = {
        "submission": submission,
        "appeal": submission.appeal,
        "FORCE_NAME": settings.FORCE_NAME,
        "footage_url": settings.SITE_URL + reverse("submissions:footage", args=[upload_token]),
    }
    try:
        send_mail(
            f"Your reference {submission.reference}: information sent to {settings.FORCE_NAME}",
            render_to_string("submissions/email/receipt.txt", context),
            None,
            [submission.contact_email],
        )
    except Exception:
        Submission.objects.filter(pk=submission.pk).update(receipt_sent_at=None)
        raise


@shared_task(soft_time_limit=300, time_limit=330)
def expire_uploads():
    """Remove the bytes and rows of uploads abandoned past their expiry time (celery beat, hourly)."""
    removed = 0
    for upload in Upload.objects.abandoned()[:1000]:
        try:
            with open(upload.partial_path, "r+b") as partial:
                try:
                    # The same lock PATCH takes: never pull the file from under a request writing to it.
                    fcntl.flock(partial, fcntl.LOCK_EX | fcntl.LOCK_NB)
                except BlockingIOError:
                    continue
                upload.discard()
        except FileNotFoundError:
            upload.discard()
        removed += 1
    log.info("Removed %s abandoned uploads", removed)


@shared_task(autoretry_for=(OSError,), retry_backoff=True, max_retries=5, soft_time_limit=600, time_limit=660)
def process_media_file(media_file_id: int):
    """Check a received file against the hash recorded on arrival; the media pipeline starts here."""
    media_file = MediaFile.objects.filter(pk=media_file_id).first()
    if media_file is None:
        log.warning("Media file %s is gone; nothing to process", media_file_id)
        return
    claimed = MediaFile.objects.filter(pk=media_file.pk, state=MediaFile.State.RECEIVED).update(
        state=MediaFile.State.PROCESSING, updated_at=timezone.now()
    )
    if not claimed:
        log.info("Media file %s is already %s", media_file.pk, media_file.state)
        return
    if not media_file.original_matches_record():
        media_file.state = MediaFile.State.FAILED
        media_file.state_reason = "The stored file does not match the size and SHA-256 recorded on arrival"
        media_file.save(update_fields=["state", "state_reason", "updated_at"])
        return
    media_file.state = MediaFile.State.READY
    media_file.save(update_fields=["state", "updated_at"])
