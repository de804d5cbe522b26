"""What the browser is told about each evidence file: its name, shown or saved, and never run as a page."""

import pytest
from django.urls import reverse

from evidence.responses import content_disposition
from evidence.services import request_export
from submissions.models import Derivative
from tests.officers import add_derivative, sign_in

pytestmark = pytest.mark.django_db


def test_a_contact_sheet_opens_in_the_browser_named_after_the_witness_file(client, north):
    sheet = add_derivative(north.media_file, Derivative.Kind.CONTACT_SHEET, b"jpeg bytes")
    sign_in(client, north.officer)
    response = client.get(reverse("admin:evidence_derivative", args=[sheet.pk]))
    assert response.status_code == 200
    assert response["Content-Disposition"] == (
        "inline; filename=\"DASH0001 contact sheet.jpg\"; filename*=UTF-8''DASH0001%20contact%20sheet.jpg"
    )
    assert response["Content-Security-Policy"] == "sandbox"
    assert response["Content-Type"] == "image/jpeg"


@pytest.mark.parametrize("prefix", ["", "/protected-evidence/"])
def test_the_player_gets_the_proxy_inline_and_sandboxed(client, north, settings, prefix):
    settings.EVIDENCE_ACCEL_REDIRECT_PREFIX = prefix
    sign_in(client, north.officer)
    response = client.get(reverse("admin:evidence_derivative", args=[north.proxy.pk]), headers={"range": "bytes=0-9"})
    assert response["Content-Disposition"].startswith('inline; filename="DASH0001 web-playable proxy.mp4"')
    assert response["Content-Security-Policy"] == "sandbox"
    assert "no-store" in response["Cache-Control"]


def test_an_original_and_an_export_are_downloads_and_sandboxed(client, north, django_capture_on_commit_callbacks):
    sign_in(client, north.officer)
    original = client.post(reverse("admin:evidence_original", args=[north.media_file.pk]), {"reason": "For the CPS"})
    assert original["Content-Disposition"].startswith("attachment; ")
    assert original["Content-Security-Policy"] == "sandbox"
    with django_capture_on_commit_callbacks(execute=True):
        export = request_export(submission=north.submission, by=north.officer)
    download = client.get(reverse("admin:evidence_export_download", args=[export.pk]))
    assert download["Content-Disposition"].startswith("attachment; ")
    assert download["Content-Security-Policy"] == "sandbox"


@pytest.mark.parametrize(
    ("witness_name", "header"),
    [
        ("Café 18:03.mov", "inline; filename=\"Cafe 1803.mov\"; filename*=UTF-8''Caf%C3%A9%201803.mov"),
        ('../../etc/"passwd"\r\n.mp4', "inline; filename=\"passwd.mp4\"; filename*=UTF-8''passwd.mp4"),
        ("C:\\Users\\dvr\\export.264", "inline; filename=\"export.264\"; filename*=UTF-8''export.264"),
        ("行车.mp4", "inline; filename=\"evidence.mp4\"; filename*=UTF-8''%E8%A1%8C%E8%BD%A6.mp4"),
        ("", "inline; filename=\"evidence\"; filename*=UTF-8''evidence"),
    ],
)
def test_a_witness_filename_becomes_a_safe_header(witness_name, header):
    assert content_disposition("inline", witness_name) == header
