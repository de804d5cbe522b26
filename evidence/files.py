"""Serving evidence files: HTTP Range for seeking, or X-Accel-Redirect to nginx when the files are on its disk."""

import re
from urllib.parse import quote

from django.conf import settings
from django.http import FileResponse, HttpResponse, StreamingHttpResponse
from django.utils.http import content_disposition_header

from submissions.storage import local_path, stream_stored

RANGE = re.compile(r"^bytes=(\d*)-(\d*)$")
CHUNK = 256 * 1024


def evidence_response(request, field_file, size, content_type, *, download_name=None):
    """A response for a stored evidence file of `size` bytes (as recorded, which spares object storage
    a request per seek) that browsers can seek in (206 Partial Content).

    With EVIDENCE_ACCEL_REDIRECT_PREFIX set, nginx serves the bytes (and the ranges) from its internal
    location; Django has already checked access and written the audit entry.
    """
    disposition = content_disposition_header(as_attachment=bool(download_name), filename=download_name or "")
    prefix = settings.EVIDENCE_ACCEL_REDIRECT_PREFIX
    if prefix:
        response = HttpResponse(content_type=content_type)
        response["X-Accel-Redirect"] = prefix.rstrip("/") + "/" + quote(field_file.name)
    else:
        response = _ranged_response(request, field_file, size, content_type)
    response["Content-Disposition"] = disposition
    response["Cache-Control"] = "private, no-store"
    return response


def _ranged_response(request, field_file, size, content_type):
    match = RANGE.match(request.headers.get("Range", "").strip())
    if not match or not any(match.groups()):
        path = local_path(field_file)
        if path is not None:
            response = FileResponse(open(path, "rb"), content_type=content_type)  # noqa: SIM115 (closed by Django)
        else:
            response = StreamingHttpResponse(stream_stored(field_file, chunk_size=CHUNK), content_type=content_type)
        response["Content-Length"] = str(size)
        response["Accept-Ranges"] = "bytes"
        return response
    first, last = match.groups()
    if first:
        start = int(first)
        end = min(int(last), size - 1) if last else size - 1
    else:
        # "bytes=-500": the last 500 bytes.
        start = max(size - int(last), 0)
        end = size - 1
    if start >= size or start > end:
        response = HttpResponse(status=416)
        response["Content-Range"] = f"bytes */{size}"
        return response
    length = end - start + 1
    response = StreamingHttpResponse(
        stream_stored(field_file, start, length, chunk_size=CHUNK), status=206, content_type=content_type
    )
    response["Content-Range"] = f"bytes {start}-{end}/{size}"
    response["Content-Length"] = str(length)
    response["Accept-Ranges"] = "bytes"
    return response
