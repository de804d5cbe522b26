"""The second phase: the web proxy is transcoded on its own queue once the first look has made the file ready,
under a hold of its own, retried a bounded number of times, and its failure is the web copy's alone."""

import os
from datetime import timedelta

import pytest
from django.core import mail
from django.db import connection
from django.test import TestCase
from django.utils import timezone

from config.celery import app as celery_app
from submissions import media
from submissions.models import Derivative, MediaFile
from submissions.pipeline import make_web_proxy, process_media_file, sweep_stuck_media
from tests.conftest import require
from tests.factories import make_appeal, make_submission, run_twice_at_once
from tests.officers import sign_in, team_with_submission
from tests.submissions.conftest import store_media_file

pytestmark = pytest.mark.django_db


@pytest.fixture
def transcodes(monkeypatch):
    """Every transcode started, with the state its file was in at the time; each one really runs."""
    started = []
    transcode_proxy = media.transcode_proxy

    def watched(original, output, description, heartbeat=None):
        started.append(MediaFile.objects.get(sha256=original.name).state)  # originals are named by their hash
        return transcode_proxy(original, output, description, heartbeat)

    monkeypatch.setattr(media, "transcode_proxy", watched)
    return started


@pytest.fixture
def queued(monkeypatch):
    """The web proxies queued for the proxy workers, not run."""
    proxies = []
    monkeypatch.setattr(make_web_proxy, "delay", proxies.append)
    return proxies


def first_look(media_file):
    with TestCase.captureOnCommitCallbacks(execute=True):
        process_media_file.apply(args=[media_file.pk])
    media_file.refresh_from_db()
    return media_file


def kinds(media_file):
    return sorted(media_file.derivatives.values_list("kind", flat=True))


def hevc_file(samples, submission=None):
    return store_media_file(submission or make_submission(make_appeal()), samples.hevc_mov_with_gps(), "IMG_0001.MOV")


def test_the_first_look_makes_the_file_ready_then_queues_its_transcode_on_the_proxy_queue(samples, queued, transcodes):
    media_file = first_look(hevc_file(samples))

    assert (media_file.state, media_file.proxy_state) == (MediaFile.State.READY, MediaFile.ProxyState.WAITING)
    assert kinds(media_file) == ["contact_sheet", "poster"]
    assert queued == [media_file.pk] and transcodes == []
    assert celery_app.amqp.router.route({}, make_web_proxy.name)["queue"].name == "proxy"

    make_web_proxy.apply(args=[media_file.pk])
    media_file.refresh_from_db()
    assert transcodes == [MediaFile.State.READY]
    assert (media_file.proxy_state, media_file.proxy_reason, media_file.proxy_attempts) == ("made", "", 1)
    assert kinds(media_file) == ["contact_sheet", "poster", "proxy"]
    assert "libx264" in media_file.derivatives.get(kind=Derivative.Kind.PROXY).arguments


def test_footage_that_browsers_play_is_copied_in_the_first_look_and_nothing_waits_for_a_transcode(
    samples, queued, transcodes
):
    media_file = first_look(store_media_file(make_submission(make_appeal()), samples.h264_mp4()))

    assert (media_file.state, media_file.proxy_state) == (MediaFile.State.READY, MediaFile.ProxyState.MADE)
    assert "copy" in media_file.derivatives.get(kind=Derivative.Kind.PROXY).arguments
    assert queued == [] and transcodes == []


def test_a_photo_needs_no_web_proxy(queued):
    from tests.submissions.conftest import photo_with_exif

    media_file = first_look(store_media_file(make_submission(make_appeal()), photo_with_exif(), "PXL_0001.jpg"))
    assert (media_file.state, media_file.proxy_state) == (MediaFile.State.READY, MediaFile.ProxyState.NONE)
    assert queued == []


def test_a_second_proxy_task_while_one_holds_the_lease_does_nothing(samples, queued, transcodes):
    media_file = first_look(hevc_file(samples))
    held = MediaFile.objects.claim_proxy(media_file.pk)
    assert held.proxy_attempts == 1

    make_web_proxy.apply(args=[media_file.pk])
    media_file.refresh_from_db()
    assert (media_file.proxy_state, media_file.proxy_attempts) == (MediaFile.ProxyState.MAKING, 1)
    assert transcodes == [] and kinds(media_file) == ["contact_sheet", "poster"]

    # The holder stopped renewing its hold (its worker died): the next task takes the transcode over.
    MediaFile.objects.filter(pk=media_file.pk).update(proxy_updated_at=timezone.now() - timedelta(hours=1))
    make_web_proxy.apply(args=[media_file.pk])
    media_file.refresh_from_db()
    assert (media_file.proxy_state, media_file.proxy_attempts) == (MediaFile.ProxyState.MADE, 2)
    assert transcodes == [MediaFile.State.READY]
    assert not held.still_making_proxy(held.proxy_attempts), "the first holder finds its hold gone"


@pytest.mark.django_db(transaction=True)
def test_two_proxy_workers_at_once_make_one_transcode(samples, queued, transcodes):
    require(connection.vendor == "postgresql", "PostgreSQL (DATABASE_URL) for concurrent workers")
    media_file = first_look(hevc_file(samples))
    run_twice_at_once(make_web_proxy, media_file.pk)

    media_file.refresh_from_db()
    assert transcodes == [MediaFile.State.READY]
    assert (media_file.proxy_state, media_file.proxy_attempts) == (MediaFile.ProxyState.MADE, 1)
    assert media_file.derivatives.filter(kind=Derivative.Kind.PROXY).count() == 1


def test_the_sweep_enqueues_web_proxies_nobody_is_making(samples, queued, django_capture_on_commit_callbacks):
    submission = make_submission(make_appeal())
    long_ago = timezone.now() - timedelta(hours=1)
    files = {}
    for number, (name, proxy_state, updated_at) in enumerate(
        [
            ("never picked up", MediaFile.ProxyState.WAITING, long_ago),
            ("worker died", MediaFile.ProxyState.MAKING, long_ago),
            ("just queued", MediaFile.ProxyState.WAITING, timezone.now()),
            ("being made", MediaFile.ProxyState.MAKING, timezone.now()),
            ("made", MediaFile.ProxyState.MADE, long_ago),
            ("failed", MediaFile.ProxyState.FAILED, long_ago),
        ]
    ):
        files[name] = store_media_file(submission, f"clip {number}".encode(), f"{number}.mp4")
        MediaFile.objects.filter(pk=files[name].pk).update(
            state=MediaFile.State.READY, proxy_state=proxy_state, proxy_attempts=1, proxy_updated_at=updated_at
        )

    for _ in range(2):
        with django_capture_on_commit_callbacks(execute=True):
            sweep_stuck_media.apply()

    assert sorted(queued) == sorted([files["never picked up"].pk, files["worker died"].pk])
    assert MediaFile.objects.get(pk=files["worker died"].pk).proxy_state == MediaFile.ProxyState.WAITING


def test_a_web_proxy_that_cannot_be_made_leaves_the_file_ready_and_officers_see_why(
    client, samples, tmp_path, monkeypatch
):
    north = team_with_submission("North", "101")
    # An ffmpeg whose encoder is missing: the first look works, the transcode cannot.
    (tmp_path / "bin").mkdir()
    ffmpeg = tmp_path / "bin" / "ffmpeg"
    ffmpeg.write_text(
        '#!/bin/sh\ncase "$*" in *libx264*) echo "Unknown encoder libx264" >&2; exit 1;; esac\n'
        'exec /usr/bin/ffmpeg "$@"\n'
    )
    ffmpeg.chmod(0o755)
    monkeypatch.setenv("PATH", f"{ffmpeg.parent}:{os.environ['PATH']}")
    media_file = first_look(hevc_file(samples, north.submission))

    assert (media_file.state, media_file.state_reason, media_file.status_line()) == ("ready", "", "Ready")
    assert (media_file.proxy_state, media_file.proxy_attempts) == (MediaFile.ProxyState.FAILED, 1)
    assert media_file.proxy_reason == "ffmpeg could not read the file: Unknown encoder libx264"
    assert kinds(media_file) == ["contact_sheet", "poster"]
    assert mail.outbox == [], "the file itself is fine: no alert"
    page = sign_in(client, north.officer).get(f"{north.submission.get_admin_url()}?file={media_file.pk}").text
    page = " ".join(page.split())
    assert "The web copy of this video could not be made, so it cannot play here" in page
    assert "<dt>Web copy</dt><dd>Failed: ffmpeg could not read the file: Unknown encoder libx264</dd>" in page
    assert "Download the original of IMG_0001.MOV" in page and 'alt="Poster frame of IMG_0001.MOV"' in page
    assert "<video" not in page


def test_a_web_proxy_that_keeps_failing_is_retried_a_bounded_number_of_times(settings, samples, monkeypatch):
    settings.MEDIA_MAX_ATTEMPTS = 3
    attempts = []

    def full_disk(original, output, description, heartbeat=None):
        attempts.append(output)
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(media, "transcode_proxy", full_disk)
    media_file = first_look(hevc_file(samples))

    assert len(attempts) == 3
    assert (media_file.state, media_file.attempts) == (MediaFile.State.READY, 1)
    assert (media_file.proxy_state, media_file.proxy_attempts) == (MediaFile.ProxyState.FAILED, 3)
    assert media_file.proxy_reason == "OSError: [Errno 28] No space left on device"
    assert list((media_file.proxy_status_line(), kinds(media_file))) == [
        "Failed: OSError: [Errno 28] No space left on device",
        ["contact_sheet", "poster"],
    ]


@pytest.mark.parametrize(
    ("told", "refusal"),
    [
        ({}, None),
        ({"video_frames": 31}, "The proxy has 30 video frames, not 31"),
        ({"duration": 3.0}, "The proxy lasts 2.0 seconds, not 3.0"),
        ({"audio_codec": "aac"}, "The proxy has no sound"),
    ],
    ids=["as the original", "a frame short", "too short", "without the sound"],
)
def test_a_stream_copy_is_checked_against_what_the_original_holds(samples, tmp_path, told, refusal):
    silent = ["-f", "lavfi", "-i", "testsrc2=size=320x240:rate=15", "-t", "2", "-c:v", "libx264", "-pix_fmt", "yuv420p"]
    samples.ffmpeg("silent.mp4", *silent)
    original = samples.directory / "silent.mp4"
    description = media.describe_video(media.probe(original))
    assert (description["video_frames"], "audio_codec" in description) == (30, False)
    copy = media.copy_proxy(original, tmp_path / "copy.mp4", description)

    if refusal is None:
        media.check_copy(copy.path, original, description)
        return
    with pytest.raises(media.Unprocessable, match=refusal):
        media.check_copy(copy.path, original, description | told)
