"""Receiving an upload's bytes: a request body into one reused buffer, then one pass to fsync and hash.

Under gunicorn, request.read() hands each block over through two buffers and several slices, each
in freshly allocated memory: for a 1 GiB upload that costs more CPU than hashing it. BodyReader
reads gunicorn's socket itself instead, after the bytes gunicorn has already buffered, and keeps
gunicorn's count of the body in step, so a kept-alive connection still finds the next request
where it starts. Under any other server (runserver, the test client) it falls back to request.read().
"""

import os
from concurrent.futures import ThreadPoolExecutor

from gunicorn.http.body import Body, LengthReader

from submissions.storage import sha256_of_path

BLOCK_SIZE = 1024 * 1024


class BodyReader:
    def __init__(self, request, length: int):
        self.request = request
        self.remaining = length
        self.socket = None
        self.length_reader = None
        self.buffered = b""
        body = request.environ.get("wsgi.input")
        socket = request.environ.get("gunicorn.socket")
        fresh_gunicorn_body = isinstance(body, Body) and isinstance(body.reader, LengthReader) and not body.buf.tell()
        if socket is not None and fresh_gunicorn_body:
            self.socket, self.length_reader = socket, body.reader
            unreader = body.reader.unreader
            buffered = unreader.take_buffered()
            self.buffered = buffered[:length]
            if len(buffered) > length:  # The start of a pipelined next request.
                unreader.unread(buffered[length:])

    def readinto(self, buffer: memoryview) -> int:
        """Fill the start of buffer with the next bytes of the body; 0 once it ends or the client has gone."""
        wanted = min(len(buffer), self.remaining)
        if not wanted:
            return 0
        if self.buffered:
            count = min(wanted, len(self.buffered))
            buffer[:count] = self.buffered[:count]
            self.buffered = self.buffered[count:]
        elif self.socket is not None:
            count = self.socket.recv_into(buffer[:wanted])
        else:
            block = self.request.read(wanted)
            count = len(block)
            buffer[:count] = block
        self.remaining -= count
        if self.length_reader is not None:
            self.length_reader.length -= count
        return count


def write_body(body: BodyReader, out, hashers) -> int:
    """Copy the body to out through one reused buffer, feeding each block to the hashers; returns the
    bytes received. A client that goes away ends the body early: what arrived is kept."""
    buffer = memoryview(bytearray(BLOCK_SIZE))
    received = 0
    while True:
        try:
            count = body.readinto(buffer)
        except OSError:
            count = 0
        if not count:
            return received
        block = buffer[:count]
        out.write(block)
        for hasher in hashers:
            hasher.update(block)
        received += count


def sync_and_hash(file) -> str:
    """Make a written file durable and return its SHA-256, in one pass over its bytes.

    The two run side by side: fdatasync waits on the disk while hashing the page-cached bytes keeps
    a core busy, so the hash costs no time of its own.
    """
    file.flush()
    with ThreadPoolExecutor(max_workers=1, thread_name_prefix="fdatasync") as syncing:
        synced = syncing.submit(os.fdatasync, file.fileno())
        digest = sha256_of_path(file.name)
        synced.result()
    return digest
