import pytest
from celery.exceptions import Retry
from django.core import mail

from submissions.models import Notification, Submission
from submissions.services import create_submission
from submissions.tasks import notify_new_submission
from tests.factories import make_officer, make_submission, wait_for


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
