"""tus uploads into object storage (a real S3 server, SeaweedFS): parts go to the bucket as the chunks arrive,
the last PATCH only joins them, and the SHA-256 is taken from the stored object after the answer.

The rest of the protocol runs against object storage too, in test_tus.py.
"""

import base64
import fcntl
import hashlib
import io
import os
from datetime import timedelta

import pytest
from botocore.exceptions import EndpointConnectionError
from django.utils import timezone
from PIL import Image

from evidence.retention import approve_disposal
from evidence.triage import change_state
from submissions import models
from submissions.models import MediaFile, Submission, Upload
from submissions.storage import PART_SIZE, part_size, part_sizes
from submissions.tasks import expire_uploads, store_whole_uploads
from tests.factories import make_submission
from tests.officers import make_triage_officer

pytestmark = pytest.mark.django_db
MiB = 1024 * 1024
TOKEN = "object-storage-uploads-token-with-plenty-of-randomness"
AUTH = {"Tus-Resumable": "1.0.0", "Authorization": f"Bearer {TOKEN}"}


@pytest.fixture
def submission(demo, object_storage):
    return make_submission(demo, upload_token=TOKEN)


def footage(size):
    """A photo followed by random bytes up to `size`: image readers stop at its end, so it processes quickly."""
    buffer = io.BytesIO()
    Image.new("RGB", (64, 48), "green").save(buffer, "JPEG")
    photo = buffer.getvalue()
    return photo + os.urandom(size - len(photo))


def create(client, length, filename="DASH0001.JPG"):
    name = base64.b64encode(filename.encode()).decode()
    response = client.post(
        "/uploads", headers={**AUTH, "Upload-Length": str(length), "Upload-Metadata": f"filename {name}"}
    )
    assert response.status_code == 201
    return response["Location"]


def patch(client, location, offset, body):
    return client.generic(
        "PATCH",
        location,
        data=body,
        content_type="application/offset+octet-stream",
        headers={**AUTH, "Upload-Offset": str(offset)},
    )


def send_all_but_last(client, data, chunk):
    """PATCH every chunk but the last; returns the upload's location and the last chunk's offset."""
    location = create(client, len(data))
    last = (len(data) - 1) // chunk * chunk
    for offset in range(0, last, chunk):
        assert patch(client, location, offset, data[offset : offset + chunk]).status_code == 204
    return location, last


class S3Calls(list):
    """Every request boto3 makes to the bucket, as (operation, bytes of body sent)."""

    def __call__(self, params, model, **kwargs):
        body = params.get("Body")  # by now botocore has made bytes a BytesIO
        self.append((model.name, body.getbuffer().nbytes if isinstance(body, io.BytesIO) else 0))

    def operations(self):
        return [operation for operation, _size in self]

    def bytes_sent(self):
        return sum(size for _operation, size in self)


@pytest.fixture
def s3_calls(object_storage):
    calls = S3Calls()
    events = object_storage.connection.meta.client.meta.events
    events.register("before-parameter-build.s3", calls)
    yield calls
    events.unregister("before-parameter-build.s3", calls)


def multipart_uploads(bucket, seaweedfs):
    return bucket.list_multipart_uploads(Bucket=seaweedfs.bucket).get("Uploads", [])


def object_bytes(bucket, seaweedfs, media_file):
    return bucket.get_object(Bucket=seaweedfs.bucket, Key=f"evidence/{media_file.original.name}")["Body"].read()


@pytest.mark.parametrize("chunks", [10, 18])
def test_the_last_patch_sends_at_most_a_part_and_a_chunk_and_joins_what_is_in_the_bucket(
    client, submission, bucket, seaweedfs, s3_calls, django_capture_on_commit_callbacks, chunks
):
    chunk = 5 * MiB  # not a multiple of the part size, so parts straddle PATCHes
    data = footage(chunks * chunk)
    location, last = send_all_but_last(client, data, chunk)
    assert s3_calls.bytes_sent() == last // PART_SIZE * PART_SIZE, "every whole part went as its bytes arrived"
    s3_calls.clear()

    with django_capture_on_commit_callbacks() as queued:
        response = patch(client, location, last, data[last:])

    assert response.status_code == 204
    assert response["Upload-Offset"] == str(len(data))
    # The same work for 50 MiB as for 90 MiB: the part the last chunk ends, the last part, a listing, the join.
    assert s3_calls.operations() == ["UploadPart", "UploadPart", "ListParts", "CompleteMultipartUpload"]
    assert s3_calls.bytes_sent() == len(data) - last // PART_SIZE * PART_SIZE == 10 * MiB
    assert s3_calls.bytes_sent() <= PART_SIZE + chunk
    assert not MediaFile.objects.exists(), "the answer does not wait for the SHA-256"
    upload = Upload.objects.get()
    assert upload in Upload.objects.awaiting_hash()
    assert upload.partial_path.exists(), "removing it is left to the task too"
    stored = bucket.get_object(Bucket=seaweedfs.bucket, Key=f"evidence/{upload.stored_name}")["Body"].read()
    assert stored == data

    s3_calls.clear()
    with django_capture_on_commit_callbacks(execute=True):
        for queued_task in queued:
            queued_task()
    media_file = MediaFile.objects.get()
    assert s3_calls.operations().count("GetObject") == 2, "read once to hash it, once by the worker to process it"
    assert media_file.sha256 == hashlib.sha256(data).hexdigest()
    assert (media_file.size, media_file.original.name) == (len(data), upload.stored_name)
    assert media_file.state == MediaFile.State.READY, media_file.state_reason
    upload.refresh_from_db()
    assert upload.media_file == media_file
    assert not upload.partial_path.exists()
    assert multipart_uploads(bucket, seaweedfs) == []


def test_a_file_whose_hashing_died_after_the_answer_is_recorded_by_the_sweep_and_processed(
    client, submission, bucket, seaweedfs, django_capture_on_commit_callbacks
):
    data = footage(2 * PART_SIZE + MiB)
    location, last = send_all_but_last(client, data, 8 * MiB)
    with django_capture_on_commit_callbacks():  # what the answer queued is lost: the machine died
        assert patch(client, location, last, data[last:]).status_code == 204
    upload = Upload.objects.get()

    # Received, and said so everywhere, though not yet hashed.
    head = client.head(location, headers=AUTH)
    assert (head.status_code, head["Upload-Offset"]) == (200, str(len(data)))
    assert client.delete(location, headers=AUTH).status_code == 403
    page = client.get(f"/footage/{TOKEN}/")
    assert "DASH0001.JPG (" in page.text
    assert "Files we have received" in page.text
    Upload.objects.update(expires_at=timezone.now() - timedelta(days=30))
    expire_uploads()
    assert Upload.objects.filter(pk=upload.pk).exists(), "a received file never expires"

    store_whole_uploads()
    assert not MediaFile.objects.exists(), "the sweep leaves the queued task its time"
    Upload.objects.update(completed_at=timezone.now() - timedelta(hours=1))
    with django_capture_on_commit_callbacks(execute=True):
        store_whole_uploads()

    media_file = MediaFile.objects.get()
    assert media_file.sha256 == hashlib.sha256(data).hexdigest()
    assert object_bytes(bucket, seaweedfs, media_file) == data
    assert media_file.state == MediaFile.State.READY, media_file.state_reason
    assert not upload.partial_path.exists()
    assert "DASH0001.JPG (" in client.get(f"/footage/{TOKEN}/").text
    store_whole_uploads()
    assert MediaFile.objects.count() == 1, "a second sweep finds it recorded"


def test_a_join_whose_request_died_before_recording_it_is_finished_by_the_sweep(
    client, submission, bucket, seaweedfs, django_capture_on_commit_callbacks, monkeypatch
):
    data = footage(PART_SIZE + MiB)
    location, last = send_all_but_last(client, data, 8 * MiB)
    store_parts = Upload.store_parts

    def join_then_die(upload, partial):
        store_parts(upload, partial)
        raise OSError("the machine died here")

    # Not monkeypatch.undo(): that would also undo where evidence is stored.
    with monkeypatch.context() as patched, pytest.raises(OSError):
        patched.setattr(Upload, "store_parts", join_then_die)
        patch(client, location, last, data[last:])
    assert Upload.objects.whole_but_unstored().exists()

    with django_capture_on_commit_callbacks(execute=True):
        store_whole_uploads()
    media_file = MediaFile.objects.get()
    assert media_file.sha256 == hashlib.sha256(data).hexdigest()
    assert object_bytes(bucket, seaweedfs, media_file) == data


def test_parts_the_bucket_lacks_are_sent_when_the_file_is_joined(
    client, submission, bucket, seaweedfs, django_capture_on_commit_callbacks, monkeypatch
):
    # For instance an upload begun before the site stored parts as they arrived.
    data = footage(2 * PART_SIZE + MiB)
    with monkeypatch.context() as patched:
        patched.setattr(Upload, "send_parts", lambda upload, partial, start: None)
        location, last = send_all_but_last(client, data, 8 * MiB)
    with django_capture_on_commit_callbacks(execute=True):
        assert patch(client, location, last, data[last:]).status_code == 204
    assert object_bytes(bucket, seaweedfs, MediaFile.objects.get()) == data


def test_the_same_file_twice_is_kept_once(client, submission, bucket, seaweedfs, django_capture_on_commit_callbacks):
    data = footage(PART_SIZE + MiB)
    for filename in ("first.jpg", "copy.jpg"):
        location = create(client, len(data), filename)
        with django_capture_on_commit_callbacks(execute=True):
            assert patch(client, location, 0, data).status_code == 204

    media_file = MediaFile.objects.get()
    assert media_file.original_filename == "first.jpg"
    assert not Upload.objects.awaiting_hash().exists()
    keys = [item["Key"] for item in bucket.list_objects_v2(Bucket=seaweedfs.bucket).get("Contents", [])]
    originals = [key for key in keys if key.startswith("evidence/originals/")]
    assert originals == [f"evidence/{media_file.original.name}"], "the copy is removed"
    assert client.head(location, headers=AUTH).status_code == 404


def test_an_upload_given_up_leaves_no_part_in_the_bucket(client, submission, bucket, seaweedfs):
    data = footage(3 * PART_SIZE)
    terminated = create(client, len(data))
    expired = create(client, len(data))
    for location in (terminated, expired):
        assert patch(client, location, 0, data[: PART_SIZE + MiB]).status_code == 204
    assert len(multipart_uploads(bucket, seaweedfs)) == 2

    assert client.delete(terminated, headers=AUTH).status_code == 204
    Upload.objects.update(expires_at=timezone.now() - timedelta(minutes=1))
    expire_uploads()
    assert not Upload.objects.exists()
    assert multipart_uploads(bucket, seaweedfs) == []


def test_a_refused_file_sends_nothing_to_the_bucket(client, submission, bucket, seaweedfs, s3_calls):
    program = b"MZ\x90\x00\x03" + b"\x00" * (PART_SIZE + MiB)
    location = create(client, len(program), "player.exe")
    assert patch(client, location, 0, program).status_code == 422
    assert "UploadPart" not in s3_calls.operations()
    assert multipart_uploads(bucket, seaweedfs) == []


def test_with_the_bucket_unreachable_a_patch_answers_503_and_keeps_nothing(client, submission, monkeypatch):
    data = footage(2 * PART_SIZE)
    location = create(client, len(data))

    def unreachable(*args):
        raise EndpointConnectionError(endpoint_url="http://bucket.invalid")

    with monkeypatch.context() as patched:
        patched.setattr(models, "send_part", unreachable)
        response = patch(client, location, 0, data[: PART_SIZE + MiB])
    assert response.status_code == 503
    assert response["Retry-After"].isdigit()
    upload = Upload.objects.get()
    assert (upload.offset, upload.partial_path.stat().st_size) == (0, 0)

    assert patch(client, location, 0, data[: PART_SIZE + MiB]).status_code == 204
    assert Upload.objects.get().offset == PART_SIZE + MiB


def test_disposal_removes_a_file_received_but_not_yet_hashed(
    client, submission, bucket, seaweedfs, django_capture_on_commit_callbacks
):
    data = footage(PART_SIZE + MiB)
    location = create(client, len(data))
    half = PART_SIZE // 2
    assert patch(client, location, 0, data[:half]).status_code == 204
    with django_capture_on_commit_callbacks():
        assert patch(client, location, half, data[half:]).status_code == 204
    other = create(client, len(data) + 1)
    assert patch(client, other, 0, data[: PART_SIZE + 1]).status_code == 204
    officer = submission.appeal.incident.officer_in_charge
    change_state(submission=submission, to=Submission.State.NO_FURTHER_ACTION, by=officer, reason="Nothing in view")

    with django_capture_on_commit_callbacks(execute=True):
        approve_disposal(submission=submission, by=make_triage_officer("supervisor", supervisor=True), reason="Done")

    assert bucket.list_objects_v2(Bucket=seaweedfs.bucket).get("KeyCount") == 0
    assert multipart_uploads(bucket, seaweedfs) == []
    assert not Upload.objects.exists()


def test_a_patch_waits_for_the_one_writing_before_sending_parts(client, submission, s3_calls):
    data = footage(2 * PART_SIZE)
    location = create(client, len(data))
    with open(Upload.objects.get().partial_path, "r+b") as held:
        fcntl.flock(held, fcntl.LOCK_EX)
        assert patch(client, location, 0, data[: PART_SIZE + 1]).status_code == 423
    assert "UploadPart" not in s3_calls.operations()


def test_parts_are_8_mib_and_never_more_than_s3s_10000():
    assert part_size(10 * 1024 * MiB) == PART_SIZE
    assert part_sizes(20 * MiB + 1) == [PART_SIZE, PART_SIZE, 4 * MiB + 1]
    huge = 100 * 1024 * MiB
    assert part_size(huge) == 11 * MiB
    assert len(part_sizes(huge)) <= 10_000
