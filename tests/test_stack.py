"""The production stack on loopback: deploy/nginx in front, deploy/Procfile's processes run by honcho,
PostgreSQL, a Redis and SeaweedFS of the test's own. Everything goes over HTTPS through nginx, as a
witness's phone and an officer's browser would.
"""

import base64
import hashlib
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path
from urllib.parse import urljoin

import environ
import pytest
from django.contrib.auth.hashers import PBKDF2PasswordHasher
from django.db import connection

from submissions.models import Derivative, MediaFile, Submission
from submissions.references import hash_upload_token
from tests.appeals.images import make_image
from tests.conftest import require
from tests.factories import make_appeal
from tests.officers import authenticator, current_code, make_triage_officer, team_with_submission, tiny_mp4
from tests.services import Stack, find_tool, free_ports, start_redis, stop, wait_for

pytestmark = [pytest.mark.stack, pytest.mark.django_db(transaction=True)]
BASE_DIR = Path(__file__).resolve().parent.parent
ANSWERS = {
    "": {"account": "A man in a grey hoodie fired twice towards the officers, then ran towards the shops."},
    "when": {"seen_on_0": "18", "seen_on_1": "3", "seen_on_2": "2021", "seen_at_time": "7:10pm"},
    "where": {"seen_where": "Lanacre Avenue"},
    "connection": {"relationship": Submission.Relationship.SAW_OR_HEARD},
    "contact": {"contact_choice": "anonymous"},
}


@pytest.fixture(scope="session")
def static_root(tmp_path_factory):
    """The static files, collected once for the session's stacks as at each deploy."""
    root = tmp_path_factory.mktemp("static")
    environment = {
        "DJANGO_SETTINGS_MODULE": "config.settings",
        "DEBUG": "false",
        "SECRET_KEY": "x",
        "STATIC_ROOT": str(root),
    }
    subprocess.run(
        [sys.executable, "manage.py", "collectstatic", "--noinput", "--verbosity", "0"],
        env={**os.environ, **environment},
        cwd=BASE_DIR,
        check=True,
    )
    return root


@pytest.fixture
def stack(transactional_db, tmp_path, request):
    """Starts the stack with the given processes and settings; stops it after the test."""
    require(connection.vendor == "postgresql", "PostgreSQL (DATABASE_URL), shared with the stack's processes")
    for name in ("nginx", "openssl", "honcho"):
        require(find_tool(name) is not None, f"`{name}`")
    database = connection.settings_dict
    database_url = (
        f"postgres://{database['USER']}:{database['PASSWORD']}@{database['HOST']}:{database['PORT'] or 5432}"
        f"/{database['NAME']}"
    )
    started = []

    def start(*processes, **environment):
        (tmp_path / "stack").mkdir()
        static_root = str(request.getfixturevalue("static_root"))
        started.append(Stack(tmp_path / "stack", DATABASE_URL=database_url, STATIC_ROOT=static_root, **environment))
        started[0].start(*processes)
        return started[0]

    yield start
    for running in started:
        running.stop()
        # Shown by pytest when the test failed.
        print(running.log_tails())


@pytest.fixture
def own_redis(tmp_path):
    """A Redis of the test's own, on a free port (first among a test's fixtures, so it outlives the stack)."""
    require(shutil.which("redis-server") is not None, "redis-server")
    (port,) = free_ports(1)
    redis = start_redis(port, tmp_path)
    yield f"redis://127.0.0.1:{port}"
    stop(redis)


def form_token(page):
    return re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', page.text).group(1)


def post_form(session, url, data):
    """Submit the form on the page at url, as a browser does: its CSRF token, and the page as Referer."""
    page = session.get(url)
    assert page.status_code == 200, (url, page.status_code)
    response = session.post(
        url, data={"csrfmiddlewaretoken": form_token(page), **data}, headers={"Referer": url}, allow_redirects=False
    )
    assert response.status_code == 302, (url, response.status_code, response.text[:2000])
    return urljoin(url, response.headers["Location"])


def tus_upload(session, url, token, content, filename):
    auth = {"Tus-Resumable": "1.0.0", "Authorization": f"Bearer {token}"}
    name = base64.b64encode(filename.encode()).decode()
    created = session.post(
        url, headers={**auth, "Upload-Length": str(len(content)), "Upload-Metadata": f"filename {name}"}
    )
    assert created.status_code == 201, created.text
    location = urljoin(url, created.headers["Location"])
    half = len(content) // 2
    for offset, chunk in ((0, content[:half]), (half, content[half:])):
        headers = {**auth, "Upload-Offset": str(offset), "Content-Type": "application/offset+octet-stream"}
        patched = session.patch(location, data=chunk, headers=headers)
        assert patched.status_code == 204, patched.text
    assert session.head(location, headers=auth).headers["Upload-Offset"] == str(len(content))


def sign_in_through_nginx(stack, officer):
    """The officers' sign-in page, with the password and the current code from the officer's authenticator."""
    # The tests' own settings hash with MD5, which the production settings do not accept.
    hasher = PBKDF2PasswordHasher()
    officer.password = hasher.encode("officer-password", hasher.salt(), iterations=1000)
    officer.save(update_fields=["password"])
    session = stack.session()
    answers = {"username": officer.username, "password": "officer-password", "next": "/admin/"}
    landed = post_form(
        session, stack.url("/admin/login/?next=/admin/"), {**answers, "otp_token": current_code(authenticator(officer))}
    )
    assert landed == stack.url("/admin/")
    return session


def test_a_witness_sends_footage_through_nginx_and_an_officer_plays_its_proxy(
    own_redis, stack, demo, seaweedfs, bucket
):
    site = stack(
        "web",
        "uploads",
        "media",
        "proxy",
        "notify",
        "beat",
        CELERY_BROKER_URL=f"{own_redis}/0",
        CACHE_URL=f"{own_redis.replace('redis://', 'rediscache://')}/1",
        OBJECT_STORAGE_BUCKET=seaweedfs.bucket,
        OBJECT_STORAGE_ENDPOINT_URL=seaweedfs.endpoint,
        OBJECT_STORAGE_REGION=seaweedfs.region,
        AWS_ACCESS_KEY_ID=seaweedfs.access_key,
        AWS_SECRET_ACCESS_KEY=seaweedfs.secret_key,
    )
    witness = site.session()
    health = witness.get(site.url("/healthz")).json()
    assert health == {"status": "ok", "database": "ok", "broker": "ok", "object_storage": "ok"}

    # The appeal, as thousands read it: the second reader gets nginx's copy.
    appeal_url = site.url(demo.get_absolute_url())
    assert witness.get(appeal_url).status_code == 200
    again = witness.get(appeal_url)
    assert again.headers["X-Cache-Status"] == "HIT"
    assert "Give information" in again.text
    assert "max-age=63072000" in again.headers["Strict-Transport-Security"]

    # One question a page, with the session cookie and CSRF token a browser would carry. The journey's
    # pages bypass nginx's cache entirely: its lock would hold each witness behind the others.
    journey = site.url(f"/appeals/{demo.slug}/give-information/")
    assert "X-Cache-Status" not in witness.get(journey).headers
    url = journey
    for answers in ANSWERS.values():
        url = post_form(witness, url, answers)
    assert url == f"{journey}check/"
    assert "Lanacre Avenue" in witness.get(url).text
    # Sending leads to the private link's own page, which names the public address: nginx passes on the
    # host, port and scheme.
    footage_url = post_form(witness, url, {})
    confirmation = witness.get(footage_url)
    assert "govuk-panel--confirmation" in confirmation.text
    (token,) = re.fullmatch(rf"{re.escape(site.site_url)}/footage/([^/]+)/", footage_url).groups()
    assert f'<p class="govuk-body app-capability-link">{footage_url}</p>' in confirmation.text
    submission = Submission.objects.get(upload_token_hash=hash_upload_token(token))
    assert submission.reference in confirmation.text
    assert witness.get(footage_url).status_code == 200

    clip = tiny_mp4()
    tus_upload(witness, site.url("/uploads"), token, clip, "DASH0001.MP4")
    # A notify worker takes its SHA-256 from the bucket once the last PATCH has answered.
    wait_for(lambda: MediaFile.objects.filter(submission=submission).exists(), timeout=60)
    media_file = MediaFile.objects.get(submission=submission)
    assert media_file.sha256 == hashlib.sha256(clip).hexdigest()
    stored = bucket.get_object(Bucket=seaweedfs.bucket, Key=f"evidence/{media_file.original.name}")
    assert stored["Body"].read() == clip, "the original is in the bucket"

    wait_for(lambda: MediaFile.objects.get(pk=media_file.pk).state == MediaFile.State.READY, timeout=60)
    proxy = media_file.derivatives.get(kind=Derivative.Kind.PROXY)

    officer = sign_in_through_nginx(site, make_triage_officer("dc.stack", demo.incident.team))
    page = officer.get(site.url(f"/admin/submissions/submission/{submission.pk}/change/"))
    assert page.status_code == 200
    player = re.search(r'<video[^>]*\ssrc="([^"]+)"', page.text).group(1)
    played = officer.get(site.url(player))
    assert played.status_code == 200
    assert played.headers["Content-Type"] == "video/mp4"
    assert hashlib.sha256(played.content).hexdigest() == proxy.sha256
    seek = officer.get(site.url(player), headers={"Range": "bytes=100-1099"})
    assert seek.status_code == 206
    assert seek.content == played.content[100:1100]

    log = (site.logs / "appeals.log").read_text()
    assert '"PATCH /uploads/' in log
    assert "/footage/" not in log, "the witness's upload token is never logged"
    assert "127.0.0.1" not in log, "nor any client address"


def test_evidence_on_local_disk_is_sent_by_nginx_after_the_application_has_checked_access(stack, settings):
    world = team_with_submission("Stack team", "901")
    site = stack("web", EVIDENCE_ROOT=settings.EVIDENCE_ROOT, EVIDENCE_ACCEL_REDIRECT_PREFIX="/protected-evidence/")
    officer = sign_in_through_nginx(site, world.officer)
    proxy_bytes = world.proxy.file.open("rb").read()

    played = officer.get(site.url(f"/admin/evidence/derivative/{world.proxy.pk}/"))
    assert played.status_code == 200
    assert played.content == proxy_bytes
    assert played.headers["Content-Type"] == "video/mp4"
    assert "no-store" in played.headers["Cache-Control"]
    seek = officer.get(site.url(f"/admin/evidence/derivative/{world.proxy.pk}/"), headers={"Range": "bytes=10-19"})
    assert seek.status_code == 206
    assert seek.content == proxy_bytes[10:20]

    # The internal location answers only X-Accel-Redirect, never a request from outside.
    assert site.session().get(site.url(f"/protected-evidence/{world.proxy.file.name}")).status_code == 404
    stranger = site.session().get(site.url(f"/admin/evidence/derivative/{world.proxy.pk}/"), allow_redirects=False)
    assert stranger.status_code == 302
    assert stranger.headers["Location"].startswith("/admin/login/")


def test_a_withdrawn_image_leaves_nginx_cache_at_once(own_redis, stack, settings):
    cache_url = f"{own_redis.replace('redis://', 'rediscache://')}/1"
    # This process withdraws the image: it must move on the generation the web process reads.
    settings.CACHES = {"default": environ.Env.cache_url_config(cache_url)}
    appeal = make_appeal()
    image = make_image(appeal, alt_text="Still of the man in the grey hoodie")
    site = stack("web", CACHE_URL=cache_url, MEDIA_ROOT=settings.MEDIA_ROOT)
    reader = site.session()
    page_url, image_url = site.url(appeal.get_absolute_url()), site.url(image.get_absolute_url())
    for url in (page_url, image_url):
        assert reader.get(url).status_code == 200
        assert reader.get(url).headers["X-Cache-Status"] == "HIT", "nginx keeps public pages and images"
    assert image.get_absolute_url() in reader.get(page_url).text

    image.withdraw(by=appeal.incident.officer_in_charge)

    # nginx cannot be told to drop its copy: it must keep one only for a second or two.
    wait_for(lambda: image.get_absolute_url() not in reader.get(page_url).text, timeout=10)
    wait_for(lambda: reader.get(image_url).status_code == 410, timeout=10)
    page = reader.get(page_url)
    assert "Still of the man in the grey hoodie" not in page.text
    assert "/static/images/share" in page.text
