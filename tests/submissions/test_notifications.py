from datetime import timedelta

import pytest
from cryptography.fernet import InvalidToken
from django.core import mail
from django.utils import timezone

from submissions.models import MediaFile, Notification, NotificationPreference, Submission
from submissions.notifications import (
    notify_media_problem,
    notify_new_submission,
    notify_witness_receipt,
    send_held_notifications,
    send_notification_digests,
    sweep_unsent_notifications,
)
from submissions.references import seal_upload_token, unseal_upload_token
from submissions.services import create_submission
from tests.factories import make_officer, make_submission
from tests.officers import sign_in, store_media_file
from tests.services import wait_for


@pytest.mark.django_db
def test_each_officer_is_emailed_once_even_if_the_task_runs_twice(demo):
    make_officer("dc.second", demo.incident.team)
    submission = make_submission(demo)

    notify_new_submission.apply(args=[submission.pk])
    notify_new_submission.apply(args=[submission.pk])

    assert sorted(message.to[0] for message in mail.outbox) == ["dc.second@example.org", "gemma.alger@example.org"]
    assert Notification.objects.filter(sent_at__isnull=False).count() == 2


@pytest.mark.django_db
def test_on_a_busy_day_an_officer_gets_one_email_listing_what_came_in_since_the_last(
    demo, settings, django_capture_on_commit_callbacks
):
    settings.NOTIFY_BATCH_MINUTES = 10
    first, *later = [make_submission(demo) for _ in range(4)]
    for submission in (first, *later):
        notify_new_submission.apply(args=[submission.pk])

    [at_once] = mail.outbox
    assert first.reference in at_once.body
    assert "Anything else given in the next 10 minutes comes to you in one email" in at_once.body
    with django_capture_on_commit_callbacks(execute=True):
        sweep_unsent_notifications.apply()
    send_notification_digests.apply()
    assert len(mail.outbox) == 1, "the rest wait until ten minutes after that email, and never for a digest"

    Notification.objects.filter(sent_at__isnull=False).update(sent_at=timezone.now() - timedelta(minutes=11))
    for _ in range(2):
        with django_capture_on_commit_callbacks(execute=True):
            sweep_unsent_notifications.apply()

    [_, listing] = mail.outbox
    assert listing.to == ["gemma.alger@example.org"]
    assert listing.subject == f"3 more updates for {demo.incident.reference}"
    assert all(listing.body.count(submission.reference) == 1 for submission in later)
    assert first.reference not in listing.body
    assert "I saw" not in listing.body, "never the accounts"
    assert not Notification.objects.filter(sent_at__isnull=True).exists()


@pytest.mark.django_db
def test_the_listing_email_is_sent_once_even_if_queued_twice(demo, settings):
    settings.NOTIFY_BATCH_MINUTES = 10
    officer = demo.incident.officer_in_charge
    for submission in [make_submission(demo) for _ in range(2)]:
        notify_new_submission.apply(args=[submission.pk])
    Notification.objects.filter(sent_at__isnull=False).update(sent_at=timezone.now() - timedelta(minutes=11))

    send_held_notifications.apply(args=[officer.pk])
    send_held_notifications.apply(args=[officer.pk])

    assert [message.subject.split(" ")[0] for message in mail.outbox] == ["New", "1"]


@pytest.mark.django_db
def test_a_long_listing_sends_the_officer_to_the_site_for_the_rest(demo, settings):
    settings.NOTIFY_BATCH_MINUTES = 10
    submissions = [make_submission(demo) for _ in range(53)]
    for submission in submissions:
        notify_new_submission.apply(args=[submission.pk])
    Notification.objects.filter(sent_at__isnull=False).update(sent_at=timezone.now() - timedelta(minutes=11))

    send_held_notifications.apply(args=[demo.incident.officer_in_charge.pk])

    listing = mail.outbox[-1]
    assert listing.subject.startswith("52 more updates")
    assert "and 2 more. See them all on the officers' site:" in listing.body
    assert "/admin/submissions/submission/" in listing.body


@pytest.mark.django_db
def test_a_quarantined_file_is_emailed_at_once_even_on_a_busy_day(demo, settings):
    settings.NOTIFY_BATCH_MINUTES = 10
    submission = make_submission(demo)
    notify_new_submission.apply(args=[submission.pk])
    media_file = store_media_file(submission, state=MediaFile.State.QUARANTINED)

    notify_media_problem.apply(args=[media_file.pk])

    assert [message.subject for message in mail.outbox][1] == (
        f"A file in {submission.reference} ({demo.incident.reference}) is quarantined"
    )


@pytest.mark.django_db
def test_without_a_wait_every_submission_is_emailed_at_once(demo, settings):
    settings.NOTIFY_BATCH_MINUTES = 0
    for submission in [make_submission(demo) for _ in range(3)]:
        notify_new_submission.apply(args=[submission.pk])
    assert len(mail.outbox) == 3


@pytest.mark.django_db
def test_officers_of_other_teams_are_not_emailed(demo):
    notify_new_submission.apply(args=[make_submission(demo).pk])
    assert "daniel.okafor@example.org" not in [message.to[0] for message in mail.outbox]


@pytest.mark.django_db
def test_emails_never_queued_are_sent_by_the_sweep_exactly_once(demo, django_capture_on_commit_callbacks):
    # As with the broker down: the account is stored, and the tasks queued on commit never reach a worker.
    submission, token = create_submission(
        appeal=demo, submission=Submission(account="I heard three bangs.", contact_email="sam@example.org")
    )
    with django_capture_on_commit_callbacks(execute=True):
        sweep_unsent_notifications.apply()
    assert mail.outbox == [], "a moment after the request, its own tasks may still be on their way"

    Submission.objects.update(created_at=timezone.now() - timedelta(minutes=10))
    for _ in range(2):
        with django_capture_on_commit_callbacks(execute=True):
            sweep_unsent_notifications.apply()

    assert sorted(message.to[0] for message in mail.outbox) == ["gemma.alger@example.org", "sam@example.org"]
    [receipt] = [message for message in mail.outbox if message.to == ["sam@example.org"]]
    assert f"/footage/{token}/" in receipt.body
    submission.refresh_from_db()
    assert submission.officers_notified_at is not None
    assert submission.receipt_sent_at is not None
    assert submission.receipt_token == ""


@pytest.mark.django_db
def test_a_failed_send_stays_owed_until_the_sweep_sends_it(demo, settings, django_capture_on_commit_callbacks):
    submission = make_submission(demo, contact_email="sam@example.org", receipt_token=seal_upload_token("the-token"))
    settings.EMAIL_BACKEND = "tests.submissions.test_notifications.BrokenEmailBackend"
    notify_new_submission.apply(args=[submission.pk])
    notify_witness_receipt.apply(args=[submission.pk])
    submission.refresh_from_db()
    assert not Notification.objects.filter(sent_at__isnull=False).exists()
    assert submission.officers_notified_at is None
    assert submission.receipt_token, "the token is put back for the sweep"
    assert submission.receipt_sent_at is None

    settings.EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"
    Submission.objects.update(created_at=timezone.now() - timedelta(minutes=10))
    with django_capture_on_commit_callbacks(execute=True):
        sweep_unsent_notifications.apply()
    assert sorted(message.to[0] for message in mail.outbox) == ["gemma.alger@example.org", "sam@example.org"]
    [receipt] = [message for message in mail.outbox if message.to == ["sam@example.org"]]
    assert "/footage/the-token/" in receipt.body


def test_a_kept_upload_token_opens_after_the_secret_key_is_rotated(settings):
    sealed = seal_upload_token("the-token")
    settings.SECRET_KEY_FALLBACKS = [settings.SECRET_KEY]
    settings.SECRET_KEY = "a-new-secret-key-for-the-tests"
    assert unseal_upload_token(sealed) == "the-token"
    settings.SECRET_KEY_FALLBACKS = []
    with pytest.raises(InvalidToken):
        unseal_upload_token(sealed)


class BrokenEmailBackend:
    def __init__(self, *args, **kwargs):
        pass

    def send_messages(self, messages):
        raise OSError("SMTP server unreachable")


@pytest.mark.worker
def test_a_new_submission_notifies_the_officers_through_a_real_worker(celery_worker_on_redis, demo):
    create_submission(appeal=demo, submission=Submission(account="I heard three bangs.", is_anonymous=True))

    notification = wait_for(lambda: Notification.objects.filter(sent_at__isnull=False).first())
    assert notification.recipient.email == "gemma.alger@example.org"
    assert [message.to for message in mail.outbox] == [["gemma.alger@example.org"]]


@pytest.mark.django_db
def test_an_officer_who_chose_the_digest_gets_one_email_listing_each_event_once(demo):
    officer = demo.incident.officer_in_charge
    NotificationPreference.objects.create(officer=officer, delivery=NotificationPreference.Delivery.DAILY_DIGEST)
    first, second = make_submission(demo), make_submission(demo)
    for submission in (first, second, first):
        notify_new_submission.apply(args=[submission.pk])
    assert mail.outbox == []

    send_notification_digests.apply()
    send_notification_digests.apply()

    [digest] = mail.outbox
    assert digest.to == [officer.email]
    assert first.reference in digest.body and second.reference in digest.body
    assert digest.body.count(first.reference) == 1
    assert not Notification.objects.filter(sent_at__isnull=True).exists()


@pytest.mark.django_db
def test_officers_set_their_own_notification_preference_in_the_admin(client, demo):
    officer = demo.incident.officer_in_charge
    sign_in(client, officer)
    response = client.post("/admin/submissions/notificationpreference/add/", {"delivery": "daily_digest"})
    assert response.status_code == 302
    assert NotificationPreference.wants_digest(officer)
