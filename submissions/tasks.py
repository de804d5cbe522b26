import fcntl
import hashlib
import logging
import tempfile
from contextlib import contextmanager
from datetime import timedelta
from pathlib import Path

import magic
from celery import shared_task
from django.conf import settings
from django.core.mail import send_mail
from django.core.management import call_command
from django.db import transaction
from django.db.models import CharField, Exists, OuterRef, Value
from django.db.models.functions import Cast, Concat
from django.template.loader import render_to_string
from django.urls import reverse
from django.utils import timezone

from submissions import media
from submissions.models import Derivative, MediaFile, Notification, NotificationPreference, Submission, Upload
from submissions.storage import local_path, stream_stored

log = logging.getLogger(__name__)


class LostClaim(Exception):
    """Another worker took the file over (this one stalled past its hold): stop without writing."""


# Notifications ------------------------------------------------------------------------------------


@shared_task(autoretry_for=(OSError,), retry_backoff=True, max_retries=8, soft_time_limit=30, time_limit=45)
def notify_new_submission(submission_id: int):
    """Email the incident's officers that a submission arrived; at most once per officer."""
    submission = Submission.objects.select_related("appeal__incident").filter(pk=submission_id).first()
    if submission is None:
        log.warning("Submission %s is gone; nothing to notify", submission_id)
        return
    subject = f"New information for {submission.appeal.incident.reference}: {submission.reference}"
    body = render_to_string(
        "submissions/email/new_submission.txt",
        {"submission": submission, "admin_url": settings.SITE_URL + submission.get_admin_url()},
    )
    notify_officers(f"new_submission:{submission.pk}", submission, subject, body)


@shared_task(autoretry_for=(OSError,), retry_backoff=True, max_retries=8, soft_time_limit=30, time_limit=45)
def notify_media_problem(media_file_id: int):
    """Email the incident's officers that a file was quarantined, could not be processed or failed."""
    media_file = MediaFile.objects.select_related("submission__appeal__incident").filter(pk=media_file_id).first()
    if media_file is None or media_file.state not in MediaFile.PROBLEM_STATES:
        return
    submission = media_file.submission
    state = media_file.get_state_display().lower()
    subject = f"A file in {submission.reference} ({submission.appeal.incident.reference}) is {state}"
    body = render_to_string(
        "submissions/email/media_problem.txt",
        {
            "media_file": media_file,
            "submission": submission,
            "state": state,
            "admin_url": settings.SITE_URL + submission.get_admin_url(),
        },
    )
    notify_officers(media_problem_event_key(media_file), submission, subject, body)


def media_problem_event_key(media_file):
    return f"media_{media_file.state}:{media_file.pk}"


def notify_officers(event_key, submission, subject, body):
    """Tell each officer once: by email now, or in tomorrow's digest if they chose one."""
    for officer in submission.officers_to_notify():
        if NotificationPreference.wants_digest(officer):
            Notification.objects.get_or_create(
                event_key=event_key, recipient=officer, defaults={"submission": submission, "summary": subject}
            )
        else:
            send_notification_once(event_key, officer, submission, subject, body)


def send_notification_once(event_key, recipient, submission, subject, body):
    """Claim the (event, recipient) row, then send; a second run finds it claimed and does nothing."""
    with transaction.atomic():
        notification, _ = Notification.objects.get_or_create(
            event_key=event_key, recipient=recipient, defaults={"submission": submission, "summary": subject}
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


@shared_task(autoretry_for=(OSError,), retry_backoff=True, max_retries=8, soft_time_limit=120, time_limit=150)
def send_notification_digests():
    """One email per officer listing every notification not sent yet; each event appears in one digest."""
    recipients = Notification.objects.filter(sent_at__isnull=True).values_list("recipient", flat=True).distinct()
    for recipient_id in recipients:
        with transaction.atomic():
            pending = list(
                Notification.objects.select_for_update(skip_locked=True)
                .select_related("recipient", "submission")
                .filter(recipient_id=recipient_id, sent_at__isnull=True)
                .order_by("created_at")
            )
            Notification.objects.filter(pk__in=[n.pk for n in pending]).update(sent_at=timezone.now())
        if not pending:
            continue
        recipient = pending[0].recipient
        body = render_to_string(
            "submissions/email/digest.txt",
            {"notifications": pending, "site_url": settings.SITE_URL},
        )
        try:
            send_mail(f"Witness appeals: {len(pending)} updates", body, None, [recipient.email])
        except Exception:
            Notification.objects.filter(pk__in=[n.pk for n in pending]).update(sent_at=None)
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


@shared_task(soft_time_limit=300, time_limit=330)
def clear_expired_sessions():
    """Delete expired sessions, and with them abandoned answers and contact details (celery beat, hourly)."""
    call_command("clearsessions")


# Media processing ---------------------------------------------------------------------------------


@shared_task(bind=True, max_retries=None, soft_time_limit=6 * 3600, time_limit=6 * 3600 + 120)
def process_media_file(self, media_file_id: int):
    """Verify, scan, describe, preview and transcode one file; safe to run twice or on two workers at once."""
    if not MediaFile.objects.filter(pk=media_file_id).exists():
        log.warning("Media file %s is gone; nothing to process", media_file_id)
        return
    media_file = MediaFile.objects.claim(media_file_id)
    if media_file is None:
        log.info("Media file %s is done or held by another worker", media_file_id)
        return
    attempt = media_file.attempts
    if attempt > settings.MEDIA_MAX_ATTEMPTS:
        give_up(media_file, f"Processing did not finish after {attempt - 1} attempts")
        return
    try:
        run_pipeline(media_file, attempt)
    except LostClaim:
        log.warning("Media file %s was taken over by another worker", media_file.pk)
    except media.Unprocessable as error:
        end_with_problem(media_file, MediaFile.State.UNPROCESSABLE, str(error))
    except media.Transient as error:
        retry_later(self, media_file, attempt, str(error))
    except Exception as error:
        # An unexpected error may be the file's fault or ours: retry a bounded number of times.
        log.exception("Processing media file %s failed", media_file.pk)
        retry_later(self, media_file, attempt, f"{type(error).__name__}: {error}")


def retry_later(task, media_file, attempt, reason):
    if attempt >= settings.MEDIA_MAX_ATTEMPTS:
        give_up(media_file, reason)
        return
    media_file.release_for_retry(reason)
    raise task.retry(countdown=min(600, 10 * 2**attempt))


def give_up(media_file, reason):
    end_with_problem(media_file, MediaFile.State.FAILED, reason)


def end_with_problem(media_file, state, reason):
    media_file.finish(state, reason)
    transaction.on_commit(lambda: notify_media_problem.delay(media_file.pk), robust=True)


def run_pipeline(media_file, attempt):
    def heartbeat():
        if not media_file.still_held(attempt):
            raise LostClaim

    with local_original(media_file) as original, tempfile.TemporaryDirectory(prefix="media-") as work:
        if not media_file.matches_record(original):
            give_up(media_file, "The stored file does not match the size and SHA-256 recorded on arrival")
            return
        work = Path(work)
        if media_file.scan_state == MediaFile.ScanState.PENDING:
            scan_original(media_file, original)
            heartbeat()
        if media_file.scan_state == MediaFile.ScanState.INFECTED:
            end_with_problem(media_file, MediaFile.State.QUARANTINED, f"Infected: {media_file.scan_detail}")
            return
        if not media_file.metadata:
            describe(media_file, original)
            heartbeat()
        made = set(media_file.derivatives.values_list("kind", flat=True))
        if media_file.is_video():
            for kind, make in [
                (Derivative.Kind.POSTER, media.poster),
                (Derivative.Kind.CONTACT_SHEET, media.contact_sheet),
            ]:
                if kind not in made:
                    store(media_file, kind, make(original, work / f"{kind}.jpg", media_file.metadata))
                    heartbeat()
            if Derivative.Kind.PROXY not in made:
                product = media.proxy(original, work / "proxy.mp4", media_file.metadata, heartbeat=heartbeat)
                heartbeat()
                store(media_file, Derivative.Kind.PROXY, product)
        elif media_file.metadata["kind"] == "image" and Derivative.Kind.PREVIEW not in made:
            with media.open_image(original) as image:
                store(media_file, Derivative.Kind.PREVIEW, media.image_preview(image, work / "preview.jpg"))
    heartbeat()
    media_file.finish(MediaFile.State.READY)


@contextmanager
def local_original(media_file):
    """A path to the original that tools can read: the stored file itself, or a private copy of it."""
    path = local_path(media_file.original)
    if path is not None:
        yield path
        return
    with tempfile.NamedTemporaryFile(prefix="original-") as copy:
        for chunk in stream_stored(media_file.original):
            copy.write(chunk)
        copy.flush()
        yield Path(copy.name)


def scan_original(media_file, original):
    if not settings.CLAMD_ADDRESS:
        media_file.scan_detail = "No virus scanner is configured"
        media_file.save(update_fields=["scan_detail", "updated_at"])
        return
    outcome = media.scan(original, media_file.size)
    media_file.scan_state = outcome.verdict
    media_file.scan_detail = outcome.detail[:300]
    media_file.save(update_fields=["scan_state", "scan_detail", "updated_at"])


def describe(media_file, original):
    image = media.open_image(original)
    if image is not None:
        with image:
            media_file.metadata = media.describe_image(image)
    else:
        media_file.metadata = media.describe_video(media.probe(original))
    media_file.content_type = media_file.content_type or magic.from_file(str(original), mime=True)
    media_file.save(update_fields=["metadata", "content_type", "updated_at"])


def store(media_file, kind, product):
    with product.path.open("rb") as made:
        sha256 = hashlib.file_digest(made, "sha256").hexdigest()
    media_file.add_derivative(
        kind=kind,
        path=product.path,
        sha256=sha256,
        content_type=product.content_type,
        tool=product.tool,
        tool_version=product.tool_version,
        arguments=product.arguments,
    )


@shared_task(soft_time_limit=60, time_limit=90)
def sweep_stuck_media():
    """Enqueue files nobody is working on, and alerts that were never queued (the broker was down)."""
    stuck = list(MediaFile.objects.stuck().values_list("pk", flat=True))
    # Back in the queue, and counted from now, so that the next sweep does not queue them twice.
    MediaFile.objects.stuck().filter(pk__in=stuck).update(state=MediaFile.State.RECEIVED, updated_at=timezone.now())
    for pk in stuck:
        process_media_file.delay(pk)
    alerted = Notification.objects.filter(
        event_key=Concat(Value("media_"), OuterRef("state"), Value(":"), Cast(OuterRef("pk"), CharField()))
    )
    unalerted = MediaFile.objects.filter(
        state__in=MediaFile.PROBLEM_STATES, updated_at__gt=timezone.now() - timedelta(days=1)
    ).exclude(Exists(alerted))
    for pk in unalerted.values_list("pk", flat=True):
        notify_media_problem.delay(pk)
    if stuck:
        log.info("Enqueued %d stuck media files again", len(stuck))
