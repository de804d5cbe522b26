import hashlib
import io
import json
import os
import socket
import struct
import subprocess
import sys
import threading
from datetime import timedelta
from pathlib import Path

import pytest
from django.core import mail
from django.db import connection
from django.test import TestCase
from django.urls import reverse
from django.utils import timezone
from PIL import Image

from submissions import media
from submissions.models import Derivative, MediaFile, Notification
from submissions.pipeline import process_media_file, sweep_stuck_media
from tests.conftest import CLAMD_TEST_MAX_BYTES, require
from tests.factories import make_appeal, make_submission, run_twice_at_once
from tests.officers import sign_in, team_with_submission
from tests.services import wait_for
from tests.submissions.conftest import EICAR, huge_png, photo_with_exif, store_media_file

pytestmark = pytest.mark.django_db


def process(media_file):
    # Alerts are queued on commit, which a test's transaction never reaches otherwise.
    with TestCase.captureOnCommitCallbacks(execute=True):
        process_media_file.apply(args=[media_file.pk])
    media_file.refresh_from_db()
    return media_file


def ffprobe(path):
    output = subprocess.run(
        ["ffprobe", "-v", "error", "-print_format", "json", "-show_format", "-show_streams", path],
        capture_output=True,
        check=True,
    )
    return json.loads(output.stdout)


def assert_original_untouched(media_file, content):
    with media_file.original.open("rb") as original:
        assert original.read() == content
    assert media_file.matches_record(media_file.original.path)


def test_a_video_is_checked_described_previewed_and_made_playable_with_the_original_untouched(clamd, samples):
    content = samples.h264_mp4()
    media_file = process(store_media_file(make_submission(make_appeal()), content))

    assert (media_file.state, media_file.state_reason) == (MediaFile.State.READY, "")
    assert media_file.scan_state == MediaFile.ScanState.CLEAN
    assert media_file.content_type == "video/mp4"
    assert media_file.metadata | {"duration": 2.0} == media_file.metadata | {
        "kind": "video",
        "video_codec": "h264",
        "audio_codec": "aac",
        "width": 320,
        "height": 240,
        "frame_rate": 15.0,
    }
    assert media_file.metadata["duration"] == pytest.approx(2, abs=0.1)
    derivatives = {derivative.kind: derivative for derivative in media_file.derivatives.all()}
    assert set(derivatives) == {Derivative.Kind.POSTER, Derivative.Kind.CONTACT_SHEET, Derivative.Kind.PROXY}
    for derivative in derivatives.values():
        with derivative.file.open("rb") as made:
            assert hashlib.file_digest(made, "sha256").hexdigest() == derivative.sha256
        assert derivative.size == derivative.file.size
        assert derivative.tool == "ffmpeg" and derivative.tool_version.startswith("ffmpeg version")
        assert "{original}" in derivative.arguments and "{output}" in derivative.arguments
    with Image.open(derivatives[Derivative.Kind.POSTER].file.path) as poster:
        assert poster.size == (320, 240)
    with Image.open(derivatives[Derivative.Kind.CONTACT_SHEET].file.path) as sheet:
        assert sheet.width > 4 * 320
    proxy = ffprobe(derivatives[Derivative.Kind.PROXY].file.path)
    assert [stream["codec_name"] for stream in proxy["streams"]] == ["h264", "aac"]
    proxy_bytes = derivatives[Derivative.Kind.PROXY].file.open("rb").read()
    assert proxy_bytes.index(b"moov") < proxy_bytes.index(b"mdat"), "the index is at the front (+faststart)"
    assert_original_untouched(media_file, content)


def test_running_the_task_again_leaves_one_set_of_derivatives(samples):
    media_file = process(store_media_file(make_submission(make_appeal()), samples.h264_mp4()))
    first = list(media_file.derivatives.values_list("pk", "sha256"))

    MediaFile.objects.filter(pk=media_file.pk).update(
        state=MediaFile.State.RECEIVED, proxy_state=MediaFile.ProxyState.NONE
    )
    process(media_file)
    process(media_file)

    assert media_file.state == MediaFile.State.READY
    assert list(media_file.derivatives.values_list("pk", "sha256")) == first


@pytest.mark.django_db(transaction=True)
def test_two_workers_at_once_leave_one_set_of_derivatives(samples):
    require(connection.vendor == "postgresql", "PostgreSQL (DATABASE_URL) for concurrent workers")
    media_file = store_media_file(make_submission(make_appeal()), samples.h264_mp4())
    run_twice_at_once(process_media_file, media_file.pk)

    media_file.refresh_from_db()
    assert media_file.state == MediaFile.State.READY
    assert media_file.attempts == 1, "the second worker found the file held and left it"
    assert media_file.derivatives.count() == 3


def test_an_infected_file_is_quarantined_kept_and_the_officers_are_told_once(clamd):
    submission = make_submission(make_appeal())
    media_file = process(store_media_file(submission, EICAR, filename="invoice.pdf.exe"))
    process(media_file)

    assert media_file.state == MediaFile.State.QUARANTINED
    assert media_file.scan_state == MediaFile.ScanState.INFECTED
    assert "EICAR" in media_file.scan_detail and "EICAR" in media_file.state_reason
    assert not media_file.derivatives.exists()
    assert_original_untouched(media_file, EICAR)
    assert [message.to for message in mail.outbox] == [[submission.appeal.incident.officer_in_charge.email]]
    assert "quarantined" in mail.outbox[0].subject and "Infected" in mail.outbox[0].body


@pytest.mark.parametrize(
    ("make_content", "reason"),
    [
        (lambda samples: samples.truncated_mp4(), "could not read the file"),
        (lambda samples: huge_png(), "too many pixels"),
        (lambda samples: b"#EXTM3U\n#EXTINF:2,\nfile:/etc/passwd\n#EXT-X-ENDLIST\n", "could not read the file"),
        (lambda samples: b"ffconcat version 1.0\nfile '/etc/passwd'\n", "could not read the file"),
    ],
    ids=["truncated mp4", "30000x30000 png", "playlist", "concat list"],
)
def test_a_corrupt_or_hostile_file_ends_unprocessable_with_a_reason_after_one_attempt(samples, make_content, reason):
    content = make_content(samples)
    media_file = process(store_media_file(make_submission(make_appeal()), content))

    assert media_file.state == MediaFile.State.UNPROCESSABLE
    assert media_file.status_line().startswith("Unprocessable: ")
    assert reason in media_file.state_reason
    assert media_file.attempts == 1
    assert not media_file.derivatives.exists()
    assert_original_untouched(media_file, content)
    assert len(mail.outbox) == 1 and "unprocessable" in mail.outbox[0].subject


def test_officers_read_why_a_file_is_unprocessable_without_any_server_path(client, settings):
    north = team_with_submission("North", "101")
    process(north.media_file)

    reason = "ffprobe could not read the file: Invalid data found when processing input"
    assert north.media_file.state_reason == reason
    page = sign_in(client, north.officer).get(north.submission.get_admin_url()).text
    assert f"Unprocessable: {reason}" in page
    assert f"Reason: {reason}\n" in mail.outbox[0].body
    for shown in (page, mail.outbox[0].body):
        assert settings.EVIDENCE_ROOT not in shown and "file:/" not in shown


@pytest.mark.parametrize(
    ("message", "shown"),
    [
        (
            "file:/srv/appeals/var/evidence/originals/ABC/0f3e: Invalid data found when processing input",
            "Invalid data found when processing input",
        ),
        ("No such file or directory: '/srv/appeals/var/evidence/x'", "No such file or directory:"),
        (
            "Error connecting to /run/clamav/clamd.ctl: [Errno 111] Connection refused",
            "Error connecting to [Errno 111] Connection refused",
        ),
        ("[mov,mp4 @ 0x55ed09d79280] moov atom not found", "[mov,mp4 @ 0x55ed09d79280] moov atom not found"),
        ("30000/1001 frames a second, H.264/AAC", "30000/1001 frames a second, H.264/AAC"),
    ],
)
def test_a_recorded_reason_keeps_the_message_and_loses_the_paths(message, shown):
    media_file = store_media_file(make_submission(make_appeal()), b"dashcam bytes")
    media_file.finish(MediaFile.State.UNPROCESSABLE, message)
    assert media_file.state_reason == shown
    media_file.release_for_retry(message)
    assert media_file.state_reason == f"Waiting to try again: {shown}"


def test_a_tool_that_runs_past_its_time_limit_is_stopped_and_the_file_is_unprocessable(
    settings, samples, tmp_path, monkeypatch
):
    media_file = store_media_file(make_submission(make_appeal()), samples.h264_mp4())
    # An ffmpeg that never finishes, with a child of its own that must be stopped with it.
    (tmp_path / "bin").mkdir()
    hanging = tmp_path / "bin" / "ffmpeg"
    hanging.write_text(f"#!/bin/sh\nsleep 600 &\necho $! > {tmp_path}/child\nwait\n")
    hanging.chmod(0o755)
    monkeypatch.setenv("PATH", f"{hanging.parent}:{os.environ['PATH']}")
    settings.MEDIA_FRAME_TIMEOUT = 0.5

    media_file = process(media_file)

    assert media_file.state == MediaFile.State.UNPROCESSABLE
    assert media_file.state_reason == "ffmpeg took longer than 0.5 seconds"
    children = Path(f"/proc/self/task/{threading.get_native_id()}/children")
    assert children.read_text() == "", "the timed-out ffmpeg was killed"
    child = int((tmp_path / "child").read_text())
    wait_for(lambda: has_ended(child))


def has_ended(pid):
    try:
        return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0] == "Z"
    except FileNotFoundError:
        return True


def test_a_time_limit_shorter_than_any_wait_is_enforced():
    with pytest.raises(media.Unprocessable, match=r"sleep took longer than 0\.001 seconds"):
        media.run_tool(["sleep", "0.05"], timeout=0.001)


def test_an_iphone_hevc_video_is_described_with_its_location_and_made_playable_without_it(samples):
    media_file = process(store_media_file(make_submission(make_appeal()), samples.hevc_mov_with_gps(), "IMG_0001.MOV"))

    assert media_file.state == MediaFile.State.READY
    assert media_file.metadata["video_codec"] == "hevc"
    assert media_file.metadata["gps"] == {"latitude": 51.5855, "longitude": -0.2497, "altitude": 41.0}
    assert (media_file.metadata["make"], media_file.metadata["model"]) == ("Apple", "iPhone 15")
    assert media_file.metadata["creation_time"].startswith("2026-03-18T21:40:00")
    proxy = ffprobe(media_file.derivatives.get(kind=Derivative.Kind.PROXY).file.path)
    assert proxy["streams"][0]["codec_name"] == "h264"
    assert "51.5855" not in json.dumps(proxy), "derivatives carry no location"


def test_mjpeg_cctv_footage_in_an_avi_is_made_playable(samples):
    media_file = process(store_media_file(make_submission(make_appeal()), samples.mjpeg_avi(), "CH01.avi"))

    assert media_file.state == MediaFile.State.READY
    assert (media_file.metadata["container"], media_file.metadata["video_codec"]) == ("avi", "mjpeg")
    proxy = ffprobe(media_file.derivatives.get(kind=Derivative.Kind.PROXY).file.path)
    assert [stream["codec_name"] for stream in proxy["streams"]] == ["h264", "aac"]


def test_a_sound_recording_is_described_and_kept_as_it_is(samples):
    content = samples.ffmpeg("call.m4a", "-f", "lavfi", "-i", "sine", "-t", "1", "-c:a", "aac")
    media_file = process(store_media_file(make_submission(make_appeal()), content, "Recording.m4a"))
    assert media_file.state == MediaFile.State.READY
    assert (media_file.metadata["kind"], media_file.metadata["audio_codec"]) == ("audio", "aac")
    assert not media_file.derivatives.exists()


def test_a_photo_is_described_and_previewed_upright_without_its_exif():
    media_file = process(store_media_file(make_submission(make_appeal()), photo_with_exif(), "PXL_0001.jpg"))

    assert media_file.state == MediaFile.State.READY
    assert media_file.content_type == "image/jpeg"
    assert media_file.metadata | {"gps": None} == {
        "kind": "image",
        "format": "JPEG",
        "width": 64,
        "height": 32,
        "orientation": 6,
        "make": "Google",
        "model": "Pixel 8",
        "captured_at": "2026:03:18 21:40:00",
        "gps": None,
    }
    assert media_file.metadata["gps"]["latitude"] == pytest.approx(51.58550, abs=1e-4)
    assert media_file.metadata["gps"]["longitude"] == pytest.approx(-0.24970, abs=1e-4)
    preview = media_file.derivatives.get()
    assert (preview.kind, preview.tool) == (Derivative.Kind.PREVIEW, "Pillow")
    with Image.open(preview.file.path) as image:
        assert image.size == (32, 64), "turned upright"
        assert not image.getexif()


def test_an_iphone_heic_photo_is_previewed_as_jpeg():
    buffer = io.BytesIO()
    Image.new("RGB", (64, 48), "green").save(buffer, "HEIF")
    media_file = process(store_media_file(make_submission(make_appeal()), buffer.getvalue(), "IMG_0002.HEIC"))
    assert media_file.state == MediaFile.State.READY
    assert media_file.metadata["format"] == "HEIF"
    with Image.open(media_file.derivatives.get(kind=Derivative.Kind.PREVIEW).file.path) as preview:
        assert (preview.format, preview.size) == ("JPEG", (64, 48))


def test_with_no_scanner_configured_a_file_is_processed_but_never_marked_clean(settings, samples):
    settings.CLAMD_ADDRESS = ""
    media_file = process(store_media_file(make_submission(make_appeal()), samples.h264_mp4()))
    assert media_file.state == MediaFile.State.READY
    assert (media_file.scan_state, media_file.scan_detail) == ("pending", "No virus scanner is configured")


def test_a_file_over_the_scanners_limit_is_recorded_as_not_scanned(clamd, settings, samples):
    content = samples.h264_mp4()
    settings.CLAMD_MAX_BYTES = len(content) - 1
    media_file = process(store_media_file(make_submission(make_appeal()), content))
    assert media_file.state == MediaFile.State.READY
    assert media_file.scan_state == MediaFile.ScanState.TOO_LARGE


def test_a_file_over_clamds_own_limit_is_recorded_as_not_scanned_and_shown_so_to_officers(client, clamd, settings):
    # The application would send up to 4000 MiB; this clamd stops reading after its StreamMaxLength.
    settings.CLAMD_MAX_BYTES = 4000 * 1024 * 1024
    north = team_with_submission("North", "102")
    content = photo_with_exif() + bytes(CLAMD_TEST_MAX_BYTES + 1024 * 1024)
    media_file = process(store_media_file(north.submission, content, "PXL_0002.jpg"))

    assert (media_file.scan_state, media_file.scan_detail) == (
        MediaFile.ScanState.TOO_LARGE,
        "Over the scanner's limit (its StreamMaxLength)",
    )
    assert (media_file.state, media_file.attempts) == (MediaFile.State.READY, 1)
    sign_in(client, north.officer)
    page = client.get(f"{north.submission.get_admin_url()}?file={media_file.pk}").text
    assert "Virus scan</dt><dd>Not scanned: too large: Over the scanner&#x27;s limit" in page
    download = client.get(reverse("admin:evidence_original", args=[media_file.pk])).text
    assert "This file was not scanned for viruses: it is over the scanner's limit." in download


def test_a_scanner_that_cuts_the_stream_off_and_still_answers_has_refused_its_size(settings, tmp_path):
    """Over TCP the connection reset that ends the upload can discard clamd's answer."""
    listener = socket.create_server(("127.0.0.1", 0))
    settings.CLAMD_ADDRESS = f"127.0.0.1:{listener.getsockname()[1]}"

    def clamd():
        for answer in (b"ClamAV 1.4.6\n", None, b"PONG\n"):
            connection, _ = listener.accept()
            connection.recv(65536)
            if answer is None:
                # Stop reading part-way and reset the connection, as clamd does at its StreamMaxLength.
                connection.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
            else:
                connection.sendall(answer)
            connection.close()

    server = threading.Thread(target=clamd)
    server.start()
    original = tmp_path / "original"
    original.write_bytes(bytes(32 * 1024 * 1024))
    try:
        outcome = media.scan(original, original.stat().st_size)
    finally:
        server.join(timeout=10)
        listener.close()
    assert (outcome.verdict, outcome.detail) == ("too_large", "Over the scanner's limit (its StreamMaxLength)")


def test_an_unreachable_scanner_is_retried_then_the_file_fails_and_officers_are_alerted(settings, tmp_path, samples):
    settings.CLAMD_ADDRESS = str(tmp_path / "no-clamd.sock")
    settings.MEDIA_MAX_ATTEMPTS = 3
    media_file = process(store_media_file(make_submission(make_appeal()), samples.h264_mp4()))

    assert media_file.state == MediaFile.State.FAILED
    assert media_file.attempts == 3
    assert media_file.scan_state == MediaFile.ScanState.PENDING
    assert "virus scanner did not answer" in media_file.state_reason
    assert len(mail.outbox) == 1 and "failed" in mail.outbox[0].subject


def test_a_file_that_changed_after_arrival_fails_with_a_reason():
    media_file = process(store_media_file(make_submission(make_appeal()), b"dashcam bytes", recorded_sha256="0" * 64))
    assert media_file.state == MediaFile.State.FAILED
    assert "does not match" in media_file.state_reason


def test_the_sweep_enqueues_files_nobody_is_working_on(
    settings, samples, monkeypatch, django_capture_on_commit_callbacks
):
    submission = make_submission(make_appeal())
    waiting = store_media_file(submission, samples.h264_mp4(), "a.mp4")
    abandoned = store_media_file(submission, samples.mjpeg_avi(), "b.avi")
    busy = store_media_file(submission, samples.hevc_mov_with_gps(), "c.mov")
    long_ago = timezone.now() - timedelta(hours=1)
    MediaFile.objects.filter(pk=waiting.pk).update(updated_at=long_ago)
    MediaFile.objects.filter(pk=abandoned.pk).update(state=MediaFile.State.PROCESSING, attempts=1, updated_at=long_ago)
    MediaFile.objects.filter(pk=busy.pk).update(state=MediaFile.State.PROCESSING, attempts=1)
    enqueued = []
    monkeypatch.setattr(process_media_file, "delay", enqueued.append)

    for _ in range(2):
        with django_capture_on_commit_callbacks(execute=True):
            sweep_stuck_media.apply()

    assert sorted(enqueued) == [waiting.pk, abandoned.pk]


def test_the_sweep_removes_the_work_folders_of_killed_workers_and_keeps_those_in_use(settings, tmp_path):
    settings.MEDIA_WORK_DIR = str(tmp_path)
    # A worker's task in its own process, killed mid-transcode.
    killed = subprocess.Popen(
        [sys.executable, "-c", HOLD_A_WORK_FOLDER],
        env={
            **os.environ,
            "DJANGO_SETTINGS_MODULE": "config.settings",
            "DEBUG": "true",
            "MEDIA_WORK_DIR": str(tmp_path),
        },
        cwd=Path(__file__).resolve().parents[2],
        stdout=subprocess.PIPE,
        text=True,
    )
    abandoned = Path(killed.stdout.readline().strip())
    killed.kill()
    killed.wait()
    assert (abandoned / "proxy.mp4").exists()

    with media.work_folder() as in_use:
        (in_use / "poster.jpg").write_bytes(b"frame")
        sweep_stuck_media.apply()
        assert (in_use / "poster.jpg").exists()
    assert not abandoned.exists()
    assert list(tmp_path.glob("media-*")) == []


HOLD_A_WORK_FOLDER = """
import time
import django
django.setup()
from submissions import media
with media.work_folder() as work:
    (work / "proxy.mp4").write_bytes(b"half a proxy")
    print(work, flush=True)
    time.sleep(600)
"""


def test_the_sweep_sends_an_alert_that_was_never_queued(settings, django_capture_on_commit_callbacks):
    media_file = store_media_file(make_submission(make_appeal()), b"not media")
    media_file.finish(MediaFile.State.UNPROCESSABLE, "ffprobe could not read the file")

    for _ in range(2):
        with django_capture_on_commit_callbacks(execute=True):
            sweep_stuck_media.apply()

    assert len(mail.outbox) == 1
    assert Notification.objects.get().event_key == f"media_unprocessable:{media_file.pk}"
