"""The private "add more footage" page and its upload without JavaScript."""

import hashlib
import io
import os

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from PIL import Image

from submissions.models import MediaFile
from tests.factories import make_submission

pytestmark = pytest.mark.django_db
TOKEN = "a-private-token-for-this-witness"


@pytest.fixture
def submission(demo):
    submission = make_submission(demo, upload_token=TOKEN)
    return submission


def photo(name="photo.jpg"):
    image = Image.frombytes("RGB", (64, 64), os.urandom(64 * 64 * 3))
    buffer = io.BytesIO()
    image.save(buffer, "JPEG")
    return SimpleUploadedFile(name, buffer.getvalue(), content_type="image/jpeg")


def test_the_link_opens_the_page_for_that_submission_only(client, submission):
    response = client.get(f"/footage/{TOKEN}/")
    assert response.status_code == 200
    assert submission.reference in response.text
    assert submission.account not in response.text
    assert response["Cache-Control"] == "no-store"
    # Other sites never see the address; this site's own form still gets a real Origin, not "null".
    assert response["Referrer-Policy"] == "same-origin"
    assert client.get("/footage/not-the-token/").status_code == 404


def test_the_link_opened_elsewhere_is_not_a_receipt_and_shows_no_contact_details(client, demo):
    make_submission(demo, contact_email="sam@example.org", upload_token=TOKEN)
    page = client.get(f"/footage/{TOKEN}/").text
    assert "Add footage or photos</h1>" in page
    assert "Information sent" not in page
    assert "sam@example.org" not in page
    assert f"http://testserver/footage/{TOKEN}/" in page
    assert 'data-module="app-copy-link"' in page


def test_files_upload_without_javascript(client, submission, django_capture_on_commit_callbacks):
    first, second = photo("one.jpg"), photo("two.jpg")
    expected = {hashlib.sha256(first.read()).hexdigest(), hashlib.sha256(second.read()).hexdigest()}
    first.seek(0)
    second.seek(0)
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(f"/footage/{TOKEN}/upload/", {"files": [first, second]})
    assert response.status_code == 302
    assert {media_file.sha256 for media_file in MediaFile.objects.all()} == expected
    page = client.get(response["Location"])
    assert "2 files received" in page.text
    assert "one.jpg" in page.text


def test_the_plain_upload_refuses_bad_files_with_the_error_summary(client, submission):
    document = SimpleUploadedFile("statement.pdf", b"%PDF-1.4\n" + b"0" * 1000)
    response = client.post(f"/footage/{TOKEN}/upload/", {"files": [document]})
    assert response.status_code == 400
    assert "There is a problem" in response.text
    assert "We have not kept this file:" in response.text
    assert "statement.pdf is not a video or photo" in response.text
    assert not MediaFile.objects.exists()


def test_the_plain_upload_says_which_files_were_kept_beside_those_refused(client, submission):
    document = SimpleUploadedFile("statement.pdf", b"%PDF-1.4\n" + b"0" * 1000)
    response = client.post(f"/footage/{TOKEN}/upload/", {"files": [photo("kept.jpg"), document]})
    assert response.status_code == 400
    assert "1 file received. We have not kept this file:" in response.text
    assert "kept.jpg" in response.text, "listed with the files received"
    assert MediaFile.objects.get().original_filename == "kept.jpg"

    response = client.post(f"/footage/{TOKEN}/upload/", {})
    assert "Select a video or photo to upload" in response.text


def test_the_plain_upload_refuses_more_than_its_limit_before_reading(client, submission, settings):
    settings.UPLOAD_NOJS_MAX_SIZE = 1000
    response = client.post(f"/footage/{TOKEN}/upload/", {"files": [photo()]})
    assert response.status_code == 413
    assert "turn on JavaScript" in response.text


def test_the_plain_upload_needs_the_csrf_token(submission):
    from django.test import Client

    response = Client(enforce_csrf_checks=True).post(f"/footage/{TOKEN}/upload/", {"files": [photo()]})
    assert response.status_code == 403
    assert not MediaFile.objects.exists()
