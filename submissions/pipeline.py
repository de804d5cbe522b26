"""The media pipeline: verify, scan, describe, preview and transcode each received file.

The tasks keep the names they were first queued under (submissions.tasks.*): routes, beat and queued messages use them.
"""

import logging
from contextlib import contextmanager
from datetime import timedelta

import magic
from celery import shared_task
from django.conf import settings
from django.utils import timezone

from submissions import media
from submissions.models import Derivative, MediaFile, Notification
from submissions.notifications import notify_media_problem
from submissions.queueing import enqueue_on_commit
from submissions.storage import local_path, sha256_of_path, stream_stored

log = logging.getLogger(__name__)


class LostClaim(Exception):
    """Another worker took the file over (this one stalled past its hold): stop without writing."""


@shared_task(
    name="submissions.tasks.process_media_file",
    bind=True,
    max_retries=None,
    soft_time_limit=6 * 3600,
    time_limit=6 * 3600 + 120,
)
def process_media_file(self, media_file_id: int):
    """Verify, scan, describe, preview and transcode one file; safe to run twice or on two workers at once."""
    if not MediaFile.objects.filter(pk=media_file_id).exists():
        log.warning("Media file %s is gone; nothing to process", media_file_id)
        return
    media_file = MediaFile.objects.claim(media_file_id)
    if media_file is None:
        log.info("Media file %s is done or held by another worker", media_file_id)
        return
    # Every machine that does this work clears what its killed workers left.
    remove_abandoned_work()
    attempt = media_file.attempts
    if attempt > settings.MEDIA_MAX_ATTEMPTS:
        give_up(media_file, f"Processing did not finish after {attempt - 1} attempts")
        return
    try:
        run_pipeline(media_file, attempt)
    except LostClaim:
        log.warning("Media file %s was taken over by another worker", media_file.pk)
    except media.Unprocessable as error:
        end_with_problem(media_file, MediaFile.State.UNPROCESSABLE, str(error))
    except media.Transient as error:
        retry_later(self, media_file, attempt, str(error))
    except Exception as error:
        # An unexpected error may be the file's fault or ours: retry a bounded number of times.
        log.exception("Processing media file %s failed", media_file.pk)
        retry_later(self, media_file, attempt, f"{type(error).__name__}: {error}")


def retry_later(task, media_file, attempt, reason):
    if attempt >= settings.MEDIA_MAX_ATTEMPTS:
        give_up(media_file, reason)
        return
    media_file.release_for_retry(reason)
    raise task.retry(countdown=min(600, 10 * 2**attempt))


def give_up(media_file, reason):
    end_with_problem(media_file, MediaFile.State.FAILED, reason)


def end_with_problem(media_file, state, reason):
    media_file.finish(state, reason)
    enqueue_on_commit(notify_media_problem, media_file.pk)


def run_pipeline(media_file, attempt):
    def heartbeat():
        if not media_file.still_held(attempt):
            raise LostClaim

    with media.work_folder() as work, local_original(media_file, work) as original:
        if not media_file.matches_record(original):
            give_up(media_file, "The stored file does not match the size and SHA-256 recorded on arrival")
            return
        if media_file.scan_state == MediaFile.ScanState.PENDING:
            scan_original(media_file, original)
            heartbeat()
        if media_file.scan_state == MediaFile.ScanState.INFECTED:
            end_with_problem(media_file, MediaFile.State.QUARANTINED, f"Infected: {media_file.scan_detail}")
            return
        if not media_file.metadata:
            describe(media_file, original)
            heartbeat()
        made = set(media_file.derivatives.values_list("kind", flat=True))
        if media_file.is_video():
            for kind, make in [
                (Derivative.Kind.POSTER, media.poster),
                (Derivative.Kind.CONTACT_SHEET, media.contact_sheet),
            ]:
                if kind not in made:
                    store(media_file, kind, make(original, work / f"{kind}.jpg", media_file.metadata))
                    heartbeat()
            if Derivative.Kind.PROXY not in made:
                product = media.proxy(original, work / "proxy.mp4", media_file.metadata, heartbeat=heartbeat)
                heartbeat()
                store(media_file, Derivative.Kind.PROXY, product)
        elif media_file.metadata["kind"] == "image" and Derivative.Kind.PREVIEW not in made:
            with media.open_image(original) as image:
                store(media_file, Derivative.Kind.PREVIEW, media.image_preview(image, work / "preview.jpg"))
    heartbeat()
    media_file.finish(MediaFile.State.READY)


@contextmanager
def local_original(media_file, work):
    """A path to the original that tools can read: the stored file itself, or a copy in the work folder."""
    path = local_path(media_file.original)
    if path is not None:
        yield path
        return
    copy = work / "original"
    with copy.open("wb") as written:
        for chunk in stream_stored(media_file.original):
            written.write(chunk)
    yield copy


def scan_original(media_file, original):
    if not settings.CLAMD_ADDRESS:
        media_file.record_scan("No virus scanner is configured")
        return
    outcome = media.scan(original, media_file.size)
    media_file.record_scan(outcome.detail, outcome.verdict)


def describe(media_file, original):
    image = media.open_image(original)
    if image is not None:
        with image:
            metadata = media.describe_image(image)
    else:
        metadata = media.describe_video(media.probe(original))
    media_file.record_description(metadata, media_file.content_type or magic.from_file(str(original), mime=True))


def store(media_file, kind, product):
    media_file.add_derivative(
        kind=kind,
        path=product.path,
        sha256=sha256_of_path(product.path),
        content_type=product.content_type,
        tool=product.tool,
        tool_version=product.tool_version,
        arguments=product.arguments,
    )


@shared_task(name="submissions.tasks.sweep_stuck_media", soft_time_limit=60, time_limit=90)
def sweep_stuck_media():
    """Enqueue files nobody is working on, and alerts that were never queued (the broker was down)."""
    stuck = MediaFile.objects.requeue_stuck()
    for pk in stuck:
        enqueue_on_commit(process_media_file, pk)
    problems = list(
        MediaFile.objects.filter(state__in=MediaFile.PROBLEM_STATES, updated_at__gt=timezone.now() - timedelta(days=1))
    )
    alerted = set(
        Notification.objects.filter(event_key__in=[f.problem_event_key for f in problems]).values_list(
            "event_key", flat=True
        )
    )
    for media_file in problems:
        if media_file.problem_event_key not in alerted:
            enqueue_on_commit(notify_media_problem, media_file.pk)
    if stuck:
        log.info("Enqueued %d stuck media files again", len(stuck))
    remove_abandoned_work()


def remove_abandoned_work():
    if removed := media.remove_abandoned_work():
        log.info("Removed %d work folders left by workers that died", removed)
