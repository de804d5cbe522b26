"""The media pipeline through real Celery workers on Redis: duplicates, a killed worker, a broker outage."""

import os
import shutil
import signal
import socket
import subprocess
import sys
from pathlib import Path

import pytest
from celery.worker import state as worker_state
from django.db import connection

from config.celery import app as celery_app
from submissions.models import Derivative, MediaFile, Submission
from submissions.tasks import process_media_file
from tests.conftest import require
from tests.factories import make_appeal, make_submission, wait_for
from tests.services import start_redis, stop
from tests.submissions.conftest import EICAR, store_media_file

pytestmark = [pytest.mark.worker, pytest.mark.django_db(transaction=True)]
BASE_DIR = Path(__file__).resolve().parents[2]


def state_of(media_file):
    media_file.refresh_from_db()
    return media_file.state


def test_the_same_task_delivered_twice_gives_one_result(celery_worker_on_redis, clamd, samples):
    media_file = store_media_file(make_submission(make_appeal()), samples.h264_mp4())
    handled = worker_state.total_count[process_media_file.name]
    process_media_file.delay(media_file.pk)
    process_media_file.delay(media_file.pk)

    # Both deliveries have run (the second found the file ready) before counting.
    wait_for(lambda: worker_state.total_count[process_media_file.name] == handled + 2)
    wait_for(lambda: not worker_state.active_requests)
    assert state_of(media_file) == MediaFile.State.READY
    assert media_file.attempts == 1
    assert sorted(media_file.derivatives.values_list("kind", flat=True)) == ["contact_sheet", "poster", "proxy"]


def test_an_infected_file_is_quarantined_by_the_worker(celery_worker_on_redis, clamd):
    media_file = store_media_file(make_submission(make_appeal()), EICAR)
    process_media_file.delay(media_file.pk)
    wait_for(lambda: state_of(media_file) == MediaFile.State.QUARANTINED)
    assert media_file.scan_state == MediaFile.ScanState.INFECTED


def test_a_worker_killed_during_a_transcode_is_replaced_and_the_file_ends_ready_with_one_set(
    settings, clamd, samples, tmp_path
):
    broker = require_subprocess_workers(settings)
    content = samples.h264_mp4(seconds=3, size="640x360")
    media_file = store_media_file(make_submission(make_appeal()), content)
    # A slow preset keeps the first worker in its transcode long enough to be killed there.
    worker = start_worker(settings, broker, tmp_path, "first", MEDIA_PROXY_PRESET="placebo")
    try:
        celery_app.conf.task_always_eager = False
        process_media_file.delay(media_file.pk)
        transcode = wait_for(lambda: child_process(worker.pid, "libx264"), timeout=60)
        os.kill(worker.pid, signal.SIGKILL)
        worker.wait()
        wait_for(lambda: not Path(f"/proc/{transcode}").exists(), timeout=10)
    finally:
        stop(worker)
    assert state_of(media_file) == MediaFile.State.PROCESSING
    assert not media_file.derivatives.filter(kind=Derivative.Kind.PROXY).exists()
    left_behind = list(Path(settings.MEDIA_WORK_DIR).glob("media-*"))
    assert [path.name for path in left_behind[0].iterdir()] != [], "the killed worker's frames and proxy"

    worker = start_worker(settings, broker, tmp_path, "second", "--beat")
    try:
        wait_for(lambda: state_of(media_file) == MediaFile.State.READY, timeout=90)
    finally:
        stop(worker)
    assert list(Path(settings.MEDIA_WORK_DIR).glob("media-*")) == [], "the second worker removed the first's folder"
    assert media_file.attempts == 2
    assert sorted(media_file.derivatives.values_list("kind", flat=True)) == ["contact_sheet", "poster", "proxy"]
    with media_file.original.open("rb") as original:
        assert original.read() == content


def test_a_submission_made_while_redis_is_down_is_stored_and_processed_when_it_returns(
    settings, clamd, samples, tmp_path
):
    require_subprocess_workers(settings)
    require(shutil.which("redis-server"), "redis-server")
    # A Redis of our own on a free port, so that stopping it disturbs nobody else.
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    broker = f"redis://127.0.0.1:{port}/0"
    appeal = make_appeal()
    video = tmp_path / "upload.mp4"
    video.write_bytes(samples.h264_mp4())
    redis = start_redis(port, tmp_path)
    stop(redis)

    submit = subprocess.run(
        [sys.executable, "-c", SUBMIT_WITH_A_FILE, str(appeal.pk), str(video)],
        env=worker_environment(settings, broker),
        cwd=BASE_DIR,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert submit.returncode == 0, submit.stderr
    submission = Submission.objects.get(reference=submit.stdout.strip())
    media_file = submission.media_files.get()
    assert media_file.state == MediaFile.State.RECEIVED

    redis = start_redis(port, tmp_path)
    worker = None
    try:
        worker = start_worker(settings, broker, tmp_path, "after-outage", "--beat")
        wait_for(lambda: state_of(media_file) == MediaFile.State.READY, timeout=90)
    finally:
        stop(worker)
        stop(redis)
    assert media_file.derivatives.count() == 3


# The upload's side, run in its own process against the test database while the broker is down:
# rows stored in one transaction, work enqueued after commit (and lost, as Redis is not there).
SUBMIT_WITH_A_FILE = """
import hashlib, sys
import django
django.setup()
from django.core.files.base import ContentFile
from django.db import transaction
from appeals.models import Appeal
from submissions.models import MediaFile, Submission
from submissions.services import create_submission
from submissions.tasks import process_media_file

content = open(sys.argv[2], "rb").read()
submission, _token = create_submission(
    appeal=Appeal.objects.get(pk=sys.argv[1]), submission=Submission(account="Dashcam.", is_anonymous=True)
)
with transaction.atomic():
    media_file = MediaFile(
        submission=submission, original_filename="DASH.MP4", size=len(content),
        sha256=hashlib.sha256(content).hexdigest(),
    )
    media_file.original.save("upload", ContentFile(content), save=False)
    media_file.save()
    transaction.on_commit(lambda: process_media_file.delay(media_file.pk), robust=True)
print(submission.reference)
"""


def require_subprocess_workers(settings):
    require(connection.vendor == "postgresql", "PostgreSQL (DATABASE_URL), shared with worker processes")
    require(settings.CELERY_BROKER_URL.startswith("redis"), "a Redis broker (CELERY_BROKER_URL)")
    return settings.CELERY_BROKER_URL


def worker_environment(settings, broker, **overrides):
    database = connection.settings_dict
    return {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "config.settings",
        "SECRET_KEY": "tests-only-secret-key",
        "DATABASE_URL": (
            f"postgres://{database['USER']}:{database['PASSWORD']}@{database['HOST']}:{database['PORT'] or 5432}"
            f"/{database['NAME']}"
        ),
        "CELERY_BROKER_URL": broker,
        "EVIDENCE_ROOT": settings.EVIDENCE_ROOT,
        "MEDIA_WORK_DIR": settings.MEDIA_WORK_DIR,
        "CLAMD_ADDRESS": settings.CLAMD_ADDRESS,
        "CLAMD_MAX_BYTES": str(settings.CLAMD_MAX_BYTES),
        "EMAIL_URL": "consolemail://",
        # Short holds and a quick sweep so that recovery happens within the test's patience.
        "MEDIA_LEASE_SECONDS": "2",
        "MEDIA_STUCK_AFTER_SECONDS": "1",
        "MEDIA_SWEEP_INTERVAL": "1",
        **overrides,
    }


def start_worker(settings, broker, tmp_path, name, *arguments, **overrides):
    log = (tmp_path / f"worker-{name}.log").open("w")
    return subprocess.Popen(
        [
            str(Path(sys.executable).with_name("celery")),
            "-A",
            "config",
            "worker",
            "--pool",
            "solo",
            "--queues",
            "media,notify",
            "--hostname",
            f"{name}@tests",
            "--without-gossip",
            "--without-mingle",
            "--loglevel",
            "INFO",
            "--schedule",
            str(tmp_path / f"beat-{name}"),
            *arguments,
        ],
        env=worker_environment(settings, broker, **overrides),
        cwd=BASE_DIR,
        stdout=log,
        stderr=subprocess.STDOUT,
    )


def child_process(parent_pid, word):
    """The pid of a child of parent_pid whose command line contains word, if there is one."""
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            ppid = int(stat.read_text().rsplit(")", 1)[1].split()[1])
            if ppid == parent_pid and word in (stat.parent / "cmdline").read_bytes().decode(errors="replace"):
                return int(stat.parent.name)
        except (OSError, IndexError, ValueError):
            continue
    return None
