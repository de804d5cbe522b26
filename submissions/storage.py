"""Stored files: hashing them, handing finished ones over, and reading them alike whether they sit on this
machine's disk or in S3-compatible storage.

Opening an object-storage file through Django downloads all of it before the first byte can be read,
so these helpers stream it instead, and ask the store for just the bytes a Range request wants.

A tus upload reaches object storage as an S3 multipart upload (as tusd's S3 store does): each PATCH sends
the parts that its bytes complete, and the last one joins them, so no request copies a whole file.
"""

import hashlib
import shutil
from pathlib import Path

from botocore.exceptions import BotoCoreError, ClientError
from django.conf import settings
from django.core.files import File
from storages.backends.s3 import S3Storage
from storages.utils import clean_name

CHUNK = 1024 * 1024
# S3 takes at most 10,000 parts to an object, each but the last at least 5 MiB.
PART_SIZE = 8 * CHUNK
MAX_PARTS = 10_000
# What boto3 raises when the bucket cannot be reached or refuses a request.
OBJECT_STORAGE_ERRORS = (BotoCoreError, ClientError)


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


def in_object_storage(storage) -> bool:
    return isinstance(storage, S3Storage)


def part_size(length: int) -> int:
    """Bytes in every part of a file of `length` but its last: 8 MiB, or whole MiB more past 10,000 parts."""
    return max(PART_SIZE, -(-length // (MAX_PARTS * CHUNK)) * CHUNK)


def part_sizes(length: int) -> list[int]:
    size = part_size(length)
    return [min(size, length - first) for first in range(0, length, size)]


def stored_object(storage, name):
    """The boto3 object that S3Storage keeps `name` in (its key has the storage's location in front)."""
    return storage.bucket.Object(storage._normalize_name(clean_name(name)))


def start_parts(storage, name) -> str:
    """Begin a multipart upload of `name`; returns its id, which any machine can carry on with."""
    parameters = {"ContentType": storage.default_content_type, **storage.get_object_parameters(name)}
    return stored_object(storage, name).initiate_multipart_upload(**parameters).id


def send_part(storage, name, upload_id: str, number: int, data: bytes) -> str:
    """Send (or send again: the last one counts) part `number`, counting from 1; returns its ETag."""
    return stored_object(storage, name).MultipartUpload(upload_id).Part(number).upload(Body=data)["ETag"]


def join_parts(storage, name, upload_id: str, sizes: list[int], read_part):
    """Make the object from its parts, first sending any part the store lacks or holds at another size
    (read_part(number) gives its bytes). Safe to repeat after a join whose answer was lost."""
    stored = stored_object(storage, name)
    multipart = stored.MultipartUpload(upload_id)
    try:
        sent = {part.part_number: part for part in multipart.parts.all()}
    except ClientError as error:
        if error.response["Error"]["Code"] == "NoSuchUpload" and stored_size(stored) == sum(sizes):
            return  # joined already, by a request or sweep that died before recording it
        raise
    etags = []
    for number, size in enumerate(sizes, start=1):
        part = sent.get(number)
        if part is not None and part.size == size:
            etags.append(part.e_tag)
        else:
            etags.append(send_part(storage, name, upload_id, number, read_part(number)))
    parts = [{"PartNumber": number, "ETag": etag} for number, etag in enumerate(etags, start=1)]
    multipart.complete(MultipartUpload={"Parts": parts})


def stored_size(stored) -> int | None:
    try:
        return stored.content_length
    except ClientError as error:
        if error.response["ResponseMetadata"]["HTTPStatusCode"] == 404:
            return None
        raise


def remove_parts(storage, name, upload_id: str):
    """Drop a multipart upload and the parts sent to it, and the object if they were joined already."""
    if upload_id:
        try:
            stored_object(storage, name).MultipartUpload(upload_id).abort()
        except ClientError as error:
            if error.response["Error"]["Code"] != "NoSuchUpload":
                raise
    storage.delete(name)
