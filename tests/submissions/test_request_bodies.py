"""Reading request bodies as gunicorn hands them over: its own parser on a real socket pair."""

import hashlib
import io
import os
import socket
import threading

import pytest
from django.core.handlers.wsgi import WSGIRequest
from django.test import RequestFactory
from gunicorn.config import Config
from gunicorn.http import wsgi
from gunicorn.http.parser import RequestParser

from submissions.request_bodies import BodyReader, write_body

MiB = 1024 * 1024
PEER = ("127.0.0.1", 50000)


def send_in_background(sock, data, then_close=False):
    def send():
        sock.sendall(data)
        if then_close:
            sock.close()

    thread = threading.Thread(target=send, daemon=True)
    thread.start()
    return thread


def patch_request(body_length):
    return b"PATCH /uploads/1 HTTP/1.1\r\nHost: testserver\r\nContent-Length: %d\r\n\r\n" % body_length


def parse(server_socket):
    """What a gunicorn worker does with a connection: parse a request and build its WSGI environ."""
    config = Config()
    parser = RequestParser(config, server_socket, PEER)
    request = next(parser)
    _response, environ = wsgi.create(request, server_socket, PEER, ("127.0.0.1", 8000), config)
    return parser, WSGIRequest(environ)


@pytest.mark.parametrize("length", [100, 3 * MiB + 12345], ids=["read with the headers", "mostly from the socket"])
def test_a_gunicorn_body_is_read_whole_and_the_next_request_on_the_connection_is_intact(length):
    server, client = socket.socketpair()
    server.settimeout(10)
    body = os.urandom(length)
    # Headers, body and a pipelined second request in one stream, so gunicorn's first read takes
    # in part of the body with the headers.
    sender = send_in_background(client, patch_request(len(body)) + body + b"GET /next HTTP/1.1\r\nHost: x\r\n\r\n")
    parser, request = parse(server)

    reader = BodyReader(request, len(body))
    assert reader.socket is server, "read from gunicorn's socket, not through its buffers"
    assert reader.buffered, "starting with the part of the body gunicorn read with the headers"
    out, hasher = io.BytesIO(), hashlib.sha256()
    assert write_body(reader, out, [hasher]) == len(body)
    assert out.getvalue() == body
    assert hasher.hexdigest() == hashlib.sha256(body).hexdigest()

    sender.join()
    assert next(parser).path == "/next"
    server.close()
    client.close()


def test_a_client_that_goes_away_mid_body_leaves_what_arrived():
    server, client = socket.socketpair()
    body = os.urandom(2 * MiB)
    send_in_background(client, patch_request(len(body)) + body[:MiB], then_close=True)
    _parser, request = parse(server)

    out = io.BytesIO()
    assert write_body(BodyReader(request, len(body)), out, []) == MiB
    assert out.getvalue() == body[:MiB]
    server.close()


def test_other_servers_bodies_are_read_through_django():
    body = os.urandom(MiB + 7)
    request = RequestFactory().generic("PATCH", "/uploads/1", body, content_type="application/offset+octet-stream")
    reader = BodyReader(request, len(body))
    assert reader.socket is None
    out = io.BytesIO()
    assert write_body(reader, out, []) == len(body)
    assert out.getvalue() == body
