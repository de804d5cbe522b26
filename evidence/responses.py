"""Serving evidence files: HTTP Range for seeking, or X-Accel-Redirect to nginx when the files are on its disk."""

import os
import re
import unicodedata
from urllib.parse import quote

from django.conf import settings
from django.http import FileResponse, HttpResponse, StreamingHttpResponse

from submissions.storage import local_path, stream_stored

RANGE = re.compile(r"^bytes=(\d*)-(\d*)$")
CHUNK = 256 * 1024


def evidence_response(request, field_file, size, content_type, *, filename, as_attachment=False):
    """A response for a stored evidence file of `size` bytes (as recorded, which spares object storage
    a request per seek) that browsers can seek in (206 Partial Content).

    `filename` is what the browser names the file when it is saved: shown in place (inline) or, with
    `as_attachment`, downloaded. The file never runs as a page of this site (CSP sandbox).
    With EVIDENCE_ACCEL_REDIRECT_PREFIX set, nginx serves the bytes (and the ranges) from its internal
    location; Django has already checked access and written the audit entry.
    """
    prefix = settings.EVIDENCE_ACCEL_REDIRECT_PREFIX
    if prefix:
        response = HttpResponse(content_type=content_type)
        response["X-Accel-Redirect"] = prefix.rstrip("/") + "/" + quote(field_file.name)
    else:
        response = _ranged_response(request, field_file, size, content_type)
    response["Content-Disposition"] = content_disposition("attachment" if as_attachment else "inline", filename)
    # A witness's file opened on its own (an SVG, an HTML page inside a "video") runs no script as us.
    response["Content-Security-Policy"] = "sandbox"
    response["Cache-Control"] = "private, no-store"
    return response


def content_disposition(disposition: str, filename: str) -> str:
    """RFC 6266: the name in UTF-8 as `filename*`, and an ASCII `filename` for clients without it."""
    name = safe_filename(filename)
    stem, extension = os.path.splitext(name)
    ascii_name = (_ascii(stem).strip("_ ") or "evidence") + _ascii(extension)
    return f"{disposition}; filename=\"{ascii_name}\"; filename*=UTF-8''{quote(name, safe='')}"


def _ascii(text: str) -> str:
    text = unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode()
    return re.sub(r"[^A-Za-z0-9._() -]+", "_", text)


def safe_filename(name: str) -> str:
    """A witness's filename as a name to save under: no folders, control characters or quotes."""
    name = name.replace("\\", "/").rsplit("/", 1)[-1]
    name = "".join(char for char in name if unicodedata.category(char)[0] != "C" and char not in '"*:<>?|')
    return " ".join(name.split()).strip(" .") or "evidence"


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
