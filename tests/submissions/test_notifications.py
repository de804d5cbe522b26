from datetime import timedelta

import pytest
from cryptography.fernet import InvalidToken
from django.core import mail
from django.utils import timezone

from submissions.models import Notification, NotificationPreference, Submission
from submissions.notifications import (
    notify_new_submission,
    notify_witness_receipt,
    send_notification_digests,
    sweep_unsent_notifications,
)
from submissions.references import seal_upload_token, unseal_upload_token
from submissions.services import create_submission
from tests.factories import make_officer, make_submission
from tests.officers import sign_in
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
