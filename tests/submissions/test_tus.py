"""The tus 1.0.0 upload endpoint, through the HTTP client: every status code it answers.

Every test runs twice: with evidence on local disk, and in object storage (a real S3 server). There the
tests are transactional, so that what a request queues after commit runs as it would in production.
"""

import base64
import fcntl
import hashlib
import io
import os
from datetime import timedelta
from pathlib import Path

import pytest
from django.utils import timezone
from PIL import Image

from submissions import tus
from submissions.models import MediaFile, Upload, evidence_store
from submissions.tasks import expire_uploads, store_whole_uploads
from tests.factories import make_submission

pytestmark = pytest.mark.django_db
TUS = {"Tus-Resumable": "1.0.0"}
OBJECT_STORAGE = "object storage"


@pytest.fixture(
    autouse=True,
    params=["local disk", pytest.param(OBJECT_STORAGE, marks=pytest.mark.django_db(transaction=True))],
)
def evidence_in(request):
    if request.param == OBJECT_STORAGE:
        request.getfixturevalue("object_storage")
    return request.param


def jpeg_bytes(width=320, height=240):
    """A photo of noise: every call gives a different file of tens of kilobytes."""
    image = Image.frombytes("RGB", (width, height), os.urandom(width * height * 3))
    buffer = io.BytesIO()
    image.save(buffer, "JPEG", quality=90)
    return buffer.getvalue()


def metadata(**values):
    return ",".join(f"{key} {base64.b64encode(value.encode()).decode()}" for key, value in values.items())


@pytest.fixture
def submission(demo):
    submission = make_submission(demo)
    submission.set_upload_token("a-token-of-plenty-of-randomness")
    submission.save(update_fields=["upload_token_hash"])
    return submission


@pytest.fixture
def auth():
    return {**TUS, "Authorization": "Bearer a-token-of-plenty-of-randomness"}


def create(client, auth, length, filename="clip.jpg", **headers):
    return client.post(
        "/uploads",
        headers={**auth, "Upload-Length": str(length), "Upload-Metadata": metadata(filename=filename), **headers},
    )


def patch(client, auth, location, offset, body, **headers):
    return client.generic(
        "PATCH",
        location,
        data=body,
        content_type="application/offset+octet-stream",
        headers={**auth, "Upload-Offset": str(offset), **headers},
    )


def upload_whole(client, auth, data, filename="clip.jpg", chunk=16 * 1024):
    location = create(client, auth, len(data), filename)["Location"]
    response = None
    for offset in range(0, len(data), chunk):
        response = patch(client, auth, location, offset, data[offset : offset + chunk])
        if response.status_code != 204:
            break
    return location, response


def test_options_describes_the_server_without_a_token(client):
    response = client.options("/uploads")
    assert response.status_code == 204
    assert response["Tus-Version"] == "1.0.0"
    assert set(response["Tus-Extension"].split(",")) == {"creation", "termination", "expiration", "checksum"}
    assert int(response["Tus-Max-Size"]) > 0
    assert "sha256" in response["Tus-Checksum-Algorithm"]


def test_a_file_sent_in_chunks_becomes_evidence_with_its_sha256(
    client, auth, submission, settings, django_capture_on_commit_callbacks, evidence_in
):
    data = jpeg_bytes(640, 480)
    created = create(client, auth, len(data), filename="../../etc/Door\u202egpj.exe\x00cam.jpg")
    assert created.status_code == 201
    assert created["Tus-Resumable"] == "1.0.0"
    assert "Upload-Expires" in created
    location = created["Location"]
    assert location.startswith("http://testserver/uploads/")

    head = client.head(location, headers=auth)
    assert head.status_code == 200
    assert (head["Upload-Offset"], head["Upload-Length"]) == ("0", str(len(data)))
    assert head["Cache-Control"] == "no-store"

    upload = Upload.objects.get()
    assert str(upload.partial_path.parent) == settings.UPLOAD_DIR
    with django_capture_on_commit_callbacks(execute=True):
        offset = 0
        while offset < len(data):
            response = patch(client, auth, location, offset, data[offset : offset + 50_000])
            assert response.status_code == 204, response.content
            offset = int(response["Upload-Offset"])

    media_file = MediaFile.objects.get()
    assert media_file.submission == submission
    assert media_file.sha256 == hashlib.sha256(data).hexdigest()
    assert media_file.size == len(data)
    assert media_file.content_type == "image/jpeg"
    assert media_file.original_filename == "Doorgpj.execam.jpg"
    # On disk it is named by its SHA-256; in object storage before that is known.
    name = media_file.sha256 if evidence_in != OBJECT_STORAGE else upload.pk.hex
    assert media_file.original.name == f"originals/{submission.reference}/{name}"
    assert media_file.original.read() == data
    # The processing task ran after commit.
    media_file.refresh_from_db()
    assert media_file.state == MediaFile.State.READY
    assert not upload.partial_path.exists()
    assert client.head(location, headers=auth)["Upload-Offset"] == str(len(data))


def test_a_file_sent_in_several_chunks_is_hashed_whole(client, auth, submission):
    data = jpeg_bytes()
    location = create(client, auth, len(data))["Location"]
    patch(client, auth, location, 0, data[:10_000])
    patch(client, auth, location, 10_000, data[10_000:20_000])
    assert patch(client, auth, location, 20_000, data[20_000:]).status_code == 204
    assert MediaFile.objects.get().sha256 == hashlib.sha256(data).hexdigest()


def test_a_wrong_offset_is_409_and_writes_nothing(client, auth, submission):
    data = jpeg_bytes()
    location = create(client, auth, len(data))["Location"]
    patch(client, auth, location, 0, data[:1000])
    response = patch(client, auth, location, 500, data[500:2000])
    assert response.status_code == 409
    assert response["Upload-Offset"] == "1000"
    upload = Upload.objects.get()
    assert upload.offset == 1000
    assert upload.partial_path.read_bytes() == data[:1000]


def test_a_bad_checksum_is_460_and_the_chunk_is_discarded(client, auth, submission):
    data = jpeg_bytes()
    location = create(client, auth, len(data))["Location"]
    good = "sha256 " + base64.b64encode(hashlib.sha256(data[:1000]).digest()).decode()
    bad = "sha256 " + base64.b64encode(hashlib.sha256(b"something else").digest()).decode()
    assert patch(client, auth, location, 0, data[:1000], **{"Upload-Checksum": good}).status_code == 204
    response = patch(client, auth, location, 1000, data[1000:], **{"Upload-Checksum": bad})
    assert response.status_code == 460
    upload = Upload.objects.get()
    assert upload.offset == 1000
    assert upload.partial_path.read_bytes() == data[:1000]

    whole = "sha256 " + base64.b64encode(hashlib.sha256(data[1000:]).digest()).decode()
    assert patch(client, auth, location, 1000, data[1000:], **{"Upload-Checksum": whole}).status_code == 204
    assert MediaFile.objects.get().sha256 == hashlib.sha256(data).hexdigest()


def test_an_unknown_checksum_algorithm_is_400(client, auth, submission):
    location = create(client, auth, 10)["Location"]
    response = patch(client, auth, location, 0, b"0123456789", **{"Upload-Checksum": "crc32 AAAAAA=="})
    assert response.status_code == 400
    assert Upload.objects.get().offset == 0


def test_too_large_is_413_before_the_body_is_read(client, auth, submission, settings):
    settings.UPLOAD_MAX_SIZE = 1000
    response = create(client, auth, 1001)
    assert response.status_code == 413
    assert "smaller than" in response.text
    location = create(client, auth, 1000)["Location"]
    assert patch(client, auth, location, 0, b"x" * 1001).status_code == 413
    settings.UPLOAD_MAX_CHUNK_SIZE = 100
    assert patch(client, auth, location, 0, b"x" * 101).status_code == 413
    assert Upload.objects.get().partial_path.stat().st_size == 0


def test_patches_to_one_upload_take_turns(client, auth, submission):
    data = jpeg_bytes()
    location = create(client, auth, len(data))["Location"]
    upload = Upload.objects.get()
    with open(upload.partial_path, "r+b") as held:
        # Another request is in the middle of writing this upload.
        fcntl.flock(held, fcntl.LOCK_EX)
        response = patch(client, auth, location, 0, data[:1000])
        assert response.status_code == 423
        assert client.delete(location, headers=auth).status_code == 423
    assert upload.partial_path.stat().st_size == 0
    assert patch(client, auth, location, 0, data[:1000]).status_code == 204


def test_termination_removes_the_bytes(client, auth, submission):
    data = jpeg_bytes()
    location = create(client, auth, len(data))["Location"]
    patch(client, auth, location, 0, data[:1000])
    partial = Upload.objects.get().partial_path
    assert client.delete(location, headers=auth).status_code == 204
    assert not partial.exists()
    assert client.head(location, headers=auth).status_code == 404


def test_a_received_file_cannot_be_terminated(client, auth, submission):
    location, _ = upload_whole(client, auth, jpeg_bytes())
    assert client.delete(location, headers=auth).status_code == 403
    assert MediaFile.objects.count() == 1


def test_abandoned_uploads_expire_and_their_bytes_are_removed(client, auth, submission):
    data = jpeg_bytes()
    location = create(client, auth, len(data))["Location"]
    patch(client, auth, location, 0, data[:1000])
    upload = Upload.objects.get()
    Upload.objects.update(expires_at=timezone.now() - timedelta(minutes=1))
    assert client.head(location, headers=auth).status_code == 410
    assert patch(client, auth, location, 1000, data[1000:2000]).status_code == 410

    with open(upload.partial_path, "r+b") as held:
        fcntl.flock(held, fcntl.LOCK_EX)
        expire_uploads()
        assert Upload.objects.exists(), "an upload being written to is left alone"
    expire_uploads()
    assert not Upload.objects.exists()
    assert not upload.partial_path.exists()


def test_a_patch_moves_the_expiry_on(client, auth, submission):
    location = create(client, auth, 10_000)["Location"]
    Upload.objects.update(expires_at=timezone.now() + timedelta(minutes=5))
    patch(client, auth, location, 0, b"x" * 100)
    assert Upload.objects.get().expires_at > timezone.now() + timedelta(hours=1)


def test_requests_need_the_tus_version_and_the_submission_token(client, auth, submission):
    assert (
        client.post("/uploads", headers={"Authorization": auth["Authorization"], "Upload-Length": "10"}).status_code
        == 412
    )
    response = client.post("/uploads", headers={**TUS, "Upload-Length": "10"})
    assert response.status_code == 401
    assert response["WWW-Authenticate"].startswith("Bearer")
    assert (
        client.post("/uploads", headers={**TUS, "Authorization": "Bearer wrong", "Upload-Length": "10"}).status_code
        == 401
    )
    assert client.post("/uploads", headers={**auth}).status_code == 400


@pytest.mark.parametrize("number", ["²", "¹0"])
def test_a_length_or_offset_in_digits_other_than_0_to_9_is_a_bad_header(client, auth, submission, number):
    assert client.post("/uploads", headers={**auth, "Upload-Length": number}).status_code == 400
    location = create(client, auth, 10)["Location"]
    response = client.generic(
        "PATCH",
        location,
        data=b"x",
        content_type="application/offset+octet-stream",
        headers={**auth, "Upload-Offset": number},
    )
    assert response.status_code == 400


def test_another_submission_cannot_touch_an_upload(client, auth, submission, demo):
    location = create(client, auth, 100)["Location"]
    other = make_submission(demo)
    other.set_upload_token("another-token-entirely")
    other.save(update_fields=["upload_token_hash"])
    other_auth = {**TUS, "Authorization": "Bearer another-token-entirely"}
    assert client.head(location, headers=other_auth).status_code == 404
    assert patch(client, other_auth, location, 0, b"x").status_code == 404


def test_browsers_on_other_sites_are_refused(client, auth, submission, settings):
    assert create(client, auth, 10, **{"Origin": "https://evil.example"}).status_code == 403
    assert create(client, auth, 10, **{"Origin": "http://testserver"}).status_code == 201
    settings.UPLOAD_ALLOWED_ORIGINS = ["https://app.force.example"]
    response = create(client, auth, 10, **{"Origin": "https://app.force.example"})
    assert response.status_code == 201
    assert response["Access-Control-Allow-Origin"] == "https://app.force.example"
    assert "Location" in response["Access-Control-Expose-Headers"]


def test_patch_needs_the_offset_content_type(client, auth, submission):
    location = create(client, auth, 10)["Location"]
    response = client.generic(
        "PATCH",
        location,
        data=b"0123456789",
        content_type="application/octet-stream",
        headers={**auth, "Upload-Offset": "0"},
    )
    assert response.status_code == 415


def test_method_override_lets_plain_posts_patch(client, auth, submission):
    data = jpeg_bytes()
    location = create(client, auth, len(data))["Location"]
    response = client.generic(
        "POST",
        location,
        data=data,
        content_type="application/offset+octet-stream",
        headers={**auth, "Upload-Offset": "0", "X-HTTP-Method-Override": "PATCH"},
    )
    assert response.status_code == 204
    assert MediaFile.objects.count() == 1


def test_an_empty_file_is_refused(client, auth, submission):
    response = create(client, auth, 0, filename="empty.mp4")
    assert response.status_code == 400
    assert "empty.mp4 is empty" in response.text


def test_too_many_files_are_refused(client, auth, submission, settings):
    settings.UPLOAD_MAX_FILES = 2
    upload_whole(client, auth, jpeg_bytes())
    assert create(client, auth, 100).status_code == 201
    response = create(client, auth, 100)
    assert response.status_code == 422
    assert "up to 2 files" in response.text


class TestOnLocalDiskOnly:
    """In object storage a file is hashed after its last PATCH has answered: see test_tus_object_storage.py."""

    @pytest.fixture(autouse=True)
    def evidence_in(self):
        return "local disk"

    def test_the_same_file_twice_is_refused_naming_the_one_already_sent(self, client, auth, submission, settings):
        data = jpeg_bytes()
        upload_whole(client, auth, data, filename="first.jpg")
        location, response = upload_whole(client, auth, data, filename="copy.jpg")
        assert response.status_code == 422
        assert response.text == "copy.jpg is the same file as first.jpg, which you have already sent."
        _location, response = upload_whole(client, auth, data, filename="first.jpg")
        assert response.text == "You have already sent first.jpg."
        assert MediaFile.objects.count() == 1
        assert client.head(location, headers=auth).status_code == 404
        assert os.listdir(settings.UPLOAD_DIR) == [], "the refused upload's bytes are gone"

    # A real kill at this point is in test_tus_kill.py; these simulate it to try what may be found after.
    def send_and_die_after_the_move(self, client, auth, data, monkeypatch):
        """The last PATCH moves the file into evidence storage, then dies before its media file is committed."""
        location = create(client, auth, len(data))["Location"]
        with monkeypatch.context() as patched, pytest.raises(OSError):
            patched.setattr(MediaFile, "save", dying_save)
            patch(client, auth, location, 0, data)
        upload = Upload.objects.get(pk=location.rsplit("/", 1)[-1])
        assert not upload.partial_path.exists() and upload.completed_at is None and not MediaFile.objects.exists()
        return location, Path(evidence_store().path(f"originals/{upload.submission.reference}/{upload.sha256}"))

    def test_a_file_whose_request_died_after_moving_it_is_recorded_by_the_retried_patch_once(
        self, client, auth, submission, monkeypatch
    ):
        data = jpeg_bytes()
        location, left = self.send_and_die_after_the_move(client, auth, data, monkeypatch)
        assert left.read_bytes() == data

        retried = patch(client, auth, location, 0, data)
        assert (retried.status_code, retried["Upload-Offset"]) == (409, str(len(data)))
        media_file = MediaFile.objects.get()
        assert (media_file.sha256, media_file.size) == (hashlib.sha256(data).hexdigest(), len(data))
        assert media_file.original.path == str(left) and media_file.original.read() == data
        assert Upload.objects.get().media_file == media_file
        store_whole_uploads()
        head = client.head(location, headers=auth)
        assert (head.status_code, head["Upload-Offset"]) == (200, str(len(data)))
        assert MediaFile.objects.count() == 1

    @pytest.mark.parametrize("change", ["a byte changed", "cut short"])
    def test_a_file_left_that_is_not_the_uploads_is_never_recorded(
        self, client, auth, submission, monkeypatch, caplog, change
    ):
        data = jpeg_bytes()
        location, left = self.send_and_die_after_the_move(client, auth, data, monkeypatch)
        changed = data[:-1] + bytes([data[-1] ^ 1]) if change == "a byte changed" else data[:-1]
        left.write_bytes(changed)

        assert client.head(location, headers=auth).status_code == 404
        store_whole_uploads()
        assert not MediaFile.objects.exists()
        assert left.read_bytes() == changed, "left as it was found"
        assert Upload.objects.get().completed_at is None
        assert "nor a file of its length and SHA-256 in evidence storage" in caplog.text

    def test_a_file_left_that_the_witness_has_sent_again_since_is_kept_once(
        self, client, auth, submission, monkeypatch
    ):
        data = jpeg_bytes()
        location, left = self.send_and_die_after_the_move(client, auth, data, monkeypatch)
        # Another device, with nothing to resume, sends the file again; the name is taken, so it gets another.
        _again, response = upload_whole(client, auth, data)
        assert response.status_code == 204
        kept = MediaFile.objects.get()
        assert kept.original.path != str(left)

        store_whole_uploads()
        assert not left.exists(), "the copy left behind is removed"
        assert list(MediaFile.objects.all()) == [kept] and kept.original.read() == data
        assert list(Upload.objects.all()) == [Upload.objects.get(media_file=kept)]
        assert client.head(location, headers=auth).status_code == 404


@pytest.mark.parametrize(
    ("filename", "data"),
    [
        ("player.exe", b"MZ\x90\x00\x03" + b"\x00" * 70_000),
        ("footage.zip", b"PK\x03\x04\x14\x00" + b"\x00" * 70_000),
        ("statement.pdf", b"%PDF-1.4\n" + b"0" * 70_000),
        ("run.sh", b"#!/bin/sh\necho hello\n"),
        ("disguised.mp4", b"MZ\x90\x00\x03" + b"\x00" * 100),
    ],
)
def test_programs_archives_and_documents_are_refused_offering_101(client, auth, submission, settings, filename, data):
    _location, response = upload_whole(client, auth, data, filename=filename, chunk=70_000)
    assert response.status_code == 422
    assert f"{filename} is not a video or photo" in response.text
    assert "call 101" in response.text
    assert not MediaFile.objects.exists()
    assert not Upload.objects.exists()
    assert os.listdir(settings.UPLOAD_DIR) == []


def test_a_nearly_full_disk_answers_503_with_retry_after(client, auth, submission, settings):
    data = jpeg_bytes()
    location = create(client, auth, len(data))["Location"]
    settings.UPLOAD_MIN_FREE_BYTES = 10**18
    response = create(client, auth, 100)
    assert response.status_code == 503
    assert response["Retry-After"].isdigit()
    response = patch(client, auth, location, 0, data)
    assert response.status_code == 503
    assert Upload.objects.get().partial_path.stat().st_size == 0


def test_a_whole_upload_whose_storing_was_cut_off_is_stored_on_the_next_head(client, auth, submission, monkeypatch):
    data = jpeg_bytes()
    location = create(client, auth, len(data))["Location"]

    # Not monkeypatch.undo(): that would also undo where evidence is stored.
    with monkeypatch.context() as patched, pytest.raises(OSError):
        patched.setattr(tus, "complete_upload", crash_storing)
        patch(client, auth, location, 0, data)

    head = client.head(location, headers=auth)
    assert head.status_code == 200
    assert head["Upload-Offset"] == str(len(data))
    assert MediaFile.objects.get().sha256 == hashlib.sha256(data).hexdigest()


def test_a_whole_upload_whose_request_died_is_stored_by_the_sweep_and_never_expired(
    client, auth, submission, monkeypatch
):
    data = jpeg_bytes()
    location = create(client, auth, len(data))["Location"]
    with monkeypatch.context() as patched, pytest.raises(OSError):
        patched.setattr(tus, "complete_upload", crash_storing)
        patch(client, auth, location, 0, data)
    # The witness never comes back, and the expiry time passes.
    Upload.objects.update(expires_at=timezone.now() - timedelta(days=1))
    upload = Upload.objects.get()

    expire_uploads()
    assert upload.partial_path.read_bytes() == data, "the expiry leaves a whole upload alone"
    with open(upload.partial_path, "r+b") as held:
        fcntl.flock(held, fcntl.LOCK_EX)
        store_whole_uploads()
        assert not MediaFile.objects.exists(), "an upload a request is storing is left to that request"
    store_whole_uploads()

    media_file = MediaFile.objects.get()
    assert media_file.sha256 == hashlib.sha256(data).hexdigest()
    assert media_file.original.read() == data
    assert media_file.content_type == "image/jpeg"
    upload.refresh_from_db()
    assert upload.media_file == media_file
    assert not upload.partial_path.exists()
    head = client.head(location, headers=auth)
    assert (head.status_code, head["Upload-Offset"]) == (200, str(len(data)))


def test_a_whole_upload_missing_bytes_on_disk_is_not_stored_and_can_expire(client, auth, submission, monkeypatch):
    data = jpeg_bytes()
    location = create(client, auth, len(data))["Location"]
    with monkeypatch.context() as patched, pytest.raises(OSError):
        patched.setattr(tus, "complete_upload", crash_storing)
        patch(client, auth, location, 0, data)
    upload = Upload.objects.get()
    with open(upload.partial_path, "r+b") as partial:
        partial.truncate(12_000)

    store_whole_uploads()
    assert not MediaFile.objects.exists()
    assert Upload.objects.get().offset == 12_000
    Upload.objects.update(expires_at=timezone.now() - timedelta(days=1))
    expire_uploads()
    assert not Upload.objects.exists()


def crash_storing(**kwargs):
    raise OSError("the worker died here")


def dying_save(self, *args, **kwargs):
    raise OSError("the worker died here")


def test_bytes_a_crash_took_from_the_disk_are_asked_for_again(client, auth, submission):
    data = jpeg_bytes()
    location = create(client, auth, len(data))["Location"]
    patch(client, auth, location, 0, data[:20_000])
    upload = Upload.objects.get()
    # Recorded as received, but only 12,000 bytes reached the disk before the machine went down.
    with open(upload.partial_path, "r+b") as partial:
        partial.truncate(12_000)

    assert client.head(location, headers=auth)["Upload-Offset"] == "12000"
    response = patch(client, auth, location, 20_000, data[20_000:])
    assert response.status_code == 409
    assert response["Upload-Offset"] == "12000"
    assert patch(client, auth, location, 12_000, data[12_000:]).status_code == 204
    assert MediaFile.objects.get().sha256 == hashlib.sha256(data).hexdigest()
