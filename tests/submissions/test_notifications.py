import pytest
from celery.exceptions import Retry
from django.core import mail

from submissions.models import Notification, NotificationPreference, Submission
from submissions.services import create_submission
from submissions.tasks import notify_new_submission, send_notification_digests
from tests.factories import make_officer, make_submission, wait_for
from tests.officers import sign_in


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
def test_a_failed_send_is_released_for_the_retry(demo, settings):
    settings.EMAIL_BACKEND = "tests.submissions.test_notifications.BrokenEmailBackend"
    submission = make_submission(demo)
    with pytest.raises(Retry):  # autoretry_for=OSError turns the failure into a retry
        notify_new_submission.apply(args=[submission.pk], throw=True)
    assert not Notification.objects.filter(sent_at__isnull=False).exists()


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
