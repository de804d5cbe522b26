"""The private "add more footage" link ends a set time after the appeal closes, or when an officer turns it off."""

from datetime import timedelta

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse
from django.utils import timezone

from appeals.models import Appeal
from evidence.models import AuditEntry
from evidence.triage import TriageError, revoke_footage_link
from submissions.models import FootageLinkEnded, MediaFile, Submission, Upload
from tests.factories import make_submission
from tests.officers import sign_in, team_with_submission
from tests.submissions.test_tus import jpeg_bytes

pytestmark = pytest.mark.django_db
TOKEN = "a-private-token-that-ends"
TUS = {"Tus-Resumable": "1.0.0", "Authorization": f"Bearer {TOKEN}"}


@pytest.fixture(autouse=True)
def two_days(settings):
    settings.FOOTAGE_LINK_DAYS_AFTER_CLOSING = 2


@pytest.fixture
def submission(demo):
    submission = make_submission(demo, upload_token=TOKEN)
    return submission


def close_appeal(appeal, days_ago):
    Appeal.objects.filter(pk=appeal.pk).update(
        status=Appeal.Status.CLOSED, closed_at=timezone.now() - timedelta(days=days_ago)
    )


def end_link(submission):
    close_appeal(submission.appeal, days_ago=3)


def reloaded(submission):
    return Submission.objects.select_related("appeal").get(pk=submission.pk)


def test_the_link_takes_files_while_the_appeal_is_open_and_for_the_set_time_after_it_closes(submission):
    assert reloaded(submission).accepts_footage()
    assert reloaded(submission).footage_link_open_until() is None

    close_appeal(submission.appeal, days_ago=1)
    submission = reloaded(submission)
    assert submission.footage_link_open_until() == submission.appeal.closed_at + timedelta(days=2)
    assert submission.accepts_footage()

    close_appeal(submission.appeal, days_ago=3)
    assert not reloaded(submission).accepts_footage()
    with pytest.raises(FootageLinkEnded):
        Submission.objects.for_footage_link(TOKEN)


def test_a_reopened_appeal_opens_the_link_again_unless_it_was_turned_off(submission, demo):
    end_link(submission)
    Appeal.objects.get(pk=demo.pk).publish()
    assert Submission.objects.for_footage_link(TOKEN) == submission

    submission.footage_link_revoked_at = timezone.now()
    submission.save(update_fields=["footage_link_revoked_at"])
    assert not reloaded(submission).accepts_footage()


def test_the_ended_page_says_so_with_other_ways_to_tell_us(client, submission):
    end_link(submission)
    response = client.get(f"/footage/{TOKEN}/")
    assert response.status_code == 410
    page = response.text
    assert "This link has ended</h1>" in page
    assert submission.reference in page
    assert 'href="tel:101"' in page
    assert "Crimestoppers" in page
    assert 'name="files"' not in page
    assert response["Cache-Control"] == "no-store"
    assert client.get("/footage/not-the-token/").status_code == 404


def test_the_open_page_of_a_closed_appeal_says_until_when(client, submission):
    close_appeal(submission.appeal, days_ago=1)
    response = client.get(f"/footage/{TOKEN}/")
    assert response.status_code == 200
    assert "The appeal has closed: this link takes files until" in response.text


def test_the_form_without_javascript_is_refused_and_keeps_nothing(client, submission):
    end_link(submission)
    photo = SimpleUploadedFile("late.jpg", jpeg_bytes(), content_type="image/jpeg")
    response = client.post(f"/footage/{TOKEN}/upload/", {"files": [photo]})
    assert response.status_code == 410
    assert "This link has ended</h1>" in response.text
    assert not MediaFile.objects.exists()


def test_tus_refuses_to_create_an_upload(client, submission):
    end_link(submission)
    response = client.post("/uploads", headers={**TUS, "Upload-Length": "100"})
    assert response.status_code == 410
    assert "no longer takes files" in response.text
    assert "101" in response.text
    assert not Upload.objects.exists()


def test_tus_refuses_to_carry_on_an_upload_started_before_the_link_ended(client, submission):
    data = jpeg_bytes()
    location = client.post("/uploads", headers={**TUS, "Upload-Length": str(len(data))})["Location"]
    half = len(data) // 2
    first = client.generic(
        "PATCH",
        location,
        data[:half],
        content_type="application/offset+octet-stream",
        headers={**TUS, "Upload-Offset": "0"},
    )
    assert first.status_code == 204

    end_link(submission)
    head = client.head(location, headers=TUS)
    assert head.status_code == 410
    rest = client.generic(
        "PATCH",
        location,
        data[half:],
        content_type="application/offset+octet-stream",
        headers={**TUS, "Upload-Offset": str(half)},
    )
    assert rest.status_code == 410
    assert "no longer takes files" in rest.text
    assert Upload.objects.get().offset == half
    assert not MediaFile.objects.exists()


def test_an_officer_turns_the_link_off_with_a_reason_audited(client):
    north = team_with_submission("North team", "101")
    north.submission.set_upload_token(TOKEN)
    north.submission.save(update_fields=["upload_token_hash"])
    sign_in(client, north.officer)
    url = reverse("admin:submissions_submission_changelist")
    selected = {"_selected_action": [north.submission.pk]}

    asked = client.post(url, {"action": "revoke_footage_link", "index": "0", **selected})
    assert "Why turn the witness&#x27;s footage link off?" in asked.text
    client.post(url, {"action": "revoke_footage_link", "reason": "Witness sent abusive files", **selected})

    entry = AuditEntry.objects.get(action=AuditEntry.Action.REVOKED_FOOTAGE_LINK)
    assert (entry.actor, entry.submission, entry.reason) == (
        north.officer,
        north.submission,
        "Witness sent abusive files",
    )
    assert not reloaded(north.submission).accepts_footage()
    assert "Turned off on" in client.get(north.submission.get_admin_url()).text

    client.logout()
    response = client.get(f"/footage/{TOKEN}/")
    assert response.status_code == 410
    assert "This link has been turned off</h1>" in response.text
    assert client.post("/uploads", headers={**TUS, "Upload-Length": "100"}).status_code == 410


def test_turning_off_needs_a_reason_and_happens_once(submission, django_user_model):
    officer = django_user_model.objects.create_user("officer")
    with pytest.raises(TriageError, match="Give a reason"):
        revoke_footage_link(submission=submission, by=officer, reason="  ")
    assert revoke_footage_link(submission=submission, by=officer, reason="Asked by the witness")
    assert not revoke_footage_link(submission=submission, by=officer, reason="Again")
    assert AuditEntry.objects.filter(action=AuditEntry.Action.REVOKED_FOOTAGE_LINK).count() == 1
