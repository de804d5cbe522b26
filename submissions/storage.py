"""Stored files: hashing them, handing finished ones over, and reading them alike whether they sit on this
machine's disk or in S3-compatible storage.

Opening an object-storage file through Django downloads all of it before the first byte can be read,
so these helpers stream it instead, and ask the store for just the bytes a Range request wants.
"""

import hashlib
import shutil
from pathlib import Path

from django.conf import settings
from django.core.files import File

CHUNK = 1024 * 1024


def has_room_for(size: int) -> bool:
    """Whether the upload disk can take `size` more bytes and still keep UPLOAD_MIN_FREE_BYTES free."""
    return shutil.disk_usage(settings.UPLOAD_DIR).free - size >= settings.UPLOAD_MIN_FREE_BYTES


class FinishedFile(File):
    """A finished file on local disk, open for reading: FileSystemStorage moves it into place instead of copying."""

    def temporary_file_path(self):
        return self.file.name


def sha256_of(file) -> str:
    """The SHA-256 (in hex) of an open binary file, from where it stands to its end."""
    return hashlib.file_digest(file, "sha256").hexdigest()


def sha256_of_path(path) -> str:
    with open(path, "rb") as file:
        return sha256_of(file)


def local_path(field_file) -> Path | None:
    """The file's path on this machine, or None when it lives in object storage."""
    try:
        return Path(field_file.path)
    except NotImplementedError:
        return None


def stream_stored(field_file, start=0, length=None, chunk_size=CHUNK):
    """The stored file's bytes from start, `length` of them or up to the end, in chunks."""
    path = local_path(field_file)
    if path is not None:
        with open(path, "rb") as stored:
            stored.seek(start)
            remaining = length
            while remaining is None or remaining > 0:
                chunk = stored.read(chunk_size if remaining is None else min(chunk_size, remaining))
                if not chunk:
                    return
                if remaining is not None:
                    remaining -= len(chunk)
                yield chunk
        return
    if length == 0:
        return
    with field_file.storage.open(field_file.name, "rb") as stored:
        if start == 0 and length is None:
            answer = stored.obj.get()
        else:
            end = "" if length is None else start + length - 1
            answer = stored.obj.get(Range=f"bytes={start}-{end}")
        yield from answer["Body"].iter_chunks(chunk_size)
