"""Flooding: accounts sent and uploads started are limited per client, and no client's address is kept."""

import hashlib
import logging
import shutil

import pytest
import redis
from django.core.files.uploadedfile import SimpleUploadedFile

from submissions.models import Submission
from submissions.ratelimits import client_key
from tests.conftest import require
from tests.factories import make_submission
from tests.services import free_ports, start_redis, stop
from tests.submissions.test_give_information import answer_all, url
from tests.submissions.test_tus import jpeg_bytes, metadata

ADDRESS = "203.0.113.77"
TOKEN = "a-token-of-plenty-of-randomness"
AUTH = {"Tus-Resumable": "1.0.0", "Authorization": f"Bearer {TOKEN}"}


@pytest.fixture
def submission(demo):
    submission = make_submission(demo, upload_token=TOKEN)
    return submission


@pytest.fixture
def redis_cache(settings, tmp_path):
    """The cache on a Redis of the test's own, so its keys can be read back."""
    require(shutil.which("redis-server") is not None, "redis-server")
    (port,) = free_ports(1)
    server = start_redis(port, tmp_path)
    settings.CACHES = {
        "default": {"BACKEND": "django_redis.cache.RedisCache", "LOCATION": f"redis://127.0.0.1:{port}/0"}
    }
    try:
        yield redis.Redis(port=port)
    finally:
        stop(server)


def start_upload(client):
    headers = {**AUTH, "Upload-Length": "1000", "Upload-Metadata": metadata(filename="clip.jpg")}
    return client.post("/uploads", headers=headers, REMOTE_ADDR=ADDRESS)


def send(client, appeal):
    return client.post(url(appeal, "check"), REMOTE_ADDR=ADDRESS)


@pytest.mark.django_db
def test_over_the_limit_the_witness_keeps_their_answers_and_is_told_to_wait(client, demo, settings):
    settings.SUBMISSIONS_RATE_LIMIT = "2/10m"
    for _ in range(2):
        answer_all(client, demo)
        assert send(client, demo).status_code == 302
    answer_all(client, demo)
    response = send(client, demo)
    assert response.status_code == 429
    assert 1 <= int(response["Retry-After"]) <= 600
    assert "Too many attempts" in response.text
    assert "Your information has not been sent yet. We have kept your answers." in response.text
    assert 'href="tel:101"' in response.text
    assert "Crimestoppers" in response.text
    assert Submission.objects.count() == 2
    # The answers are still there to send later.
    assert "I saw six people running" in client.get(url(demo, "check")).text


@pytest.mark.django_db
def test_the_limit_counts_each_client_on_its_own(client, demo, settings):
    settings.SUBMISSIONS_RATE_LIMIT = "1/10m"
    answer_all(client, demo)
    assert send(client, demo).status_code == 302
    answer_all(client, demo)
    assert send(client, demo).status_code == 429
    assert client.post(url(demo, "check"), REMOTE_ADDR="198.51.100.4").status_code == 302


@pytest.mark.django_db
def test_behind_the_proxy_each_client_counts_on_its_own(client, demo, settings):
    settings.SUBMISSIONS_RATE_LIMIT = "1/10m"

    def send_through_nginx(address):
        answer_all(client, demo)
        return client.post(url(demo, "check"), REMOTE_ADDR="127.0.0.1", HTTP_X_FORWARDED_FOR=f"10.0.0.1, {address}")

    settings.BEHIND_TLS_PROXY = False
    assert send_through_nginx(ADDRESS).status_code == 302
    assert send_through_nginx("198.51.100.4").status_code == 429, "the header is not believed without the proxy"
    assert client.post(url(demo, "check"), REMOTE_ADDR="198.51.100.9").status_code == 302, "the kept answers"
    settings.BEHIND_TLS_PROXY = True
    assert send_through_nginx(ADDRESS).status_code == 302
    assert send_through_nginx(ADDRESS).status_code == 429
    assert send_through_nginx("198.51.100.4").status_code == 302


def test_a_phone_on_ipv6_counts_as_its_network(rf):
    first = rf.post("/", REMOTE_ADDR="2001:db8:1:2::1")
    same_network = rf.post("/", REMOTE_ADDR="2001:db8:1:2:aaaa::9")
    assert client_key("g", first) == client_key("g", same_network)
    assert client_key("g", first) != client_key("g", rf.post("/", REMOTE_ADDR="2001:db8:1:3::1"))


@pytest.mark.django_db
def test_starting_too_many_tus_uploads_is_429_with_a_message_the_uploader_shows(client, submission, settings):
    settings.UPLOADS_RATE_LIMIT = "2/10m"
    for _ in range(2):
        assert start_upload(client).status_code == 201
    response = start_upload(client)
    assert response.status_code == 429
    assert response["Content-Type"] == "text/plain; charset=utf-8"
    assert 1 <= int(response["Retry-After"]) <= 600
    assert response.text.startswith("Too many uploads have been started from your internet connection. Wait ")
    assert submission.uploads.count() == 2


@pytest.mark.django_db
def test_the_plain_upload_over_the_limit_is_the_429_page(client, submission, settings):
    settings.UPLOADS_RATE_LIMIT = "1/10m"
    photo = SimpleUploadedFile("one.jpg", jpeg_bytes(), content_type="image/jpeg")
    assert client.post(f"/footage/{TOKEN}/upload/", {"files": [photo]}, REMOTE_ADDR=ADDRESS).status_code == 302
    photo = SimpleUploadedFile("two.jpg", jpeg_bytes(64, 48), content_type="image/jpeg")
    response = client.post(f"/footage/{TOKEN}/upload/", {"files": [photo]}, REMOTE_ADDR=ADDRESS)
    assert response.status_code == 429
    assert "Retry-After" in response
    assert response["Cache-Control"] == "no-store"
    assert "These files have not been uploaded" in response.text
    assert f'href="/footage/{TOKEN}/"' in response.text
    assert submission.media_files.count() == 1


@pytest.mark.django_db
def test_the_cache_holds_no_address_and_forgets_the_count(client, demo, submission, settings, redis_cache):
    settings.SUBMISSIONS_RATE_LIMIT = "1/10m"
    answer_all(client, demo)
    send(client, demo)
    answer_all(client, demo)
    assert send(client, demo).status_code == 429
    start_upload(client)
    # Besides the two counts: the public pages' generation, the appeal and (sessions in the cache) the session.
    keys = redis_cache.keys("*")
    counts = [key for key in keys if b":rl:" in key]
    assert len(counts) == 2, keys
    forms = [ADDRESS, hashlib.sha256(ADDRESS.encode()).hexdigest(), hashlib.md5(ADDRESS.encode()).hexdigest()]
    for key in keys:
        stored = key + redis_cache.get(key)
        assert not any(form.encode() in stored for form in forms), key
    for key in counts:
        assert 0 < redis_cache.ttl(key) <= 605


@pytest.mark.django_db
def test_the_429_is_logged_without_the_address(client, demo, settings, caplog):
    settings.SUBMISSIONS_RATE_LIMIT = "0/10m"
    answer_all(client, demo)
    with caplog.at_level(logging.DEBUG):
        assert send(client, demo).status_code == 429
    warnings = [record.getMessage() for record in caplog.records if record.name == "django.request"]
    assert any("Too Many Requests" in warning for warning in warnings)
    assert ADDRESS not in caplog.text
    for record in caplog.records:
        assert ADDRESS not in record.getMessage()
        assert ADDRESS not in str(record.args)


@pytest.mark.django_db
def test_a_cache_that_cannot_be_reached_lets_the_witness_send(client, demo, settings, caplog):
    answer_all(client, demo)
    settings.CACHES = {
        "default": {
            "BACKEND": "django_redis.cache.RedisCache",
            "LOCATION": "redis://127.0.0.1:1/0",  # nothing listens on port 1
            "OPTIONS": {"SOCKET_CONNECT_TIMEOUT": 0.5},
        }
    }
    assert send(client, demo).status_code == 302
    assert Submission.objects.count() == 1
    assert "Could not count submissions for the rate limit" in caplog.text
    assert ADDRESS not in caplog.text


def test_the_count_is_keyed_by_the_secret_key(rf, settings):
    request = rf.post("/", REMOTE_ADDR=ADDRESS)
    before = client_key("g", request)
    assert ADDRESS not in before
    settings.SECRET_KEY = "another-secret-key"
    assert client_key("g", request) != before
