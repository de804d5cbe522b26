"""The media pipeline: a file received into object storage is recorded first (record_upload); then every
file goes through two phases.

First look (process_media_file, queue "media"): verify, scan, describe, poster and contact sheet (a preview
for photos), and the web proxy when a stream copy will do; then the file is ready for officers. Web proxy
(make_web_proxy, queue "proxy", its own lower-priority workers): the transcode of everything else, so that
a backlog of transcodes never delays the first look at a new file.

The tasks keep the names they were first queued under (submissions.tasks.*): routes, beat and queued messages use them.
"""

import hashlib
import logging
from concurrent.futures import ThreadPoolExecutor, wait
from contextlib import contextmanager
from datetime import timedelta
from functools import partial

import magic
from botocore.exceptions import BotoCoreError
from celery import shared_task
from django.conf import settings
from django.db import transaction
from django.utils import timezone

from submissions import media
from submissions.files import FileRefused
from submissions.models import Derivative, MediaFile, Notification, Submission, Upload
from submissions.notifications import notify_media_problem
from submissions.queueing import enqueue_on_commit
from submissions.storage import local_path, sha256_of_path, stream_stored

log = logging.getLogger(__name__)


@shared_task(
    name="submissions.tasks.record_upload",
    autoretry_for=(OSError, BotoCoreError),
    retry_backoff=True,
    max_retries=5,
    soft_time_limit=1800,
    time_limit=1860,
)
def record_upload(upload_id: str):
    """Record the SHA-256 and media file of an upload stored whole in object storage; the sweep retries it."""
    upload = Upload.objects.awaiting_hash().select_related("submission").filter(pk=upload_id).first()
    if upload is None:
        log.info("Upload %s is recorded already, or gone", upload_id)
        return
    record_stored_upload(upload)


def record_stored_upload(upload: Upload) -> MediaFile | None:
    """Hash the stored object, reading it once, keep it as the upload's media file and process it; then
    remove the partial file, when this machine shares UPLOAD_DIR (the notify workers must).

    Returns None, and changes nothing, when the object is not the upload's length or another run recorded it
    first; a file the submission already has is removed (its bytes are kept once) and None returned.
    """
    media_file = MediaFile(
        submission=upload.submission,
        original=upload.stored_name,
        original_filename=upload.filename,
        size=upload.length,
        content_type=upload.content_type,
    )
    digest, size = hashlib.sha256(), 0
    for chunk in stream_stored(media_file.original):
        digest.update(chunk)
        size += len(chunk)
    if size != upload.length:
        log.error("Upload %s is stored with %s bytes, not %s; left alone", upload.pk, size, upload.length)
        return None
    media_file.sha256 = digest.hexdigest()
    with transaction.atomic():
        # The lock that adding a file and disposal take: one at a time per submission.
        submission = Submission.objects.select_for_update().get(pk=upload.submission_id)
        if not Upload.objects.awaiting_hash().filter(pk=upload.pk).exists():
            return None
        try:
            submission.check_not_sent(sha256=media_file.sha256, filename=upload.filename)
        except FileRefused as refused:
            log.info("Upload %s removed: %s", upload.pk, refused.message)
            upload.discard()
            return None
        media_file.check_fields()
        media_file.save()
        Upload.objects.filter(pk=upload.pk).update(media_file=media_file)
        enqueue_on_commit(process_media_file, media_file.pk)
    # Left by the last PATCH: removing a large file costs ext4 most of a second per GB.
    upload.partial_path.unlink(missing_ok=True)
    log.info("Recorded upload %s as media file %s", upload.pk, media_file.pk)
    return media_file


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
    """The first look at one file (verify, scan, describe, preview); safe to run twice or on two workers at once."""
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

    proxy_state = MediaFile.ProxyState.NONE
    with media.work_folder() as work, local_original(media_file, work) as original:
        # Hashed while the scanner reads it, so the file is read once; one that does not match fails, whatever
        # the scan found.
        with ThreadPoolExecutor(max_workers=1) as hashing:
            matches = hashing.submit(media_file.matches_record, original)
            if media_file.scan_state == MediaFile.ScanState.PENDING:
                scan_original(media_file, original)
        if not matches.result():
            give_up(media_file, "The stored file does not match the size and SHA-256 recorded on arrival")
            return
        heartbeat()
        if media_file.scan_state == MediaFile.ScanState.INFECTED:
            end_with_problem(media_file, MediaFile.State.QUARANTINED, f"Infected: {media_file.scan_detail}")
            return
        if not media_file.metadata:
            describe(media_file, original)
            heartbeat()
        made = set(media_file.derivatives.values_list("kind", flat=True))
        if media_file.is_video():
            proxy_state = preview_video(media_file, original, work, made, heartbeat)
        elif media_file.metadata["kind"] == "image" and Derivative.Kind.PREVIEW not in made:
            with media.open_image(original) as image:
                store(media_file, Derivative.Kind.PREVIEW, media.image_preview(image, work / "preview.jpg"))
    heartbeat()
    media_file.mark_ready(proxy_state)
    if proxy_state == MediaFile.ProxyState.WAITING:
        enqueue_on_commit(make_web_proxy, media_file.pk)


def preview_video(media_file, original, work, made, heartbeat) -> str:
    """Make the poster and the contact sheet, and the web proxy if a stream copy will do, all at once; return
    the proxy's state (made, or waiting for its own task)."""
    description = media_file.metadata
    tools = {
        kind: partial(make, original, work / f"{kind}.jpg", description)
        for kind, make in [(Derivative.Kind.POSTER, media.poster), (Derivative.Kind.CONTACT_SHEET, media.contact_sheet)]
        if kind not in made
    }
    # A stream copy belongs to the first look: it decodes nothing and takes about as long as reading the
    # file, so most phone footage plays as soon as officers can open it. A transcode takes minutes of both
    # cores and never runs here: it waits on the proxy queue (make_web_proxy).
    if Derivative.Kind.PROXY not in made and media.plays_in_browsers(description):
        tools[Derivative.Kind.PROXY] = partial(media.copy_proxy, original, work / "proxy.mp4", description)
    products = run_at_once(tools, heartbeat)
    for kind in (Derivative.Kind.POSTER, Derivative.Kind.CONTACT_SHEET):
        if kind in products:
            store(media_file, kind, products[kind].result())
    if Derivative.Kind.PROXY in made:
        return MediaFile.ProxyState.MADE
    if Derivative.Kind.PROXY in products:
        try:
            store(media_file, Derivative.Kind.PROXY, products[Derivative.Kind.PROXY].result())
        except media.Unprocessable as error:
            log.warning("A stream copy of media file %s failed (%s); it will be transcoded", media_file.pk, error)
        else:
            return MediaFile.ProxyState.MADE
    return MediaFile.ProxyState.WAITING


def run_at_once(tools: dict, heartbeat) -> dict:
    """Run each tool (an ffmpeg of its own) in a thread, renewing the hold until all have ended; return their
    futures by name."""
    interval = max(1.0, settings.MEDIA_LEASE_SECONDS / 4)
    with ThreadPoolExecutor(max_workers=max(1, len(tools))) as pool:
        futures = {name: pool.submit(tool) for name, tool in tools.items()}
        while wait(futures.values(), timeout=interval).not_done:
            heartbeat()
    return futures


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


@shared_task(
    name="submissions.tasks.make_web_proxy",
    bind=True,
    max_retries=None,
    soft_time_limit=6 * 3600,
    time_limit=6 * 3600 + 120,
)
def make_web_proxy(self, media_file_id: int):
    """Transcode a ready file's web proxy; safe to run twice or on two workers at once (one transcodes).

    A failure is the web copy's alone: the file stays ready, its poster and original there for officers.
    """
    if not MediaFile.objects.filter(pk=media_file_id).exists():
        log.warning("Media file %s is gone; no web proxy to make", media_file_id)
        return
    media_file = MediaFile.objects.claim_proxy(media_file_id)
    if media_file is None:
        log.info("The web proxy of media file %s is made, not needed, or held by another worker", media_file_id)
        return
    remove_abandoned_work()
    attempt = media_file.proxy_attempts
    if attempt > settings.MEDIA_MAX_ATTEMPTS:
        media_file.finish_proxy(MediaFile.ProxyState.FAILED, f"Not made after {attempt - 1} attempts")
        return
    try:
        transcode(media_file, attempt)
    except LostClaim:
        log.warning("The web proxy of media file %s was taken over by another worker", media_file.pk)
    except media.Unprocessable as error:
        media_file.finish_proxy(MediaFile.ProxyState.FAILED, str(error))
    except Exception as error:
        # Storage or the tool's surroundings, or a bug: retry a bounded number of times.
        log.exception("Making the web proxy of media file %s failed", media_file.pk)
        if attempt >= settings.MEDIA_MAX_ATTEMPTS:
            media_file.finish_proxy(MediaFile.ProxyState.FAILED, f"{type(error).__name__}: {error}")
            return
        media_file.release_proxy_for_retry(f"{type(error).__name__}: {error}")
        raise self.retry(countdown=min(600, 10 * 2**attempt)) from error


def transcode(media_file, attempt):
    def heartbeat():
        if not media_file.still_making_proxy(attempt):
            raise LostClaim

    if not media_file.derivatives.filter(kind=Derivative.Kind.PROXY).exists():
        with media.work_folder() as work, local_original(media_file, work) as original:
            product = media.transcode_proxy(original, work / "proxy.mp4", media_file.metadata, heartbeat=heartbeat)
            heartbeat()
            store(media_file, Derivative.Kind.PROXY, product)
    heartbeat()
    media_file.finish_proxy(MediaFile.ProxyState.MADE)


@shared_task(name="submissions.tasks.sweep_stuck_media", soft_time_limit=60, time_limit=90)
def sweep_stuck_media():
    """Enqueue files and web proxies nobody is working on, and alerts that were never queued (the broker was
    down)."""
    stuck = MediaFile.objects.requeue_stuck()
    for pk in stuck:
        enqueue_on_commit(process_media_file, pk)
    stuck_proxies = MediaFile.objects.requeue_stuck_proxies()
    for pk in stuck_proxies:
        enqueue_on_commit(make_web_proxy, pk)
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
    if stuck or stuck_proxies:
        log.info("Enqueued %d stuck media files and %d web proxies again", len(stuck), len(stuck_proxies))
    remove_abandoned_work()


def remove_abandoned_work():
    if removed := media.remove_abandoned_work():
        log.info("Removed %d work folders left by workers that died", removed)
