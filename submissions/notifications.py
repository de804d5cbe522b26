"""Emails to officers (now, or in a daily digest) and the witness's receipt, each sent at most once.

The tasks keep the names they were first queued under (submissions.tasks.*): routes, beat and queued messages use them.
"""

import logging
from datetime import timedelta

from celery import shared_task
from cryptography.fernet import InvalidToken
from django.conf import settings
from django.contrib.auth import get_user_model
from django.core.mail import send_mail
from django.db import transaction
from django.template.loader import render_to_string
from django.urls import reverse
from django.utils import timezone

from submissions.models import MediaFile, Notification, NotificationPreference, Submission
from submissions.queueing import enqueue_on_commit
from submissions.references import unseal_upload_token

log = logging.getLogger(__name__)


# No automatic retries: a failed send is owed still, and sweep_unsent_notifications queues it again.
@shared_task(name="submissions.tasks.notify_new_submission", soft_time_limit=30, time_limit=45)
def notify_new_submission(submission_id: int):
    """Email the incident's officers that a submission arrived; at most once per officer."""
    submission = Submission.objects.select_related("appeal__incident").filter(pk=submission_id).first()
    if submission is None:
        log.warning("Submission %s is gone; nothing to notify", submission_id)
        return
    if submission.officers_notified_at is not None:
        log.info("Officers were already told of submission %s", submission.pk)
        return
    subject = f"New information for {submission.appeal.incident.reference}: {submission.reference}"
    body = render_to_string(
        "submissions/email/new_submission.txt",
        {
            "submission": submission,
            "admin_url": settings.SITE_URL + submission.get_admin_url(),
            "batch_minutes": settings.NOTIFY_BATCH_MINUTES,
        },
    )
    notify_officers(f"new_submission:{submission.pk}", submission, subject, body, may_wait=True)
    Submission.objects.filter(pk=submission.pk).update(officers_notified_at=timezone.now())


def lock_officer(officer):
    """Whether an officer's email goes now or waits is decided by one worker at a time."""
    get_user_model().objects.select_for_update().filter(pk=officer.pk).exists()


def emailed_lately(officer) -> bool:
    return bool(settings.NOTIFY_BATCH_MINUTES) and Notification.objects.filter(recipient=officer).sent_lately().exists()


@shared_task(name="submissions.tasks.send_held_notifications", soft_time_limit=60, time_limit=90)
def send_held_notifications(recipient_id: int):
    """One email listing everything held for the officer since their last, once NOTIFY_BATCH_MINUTES have
    passed since it; queued by sweep_unsent_notifications."""
    officer = get_user_model().objects.filter(pk=recipient_id, is_active=True).first()
    if officer is None or not officer.email:
        return
    with transaction.atomic():
        lock_officer(officer)
        if emailed_lately(officer):
            return
        held = list(
            Notification.objects.held()
            .filter(recipient=officer)
            .select_related("submission__appeal__incident")
            .order_by("created_at")
        )
        claimed = Notification.objects.filter(pk__in=[notification.pk for notification in held])
        claimed.update(sent_at=timezone.now())
    if not held:
        return
    incidents = sorted({notification.submission.appeal.incident.reference for notification in held})
    body = render_to_string(
        "submissions/email/held.txt",
        {
            "notifications": held[:HELD_LISTED],
            "unlisted": len(held) - HELD_LISTED,
            "site_url": settings.SITE_URL,
            "submissions_url": settings.SITE_URL + reverse("admin:submissions_submission_changelist"),
            "batch_minutes": settings.NOTIFY_BATCH_MINUTES,
        },
    )
    subject = f"{len(held)} more update{'s' if len(held) != 1 else ''} for {', '.join(incidents)}"
    send_claimed(subject, body, officer.email, claimed=claimed, unclaim={"sent_at": None})


# An email listing more than this many submissions sends the rest to the officers' site.
HELD_LISTED = 50


@shared_task(
    name="submissions.tasks.notify_media_problem",
    autoretry_for=(OSError,),
    retry_backoff=True,
    max_retries=8,
    soft_time_limit=30,
    time_limit=45,
)
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
    notify_officers(media_file.problem_event_key, submission, subject, body)


def notify_officers(event_key, submission, subject, body, *, may_wait=False):
    """Tell each officer once: by email now, or in tomorrow's digest if they chose one.

    News that `may_wait` (a new submission) waits, for an officer emailed within NOTIFY_BATCH_MINUTES, for
    the one email listing everything since (send_held_notifications): a viral day brings each officer a few
    emails an hour instead of one per witness.
    """
    for officer in submission.officers_to_notify():
        if NotificationPreference.wants_digest(officer):
            record_notification(event_key, officer, submission, subject)
        else:
            send_notification_once(event_key, officer, submission, subject, body, may_wait=may_wait)


def record_notification(event_key, recipient, submission, subject) -> Notification:
    notification, _ = Notification.objects.get_or_create(
        event_key=event_key, recipient=recipient, defaults={"submission": submission, "summary": subject}
    )
    return notification


def send_claimed(subject, body, recipient_email, *, claimed, unclaim):
    """Send an email whose rows the caller has claimed; if sending fails, put `unclaim` back on the `claimed`
    rows (a queryset) so that the retry or the sweep sends it."""
    try:
        send_mail(subject, body, None, [recipient_email])
    except Exception:
        claimed.update(**unclaim)
        raise


def send_notification_once(event_key, recipient, submission, subject, body, *, may_wait):
    """Claim the (event, recipient) row, then send; a second run finds it claimed and does nothing. If it
    `may_wait` and the recipient was emailed lately, leave it for the email listing what was held."""
    with transaction.atomic():
        if may_wait:
            lock_officer(recipient)
        notification = record_notification(event_key, recipient, submission, subject)
        if may_wait and emailed_lately(recipient):
            return
        claimed = Notification.objects.filter(pk=notification.pk, sent_at__isnull=True).update(sent_at=timezone.now())
    if not claimed:
        return
    send_claimed(
        subject,
        body,
        recipient.email,
        claimed=Notification.objects.filter(pk=notification.pk),
        unclaim={"sent_at": None},
    )


@shared_task(
    name="submissions.tasks.send_notification_digests",
    autoretry_for=(OSError,),
    retry_backoff=True,
    max_retries=8,
    soft_time_limit=120,
    time_limit=150,
)
def send_notification_digests():
    """One email per officer listing every notification not sent yet; each event appears in one digest."""
    recipients = (
        Notification.objects.unsent()
        .filter(recipient__in=NotificationPreference.objects.digest_readers())
        .values_list("recipient", flat=True)
        .distinct()
    )
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
        send_claimed(
            f"Witness appeals: {len(pending)} updates",
            body,
            recipient.email,
            claimed=Notification.objects.filter(pk__in=[n.pk for n in pending]),
            unclaim={"sent_at": None},
        )


@shared_task(name="submissions.tasks.notify_witness_receipt", soft_time_limit=30, time_limit=45)
def notify_witness_receipt(submission_id: int):
    """Email the witness their reference and private "add more footage" link, once; never the account.

    Only the token's hash is stored, but the email needs the token itself, and the broker may be down when
    the account is sent. So the token waits, encrypted with a key derived from SECRET_KEY, in
    `receipt_token` (a backup holds only ciphertext); one conditional UPDATE claims the receipt and wipes
    the token, so two runs never both send. A failed send puts it back for the sweep.
    """
    submission = Submission.objects.select_related("appeal").filter(pk=submission_id).first()
    if submission is None or not submission.receipt_token:
        log.info("Submission %s is gone or owes no receipt", submission_id)
        return
    sealed = submission.receipt_token
    try:
        token = unseal_upload_token(sealed)
    except InvalidToken:
        log.error("The receipt of submission %s cannot be sent: SECRET_KEY changed with no fallback", submission.pk)
        Submission.objects.filter(pk=submission.pk, receipt_token=sealed).update(receipt_token="")
        return
    claimed = Submission.objects.filter(pk=submission.pk, receipt_token=sealed).update(
        receipt_token="", receipt_sent_at=timezone.now()
    )
    if not claimed:
        log.info("Receipt for submission %s was already sent", submission.pk)
        return
    context = {
        "submission": submission,
        "appeal": submission.appeal,
        "FORCE_NAME": settings.FORCE_NAME,
        "footage_url": settings.SITE_URL + reverse("submissions:footage", args=[token]),
    }
    send_claimed(
        f"Your reference {submission.reference}: information sent to {settings.FORCE_NAME}",
        render_to_string("submissions/email/receipt.txt", context),
        submission.contact_email,
        claimed=Submission.objects.filter(pk=submission.pk),
        unclaim={"receipt_token": sealed, "receipt_sent_at": None},
    )


@shared_task(name="submissions.tasks.sweep_unsent_notifications", soft_time_limit=60, time_limit=90)
def sweep_unsent_notifications():
    """Queue again the emails owed for new submissions: never queued (the broker was down) or failed to send;
    and queue the emails listing what was held for officers emailed lately, once their wait is over."""
    owed = Submission.objects.filter(
        created_at__lt=timezone.now() - timedelta(seconds=settings.NOTIFY_STUCK_AFTER_SECONDS)
    )
    for pk in owed.filter(officers_notified_at__isnull=True).values_list("pk", flat=True)[:1000]:
        enqueue_on_commit(notify_new_submission, pk)
    for pk in owed.exclude(receipt_token="").values_list("pk", flat=True)[:1000]:
        enqueue_on_commit(notify_witness_receipt, pk)
    waiting = Notification.objects.held().exclude(recipient__in=Notification.objects.sent_lately().values("recipient"))
    for recipient_id in waiting.values_list("recipient", flat=True).distinct():
        enqueue_on_commit(send_held_notifications, recipient_id)
