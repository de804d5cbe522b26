"""A web process killed (SIGKILL) after its last PATCH moved the file into evidence storage and before it committed
the file's record: the client's retry or the sweep records the file left there, once.

The process is caught there with a database lock, not timing (as bench/attack.py does): the test holds a lock on
the media file table that the record's INSERT needs, waits until PostgreSQL shows the INSERT waiting, and kills.
"""

import hashlib
import http.client
import os
import signal
import subprocess
import sys
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from urllib.parse import urlsplit

import psycopg2
import pytest
from django.db import connection

from submissions.models import MediaFile, Upload, evidence_store
from submissions.tasks import store_whole_uploads
from tests.conftest import require
from tests.factories import make_appeal, make_submission
from tests.services import free_ports, wait_for
from tests.submissions.test_tus import jpeg_bytes, metadata

pytestmark = pytest.mark.django_db(transaction=True)
BASE_DIR = Path(__file__).resolve().parents[2]
TOKEN = "a-token-for-the-killed-web-process"
AUTH = {"Tus-Resumable": "1.0.0", "Authorization": f"Bearer {TOKEN}"}


@pytest.fixture
def web(settings, tmp_path):
    """gunicorn serving the site on its own port, in a process group of its own so that it can be killed whole,
    on the tests' database (as the application's role) and folders."""
    require(connection.vendor == "postgresql", "PostgreSQL (DATABASE_URL), shared with the web process")
    database = connection.settings_dict
    (port,) = free_ports(1)
    environment = {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "config.settings",
        "DEBUG": "false",
        "SECRET_KEY": settings.SECRET_KEY,
        "DATABASE_URL": (
            f"postgres://{database['USER']}:{database['PASSWORD']}@{database['HOST']}:{database['PORT'] or 5432}"
            f"/{database['NAME']}"
        ),
        "CELERY_BROKER_URL": "",
        "CACHE_URL": "locmemcache://",
        "EVIDENCE_ROOT": settings.EVIDENCE_ROOT,
        "UPLOAD_DIR": settings.UPLOAD_DIR,
        "VAR_DIR": str(tmp_path / "var"),
    }
    gunicorn = Path(sys.executable).with_name("gunicorn")
    with (tmp_path / "gunicorn.log").open("w") as log:
        process = subprocess.Popen(
            [gunicorn, "config.wsgi:application", "--bind", f"127.0.0.1:{port}", "--workers", "1"],
            cwd=BASE_DIR,
            env=environment,
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    try:
        wait_for(lambda: answers(port) or process.poll() is not None, timeout=60)
        assert process.poll() is None, (tmp_path / "gunicorn.log").read_text()
        yield process, port
    finally:
        if process.poll() is None:
            os.killpg(process.pid, signal.SIGKILL)
            process.wait()


def answers(port):
    try:
        request("OPTIONS", port, "/uploads", {})
    except OSError:
        return False
    return True


def request(method, port, path, headers, body=None):
    server = http.client.HTTPConnection("127.0.0.1", port, timeout=60)
    try:
        server.request(method, path, body=body, headers=headers)
        response = server.getresponse()
        response.read()
        return response
    finally:
        server.close()


def waiting_insert():
    """The pid of the database connection whose INSERT of a media file waits for a lock."""
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT pid FROM pg_stat_activity WHERE datname = current_database() AND wait_event_type = 'Lock' "
            "AND query LIKE %s",
            ['INSERT INTO "submissions_mediafile"%'],
        )
        row = cursor.fetchone()
    return row[0] if row else None


def backend_gone(pid):
    with connection.cursor() as cursor:
        cursor.execute("SELECT NOT EXISTS (SELECT FROM pg_stat_activity WHERE pid = %s)", [pid])
        return cursor.fetchone()[0]


@pytest.mark.parametrize("recorded_by", ["the client's HEAD", "the sweep"])
def test_a_web_process_killed_between_moving_a_file_and_recording_it_loses_nothing(
    client, web, database_owner, recorded_by
):
    process, port = web
    submission = make_submission(make_appeal(), upload_token=TOKEN)
    data = jpeg_bytes(640, 480)
    created = request(
        "POST",
        port,
        "/uploads",
        {**AUTH, "Upload-Length": str(len(data)), "Upload-Metadata": metadata(filename="door.jpg")},
    )
    assert created.status == 201
    location = urlsplit(created.getheader("Location")).path
    upload = Upload.objects.get()
    stored_name = f"originals/{submission.reference}/{hashlib.sha256(data).hexdigest()}"
    left = Path(evidence_store().path(stored_name))

    database = connection.settings_dict
    lock = psycopg2.connect(
        host=database["HOST"], port=database["PORT"] or 5432, dbname=database["NAME"], **database_owner
    )
    try:
        with lock.cursor() as cursor:
            cursor.execute("LOCK TABLE submissions_mediafile IN EXCLUSIVE MODE")
        headers = {**AUTH, "Upload-Offset": "0", "Content-Type": "application/offset+octet-stream"}
        with ThreadPoolExecutor(1) as pool:
            answer = pool.submit(request, "PATCH", port, location, headers, data)
            pid = wait_for(waiting_insert, timeout=60)
            # The file is in evidence storage; its record waits to be written, uncommitted.
            assert left.read_bytes() == data
            assert not upload.partial_path.exists()
            os.killpg(process.pid, signal.SIGKILL)
            process.wait()
            with pytest.raises((http.client.HTTPException, OSError)):
                answer.result(timeout=60)
        with connection.cursor() as cursor:
            cursor.execute("SELECT pg_terminate_backend(%s)", [pid])
    finally:
        lock.rollback()
        lock.close()
    wait_for(lambda: backend_gone(pid))

    upload.refresh_from_db()
    assert (upload.offset, upload.completed_at, upload.media_file) == (len(data), None, None)
    assert not MediaFile.objects.exists(), "the killed request committed nothing"
    assert left.read_bytes() == data

    if recorded_by == "the sweep":
        store_whole_uploads()
    head = client.head(location, headers=AUTH)
    assert (head.status_code, head["Upload-Offset"]) == (200, str(len(data)))
    store_whole_uploads()

    media_file = MediaFile.objects.get()
    assert (media_file.sha256, media_file.size) == (hashlib.sha256(data).hexdigest(), len(data))
    assert media_file.original.name == stored_name
    assert media_file.original.read() == data
    assert media_file.content_type == "image/jpeg"
    upload.refresh_from_db()
    assert upload.media_file == media_file and upload.completed_at is not None
