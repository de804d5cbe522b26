"""A tus 1.0.0 server (https://tus.io/protocols/resumable-upload): core, creation, termination,
expiration and checksum, authorised by a submission's upload token rather than a session.

Bytes stream from the request to a partial file under UPLOAD_DIR (see request_bodies.py); the whole
file is hashed once, when its last byte is in, while it is fsynced. With object storage each PATCH also
sends the parts its bytes complete, and the last joins them (Upload.send_parts, store_parts): the hash is
then taken from the stored object by a task. An exclusive flock on the partial file makes PATCHes to one
upload take turns, across threads, processes and anything sharing the folder.
"""

import base64
import binascii
import errno
import hashlib
import logging
from functools import wraps
from urllib.parse import urlsplit

from django.conf import settings
from django.http import HttpResponse
from django.urls import reverse
from django.utils.http import http_date
from django.views.decorators.csrf import csrf_exempt

from submissions.files import SNIFF_BYTES, FileRefused, sanitise_filename, too_many_files_message
from submissions.models import FootageLinkEnded, Submission, Upload, upload_expiry
from submissions.ratelimits import retry_after, wait_in_words
from submissions.request_bodies import BodyReader, write_body
from submissions.services import adopt_moved_upload, complete_upload
from submissions.storage import OBJECT_STORAGE_ERRORS, has_room_for

log = logging.getLogger(__name__)

TUS_VERSION = "1.0.0"
TUS_EXTENSIONS = "creation,termination,expiration,checksum"
CHECKSUM_ALGORITHMS = {"sha256": hashlib.sha256, "sha1": hashlib.sha1, "md5": hashlib.md5}
RETRY_AFTER_SECONDS = 300
LINK_ENDED_MESSAGE = (
    "This link no longer takes files: it has ended or been turned off. Call 101 and quote your reference "
    "if you have more footage."
)
# For browsers on UPLOAD_ALLOWED_ORIGINS (CORS).
EXPOSED_HEADERS = ", ".join(
    [
        *("Location", "Upload-Offset", "Upload-Length", "Upload-Expires"),
        *("Tus-Resumable", "Tus-Version", "Tus-Extension", "Tus-Max-Size", "Tus-Checksum-Algorithm"),
    ]
)
ALLOWED_HEADERS = ", ".join(
    [
        *("Authorization", "Content-Type", "Tus-Resumable", "X-HTTP-Method-Override", "X-Requested-With"),
        *("Upload-Length", "Upload-Offset", "Upload-Metadata", "Upload-Checksum"),
    ]
)


def tus_response(status=204, message="", headers=None):
    response = HttpResponse(message, status=status, content_type="text/plain; charset=utf-8")
    response["Tus-Resumable"] = TUS_VERSION
    response["Cache-Control"] = "no-store"
    for name, value in (headers or {}).items():
        response[name] = value
    return response


def allowed_origin(request):
    """Same-origin pages, the site itself and configured partner origins; None when there is no Origin."""
    origin = request.headers.get("Origin")
    if origin is None:
        return None
    own = f"{request.scheme}://{request.get_host()}"
    trusted = {own, *settings.CSRF_TRUSTED_ORIGINS, *settings.UPLOAD_ALLOWED_ORIGINS}
    trusted.add("{0.scheme}://{0.netloc}".format(urlsplit(settings.SITE_URL)))
    return origin if origin in trusted else False


def cors_headers(origin):
    if not origin:
        return {}
    return {
        "Access-Control-Allow-Origin": origin,
        "Access-Control-Expose-Headers": EXPOSED_HEADERS,
        "Vary": "Origin",
    }


def discovery(origin):
    headers = {
        "Tus-Version": TUS_VERSION,
        "Tus-Extension": TUS_EXTENSIONS,
        "Tus-Max-Size": str(settings.UPLOAD_MAX_SIZE),
        "Tus-Checksum-Algorithm": ",".join(CHECKSUM_ALGORITHMS),
        **cors_headers(origin),
    }
    if origin:
        headers["Access-Control-Allow-Methods"] = "POST, HEAD, PATCH, DELETE, OPTIONS"
        headers["Access-Control-Allow-Headers"] = ALLOWED_HEADERS
        headers["Access-Control-Max-Age"] = "86400"
    return tus_response(204, headers=headers)


def bearer_token(request):
    kind, _, token = request.headers.get("Authorization", "").partition(" ")
    return token.strip() if kind.lower() == "bearer" else ""


def tus_endpoint(view):
    """Protocol checks every tus request shares: Origin, version, method override, the token."""

    @csrf_exempt  # Authorised by a bearer token, never by a cookie, so a forged request has nothing to ride on.
    @wraps(view)
    def wrapper(request, *args, **kwargs):
        origin = allowed_origin(request)
        if origin is False:
            return tus_response(403, "This site does not accept uploads from that origin.")
        method = request.method
        if method == "POST" and "X-HTTP-Method-Override" in request.headers:
            method = request.headers["X-HTTP-Method-Override"].upper()
        if method == "OPTIONS":
            return discovery(origin)
        cors = cors_headers(origin)
        if request.headers.get("Tus-Resumable") != TUS_VERSION:
            return tus_response(412, "Unsupported tus version.", {"Tus-Version": TUS_VERSION, **cors})
        try:
            submission = Submission.objects.for_footage_link(bearer_token(request))
        except Submission.DoesNotExist:
            return tus_response(
                401, "This upload link is not valid.", {"WWW-Authenticate": 'Bearer realm="uploads"', **cors}
            )
        except FootageLinkEnded:
            return tus_response(410, LINK_ENDED_MESSAGE, cors)
        response = view(request, method, submission, *args, **kwargs)
        for name, value in cors.items():
            response[name] = value
        return response

    return wrapper


def storage_unavailable():
    return tus_response(
        503,
        "We cannot store files just now. Your upload will carry on by itself in a moment.",
        {"Retry-After": "10"},
    )


def disk_full():
    return tus_response(
        503,
        "We are short of space to receive files just now. Your upload will carry on by itself; please try again later.",
        {"Retry-After": str(RETRY_AFTER_SECONDS)},
    )


def header_int(request, name):
    value = request.headers.get(name, "")
    # str.isdigit() also takes "²", which int() refuses: a header's number is made of ASCII digits only.
    if not (value.isascii() and value.isdigit()):
        return None
    return int(value)


def parse_metadata(header: str) -> dict:
    """Upload-Metadata: comma-separated "key base64value" pairs."""
    metadata = {}
    for pair in filter(None, (part.strip() for part in header.split(","))):
        key, _, encoded = pair.partition(" ")
        try:
            metadata[key] = base64.b64decode(encoded, validate=True).decode("utf-8", "replace")
        except binascii.Error as error:
            raise ValueError(f"Upload-Metadata value for {key} is not base64") from error
    return metadata


def expires_header(upload):
    return {"Upload-Expires": http_date(upload.expires_at.timestamp())}


def too_large_message():
    return f"The selected file must be smaller than {settings.UPLOAD_MAX_SIZE // 1024**3} GB."


@tus_endpoint
def create_upload(request, method, submission):
    if method != "POST":
        return tus_response(405, headers={"Allow": "POST, OPTIONS"})
    if wait := retry_after(request, group="uploads", rate=settings.UPLOADS_RATE_LIMIT):
        return tus_response(
            429,
            f"Too many uploads have been started from your internet connection. Wait {wait_in_words(wait)}, "
            "then choose Try again. The files you have already sent are safe with us.",
            {"Retry-After": str(wait)},
        )
    if "Upload-Defer-Length" in request.headers:
        return tus_response(400, "Upload-Defer-Length is not supported: send Upload-Length.")
    length = header_int(request, "Upload-Length")
    if length is None:
        return tus_response(400, "Upload-Length must be a whole number of bytes.")
    try:
        metadata = parse_metadata(request.headers.get("Upload-Metadata", ""))
    except ValueError as error:
        return tus_response(400, str(error))
    filename = sanitise_filename(metadata.get("filename") or metadata.get("name", ""))
    if length == 0:
        return tus_response(400, f"{filename} is empty.")
    if length > settings.UPLOAD_MAX_SIZE:
        return tus_response(413, too_large_message(), {"Tus-Max-Size": str(settings.UPLOAD_MAX_SIZE)})
    if submission.files_in_use() >= settings.UPLOAD_MAX_FILES:
        return tus_response(422, too_many_files_message())
    if not has_room_for(length):
        return disk_full()
    upload = Upload.objects.create(submission=submission, length=length, filename=filename)
    upload.partial_path.touch(exist_ok=False)
    location = request.build_absolute_uri(reverse("submissions:upload", args=[upload.pk]))
    return tus_response(201, headers={"Location": location, **expires_header(upload)})


@tus_endpoint
def existing_upload(request, method, submission, upload_id):
    upload = Upload.objects.filter(pk=upload_id, submission=submission).first()
    if upload is None:
        return tus_response(404, "There is no such upload.")
    if upload.is_expired():
        return tus_response(410, "This upload has expired: start it again.")
    if method == "HEAD":
        if upload.completed_at is None and upload.offset == upload.length and (refused := finish_whole_upload(upload)):
            return refused
        headers = {"Upload-Offset": str(head_offset(upload)), "Upload-Length": str(upload.length)}
        if upload.completed_at is None:
            headers.update(expires_header(upload))
        return tus_response(200, headers=headers)
    if method == "PATCH":
        return patch(request, upload)
    if method == "DELETE":
        return terminate(upload)
    return tus_response(405, headers={"Allow": "HEAD, PATCH, DELETE, OPTIONS"})


def head_offset(upload):
    """Never promise bytes a crash took from the disk: the next PATCH re-records the offset under the lock."""
    if upload.completed_at is not None:
        return upload.offset
    try:
        return min(upload.offset, upload.partial_path.stat().st_size)
    except FileNotFoundError:
        # Stored as evidence (or discarded) since this request read the row.
        completed = Upload.objects.filter(pk=upload.pk, completed_at__isnull=False).exists()
        return upload.length if completed else 0


def terminate(upload):
    if upload.completed_at is not None:
        return tus_response(
            403, "This file has been received and is kept as evidence. Call 101 if it was sent by mistake."
        )
    try:
        partial = upload.hold_partial()
    except FileNotFoundError:
        upload.discard()
        return tus_response(204)
    if partial is None:
        return tus_response(423, "This upload is busy; try again in a moment.")
    with partial:
        upload.discard()
    return tus_response(204)


def parse_checksum(header):
    """Upload-Checksum: "<algorithm> <base64 digest>"; returns (hasher, digest) or raises ValueError."""
    algorithm, _, encoded = header.strip().partition(" ")
    if algorithm not in CHECKSUM_ALGORITHMS:
        raise ValueError(f"Unsupported checksum algorithm {algorithm!r}: use one of {', '.join(CHECKSUM_ALGORITHMS)}.")
    try:
        return CHECKSUM_ALGORITHMS[algorithm](), base64.b64decode(encoded, validate=True)
    except binascii.Error as error:
        raise ValueError("Upload-Checksum digest is not base64.") from error


def patch(request, upload):
    if request.content_type != "application/offset+octet-stream":
        return tus_response(415, "PATCH bodies must be application/offset+octet-stream.")
    offset = header_int(request, "Upload-Offset")
    if offset is None:
        return tus_response(400, "Upload-Offset must be a whole number of bytes.")
    size = header_int(request, "Content-Length")
    if size is None:
        return tus_response(411, "Content-Length is required.")
    checksum = None
    if "Upload-Checksum" in request.headers:
        try:
            checksum = parse_checksum(request.headers["Upload-Checksum"])
        except ValueError as error:
            return tus_response(400, str(error))
    # Refuse before a byte of the body is read.
    if offset + size > upload.length:
        return tus_response(413, "More bytes than the Upload-Length given at creation.")
    if size > settings.UPLOAD_MAX_CHUNK_SIZE:
        return tus_response(413, f"Send at most {settings.UPLOAD_MAX_CHUNK_SIZE} bytes per PATCH.")
    if not has_room_for(size):
        return disk_full()
    try:
        partial = upload.hold_partial()
    except FileNotFoundError:
        if refused := finish_moved_upload(upload):
            return refused
        # Recorded now: as for any upload already whole, the client is told its length.
        return tus_response(409, "Upload-Offset does not match.", {"Upload-Offset": str(upload.offset)})
    if partial is None:
        return tus_response(423, "Another request is writing to this upload; try again in a moment.")
    with partial:
        # Whoever held the lock before may have moved the offset on.
        upload.refresh_from_db()
        upload.offset = upload.offset_on_disk(partial)
        if upload.completed_at is not None or offset != upload.offset:
            return tus_response(409, "Upload-Offset does not match.", {"Upload-Offset": str(upload.offset)})
        return receive(request, upload, partial, size, checksum)


def receive(request, upload, partial, size, checksum):
    start = upload.offset
    # Bytes past the recorded offset are from a request that died before recording them.
    partial.truncate(start)
    partial.seek(start)
    try:
        received = write_body(BodyReader(request, size), partial, [checksum[0]] if checksum else [])
        # No fsync per chunk (as tusd): a crash that loses written bytes shows as a partial file shorter
        # than the recorded offset, and offset_on_disk() then sends the client back to re-send them.
        partial.flush()
    except OSError as error:
        partial.truncate(start)
        if error.errno in (errno.ENOSPC, errno.EDQUOT):
            return disk_full()
        raise
    if checksum and (received < size or checksum[0].digest() != checksum[1]):
        partial.truncate(start)
        return tus_response(460, "Checksum mismatch: the chunk was discarded.", {"Upload-Offset": str(start)})
    upload.offset = start + received
    upload.expires_at = upload_expiry()
    try:
        # The type is checked once the first bytes are in, before any byte goes to object storage.
        if upload.offset >= SNIFF_BYTES or upload.offset == upload.length:
            upload.check_type(partial)
        upload.send_parts(partial, start)
    except FileRefused as refused:
        upload.discard()
        return tus_response(refused.status, refused.message)
    except OBJECT_STORAGE_ERRORS:
        log.exception("Could not send the parts of upload %s", upload.pk)
        partial.truncate(start)
        return storage_unavailable()
    upload.save(update_fields=["offset", "expires_at"])
    if upload.offset == upload.length and (refused := finish(upload, partial)):
        return refused
    return tus_response(204, headers={"Upload-Offset": str(upload.offset), **expires_header(upload)})


def finish(upload, partial):
    """Store the file whose last byte is in; a response if it is refused or cannot be stored now."""
    try:
        complete_upload(upload=upload, partial=partial)
    except FileRefused as refused:
        upload.discard()
        return tus_response(refused.status, refused.message)
    except OBJECT_STORAGE_ERRORS:
        # Every byte is recorded: the next HEAD, or the sweep, stores it.
        log.exception("Could not store upload %s", upload.pk)
        return storage_unavailable()
    return None


def finish_whole_upload(upload):
    """All bytes arrived but the request storing the file died: store it now, before HEAD says "done"."""
    try:
        partial = upload.hold_partial()
    except FileNotFoundError:
        return finish_moved_upload(upload)
    if partial is None:
        return tus_response(423, "This upload is being stored; try again in a moment.")
    with partial:
        upload.refresh_from_db()
        if upload.completed_at is None and upload.offset_on_disk(partial) == upload.length:
            return finish(upload, partial)
    return None


def finish_moved_upload(upload):
    """The partial file is gone: if the upload is whole, the request storing it may have moved it into evidence
    storage and died before recording it, so record it now; a response if there is nothing to record."""
    if upload.completed_at is not None or upload.offset < upload.length:
        return tus_response(404, "There is no such upload.")
    try:
        media_file = adopt_moved_upload(upload=upload)
    except FileRefused as refused:
        upload.discard()
        return tus_response(refused.status, refused.message)
    if media_file is None:
        return tus_response(404, "There is no such upload.")
    return None
