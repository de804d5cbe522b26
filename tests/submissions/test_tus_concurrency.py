"""Two PATCHes to one upload at once, over real sockets: the second waits its turn instead of interleaving."""

import http.client
import os
from urllib.parse import urlsplit

import pytest

from submissions.models import Upload
from tests.factories import make_submission
from tests.services import wait_for

pytestmark = pytest.mark.django_db(transaction=True)
MiB = 1024 * 1024
MP4_HEAD = b"\x00\x00\x00\x18ftypmp42\x00\x00\x00\x00mp42isom"
AUTH = {"Tus-Resumable": "1.0.0", "Authorization": "Bearer concurrency-token"}


def test_a_second_patch_during_a_first_gets_423_and_the_bytes_stay_in_order(live_server, demo):
    submission = make_submission(demo)
    submission.set_upload_token("concurrency-token")
    submission.save(update_fields=["upload_token_hash"])
    data = MP4_HEAD + os.urandom(3 * MiB - len(MP4_HEAD))
    server = urlsplit(live_server.url)

    first = http.client.HTTPConnection(server.hostname, server.port, timeout=10)
    first.request("POST", "/uploads", headers={**AUTH, "Upload-Length": str(8 * MiB)})
    location = urlsplit(first.getresponse().getheader("Location")).path
    first.close()
    upload = Upload.objects.get()
    patch_headers = {**AUTH, "Upload-Offset": "0", "Content-Type": "application/offset+octet-stream"}

    # The first PATCH sends half of its body and stalls, like a phone losing signal.
    first = http.client.HTTPConnection(server.hostname, server.port, timeout=10)
    first.putrequest("PATCH", location)
    for name, value in {**patch_headers, "Content-Length": str(len(data))}.items():
        first.putheader(name, value)
    first.endheaders()
    first.send(data[: 3 * MiB // 2])
    wait_for(lambda: upload.partial_path.stat().st_size >= MiB, timeout=10)

    second = http.client.HTTPConnection(server.hostname, server.port, timeout=10)
    second.request("PATCH", location, body=b"x" * MiB, headers=patch_headers)
    response = second.getresponse()
    assert response.status == 423
    response.read()

    first.send(data[3 * MiB // 2 :])
    response = first.getresponse()
    assert response.status == 204
    assert response.getheader("Upload-Offset") == str(len(data))
    assert upload.partial_path.read_bytes() == data

    second.request("PATCH", location, body=b"x" * MiB, headers=patch_headers)
    response = second.getresponse()
    assert response.status == 409
    assert response.getheader("Upload-Offset") == str(len(data))
