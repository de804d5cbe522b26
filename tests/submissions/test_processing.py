import hashlib

import pytest
from django.core.files.base import ContentFile

from submissions.models import MediaFile
from submissions.tasks import process_media_file
from tests.factories import make_appeal, make_submission


def store_media_file(submission, content=b"dashcam bytes", recorded_sha256=None):
    media_file = MediaFile(
        submission=submission,
        original_filename="DASH0001.MP4",
        size=len(content),
        sha256=recorded_sha256 or hashlib.sha256(content).hexdigest(),
    )
    media_file.original.save("ignored-name", ContentFile(content), save=False)
    media_file.save()
    return media_file


@pytest.mark.django_db
def test_a_file_whose_bytes_match_the_record_is_verified():
    media_file = store_media_file(make_submission(make_appeal()))
    process_media_file.apply(args=[media_file.pk])
    media_file.refresh_from_db()
    assert media_file.state != MediaFile.State.FAILED
    assert media_file.original.name == f"originals/{media_file.submission.reference}/{media_file.sha256}"


@pytest.mark.django_db
def test_a_file_that_changed_after_arrival_fails_with_a_reason():
    media_file = store_media_file(make_submission(make_appeal()), recorded_sha256="0" * 64)
    process_media_file.apply(args=[media_file.pk])
    media_file.refresh_from_db()
    assert media_file.state == MediaFile.State.FAILED
    assert "does not match" in media_file.state_reason
