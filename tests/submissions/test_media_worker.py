"""Real Celery workers on Redis: duplicates, a killed worker, work queued while Redis is down, Redis restarts."""

import email
import hashlib
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
from contextlib import contextmanager
from pathlib import Path

import pytest
from celery.worker import state as worker_state
from django.core import mail
from django.core.files.uploadedfile import SimpleUploadedFile
from django.db import connection
from django.utils import timezone

from config.celery import app as celery_app
from submissions.models import Derivative, MediaFile, Submission
from submissions.pipeline import make_web_proxy, process_media_file
from submissions.references import hash_upload_token
from tests.conftest import require
from tests.factories import make_appeal, make_submission
from tests.services import start_redis, stop, wait_for
from tests.submissions.conftest import EICAR, store_media_file
from tests.submissions.test_give_information import ANSWERS, answer_all, url
from tests.submissions.test_tus import create, jpeg_bytes, patch

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


def test_a_real_worker_makes_the_first_look_then_the_web_proxy_from_its_own_queue(
    celery_worker_on_redis, clamd, samples
):
    media_file = store_media_file(make_submission(make_appeal()), samples.hevc_mov_with_gps(), "IMG_0001.MOV")
    handled = worker_state.total_count[make_web_proxy.name]
    process_media_file.delay(media_file.pk)

    wait_for(lambda: MediaFile.objects.filter(pk=media_file.pk, proxy_state="made").exists(), timeout=60)
    media_file.refresh_from_db()
    assert worker_state.total_count[make_web_proxy.name] == handled + 1
    derivatives = {derivative.kind: derivative for derivative in media_file.derivatives.all()}
    # Ready (updated_at is the first look's last write) before the transcode stored its proxy.
    assert derivatives["poster"].created_at < media_file.updated_at < derivatives["proxy"].created_at
    assert "libx264" in derivatives["proxy"].arguments


def test_an_infected_file_is_quarantined_by_the_worker(celery_worker_on_redis, clamd):
    media_file = store_media_file(make_submission(make_appeal()), EICAR)
    process_media_file.delay(media_file.pk)
    wait_for(lambda: state_of(media_file) == MediaFile.State.QUARANTINED)
    assert media_file.scan_state == MediaFile.ScanState.INFECTED


def test_a_proxy_worker_killed_during_a_transcode_is_replaced_and_the_file_stays_ready_throughout(
    settings, clamd, samples, tmp_path
):
    broker = require_subprocess_workers(settings)
    content = samples.h264_mp4(seconds=3, size="640x360", pixel_format="yuv444p")
    media_file = store_media_file(make_submission(make_appeal()), content)
    # 4:4:4 is transcoded (browsers play only 4:2:0), and a slow preset keeps the proxy worker in its
    # transcode long enough for the sweep to look at it, and then to be killed there.
    first_look = start_worker(settings, broker, tmp_path, "media", "--beat", queues="media,notify", **SLOWER_HOLD)
    transcoder = start_worker(
        settings, broker, tmp_path, "proxy", queues="proxy", MEDIA_PROXY_PRESET="placebo", **SLOWER_HOLD
    )
    try:
        celery_app.conf.task_always_eager = False
        process_media_file.delay(media_file.pk)
        transcode = wait_for(lambda: child_process(transcoder.pid, "libx264"), timeout=60)
        assert state_of(media_file) == MediaFile.State.READY, "officers look at the file while it is transcoded"
        assert sorted(media_file.derivatives.values_list("kind", flat=True)) == ["contact_sheet", "poster"]
        # Sweeps come and go while the transcode holds its lease: none starts a second one.
        for _ in range(2):
            wait_for(logs_again(r"sweep_stuck_media\[\S+\] succeeded", tmp_path / "worker-media.log", first_look))
        media_file.refresh_from_db()
        assert (media_file.proxy_state, media_file.proxy_attempts) == (MediaFile.ProxyState.MAKING, 1)
        assert child_process(transcoder.pid, "libx264") == transcode
        assert len(list(Path(settings.MEDIA_WORK_DIR).glob("media-*"))) == 1, "the transcode's folder"
        os.kill(transcoder.pid, signal.SIGKILL)
        transcoder.wait()
        wait_for(lambda: not Path(f"/proc/{transcode}").exists(), timeout=10)
    finally:
        stop(transcoder)
        stop(first_look)
    media_file.refresh_from_db()
    assert (media_file.state, media_file.proxy_state) == (MediaFile.State.READY, MediaFile.ProxyState.MAKING)
    assert not media_file.derivatives.filter(kind=Derivative.Kind.PROXY).exists()

    worker = start_worker(settings, broker, tmp_path, "second", "--beat")
    try:
        wait_for(lambda: MediaFile.objects.filter(pk=media_file.pk, proxy_state="made").exists(), timeout=90)
    finally:
        stop(worker)
    assert list(Path(settings.MEDIA_WORK_DIR).glob("media-*")) == [], "the killed worker's folder was removed"
    media_file.refresh_from_db()
    assert (media_file.state, media_file.attempts, media_file.proxy_attempts) == (MediaFile.State.READY, 1, 2)
    assert sorted(media_file.derivatives.values_list("kind", flat=True)) == ["contact_sheet", "poster", "proxy"]
    assert "libx264" in media_file.derivatives.get(kind=Derivative.Kind.PROXY).arguments
    with media_file.original.open("rb") as original:
        assert original.read() == content


# A hold that a busy machine's pauses do not break, so that only the kill ends the transcode.
SLOWER_HOLD = {"MEDIA_LEASE_SECONDS": "5"}


def test_work_queued_while_redis_is_down_is_done_once_it_is_back_and_each_email_sent_once(
    settings, client, tmp_path, caplog
):
    require_subprocess_workers(settings)
    require(shutil.which("redis-server"), "redis-server")
    port = free_port()
    broker = f"redis://127.0.0.1:{port}/0"
    appeal = make_appeal()
    earlier = submission_with_token(appeal, officers_notified_at=timezone.now())
    witness = {"contact": {"contact_choice": "contact"}, "contact-details": {"contact_email": "sam@example.org"}}

    # Redis is down: nothing listens on its port. Each request still stores everything and answers as usual.
    with publishing_to(broker):
        answer_all(client, appeal, {**ANSWERS, **witness})
        assert client.post(url(appeal, "check")).status_code == 302
        photo = jpeg_bytes()
        location = create(client, TUS_AUTH, len(photo))["Location"]
        assert patch(client, TUS_AUTH, location, 0, photo).status_code == 204
        form_photo = SimpleUploadedFile("two.jpg", jpeg_bytes(), content_type="image/jpeg")
        assert client.post(f"/footage/{TOKEN}/upload/", {"files": [form_photo]}).status_code == 302
    assert caplog.text.count("Could not queue") == 4, "two emails and two files"
    submission = Submission.objects.exclude(pk=earlier.pk).get()
    media_files = list(earlier.media_files.all())
    assert [media_file.state for media_file in media_files] == [MediaFile.State.RECEIVED] * 2
    assert mail.outbox == []

    redis = start_redis(port, tmp_path)
    worker = None
    try:
        worker = start_worker(
            settings, broker, tmp_path, "after-outage", "--beat", EMAIL_URL=f"filemail:///{tmp_path / 'mail'}"
        )
        wait_for(lambda: all(state_of(media_file) == MediaFile.State.READY for media_file in media_files), 90)
        wait_for(lambda: Submission.objects.filter(pk=submission.pk, **EMAILS_SENT).exists())
        # Two more sweeps, so that one has looked since: nothing is owed any more, and nothing is sent again.
        log = tmp_path / "worker-after-outage.log"
        for _ in range(2):
            wait_for(logs_again(r"sweep_unsent_notifications\[\S+\] succeeded", log, worker))
    finally:
        stop(worker)
        stop(redis)
    emails = sent_emails(tmp_path / "mail")
    assert sorted(message["To"] for message in emails) == [appeal.incident.officer_in_charge.email, "sam@example.org"]
    [receipt] = [message for message in emails if message["To"] == "sam@example.org"]
    token = re.search(r"/footage/([^/\s]+)/", receipt.get_payload()).group(1)
    assert hash_upload_token(token) == submission.upload_token_hash
    submission.refresh_from_db()
    assert submission.receipt_token == ""


def test_a_worker_rides_out_redis_restarts_and_processes_the_next_file(settings, client, tmp_path):
    require_subprocess_workers(settings)
    require(shutil.which("redis-server"), "redis-server")
    port = free_port()
    broker = f"redis://127.0.0.1:{port}/0"
    submission = submission_with_token(make_appeal())
    redis = start_redis(port, tmp_path)
    worker = None
    try:
        worker = start_worker(settings, broker, tmp_path, "restarts", "--beat")
        log = tmp_path / "worker-restarts.log"
        wait_for(lambda: "ready." in log.read_text(), 60)
        # A task waiting for its countdown, as a retry does: the worker holds its message unacknowledged,
        # which is what a broker restart used to kill the worker over.
        with publishing_to(broker):
            waiting = process_media_file.apply_async(
                args=[store_media_file(submission, jpeg_bytes()).pk], countdown=3600
            )
        wait_for(lambda: f"{waiting.id}] received" in log.read_text())
        for _ in range(3):
            # Lost while consuming, or while still setting up after the last reconnection.
            lost = logs_again("Connection to broker lost|Cannot connect to", log, worker)
            stop(redis)
            # Generous: on a machine busy with other work, noticing and reconnecting can take a while.
            wait_for(lost, timeout=120)
            # Connected, or consuming again without saying so (when it was cut off while setting up): the
            # embedded beat's tasks arrive every second.
            reconnected = logs_again(r"Connected to|\] received", log, worker)
            redis = start_redis(port, tmp_path)
            wait_for(reconnected, timeout=120)
            assert not stopped(worker, log), log.read_text()[-3000:]

        photo = jpeg_bytes()
        with publishing_to(broker):
            location = create(client, TUS_AUTH, len(photo))["Location"]
            assert patch(client, TUS_AUTH, location, 0, photo).status_code == 204
        media_file = MediaFile.objects.get(sha256=hashlib.sha256(photo).hexdigest())
        wait_for(lambda: state_of(media_file) == MediaFile.State.READY)
        assert not stopped(worker, log)
    finally:
        stop(worker)
        stop(redis)


TOKEN = "a-token-for-uploads-while-redis-is-away"
TUS_AUTH = {"Tus-Resumable": "1.0.0", "Authorization": f"Bearer {TOKEN}"}
EMAILS_SENT = {"officers_notified_at__isnull": False, "receipt_sent_at__isnull": False}


def submission_with_token(appeal, **fields):
    submission = make_submission(appeal, **fields, upload_token=TOKEN)
    return submission


def logs_again(pattern, log, worker):
    """A condition: the worker has logged a line matching `pattern` once more than so far, or has stopped."""
    seen = len(re.findall(pattern, log.read_text()))
    return lambda: len(re.findall(pattern, log.read_text())) > seen or stopped(worker, log)


def stopped(worker, log):
    # After an unrecoverable error the embedded beat can keep the process from exiting.
    return worker.poll() is not None or "Unrecoverable error" in log.read_text()


def free_port():
    # A Redis of our own on a free port, so that stopping it disturbs nobody else.
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


@contextmanager
def publishing_to(broker):
    """This process's tasks go to `broker`, not run inline, until the block ends."""

    def use(url, eager):
        # The write URL, as the broker URL itself comes from the environment whatever the settings say.
        celery_app.conf.broker_write_url = url
        celery_app.conf.task_always_eager = eager
        celery_app._after_fork()  # forget the connection pools made for the other broker

    use(broker, eager=False)
    try:
        yield
    finally:
        use(None, eager=True)


def sent_emails(directory):
    """Every message the file email backend wrote (a file per connection, messages between dashed lines)."""
    return [
        email.message_from_string(text)
        for path in sorted(directory.iterdir())
        for text in path.read_text().split("-" * 79 + "\n")
        if text.strip()
    ]


def require_subprocess_workers(settings):
    require(connection.vendor == "postgresql", "PostgreSQL (DATABASE_URL), shared with worker processes")
    require(settings.CELERY_BROKER_URL.startswith("redis"), "a Redis broker (CELERY_BROKER_URL)")
    return settings.CELERY_BROKER_URL


def worker_environment(settings, broker, **overrides):
    database = connection.settings_dict
    return {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "config.settings",
        # The tests' own key, so that a worker opens what they sealed.
        "SECRET_KEY": settings.SECRET_KEY,
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
        "NOTIFY_STUCK_AFTER_SECONDS": "1",
        "NOTIFY_SWEEP_INTERVAL": "1",
        **overrides,
    }


def start_worker(settings, broker, tmp_path, name, *arguments, queues="media,proxy,notify", **overrides):
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
            queues,
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
