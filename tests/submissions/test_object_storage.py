"""Evidence in S3-compatible object storage: a real S3 server on loopback (SeaweedFS), spoken to by boto3.

A witness's file goes from the tus upload into the bucket, is processed from a copy, is played with
Range requests and exported, and no step needs a shared filesystem. The server checks every request's
signature, so a wrong key is refused, and /healthz says so.
"""

import base64
import hashlib
import io
import os
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest
from botocore.exceptions import ClientError
from django.core.files.base import ContentFile
from django.urls import reverse
from storages.backends.s3 import S3Storage

from appeals.models import AppealImage
from evidence.exports import verify_export_file
from evidence.models import Disposal, EvidenceExport
from evidence.retention import approve_disposal
from evidence.services import request_export
from evidence.triage import change_state
from submissions.models import Derivative, MediaFile, Submission, Upload
from submissions.pipeline import process_media_file
from tests.appeals.images import make_image
from tests.factories import make_submission
from tests.officers import add_derivative, make_triage_officer, sign_in, store_media_file
from tests.services import SeaweedFS

pytestmark = pytest.mark.django_db
TOKEN = "object-storage-token-with-plenty-of-randomness"


def stored_bytes(bucket, key):
    return bucket.get_object(Bucket=SeaweedFS.bucket, Key=key)["Body"].read()


def tus_upload(client, data, filename):
    auth = {"Tus-Resumable": "1.0.0", "Authorization": f"Bearer {TOKEN}"}
    name = base64.b64encode(filename.encode()).decode()
    created = client.post(
        "/uploads", headers={**auth, "Upload-Length": str(len(data)), "Upload-Metadata": f"filename {name}"}
    )
    assert created.status_code == 201
    half = len(data) // 2
    for offset, chunk in ((0, data[:half]), (half, data[half:])):
        response = client.generic(
            "PATCH",
            created["Location"],
            data=chunk,
            content_type="application/offset+octet-stream",
            headers={**auth, "Upload-Offset": str(offset)},
        )
        assert response.status_code == 204, response.content


def test_footage_goes_to_the_bucket_is_processed_played_and_exported(
    client, demo, bucket, object_storage, samples, settings, django_capture_on_commit_callbacks
):
    submission = make_submission(demo, upload_token=TOKEN)
    clip = samples.h264_mp4()

    with django_capture_on_commit_callbacks(execute=True):
        tus_upload(client, clip, "DASH0001.MP4")

    media_file = MediaFile.objects.get()
    key = f"evidence/{media_file.original.name}"
    assert stored_bytes(bucket, key) == clip, "the original is in the bucket, byte for byte"
    assert os.listdir(settings.UPLOAD_DIR) == [], "and nothing is left on this machine"
    assert media_file.sha256 == hashlib.sha256(clip).hexdigest()
    assert media_file.state == MediaFile.State.READY, media_file.state_reason
    proxy = media_file.derivatives.get(kind=Derivative.Kind.PROXY)
    proxy_bytes = stored_bytes(bucket, f"evidence/{proxy.file.name}")
    assert hashlib.sha256(proxy_bytes).hexdigest() == proxy.sha256

    sign_in(client, demo.incident.officer_in_charge)
    play_url = reverse("admin:evidence_derivative", args=[proxy.pk])
    seek = client.get(play_url, headers={"Range": "bytes=100-1099"})
    assert seek.status_code == 206
    assert seek["Content-Range"] == f"bytes 100-1099/{len(proxy_bytes)}"
    assert b"".join(seek.streaming_content) == proxy_bytes[100:1100]
    whole = client.get(play_url)
    assert whole.status_code == 200
    assert b"".join(whole.streaming_content) == proxy_bytes

    with django_capture_on_commit_callbacks(execute=True):
        client.post(reverse("admin:evidence_export_submission", args=[submission.pk]))
    export = EvidenceExport.objects.get()
    assert export.state == EvidenceExport.State.READY
    download = client.get(reverse("admin:evidence_export_download", args=[export.pk]))
    zipped = b"".join(download.streaming_content)
    assert hashlib.sha256(zipped).hexdigest() == export.sha256
    assert zipped == stored_bytes(bucket, f"evidence/{export.file.name}")
    with zipfile.ZipFile(io.BytesIO(zipped)) as archive:
        assert archive.read(f"originals/{media_file.pk}-DASH0001.MP4") == clip
    local_copy = settings.UPLOAD_DIR + "/export.zip"
    with open(local_copy, "wb") as out:
        out.write(zipped)
    problems, _manifest = verify_export_file(local_copy)
    assert problems == []


def test_an_object_that_does_not_match_its_record_is_caught_before_processing(demo, object_storage, samples):
    clip = samples.h264_mp4()
    media_file = MediaFile(
        submission=make_submission(demo), original_filename="clip.mp4", size=len(clip), sha256="0" * 64
    )
    media_file.original.save("ignored", ContentFile(clip), save=False)
    media_file.save()
    process_media_file.delay(media_file.pk)
    media_file.refresh_from_db()
    assert media_file.state == MediaFile.State.FAILED
    assert "does not match" in media_file.state_reason


def test_the_settings_put_evidence_and_images_in_the_bucket():
    env = {
        "PATH": os.environ["PATH"],
        "DJANGO_SETTINGS_MODULE": "config.settings",
        "SECRET_KEY": "x",
        "OBJECT_STORAGE_BUCKET": SeaweedFS.bucket,
        "OBJECT_STORAGE_ENDPOINT_URL": "http://127.0.0.1:9",
        "OBJECT_STORAGE_REGION": "eu-west-2",
    }
    code = (
        "import django; django.setup(); from django.core.files.storage import storages;"
        "print([(type(storages[n]).__name__, storages[n].location, storages[n].file_overwrite)"
        " for n in ('evidence', 'default')])"
    )
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=env, check=True)
    assert result.stdout.strip() == "[('S3Storage', 'evidence', False), ('S3Storage', 'media', False)]"


def test_released_images_are_kept_in_the_bucket_and_shown_from_it(
    client, demo, bucket, object_storage, seaweedfs, monkeypatch
):
    monkeypatch.setattr(
        AppealImage._meta.get_field("public"), "storage", S3Storage(**seaweedfs.storage_options(location="media"))
    )
    image = make_image(demo)
    response = client.get(image.get_absolute_url())
    assert response.status_code == 200
    shown = b"".join(response.streaming_content)
    assert shown == stored_bytes(bucket, f"media/{image.public.name}")
    assert stored_bytes(bucket, f"evidence/{image.original.name}").startswith(b"\xff\xd8")


def test_a_wrong_key_is_refused(seaweedfs, bucket):
    storage = S3Storage(**seaweedfs.storage_options(location="evidence", secret_key="not-the-secret"))
    with pytest.raises(ClientError) as refused:
        storage.save("originals/written-with-a-wrong-key", ContentFile(b"footage"))
    assert refused.value.response["ResponseMetadata"]["HTTPStatusCode"] == 403
    assert bucket.list_objects_v2(Bucket=seaweedfs.bucket).get("KeyCount") == 0


def use_bucket(settings, seaweedfs, **options):
    settings.OBJECT_STORAGE_BUCKET = seaweedfs.bucket
    settings.STORAGES = {
        **settings.STORAGES,
        "evidence": {
            "BACKEND": "storages.backends.s3.S3Storage",
            "OPTIONS": seaweedfs.storage_options(location="evidence", **options),
        },
    }


def test_healthz_reports_the_bucket(client, settings, seaweedfs, bucket):
    use_bucket(settings, seaweedfs)
    response = client.get("/healthz")
    assert response.status_code == 200
    assert response.json()["object_storage"] == "ok"


def test_healthz_says_when_the_bucket_refuses_the_key(client, settings, seaweedfs, bucket):
    use_bucket(settings, seaweedfs, secret_key="not-the-secret")
    response = client.get("/healthz")
    assert response.status_code == 503
    assert response.json()["status"] == "error"
    assert response.json()["object_storage"] == "error: SignatureDoesNotMatch"


def bucket_objects_holding(bucket, content: bytes) -> list[str]:
    keys = [
        item["Key"]
        for page in bucket.get_paginator("list_objects_v2").paginate(Bucket=SeaweedFS.bucket)
        for item in page.get("Contents", [])
    ]
    return [key for key in keys if content in stored_bytes(bucket, key)]


def test_disposal_leaves_no_byte_of_the_files_in_the_bucket_or_on_disk(
    demo, bucket, object_storage, settings, django_capture_on_commit_callbacks
):
    original = b"the witness's own footage, kept in the bucket " * 40
    proxy = b"a proxy made from the witness's footage " * 40
    partial = b"half of another clip still on its way " * 40
    officer = demo.incident.officer_in_charge
    submission = make_submission(demo, contact_email="alex@example.org")
    media_file = store_media_file(submission, content=original)
    add_derivative(media_file, Derivative.Kind.PROXY, proxy)
    with django_capture_on_commit_callbacks(execute=True):
        request_export(submission=submission, by=officer)
    upload = Upload.objects.create(submission=submission, length=len(partial) * 2, offset=len(partial), filename="b")
    upload.partial_path.write_bytes(partial)
    change_state(submission=submission, to=Submission.State.NO_FURTHER_ACTION, by=officer, reason="Nothing in view")
    assert bucket_objects_holding(bucket, original) and bucket_objects_holding(bucket, proxy)

    supervisor = make_triage_officer("supervisor", supervisor=True)
    with django_capture_on_commit_callbacks(execute=True):
        approve_disposal(submission=submission, by=supervisor, reason="Reviewed: no further use")

    for content in (original, proxy, partial):
        assert bucket_objects_holding(bucket, content) == []
        local = [path for path in Path(settings.UPLOAD_DIR).parent.rglob("*") if path.is_file()]
        assert [path for path in local if content in path.read_bytes()] == []
    assert Disposal.objects.get(submission=submission).file_count == 1
