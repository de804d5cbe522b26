"""A deep media queue or a filling disk: witnesses are told the truth, officers see the backlog and its age."""

import os
from datetime import timedelta
from unittest import mock

import pytest
from django.urls import reverse
from django.utils import timezone

from submissions.models import MediaFile
from tests.factories import make_submission
from tests.officers import make_triage_officer, sign_in, store_media_file

pytestmark = pytest.mark.django_db
TOKEN = "a-private-token-for-this-witness"
MESSAGE = "We have your account. Your files are safe with us and will be looked at, but it may take longer than usual."


@pytest.fixture
def submission(demo):
    submission = make_submission(demo, upload_token=TOKEN)
    return submission


def waiting_files(submission, count, waited=timedelta(0)):
    # Back-dated by the clock at receipt: the site's database role may not rewrite received_at.
    with mock.patch("django.utils.timezone.now", return_value=timezone.now() - waited):
        return [store_media_file(submission, os.urandom(64)) for _ in range(count)]


def test_the_backlog_counts_files_not_yet_processed_and_the_oldest(submission):
    waiting_files(submission, 1, waited=timedelta(minutes=40))
    processing, ready = waiting_files(submission, 2)
    MediaFile.objects.filter(pk=processing.pk).update(state=MediaFile.State.PROCESSING)
    MediaFile.objects.filter(pk=ready.pk).update(state=MediaFile.State.READY)
    backlog = MediaFile.objects.backlog()
    assert backlog.waiting == 2
    assert timedelta(minutes=39) < backlog.oldest_wait < timedelta(minutes=41)
    assert MediaFile.objects.filter(state=MediaFile.State.READY).backlog().waiting == 0


def test_a_short_queue_says_nothing_to_the_witness(client, submission, settings):
    settings.MEDIA_BACKLOG_WARN_FILES = 3
    waiting_files(submission, 2)
    assert not MediaFile.objects.backlog().is_busy()
    assert MESSAGE not in client.get(f"/footage/{TOKEN}/").text


def test_a_deep_queue_is_told_to_the_witness(client, submission, settings):
    settings.MEDIA_BACKLOG_WARN_FILES = 3
    waiting_files(submission, 3)
    assert MESSAGE in client.get(f"/footage/{TOKEN}/").text


def test_a_file_waiting_long_is_told_to_the_witness(client, submission, settings):
    settings.MEDIA_BACKLOG_WARN_MINUTES = 15
    waiting_files(submission, 1, waited=timedelta(minutes=14))
    assert MESSAGE not in client.get(f"/footage/{TOKEN}/").text
    waiting_files(submission, 1, waited=timedelta(minutes=16))
    assert MESSAGE in client.get(f"/footage/{TOKEN}/").text


def test_a_filling_disk_is_told_to_the_witness(client, submission, settings):
    settings.UPLOAD_MIN_FREE_BYTES = 2**62
    assert MediaFile.objects.backlog().disk_filling
    assert MESSAGE in client.get(f"/footage/{TOKEN}/").text


def test_the_officers_index_shows_the_backlog_and_its_age(client, submission, settings):
    settings.MEDIA_BACKLOG_WARN_FILES = 2
    sign_in(client, make_triage_officer("pc-index"))
    assert "None: every file received has been processed." in client.get(reverse("admin:index")).text
    waiting_files(submission, 1, waited=timedelta(hours=2, minutes=5))
    waiting_files(submission, 1)
    page = client.get(reverse("admin:index")).text
    assert "2 files waiting; the oldest was received 2\xa0hours, 5\xa0minutes ago." in page
    assert "Witnesses are told their files may take longer than usual" in page
