"""An attack-and-fault run against the production stack on loopback (`make bench-attack`).

deploy/'s nginx in front of deploy/Procfile's processes (gunicorn, the media and notify workers, beat), each
started on its own so that it can be killed, with PostgreSQL (a database of the run's own, which the processes
reach as the role that owns nothing), a Redis of its own and a local clamd with the EICAR test signature.
Then named checks, each PASS or FAIL with a reason, in four groups:

- bad inputs: hundreds of generated requests, each of which must be refused clearly (a 4xx, or for a question
  page the page again with its errors) within REQUEST_TIMEOUT, never a 500, while the site keeps serving;
- defences: production headers, the database role's limits, sessions without tokens, flood limits;
- faults: workers, web processes, Redis, clamd and database connections killed or stopped mid-run;
- lost: every receipt a witness got has its account stored, every upload they finished its file with their
  SHA-256, and no log holds a 500, an upload token or a client's address.

Processes are caught mid-work with database locks, not timing: the run holds a lock that the process's next
statement needs, waits until PostgreSQL shows it waiting, and kills it there.

The last line sums it up: `attack checks=N passed=N bad_inputs=N faults=N lost=N`; the exit status is 1 if a
check failed (the run's folder, with every log, is then kept). ATTACK_DATABASE_URL names a PostgreSQL superuser
and the database to create afresh (default postgres://postgres@127.0.0.1:5432/appeals_attack); the roles
appeals_owner and appeals_app are created if missing, without passwords (PostgreSQL must trust loopback).
"""

import base64
import hashlib
import io
import json
import os
import re
import secrets
import shutil
import signal
import ssl
import struct
import subprocess
import sys
import tempfile
import time
import uuid
import zipfile
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import timedelta
from http.client import HTTPSConnection
from pathlib import Path
from urllib.parse import urlsplit

import psycopg2
import psycopg2.errors
import requests
from requests.adapters import HTTPAdapter

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
SUPERUSER_URL = os.environ.get("ATTACK_DATABASE_URL", "postgres://postgres@127.0.0.1:5432/appeals_attack")
DATABASE = urlsplit(SUPERUSER_URL)
DATABASE_NAME = DATABASE.path.lstrip("/")
OWNER, APP = "appeals_owner", "appeals_app"
RUN = Path(tempfile.mkdtemp(prefix="attack-"))
STACK_DIR = RUN / "stack"
SECRET_KEY = secrets.token_urlsafe(40)
MiB = 1024 * 1024
# Small, so that a file over the scanner's limit is quick to send; every other file of the run is far smaller.
CLAMD_MAX_BYTES = 2 * MiB
# The witnesses' and officers' address: loopback, but not the servers' 127.0.0.1, so a log naming it is told apart.
CLIENT_ADDRESS = "127.0.0.2"
# A request that takes longer than this counts as a hang.
REQUEST_TIMEOUT = 60
PROCESSES = ("web", "uploads", "media", "notify", "beat")


def database_url(user, name=DATABASE_NAME):
    return f"postgres://{user}@{DATABASE.hostname}:{DATABASE.port or 5432}/{name}"


# This process reads and locks the database as the superuser, and shares the stack's secret and folders.
os.environ.update(
    DJANGO_SETTINGS_MODULE="config.settings",
    DEBUG="false",
    SECRET_KEY=SECRET_KEY,
    DATABASE_URL=SUPERUSER_URL,
    DATABASE_OWNER_URL=database_url(OWNER),
    CELERY_BROKER_URL="",
    CACHE_URL="locmemcache://",
    VAR_DIR=str(RUN / "local"),
    STATIC_ROOT=str(RUN / "static"),
    EVIDENCE_ROOT=str(RUN / "evidence"),
    MEDIA_ROOT=str(RUN / "media"),
    UPLOAD_DIR=str(RUN / "uploads"),
    LOG_LEVEL="WARNING",
)

import django  # noqa: E402

django.setup()

from django.conf import settings  # noqa: E402
from django.contrib.sessions.models import Session  # noqa: E402
from django.core.management import call_command  # noqa: E402
from django.db import connection  # noqa: E402
from django.db.models import Count  # noqa: E402
from django.utils import timezone  # noqa: E402
from django_otp.plugins.otp_totp.models import TOTPDevice  # noqa: E402

from config.sessions import SessionStore  # noqa: E402
from submissions.models import MediaFile, Notification, Submission, Upload  # noqa: E402
from submissions.references import hash_upload_token  # noqa: E402
from tests.officers import current_code, tiny_mp4  # noqa: E402
from tests.services import BIN, Stack, free_ports, start_redis, stop  # noqa: E402

APPEAL = "/appeals/shots-fired-at-officers-grahame-park-colindale/"
JOURNEY = f"{APPEAL}give-information/"
GOOD_ANSWERS = {
    "": {"account": "A man in a grey hoodie fired twice towards the officers, then ran towards the shops."},
    "when": {"seen_on_0": "18", "seen_on_1": "3", "seen_on_2": "2021", "seen_at_time": "7:10pm"},
    "where": {"seen_where": "Lanacre Avenue"},
    "connection": {"relationship": "saw_or_heard"},
    "contact": {"contact_choice": "anonymous"},
}
# The names each question page may keep in the session: its own inputs.
STEP_FIELDS = {
    "": {"account"},
    "when": {"seen_on_0", "seen_on_1", "seen_on_2", "seen_at_time"},
    "where": {"seen_where"},
    "connection": {"relationship"},
    "contact": {"contact_choice"},
    "contact-details": {"contact_name", "contact_email", "contact_phone"},
}
EICAR = b"X5O!P%@AP[4\\PZX54(P^)7CC)7}$" + b"EICAR-STANDARD-ANTIVIRUS-TEST-FILE!$H+H*"
OFFICER, OTHER_OFFICER, DEMO_PASSWORD = "dci.alger", "ds.okafor", "demo-password-change-me"


class Failed(Exception):
    pass


def expect(condition, message):
    if not condition:
        raise Failed(message)


def wait_until(what, condition, timeout):
    """Poll until condition() is true (returning it); the deadlines are generous, as the machine is shared."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if result := condition():
            return result
        time.sleep(0.25)
    raise Failed(f"{what}: not within {timeout} s")


@dataclass
class Receipt:
    reference: str
    token: str
    account: str


@dataclass
class Completed:
    """An upload the client saw finished, with the SHA-256 of what it sent."""

    token: str
    sha256: str
    size: int


@dataclass
class Attack:
    stack: Stack
    redis: subprocess.Popen | None
    redis_port: int
    base_clip: bytes
    processes: dict = field(default_factory=dict)
    client: requests.Session = None
    officer: requests.Session = None
    large_file: MediaFile = None
    bad_inputs: int = 0
    faults: int = 0
    lost: int = 0
    receipts: list = field(default_factory=list)
    uploads: list = field(default_factory=list)

    def url(self, path):
        return self.stack.url(path)

    def start(self, name):
        """Start (or start again) one of deploy/Procfile's processes."""
        self.processes[name] = self.stack.start_process(name)


# Requests ------------------------------------------------------------------------------------------------


class FromClientAddress(HTTPAdapter):
    def init_poolmanager(self, *args, **kwargs):
        super().init_poolmanager(*args, source_address=(CLIENT_ADDRESS, 0), **kwargs)


def browser(attack):
    """A client of the site (a witness's phone, an officer's browser), connecting from CLIENT_ADDRESS."""
    session = attack.stack.session()
    for scheme in ("https://", "http://"):
        session.mount(scheme, FromClientAddress())
    return session


def refused(attack, method, path, statuses, session=None, **options):
    """Send one bad input: it must be answered with one of `statuses` within REQUEST_TIMEOUT."""
    attack.bad_inputs += 1
    session = session or attack.client
    try:
        response = session.request(method, attack.url(path), timeout=REQUEST_TIMEOUT, allow_redirects=False, **options)
    except requests.RequestException as error:
        raise Failed(f"{method} {shorten(path)}: {type(error).__name__} {error}") from None
    expect(
        response.status_code in statuses,
        f"{method} {shorten(path)} answered {response.status_code}, not {sorted(statuses)}: {response.text[:200]!r}",
    )
    return response


def raw_request(attack, request_line_path, headers=(), method="GET"):
    """A request sent as given, as no HTTP library would tidy its path: the status and body of the answer."""
    connection = HTTPSConnection(
        "127.0.0.1",
        attack.stack.https_port,
        timeout=REQUEST_TIMEOUT,
        source_address=(CLIENT_ADDRESS, 0),
        context=ssl.create_default_context(cafile=str(attack.stack.certificate)),
    )
    try:
        own_host = any(name.lower() == "host" for name, _ in headers)
        connection.putrequest(method, request_line_path, skip_host=own_host, skip_accept_encoding=True)
        for name, value in headers:
            connection.putheader(name, value)
        connection.endheaders()
        response = connection.getresponse()
        return response.status, response.read()
    finally:
        connection.close()


def raw_refused(attack, path, statuses, headers=(), method="GET"):
    attack.bad_inputs += 1
    status, body = raw_request(attack, path, headers, method)
    sent = f"{len(headers)} headers of {sum(len(name) + len(value) for name, value in headers)} bytes"
    expect(status in statuses, f"{method} {shorten(path)} with {sent} answered {status}, not {sorted(statuses)}")
    return body


def altered(text):
    """The same text with its last character changed."""
    return text[:-1] + ("A" if text[-1] != "A" else "B")


def shorten(text):
    return text if len(text) <= 80 else f"{text[:60]}... ({len(text)} characters)"


def site_answers(attack):
    try:
        health = attack.client.get(attack.url("/healthz"), timeout=REQUEST_TIMEOUT)
        page = attack.client.get(attack.url(APPEAL), timeout=REQUEST_TIMEOUT)
        tus = attack.client.options(attack.url("/uploads"), timeout=REQUEST_TIMEOUT)
    except requests.RequestException:
        return False
    return health.status_code == 200 and page.status_code == 200 and tus.status_code == 204


def wait_serving(attack, timeout=120):
    wait_until("the site to serve (healthz, the appeal page and tus)", lambda: site_answers(attack), timeout)


# The witness journey ---------------------------------------------------------------------------------------


def step_path(step):
    return f"{JOURNEY}{step}/" if step else JOURNEY


def csrf(session):
    # Django takes the cookie's secret itself as the form's token.
    return session.cookies.get("__Host-csrftoken", "")


def new_witness(attack):
    """A browser that has opened the first question page (and so holds a CSRF cookie)."""
    session = browser(attack)
    page = session.get(attack.url(JOURNEY), timeout=REQUEST_TIMEOUT)
    expect(page.status_code == 200, f"the first question answered {page.status_code}")
    return session


def post_step(attack, session, step, data):
    """Answer one question page as a browser does."""
    path = step_path(step)
    return session.post(
        attack.url(path),
        data={"csrfmiddlewaretoken": csrf(session), **data},
        headers={"Referer": attack.url(path)},
        allow_redirects=False,
        timeout=REQUEST_TIMEOUT,
    )


def answer_all(attack, session, answers):
    for step, data in answers.items():
        response = post_step(attack, session, step, data)
        location = response.headers.get("Location", "")
        expect(
            response.status_code == 302 and location != step_path(step),
            f"a good answer to {step or 'the account'} answered {response.status_code} {location}",
        )


def journey_answers(account, email=None):
    answers = {**GOOD_ANSWERS, "": {"account": account}}
    if email:
        answers["contact"] = {"contact_choice": "contact"}
        answers["contact-details"] = {"contact_name": "A witness", "contact_email": email}
    return answers


def post_check(attack, session):
    """The "Send" of "check your answers"."""
    check = attack.url(f"{JOURNEY}check/")
    return session.post(
        check,
        data={"csrfmiddlewaretoken": csrf(session)},
        headers={"Referer": check},
        allow_redirects=False,
        timeout=REQUEST_TIMEOUT,
    )


def send(attack, session, account, response=None):
    """Send the answers (or take the answer to sending them); the upload token of the receipt, recorded as the
    witness saw it."""
    response = response or post_check(attack, session)
    location = response.headers.get("Location", "")
    expect(response.status_code == 302 and location.startswith("/footage/"), f"sending answered {response.status_code}")
    page = session.get(attack.url(location), timeout=REQUEST_TIMEOUT)
    found = re.search(r'class="app-reference">([^<]+)<', page.text)
    expect(page.status_code == 200 and found, f"the receipt page answered {page.status_code} with no reference")
    token = location.strip("/").rsplit("/", 1)[-1]
    attack.receipts.append(Receipt(found[1], token, account))
    return token


def give_information(attack, email=None):
    """A whole journey, sent: the upload token of its receipt."""
    account = f"Witness {len(attack.receipts) + 1} of the attack run: two shots, then a grey hoodie running."
    session = new_witness(attack)
    answer_all(attack, session, journey_answers(account, email))
    return send(attack, session, account)


def session_data(session):
    """What the site keeps in this browser's session, read from its row in the database."""
    return SessionStore(session_key=session.cookies.get("__Host-sessionid")).load()


# Uploads -----------------------------------------------------------------------------------------------------


OCTETS = {"Content-Type": "application/offset+octet-stream"}


def tus_headers(token, **headers):
    return {"Tus-Resumable": "1.0.0", "Authorization": f"Bearer {token}", **headers}


def tus_refused(attack, method, path, statuses, token, headers=None, data=None):
    """A bad tus request from the holder of `token`."""
    return refused(attack, method, path, statuses, headers=tus_headers(token, **(headers or {})), data=data)


def b64(text):
    return base64.b64encode(text.encode() if isinstance(text, str) else text).decode()


def create_upload(attack, token, length, filename="DASH0001.MP4"):
    response = attack.client.post(
        attack.url("/uploads"),
        headers=tus_headers(token, **{"Upload-Length": str(length), "Upload-Metadata": f"filename {b64(filename)}"}),
        timeout=REQUEST_TIMEOUT,
    )
    expect(response.status_code == 201, f"creating an upload answered {response.status_code}: {response.text[:200]}")
    return urlsplit(response.headers["Location"]).path


def patch(attack, location, token, offset, chunk, **headers):
    return attack.client.patch(
        attack.url(location),
        data=chunk,
        headers=tus_headers(token, **OCTETS, **{"Upload-Offset": str(offset), **headers}),
        timeout=REQUEST_TIMEOUT,
    )


def head_offset(attack, location, token):
    response = attack.client.head(attack.url(location), headers=tus_headers(token), timeout=REQUEST_TIMEOUT)
    expect(response.status_code == 200, f"HEAD answered {response.status_code}")
    return int(response.headers["Upload-Offset"])


def upload(attack, token, content, filename="DASH0001.MP4", chunk_size=64 * 1024):
    """A whole tus upload in chunks, recorded as completed with the client's SHA-256."""
    location = create_upload(attack, token, len(content), filename)
    for offset in range(0, len(content), chunk_size):
        response = patch(attack, location, token, offset, content[offset : offset + chunk_size])
        expect(response.status_code == 204, f"PATCH at {offset} answered {response.status_code}: {response.text[:200]}")
    attack.uploads.append(Completed(token, hashlib.sha256(content).hexdigest(), len(content)))
    return location


def clip(attack, payload=b"", size=0):
    """The run's small H.264 MP4 with a trailing free box holding `payload` and random bytes (up to `size`
    bytes in all): a valid video, and a file of its own each time."""
    filler = payload + os.urandom(max(64, size - len(attack.base_clip) - 8 - len(payload)))
    return attack.base_clip + struct.pack(">I", 8 + len(filler)) + b"free" + filler


def media_file_of(token, sha256):
    return MediaFile.objects.filter(submission__upload_token_hash=hash_upload_token(token), sha256=sha256).first()


def processed(token, content, timeout=240):
    """The stored file of this content once processing has ended (whatever the outcome)."""
    sha256 = hashlib.sha256(content).hexdigest()

    def done():
        media_file = media_file_of(token, sha256)
        return media_file if media_file and media_file.state not in MediaFile.PENDING_STATES else None

    return wait_until("the file to be processed", done, timeout)


def all_processed(timeout=300):
    wait_until(
        "every stored file to be processed",
        lambda: not MediaFile.objects.filter(state__in=MediaFile.PENDING_STATES).exists(),
        timeout,
    )


def work_folders():
    # MEDIA_WORK_DIR is left to its default, under the stack's TMPDIR.
    return list((RUN / "tmp").rglob("media-*"))


# Database locks and the processes they catch ----------------------------------------------------------------


class Held:
    """A lock taken in a transaction of a connection of its own, held until release()."""

    def __init__(self, sql, params=()):
        self.connection = psycopg2.connect(SUPERUSER_URL)
        with self.connection.cursor() as cursor:
            cursor.execute(sql, params)

    def release(self):
        self.connection.rollback()
        self.connection.close()


def waiting_backend(query_pattern):
    """The pid of the site's database connection that waits for a lock in a statement LIKE query_pattern."""
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT pid FROM pg_stat_activity WHERE datname = current_database() AND usename = %s "
            "AND wait_event_type = 'Lock' AND query LIKE %s",
            [APP, query_pattern],
        )
        row = cursor.fetchone()
    return row[0] if row else None


def terminate_backend(pid):
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_terminate_backend(%s)", [pid])


def flock_holder(path):
    """The pid holding a flock on the file at path (from /proc/locks), or None."""
    inode = os.stat(path).st_ino
    for line in Path("/proc/locks").read_text().splitlines():
        parts = line.split()
        # Waiters' lines have "->" after the number; the holder's line does not.
        if parts[1] == "FLOCK" and parts[5].rsplit(":", 1)[-1] == str(inode):
            return int(parts[4])
    return None


def run_task(attack, name):
    """Queue a beat task now, as beat would, for a worker of the stack to run."""
    subprocess.run(
        [str(BIN / "celery"), "-A", "config", "call", name],
        cwd=ROOT,
        env=attack.stack.environment,
        check=True,
        capture_output=True,
    )


# Bad inputs ---------------------------------------------------------------------------------------------------

BAD_DATES = [
    ("32", "1", "2021"), ("0", "1", "2021"), ("31", "2", "2021"), ("29", "2", "2021"), ("1", "13", "2021"),
    ("1", "0", "2021"), ("1", "1", "21"), ("1", "1", "20211"), ("x", "y", "z"), ("1", "", ""), ("", "3", ""),
    ("", "", "2021"), ("18", "3", "2999"), ("-1", "3", "2021"), ("18", "Smarch", "2021"), ("1e3", "3", "2021"),
    ("99999999999999999999", "3", "2021"), ("18", "3", "-2021"), ("18", "3", "2O21"), ("³", "3", "2021"),
]  # fmt: skip
BAD_TIMES = ["25:00", "7:61pm", "13pm", "0am", "7", "noonish", "12:00:00", "-1:00", "99", "7:1O", "²:10"]


def bad_answers():
    """(step, posted data) pairs, each of which the page must refuse with a message."""
    answers = [("", {}), ("", {"account": ""}), ("", {"account": " \n\t "}), ("", {"account": "x" * 10_001})]
    answers += [("", {"account": "y" * 30_000})]
    answers += [("when", {"seen_on_0": d, "seen_on_1": m, "seen_on_2": y}) for d, m, y in BAD_DATES]
    answers += [("when", {"seen_at_time": value}) for value in BAD_TIMES]
    answers += [("where", {"seen_where": "z" * 301}), ("where", {"seen_where": "z" * 5000})]
    for value in [None, "", "bogus", "<script>alert(1)</script>", "saw_or_heard " * 3, "SAW_OR_HEARD"]:
        answers.append(("connection", {} if value is None else {"relationship": value}))
    for value in [None, "", "maybe", "ANONYMOUS", "contact;anonymous"]:
        answers.append(("contact", {} if value is None else {"contact_choice": value}))
    details = [
        {}, {"contact_email": "", "contact_phone": ""}, {"contact_email": "not-an-email"}, {"contact_email": "a@b"},
        {"contact_email": "a@@example.org"}, {"contact_email": f"{'a' * 250}@example.org"}, {"contact_phone": "abc"},
        {"contact_phone": "123"}, {"contact_phone": "+44 20 7946 0018 0018 0018"}, {"contact_phone": "0" * 41},
        {"contact_name": "n" * 201, "contact_email": "witness@example.org"},
    ]  # fmt: skip
    answers += [("contact-details", data) for data in details]
    return answers


def question_pages_refuse_missing_oversized_and_invalid_answers(attack):
    session = new_witness(attack)
    answers = journey_answers(GOOD_ANSWERS[""]["account"], email="witness@example.org")
    answer_all(attack, session, answers)
    for step, data in bad_answers():
        attack.bad_inputs += 1
        response = post_step(attack, session, step, data)
        expect(
            response.status_code == 302 and response.headers["Location"] == step_path(step),
            f"{step or 'account'} {shorten(repr(data))} answered {response.status_code}, not the page again",
        )
        page = session.get(attack.url(step_path(step)), timeout=REQUEST_TIMEOUT)
        expect(
            page.status_code == 200 and "govuk-error-summary" in page.text,
            f"{step or 'account'} {shorten(repr(data))}: the page shows no error ({page.status_code})",
        )
    # Bigger than nginx takes for a question page.
    huge = {"csrfmiddlewaretoken": csrf(session), "account": "w" * 1_500_000}
    refused(attack, "POST", JOURNEY, {413}, session=session, data=huge, headers={"Referer": attack.url(JOURNEY)})
    check = session.get(attack.url(f"{JOURNEY}check/"), timeout=REQUEST_TIMEOUT)
    expect("Lanacre Avenue" in check.text and "witness@example.org" in check.text, "the good answers were lost")
    send(attack, session, answers[""]["account"])
    return f"{len(bad_answers())} bad answers over 6 pages each shown again with its error; a 1.5 MB one 413 by nginx"


def question_pages_keep_only_their_own_fields(attack):
    session = new_witness(attack)
    junk = {
        "is_anonymous": "true", "state": "actioned", "reference": "AAAA-AAAA", "upload_token_hash": "0" * 64,
        "priority": "4", "assignee": "1", "appeal": "1", "account": "injected", "contact_email": "x@example.org",
        "receipt_token": "x", "checking": "1", "rejected": "1", "_last_seen": "0",
        **{f"junk_{number}": "j" * 1000 for number in range(20)},
    }  # fmt: skip
    answers = journey_answers("What I saw, with junk fields beside every answer.")
    for step, data in answers.items():
        attack.bad_inputs += 1
        response = post_step(attack, session, step, {**junk, **data})
        expect(response.status_code == 302, f"{step or 'account'} with junk answered {response.status_code}")
    kept = session_data(session)
    journeys = [key for key in kept if key.startswith("give-information:")]
    expect(len(journeys) == 1 and set(kept) <= {*journeys, "_last_seen"}, f"the session keeps {sorted(kept)}")
    for step, values in kept[journeys[0]].items():
        if step in ("checking", "rejected"):
            continue
        expect(step in STEP_FIELDS, f"the session keeps a step {step!r}")
        expect(set(values) <= STEP_FIELDS[step], f"the session keeps {set(values) - STEP_FIELDS[step]} for {step!r}")
    token = send(attack, session, answers[""]["account"])
    submission = Submission.objects.get(upload_token_hash=hash_upload_token(token))
    expect(
        submission.reference != "AAAA-AAAA" and submission.state == "new" and submission.priority == 2,
        "a junk field reached the stored submission",
    )
    expect(submission.is_anonymous and not submission.contact_email, "junk contact details were stored")
    return f"{len(junk)} junk fields on each of {len(answers)} pages: the session row keeps only each page's own"


def forms_refuse_a_missing_or_wrong_csrf_token(attack):
    before = attack.bad_inputs
    session = new_witness(attack)
    stored = Submission.objects.count()
    for step in [*STEP_FIELDS, "check"]:
        path = step_path(step) if step != "check" else f"{JOURNEY}check/"
        data = {"account": "forged"}
        here = {"Referer": attack.url(path)}
        for token, headers in [
            (None, here), ("x" * 64, here), ("", here), (altered(csrf(session)), here),
            (csrf(session), {}), (csrf(session), {"Referer": "https://evil.example/"}),
            (csrf(session), {**here, "Origin": "https://evil.example"}),
        ]:  # fmt: skip
            posted = data if token is None else {"csrfmiddlewaretoken": token, **data}
            refused(attack, "POST", path, {403}, session=session, data=posted, headers=headers)
    refused(attack, "POST", "/admin/login/", {403}, data={"username": OFFICER, "password": DEMO_PASSWORD})
    expect(Submission.objects.count() == stored, "a forged post stored a submission")
    expect(not session_data(session), "a forged post was kept in the session")
    return f"{attack.bad_inputs - before} forgeries (no, wrong, altered token; no, foreign Referer; other Origin): 403"


def tus_refuses_bad_versions_tokens_lengths_and_metadata(attack):
    before = attack.bad_inputs
    token = give_information(attack)
    location = create_upload(attack, token, 1000)
    for method, path in [("POST", "/uploads"), ("HEAD", location), ("PATCH", location), ("DELETE", location)]:
        for version in [None, "", "0.2.2", "1.0.1", "1.0", "banana", "1.0.0, 1.0.0"]:
            headers = {"Upload-Length": "10", **({} if version is None else {"Tus-Resumable": version})}
            refused(attack, method, path, {412}, headers=headers)
        bearers = ["", "Bearer", "Bearer wrong", f"Basic {b64('a:b')}", f"Bearer {token[:-2]}", "Bearer " + "t" * 4000]
        for authorization in bearers:
            headers = {"Tus-Resumable": "1.0.0", "Upload-Length": "10", "Authorization": authorization}
            refused(attack, method, path, {401}, headers=headers)
    expect(head_offset(attack, location, token) == 0, "the upload changed")
    for length in [None, "", "-1", "abc", "1.5", "0x10", "1e9", "+12", "²", "¹", "0"]:
        tus_refused(attack, "POST", "/uploads", {400}, token, {} if length is None else {"Upload-Length": length})
    for length in [str(10 * 1024**3 + 1), "9" * 30]:
        tus_refused(attack, "POST", "/uploads", {413}, token, {"Upload-Length": length})
    metadata = ["filename ***", "filename YQ=", "filename a", "name !!", f"filename {b64('ok')},name @", "filename \t*"]
    for value in metadata:
        tus_refused(attack, "POST", "/uploads", {400}, token, {"Upload-Length": "10", "Upload-Metadata": value})
    tus_refused(attack, "POST", "/uploads", {400}, token, {"Upload-Defer-Length": "1"})
    tus_refused(attack, "POST", "/uploads", {403}, token, {"Upload-Length": "10", "Origin": "https://evil.example"})
    return f"{attack.bad_inputs - before} refused: 412 version, 401 token, 400/413 length, 400 metadata, 403 origin"


def tus_keeps_hostile_filenames_harmless(attack):
    token = give_information(attack)
    names = [
        "../../etc/passwd", "..\\..\\windows\\win.ini", "/etc/shadow", "clip\x00.mp4", "\x00", "a/../../b.mp4", "..",
        ".", "\u202egpj.exe", "x" * 4000 + ".mp4", "clip.mp4\r\nSet-Cookie: x=1", "<img src=x onerror=alert(1)>.mp4",
    ]  # fmt: skip
    for name in names:
        response = refused(
            attack, "POST", "/uploads", {201},
            headers=tus_headers(token, **{"Upload-Length": "100", "Upload-Metadata": f"filename {b64(name)}"}),
        )  # fmt: skip
        location = urlsplit(response.headers["Location"]).path
        kept = Upload.objects.get(pk=location.rsplit("/", 1)[-1]).filename
        expect(
            len(kept) <= 255 and not re.search(r"[/\\\x00-\x1f\u202e]", kept) and kept not in ("", ".", ".."),
            f"{shorten(repr(name))} was kept as {shorten(repr(kept))}",
        )
        refused(attack, "DELETE", location, {204}, headers=tus_headers(token))
    strays = [path.name for path in Path(os.environ["UPLOAD_DIR"]).iterdir() if not path.name.endswith(".part")]
    expect(not strays, f"files outside the partial uploads: {strays}")
    return f"{len(names)} traversal, NUL, bidi, 4000-character and header-injection names stored harmless, then removed"


def tus_refuses_bad_patches_and_other_witnesses_uploads(attack):
    before = attack.bad_inputs
    token, other = give_information(attack), give_information(attack)
    location = create_upload(attack, token, 1000)
    theirs = create_upload(attack, other, 1000)
    for offset in ["1", "500", "999"]:
        tus_refused(attack, "PATCH", location, {409}, token, {**OCTETS, "Upload-Offset": offset}, b"a")
    for offset in [None, "", "-1", "abc", "0.0", "²", "0x0"]:
        headers = {**OCTETS, **({} if offset is None else {"Upload-Offset": offset})}
        tus_refused(attack, "PATCH", location, {400}, token, headers, b"a")
    for content_type in [None, "application/octet-stream", "text/plain", "multipart/form-data; boundary=x", "video/*"]:
        headers = {"Upload-Offset": "0", **({"Content-Type": content_type} if content_type else {})}
        tus_refused(attack, "PATCH", location, {415}, token, headers, b"a")
    at_start = {**OCTETS, "Upload-Offset": "0"}
    tus_refused(attack, "PATCH", location, {413}, token, at_start, b"b" * 1001)
    for checksum, status in [(f"sha256 {b64(b'0' * 32)}", 460), ("crc32 AAAA", 400), ("sha256 ***", 400)]:
        tus_refused(attack, "PATCH", location, {status}, token, {**at_start, "Upload-Checksum": checksum}, b"c" * 10)
    big = create_upload(attack, token, 100 * MiB)
    tus_refused(attack, "PATCH", big, {413}, token, at_start, b"d" * (16 * MiB + 1))  # the application's limit
    tus_refused(attack, "PATCH", big, {413}, token, at_start, b"d" * (18 * MiB))  # nginx's
    for method in ["HEAD", "PATCH", "DELETE"]:
        for path in [theirs, f"/uploads/{uuid.uuid4()}", "/uploads/not-a-uuid", f"/uploads/{uuid.uuid4()}/x"]:
            tus_refused(attack, method, path, {404}, token, at_start, b"e")
        tus_refused(attack, "POST", theirs, {404}, token, {"X-HTTP-Method-Override": method})
    for method in ["PUT", "GET", "TRACE"]:
        tus_refused(attack, method, location, {405}, token)
    expect(head_offset(attack, location, token) == 0 and head_offset(attack, theirs, other) == 0, "an upload changed")
    done = upload(attack, token, clip(attack))
    tus_refused(attack, "PATCH", done, {404, 409}, token, at_start, b"f")
    tus_refused(attack, "DELETE", done, {403}, token)
    for path, owner in [(location, token), (theirs, other), (big, token)]:
        attack.client.delete(attack.url(path), headers=tus_headers(owner), timeout=REQUEST_TIMEOUT)
    return (
        f"{attack.bad_inputs - before} refused: offsets 409/400, types 415, lengths and chunks 413, checksums 460/400, "
        "others' and unknown ids 404, methods 405, a stored file 403"
    )


def footage_links_refuse_bad_tokens(attack):
    token = give_information(attack)
    wrong = [
        secrets.token_urlsafe(24), altered(token), token.upper(), token[:10],
        "A" * 2000, "%2e%2e%2f%2e%2e%2fetc%2fpasswd", f"{token}%00", "..%252f..%252f",
    ]  # fmt: skip
    for bad in wrong:
        refused(attack, "GET", f"/footage/{bad}/", {400, 404})
        refused(attack, "POST", f"/footage/{bad}/upload/", {400, 404}, files={"files": ("a.mp4", clip(attack))})
    refused(attack, "GET", f"/footage/{token}/../../admin/", {302, 404})
    expect(attack.client.get(attack.url(f"/footage/{token}/"), timeout=REQUEST_TIMEOUT).status_code == 200, "the link")
    return f"{2 * len(wrong) + 1} guessed, altered, truncated and traversing links: 404 (or nginx's 400)"


def files_that_lie_about_their_type_are_refused(attack):
    token = give_information(attack)
    archive = io.BytesIO()
    with zipfile.ZipFile(archive, "w") as zipped:
        zipped.writestr("clip.mp4", clip(attack))
    liars = {
        "DASH0001.MP4": archive.getvalue(),
        "CCTV.mp4": b"MZ\x90\x00" + os.urandom(5000),
        "video.mov": b"<!doctype html><script>alert(1)</script>" * 50,
        "photo.jpg": b"%PDF-1.4\n" + os.urandom(5000),
        "clip.mp4": b"#!/bin/sh\nrm -rf /\n" * 100,
    }
    for name, content in liars.items():
        location = create_upload(attack, token, len(content), name)
        tus_refused(attack, "PATCH", location, {422}, token, {**OCTETS, "Upload-Offset": "0"}, content)
    session = browser(attack)
    page = session.get(attack.url(f"/footage/{token}/"), timeout=REQUEST_TIMEOUT)
    for name, content in liars.items():
        response = refused(
            attack, "POST", f"/footage/{token}/upload/", {400}, session=session, files={"files": (name, content)},
            data={"csrfmiddlewaretoken": csrf(session)}, headers={"Referer": page.url},
        )  # fmt: skip
        expect("not a video or photo we can accept" in response.text, f"{name}: no message saying why")
    kept = MediaFile.objects.filter(submission__upload_token_hash=hash_upload_token(token))
    expect(not kept.exists(), f"{kept.first()} was kept")
    return f"{len(liars)} archives, programs, pages, documents and scripts named as video: 422 by tus, 400 by the form"


def an_infected_file_is_quarantined_and_never_served(attack):
    token = give_information(attack)
    infected = clip(attack, payload=EICAR)
    upload(attack, token, infected, "DASH0002.MP4")
    attack.bad_inputs += 1
    media_file = processed(token, infected)
    expect(
        media_file.state == MediaFile.State.QUARANTINED and media_file.scan_state == MediaFile.ScanState.INFECTED,
        f"the EICAR file ended {media_file.state}, scan {media_file.scan_state}",
    )
    expect(not media_file.derivatives.exists(), "derivatives were made of an infected file")
    return f"EICAR inside an MP4: {media_file.scan_detail}, quarantined with no preview or proxy"


def a_file_over_the_scanners_limit_is_not_scanned_but_kept(attack):
    token = give_information(attack)
    large = clip(attack, size=CLAMD_MAX_BYTES + MiB)
    upload(attack, token, large, "LONG0001.MP4", chunk_size=MiB)
    attack.bad_inputs += 1
    media_file = processed(token, large)
    expect(
        media_file.state == MediaFile.State.READY and media_file.scan_state == MediaFile.ScanState.TOO_LARGE,
        f"a file over CLAMD_MAX_BYTES ended {media_file.state}, scan {media_file.scan_state}",
    )
    attack.large_file = media_file
    scan = media_file.get_scan_state_display()
    return f"{len(large) // 1024} KiB, over the scanner's {CLAMD_MAX_BYTES // 1024} KiB: ready, '{scan}'"


def the_officers_side_needs_signing_in(attack):
    before = attack.bad_inputs
    media_file = attack.large_file
    proxy = media_file.derivatives.get(kind="proxy")
    paths = [
        "/admin/", "/admin/submissions/submission/", media_file.submission.get_admin_url(),
        f"/admin/evidence/derivative/{proxy.pk}/", f"/admin/evidence/original/{media_file.pk}/",
        "/admin/evidence/export/1/download/", f"{APPEAL}preview/", "/admin/auth/user/", "/admin/evidence/auditentry/",
        "/admin/submissions/mediafile/", "/admin/personal-data/", "/admin/evidence/disposal/",
    ]  # fmt: skip
    for path in paths:
        for cookies in ({}, {"__Host-sessionid": "forged" * 6}):
            response = refused(attack, "GET", path, {302, 404}, session=browser(attack), cookies=cookies)
            expect(
                response.status_code == 404 or "/admin/login/" in response.headers["Location"],
                f"{path} redirected to {response.headers.get('Location')}",
            )
    refused(attack, "POST", f"/admin/evidence/submission/{media_file.submission_id}/export/", {403})
    refused(attack, "POST", f"/admin/evidence/original/{media_file.pk}/", {403}, data={"reason": "curious"})
    return f"{attack.bad_inputs - before} admin and evidence requests without signing in: to the sign-in page, or 403"


def signing_in_refuses_wrong_codes_and_throttles_guessing(attack):
    officer = browser(attack)
    login = attack.url("/admin/login/?next=/admin/")
    officer.get(login, timeout=REQUEST_TIMEOUT)

    def sign_in(username, password, code):
        return officer.post(
            login,
            data={"csrfmiddlewaretoken": csrf(officer), "username": username, "password": password, "otp_token": code},
            headers={"Referer": login},
            allow_redirects=False,
            timeout=REQUEST_TIMEOUT,
        )

    for code in ["000000", "abcdef", ""]:
        attack.bad_inputs += 1
        response = sign_in(OFFICER, DEMO_PASSWORD, code)
        expect(response.status_code == 200 and "errornote" in response.text, f"code {code!r}: {response.status_code}")
    for guesses in range(1, 12):
        attack.bad_inputs += 1
        response = sign_in(OTHER_OFFICER, f"guess-{guesses}", "123456")
        if response.status_code == 429:
            break
        expect(response.status_code == 200 and "errornote" in response.text, f"guess {guesses}: {response.status_code}")
    expect(response.status_code == 429, f"{guesses} wrong passwords and no pause")
    admin_page = officer.get(attack.url("/admin/"), allow_redirects=False, timeout=REQUEST_TIMEOUT)
    expect(admin_page.status_code == 302, "a wrong code signed in")
    response = sign_in(OFFICER, DEMO_PASSWORD, current_code(TOTPDevice.objects.get(user__username=OFFICER)))
    expect(response.status_code == 302, f"the right password and code answered {response.status_code}")
    attack.officer = officer
    return f"3 wrong codes refused; wrong password {guesses} answered 429; the right code signs in"


def evidence_addresses_refuse_traversal(attack):
    cookie = attack.officer.cookies.get("__Host-sessionid")
    signed_in = [("Cookie", f"__Host-sessionid={cookie}")]
    paths = [
        "/admin/evidence/derivative/..%2F..%2F..%2Fetc%2Fpasswd/", "/admin/evidence/derivative/../../../../etc/passwd",
        "/admin/evidence/original/%2e%2e/", "/admin/evidence/derivative/-1/", "/admin/evidence/original/0/",
        "/admin/evidence/derivative/99999999999999999999999/", "/admin/evidence/original/1%00/",
        "/admin/evidence/derivative/1/..%2f..%2f..%2fconfig%2fsettings.py", "/protected-evidence/../../etc/passwd",
        "/protected-evidence/originals/", "/static/../config/settings.py", "/static/..%2f..%2fconfig%2fsettings.py",
        "/media/..%2f..%2f.env", "/admin/evidence/export/99999999999999999999/download/", "/%2e%2e/%2e%2e/etc/passwd",
    ]  # fmt: skip
    for path in paths:
        body = raw_refused(attack, path, {400, 404}, signed_in)
        expect(b"root:" not in body and b"SECRET_KEY" not in body, f"{path} gave away a file")
    return f"{len(paths)} traversal, NUL and out-of-range addresses, signed in: 400 or 404, nothing read"


def huge_headers_are_refused(attack):
    cases = [
        [("X-Junk", "j" * 16_000)],
        [(f"X-Junk-{number}", "j" * 100) for number in range(1000)],
        [("Cookie", "c=" + "c" * 20_000)],
        [("Authorization", "Bearer " + "t" * 10_000), ("Tus-Resumable", "1.0.0")],
        [("Upload-Metadata", "filename " + "A" * 12_000), ("Tus-Resumable", "1.0.0")],
    ]
    for headers in cases:
        raw_refused(attack, "/uploads" if headers[-1][0] == "Tus-Resumable" else APPEAL, {400}, headers)
    raw_refused(attack, APPEAL + "?" + "q" * 20_000, {414})
    # Not the appeal page: nginx keeps that page whatever the Host, as it is the same for everyone.
    raw_refused(attack, JOURNEY, {400}, [("Host", "evil.example")])
    return f"{len(cases) + 2} requests with a 10-20 KB header, 1000 headers, a 20 KB address or a foreign Host: 400/414"


# Defences -----------------------------------------------------------------------------------------------------


def rate_limit(rate):
    """How many requests a django-ratelimit rate ("30/10m") lets through in its window."""
    return int(rate.split("/")[0])


def clear_rate_limits(attack):
    """As when the limits' window has passed: their counters are in the cache."""
    subprocess.run(["redis-cli", "-p", str(attack.redis_port), "-n", "1", "FLUSHDB"], check=True, capture_output=True)


def floods_get_the_429_page_and_keep_the_answers(attack):
    token = give_information(attack)
    clear_rate_limits(attack)
    # Each counter's window ends at a time of its own: one may start again once during the flood.
    for sent in range(1, 2 * rate_limit(settings.SUBMISSIONS_RATE_LIMIT) + 2):
        session = new_witness(attack)
        account = f"Flood witness {sent}: I saw the same thing as everyone else."
        answer_all(attack, session, journey_answers(account))
        response = post_check(attack, session)
        if response.status_code == 429:
            break
        send(attack, session, account, response)
    attack.bad_inputs += 1
    expect(response.status_code == 429, f"{sent} accounts from one address and no limit")
    expect("Retry-After" in response.headers, "no Retry-After on the 429")
    expect("101" in response.text and "Crimestoppers" in response.text, "the 429 page offers no other way to tell")
    check = session.get(attack.url(f"{JOURNEY}check/"), timeout=REQUEST_TIMEOUT)
    expect(account in check.text, "the answers were not kept")
    headers = tus_headers(token, **{"Upload-Length": "100", "Upload-Metadata": f"filename {b64('flood.mp4')}"})
    for started in range(1, 2 * rate_limit(settings.UPLOADS_RATE_LIMIT) + 2):
        created = attack.client.post(attack.url("/uploads"), headers=headers, timeout=REQUEST_TIMEOUT)
        if created.status_code == 429:
            break
        expect(created.status_code in (201, 422), f"upload {started} answered {created.status_code}")
        # Past UPLOAD_MAX_FILES the uploads are refused too.
        attack.bad_inputs += created.status_code == 422
    attack.bad_inputs += 1
    expect(created.status_code == 429, f"{started} uploads started from one address and no limit")
    expect("Retry-After" in created.headers and "Too many uploads" in created.text, "the uploads' 429 says nothing")
    clear_rate_limits(attack)
    return f"account {sent} from one address: 429 with 101 and Crimestoppers, answers kept; upload {started}: 429"


def production_headers_are_sent(attack):
    page = attack.client.get(attack.url(APPEAL), timeout=REQUEST_TIMEOUT)
    policy = page.headers.get("Content-Security-Policy", "")
    expect("max-age=" in page.headers.get("Strict-Transport-Security", ""), "no HSTS")
    for directive in ["base-uri 'none'", "report-uri /csp-report/", "report-to csp", "frame-ancestors 'none'"]:
        expect(directive in policy, f"the CSP lacks {directive}: {policy}")
    expect("csp=" in page.headers.get("Reporting-Endpoints", ""), "no Reporting-Endpoints")
    session = browser(attack)
    for port in (attack.stack.http_port, attack.stack.web_port, attack.stack.uploads_port):
        # nginx's plain HTTP server, then the two gunicorns', reached without nginx: all send browsers to HTTPS.
        plain = session.get(f"http://127.0.0.1:{port}{APPEAL}", allow_redirects=False, timeout=REQUEST_TIMEOUT)
        expect(plain.status_code == 301 and plain.headers["Location"].startswith("https://"), f"plain HTTP on {port}")
    first = session.get(attack.url(JOURNEY), timeout=REQUEST_TIMEOUT)
    answered = post_step(attack, session, "", GOOD_ANSWERS[""])
    cookies = first.raw.headers.getlist("Set-Cookie") + answered.raw.headers.getlist("Set-Cookie")
    expect(len(cookies) >= 2, f"cookies: {cookies}")
    for cookie in cookies:
        expect(
            cookie.startswith("__Host-") and "Secure" in cookie and "Path=/" in cookie and "Domain" not in cookie,
            f"cookie {cookie.split('=')[0]} is not __Host-, Secure, Path=/",
        )
    proxy = attack.large_file.derivatives.get(kind="proxy")
    played = attack.officer.get(attack.url(f"/admin/evidence/derivative/{proxy.pk}/"), timeout=REQUEST_TIMEOUT)
    expect(played.status_code == 200, f"the officer's proxy answered {played.status_code}")
    expect(played.headers.get("Content-Security-Policy") == "sandbox", "evidence without CSP sandbox")
    expect(played.headers.get("Content-Disposition", "").startswith("inline; filename="), "no Content-Disposition")
    caching = played.headers.get("Cache-Control", "")
    expect("private" in caching and "no-store" in caching, f"evidence may be cached: {caching}")
    report = {"document-uri": attack.url("/"), "violated-directive": "script-src", "blocked-uri": "inline"}
    reported = attack.client.post(
        attack.url("/csp-report/"),
        data=json.dumps({"csp-report": report}),
        headers={"Content-Type": "application/csp-report"},
        timeout=REQUEST_TIMEOUT,
    )
    expect(reported.status_code == 204, f"the CSP report endpoint answered {reported.status_code}")
    return "HSTS; HTTPS redirects (nginx, Django); __Host- cookies; CSP base-uri 'none', reports; sandboxed evidence"


def the_database_role_cannot_rewrite_evidence(attack):
    refused_statements = {
        "UPDATE submissions_mediafile SET sha256 = repeat('0', 64)": "change a file's hash",
        "UPDATE submissions_mediafile SET size = 1": "change a file's size",
        "UPDATE submissions_mediafile SET original = 'x'": "point at another original",
        "DELETE FROM submissions_mediafile": "delete media files",
        "DELETE FROM submissions_derivative": "delete derivatives",
        "TRUNCATE evidence_auditentry": "empty the audit trail",
        "UPDATE evidence_auditentry SET detail = '{}'": "rewrite the audit trail",
        "DELETE FROM evidence_auditentry": "delete from the audit trail",
        "ALTER TABLE evidence_auditentry DISABLE TRIGGER ALL": "turn the audit trigger off",
        "DELETE FROM submissions_submission": "delete submissions",
    }
    app = psycopg2.connect(database_url(APP))
    try:
        for statement, what in refused_statements.items():
            try:
                with app.cursor() as cursor:
                    cursor.execute(statement)
            except psycopg2.errors.InsufficientPrivilege:
                pass
            else:
                raise Failed(f"the site's role could {what}")
            finally:
                app.rollback()
    finally:
        app.close()
    return f"the site's role {APP} is refused all {len(refused_statements)}: hashes, sizes, deletes, TRUNCATE, triggers"


def sessions_hold_no_tokens_and_expired_ones_are_purged(attack):
    tokens = [receipt.token for receipt in attack.receipts if receipt.token]
    sessions = list(Session.objects.all())
    for session in sessions:
        decoded = json.dumps(SessionStore().decode(session.session_data))
        expect(not any(token in decoded for token in tokens), "a session holds an upload token")
        if "submitted_reference" in decoded:
            expect("give-information:" not in decoded, "a sent session still holds the answers")
    expired = next(s.session_key for s in sessions if "submitted_reference" in SessionStore().decode(s.session_data))
    Session.objects.filter(session_key=expired).update(expire_date=timezone.now() - timedelta(seconds=1))
    run_task(attack, "submissions.tasks.clear_expired_sessions")
    wait_until("the session to be purged", lambda: not Session.objects.filter(session_key=expired).exists(), 120)
    return f"{len(sessions)} session rows: no upload token, no answers once sent; an expired one purged by its task"


# Faults -------------------------------------------------------------------------------------------------------


def files_wait_for_a_stopped_scanner_and_are_scanned_when_it_is_back(attack):
    pid = int((RUN / "clamav" / "clamd.pid").read_text())
    subprocess.run([ROOT / "scripts" / "local-clamd.sh", "stop", RUN / "clamav"], check=True)
    wait_until("clamd to stop", lambda: not Path(f"/proc/{pid}").exists(), 30)
    attack.faults += 1
    token = give_information(attack)
    content = clip(attack)
    upload(attack, token, content)
    sha256 = hashlib.sha256(content).hexdigest()

    def waiting_for_scanner():
        media_file = media_file_of(token, sha256)
        return media_file if media_file and "virus scanner did not answer" in media_file.state_reason else None

    waiting = wait_until("the file to wait for the scanner", waiting_for_scanner, 120)
    expect(waiting.scan_state == MediaFile.ScanState.PENDING, f"scan {waiting.scan_state} without a scanner")
    start_clamd()
    media_file = processed(token, content, timeout=300)
    expect(
        media_file.state == MediaFile.State.READY and media_file.scan_state == MediaFile.ScanState.CLEAN,
        f"after clamd came back: {media_file.state}, scan {media_file.scan_state}",
    )
    return f"'{waiting.get_scan_state_display()}' and retried while clamd was down; clean and ready once it was back"


def a_media_worker_killed_mid_file_leaves_nothing_behind(attack):
    all_processed()
    token = give_information(attack)
    content = clip(attack)
    # The worker's first derivative waits for this lock: it is then mid-file, in its work folder.
    lock = Held("LOCK TABLE submissions_derivative IN EXCLUSIVE MODE")
    try:
        upload(attack, token, content)
        pid = wait_until(
            "the worker to reach its first derivative",
            lambda: waiting_backend('INSERT INTO "submissions_derivative"%'),
            120,
        )
        left = work_folders()
        expect(left, "no work folder while the worker is mid-file")
        attack.stack.kill(attack.processes["media"])
        attack.faults += 1
        terminate_backend(pid)
    finally:
        lock.release()
    expect(all(path.exists() for path in left), "the killed worker's folder went with it")
    attack.start("media")
    media_file = processed(token, content, timeout=300)
    expect(media_file.state == MediaFile.State.READY, f"the file ended {media_file.state}: {media_file.state_reason}")
    wait_until("the killed worker's folder to be removed", lambda: not work_folders(), 120)
    attempts = media_file.attempts
    return f"SIGKILL mid-file left {len(left)} work folder; restarted, ready after {attempts} attempts, no media-* left"


def a_web_worker_killed_mid_patch_lets_the_client_resume(attack):
    token = give_information(attack)
    content = clip(attack, size=300 * 1024)
    half = len(content) // 2
    location = create_upload(attack, token, len(content))
    expect(patch(attack, location, token, 0, content[:half]).status_code == 204, "the first half")
    upload_row = Upload.objects.get(pk=location.rsplit("/", 1)[-1])
    # The second PATCH writes its bytes, then waits here to record the new offset.
    lock = Held("SELECT 1 FROM submissions_upload WHERE id = %s FOR UPDATE", [upload_row.pk])
    with ThreadPoolExecutor(1) as pool:
        try:
            answer = pool.submit(patch, attack, location, token, half, content[half:])
            pid = wait_until("the PATCH to write", lambda: waiting_backend('UPDATE "submissions_upload"%'), 60)
            worker = flock_holder(upload_row.partial_path)
            expect(worker is not None, "no web worker holds the upload")
            os.kill(worker, signal.SIGKILL)
            attack.faults += 1
            terminate_backend(pid)
        finally:
            lock.release()
        try:
            status = answer.result(timeout=REQUEST_TIMEOUT).status_code
        except requests.RequestException as error:
            status = type(error).__name__
    expect(status != 204, "the killed PATCH was acknowledged")
    offset = head_offset(attack, location, token)
    expect(offset == half, f"HEAD gave {offset} after the kill, not {half}")
    resumed = patch(attack, location, token, offset, content[offset:])
    expect(resumed.status_code == 204, f"resuming answered {resumed.status_code}")
    attack.uploads.append(Completed(token, hashlib.sha256(content).hexdigest(), len(content)))
    media_file = media_file_of(token, hashlib.sha256(content).hexdigest())
    expect(media_file is not None, "the resumed upload's SHA-256 does not match what was sent")
    return f"SIGKILL of the worker writing the PATCH ({status}); HEAD said {offset}, the client resumed, hashes match"


def a_web_server_killed_before_storing_a_whole_upload_leaves_it_to_the_sweep(attack):
    token = give_information(attack)
    content = clip(attack, size=200 * 1024)
    location = create_upload(attack, token, len(content))
    upload_row = Upload.objects.get(pk=location.rsplit("/", 1)[-1])
    submission = Submission.objects.get(upload_token_hash=hash_upload_token(token))
    # Storing the file starts by locking its submission's row: the last PATCH waits there with every byte in.
    lock = Held("SELECT 1 FROM submissions_submission WHERE id = %s FOR UPDATE", [submission.pk])
    with ThreadPoolExecutor(1) as pool:
        try:
            answer = pool.submit(patch, attack, location, token, 0, content)
            pid = wait_until(
                "the last PATCH to start storing",
                # Only a SELECT ... FOR UPDATE waits for a row lock (the text shown is cut before its end).
                lambda: waiting_backend('SELECT "submissions_submission".%'),
                60,
            )
            attack.stack.kill(attack.processes["uploads"])
            attack.faults += 1
            terminate_backend(pid)
        finally:
            lock.release()
        try:
            status = answer.result(timeout=REQUEST_TIMEOUT).status_code
        except requests.RequestException as error:
            status = type(error).__name__
    upload_row.refresh_from_db()
    expect(
        upload_row.completed_at is None and upload_row.offset == len(content), "the upload was not left whole, unstored"
    )
    expect(upload_row.partial_path.stat().st_size == len(content), "the partial file is not whole")
    attack.start("uploads")
    wait_serving(attack)
    run_task(attack, "submissions.tasks.store_whole_uploads")
    wait_until("the sweep to store the upload", lambda: Upload.objects.get(pk=upload_row.pk).completed_at, 120)
    attack.uploads.append(Completed(token, hashlib.sha256(content).hexdigest(), len(content)))
    expect(media_file_of(token, hashlib.sha256(content).hexdigest()), "the stored file's SHA-256 does not match")
    expect(head_offset(attack, location, token) == len(content), "HEAD does not say the upload is whole")
    return f"web killed (client saw {status}) with every byte in, unstored: store_whole_uploads stored it, hash matches"


def workers_ride_out_a_redis_restart_and_nothing_owed_is_lost(attack):
    pids = {name: attack.processes[name].pid for name in ("media", "notify", "beat")}
    stop(attack.redis)
    attack.faults += 1
    try:
        tokens = [give_information(attack, email=f"outage-{number}@example.org") for number in range(2)]
        contents = [clip(attack) for _ in tokens]
        for token, content in zip(tokens, contents, strict=True):
            upload(attack, token, content)
        health = attack.client.get(attack.url("/healthz"), timeout=REQUEST_TIMEOUT)
        expect(health.status_code == 503 and health.json()["broker"].startswith("error"), "healthz missed the outage")
    finally:
        attack.redis = start_redis(attack.redis_port, RUN)
    submissions = Submission.objects.filter(upload_token_hash__in=[hash_upload_token(token) for token in tokens])
    wait_until(
        "the owed emails to be sent",
        lambda: (
            not submissions.filter(officers_notified_at__isnull=True).exists()
            and not submissions.filter(receipt_sent_at__isnull=True).exists()
            # Officers emailed in the last minute hear of these in one email listing them.
            and not Notification.objects.filter(submission__in=submissions, sent_at__isnull=True).exists()
        ),
        300,
    )
    mail = "".join(path.read_text() for path in (RUN / "mail").iterdir())
    for submission in submissions.select_related("appeal__incident"):
        expect(f"Your reference {submission.reference}" in mail, f"no receipt email for {submission.reference}")
        officers = f"New information for {submission.appeal.incident.reference}: {submission.reference}"
        expect(officers in mail, f"no officers' email for {submission.reference}")
    for token, content in zip(tokens, contents, strict=True):
        media_file = processed(token, content, timeout=300)
        expect(media_file.state == MediaFile.State.READY, f"an outage upload ended {media_file.state}")
    still = [name for name, pid in pids.items() if attack.processes[name].pid != pid or attack.processes[name].poll()]
    expect(not still, f"{still} did not ride out the restart")
    return "2 accounts and 2 uploads during the outage: stored; receipts and officers' emails sent, files ready after"


def dropped_database_connections_are_reopened(attack):
    token = give_information(attack)
    content = clip(attack)
    upload(attack, token, content)
    sha256 = hashlib.sha256(content).hexdigest()
    wait_until("the file to be taken up", lambda: media_file_of(token, sha256).state != MediaFile.State.RECEIVED, 60)
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity "
            "WHERE datname = current_database() AND usename = %s",
            [APP],
        )
        (dropped,) = cursor.fetchone()
    attack.faults += 1
    expect(dropped > 0, "the site's role had no connection to drop")
    state = media_file_of(token, sha256).get_state_display().lower()
    after = give_information(attack)
    upload(attack, after, clip(attack))
    wait_serving(attack, timeout=30)
    media_file = processed(token, content, timeout=300)
    expect(media_file.state == MediaFile.State.READY, f"the file being processed ended {media_file.state}")
    return f"{dropped} connections terminated (a file {state}): the next journey, upload and processing went on"


def a_full_disk_refuses_uploads_politely_and_keeps_accounts(attack):
    token = give_information(attack)
    location = create_upload(attack, token, 1000)
    stop(attack.processes["uploads"])
    normal = attack.stack.environment
    attack.stack.environment = {**normal, "UPLOAD_MIN_FREE_BYTES": str(10**18)}
    try:
        attack.start("uploads")
    finally:
        attack.stack.environment = normal
    wait_serving(attack)
    attack.faults += 1
    for response in [
        attack.client.post(attack.url("/uploads"), headers=tus_headers(token, **{"Upload-Length": "1000"}), timeout=60),
        patch(attack, location, token, 0, b"x" * 1000),
    ]:
        expect(response.status_code == 503 and "Retry-After" in response.headers, f"answered {response.status_code}")
    page = attack.client.get(attack.url(f"/footage/{token}/"), timeout=REQUEST_TIMEOUT)
    form = attack.client.post(
        attack.url(f"/footage/{token}/upload/"), files={"files": ("a.mp4", clip(attack))}, timeout=REQUEST_TIMEOUT,
        data={"csrfmiddlewaretoken": csrf(attack.client)}, headers={"Referer": page.url},
    )  # fmt: skip
    expect(form.status_code == 503 and "Retry-After" in form.headers, f"the form answered {form.status_code}")
    kept = give_information(attack)
    expect(Submission.objects.filter(upload_token_hash=hash_upload_token(kept)).exists(), "the account was lost")
    stop(attack.processes["uploads"])
    attack.start("uploads")
    wait_serving(attack)
    return "with no room, tus and the form answer 503 with Retry-After; a journey is still stored"


# Nothing lost ------------------------------------------------------------------------------------------------


def every_receipt_has_its_account(attack):
    stored = set(Submission.objects.values_list("reference", "account"))
    missing = [receipt.reference for receipt in attack.receipts if (receipt.reference, receipt.account) not in stored]
    attack.lost += len(missing)
    expect(not missing, f"{len(missing)} receipts without their account: {missing[:5]}")
    return f"{len(attack.receipts)} receipts, {len(attack.receipts)} accounts stored as sent"


def every_finished_upload_is_stored_with_its_hash(attack):
    all_processed()
    missing = []
    for completed in attack.uploads:
        media_file = media_file_of(completed.token, completed.sha256)
        if media_file is None or media_file.size != completed.size:
            missing.append(completed.sha256[:12])
            continue
        with open(media_file.original.path, "rb") as stored:
            if hashlib.file_digest(stored, "sha256").hexdigest() != completed.sha256:
                missing.append(completed.sha256[:12])
    attack.lost += len(missing)
    expect(not missing, f"{len(missing)} finished uploads not stored as sent: {missing}")
    states = dict(MediaFile.objects.values_list("state").annotate(count=Count("pk")))
    expect(set(states) <= {"ready", "quarantined"}, f"files ended {states}")
    return f"{len(attack.uploads)} finished uploads, each stored with the client's SHA-256, re-hashed on disk; {states}"


def no_server_error_was_logged(attack):
    logs = attack.stack.logs
    web = "".join(path.read_text() for path in logs.glob("web-*.log"))
    # Tracebacks are expected: a broker outage is logged with one at each enqueue.
    for marker in ["Internal Server Error", "WORKER TIMEOUT"]:
        expect(marker not in web, f"gunicorn's log has {marker!r}")
    statuses = re.findall(r'" (\d{3}) ', (logs / "appeals.log").read_text())
    errors = {status: statuses.count(status) for status in sorted(set(statuses)) if status.startswith("5")}
    expect("500" not in errors, f"nginx logged answers 500: {errors}")
    return f"{len(statuses)} requests, no 500 from gunicorn; the other 5xx are the faults' own: {errors}"


def no_log_holds_a_token_or_a_client_address(attack):
    tokens = {receipt.token for receipt in attack.receipts if receipt.token}
    logs = [*attack.stack.logs.iterdir(), RUN / "clamav" / "clamd.log"]
    for path in logs:
        text = path.read_text(errors="replace")
        expect(not any(token in text for token in tokens), f"{path.name} holds an upload token")
    # nginx's error log names addresses on every line and cannot be told not to (see the README).
    for path in logs:
        if path.name not in ("error.log", "appeals-error.log"):
            expect(CLIENT_ADDRESS not in path.read_text(errors="replace"), f"{path.name} names a client's address")
    return f"{len(tokens)} upload tokens in none of {len(logs)} logs; the clients' address only in nginx's error logs"


CHECKS = {
    "bad inputs": [
        question_pages_refuse_missing_oversized_and_invalid_answers,
        question_pages_keep_only_their_own_fields,
        forms_refuse_a_missing_or_wrong_csrf_token,
        tus_refuses_bad_versions_tokens_lengths_and_metadata,
        tus_keeps_hostile_filenames_harmless,
        tus_refuses_bad_patches_and_other_witnesses_uploads,
        footage_links_refuse_bad_tokens,
        files_that_lie_about_their_type_are_refused,
        an_infected_file_is_quarantined_and_never_served,
        a_file_over_the_scanners_limit_is_not_scanned_but_kept,
        the_officers_side_needs_signing_in,
        signing_in_refuses_wrong_codes_and_throttles_guessing,
        evidence_addresses_refuse_traversal,
        huge_headers_are_refused,
    ],
    "defences": [
        floods_get_the_429_page_and_keep_the_answers,
        production_headers_are_sent,
        the_database_role_cannot_rewrite_evidence,
        sessions_hold_no_tokens_and_expired_ones_are_purged,
    ],
    "faults": [
        files_wait_for_a_stopped_scanner_and_are_scanned_when_it_is_back,
        a_media_worker_killed_mid_file_leaves_nothing_behind,
        a_web_worker_killed_mid_patch_lets_the_client_resume,
        a_web_server_killed_before_storing_a_whole_upload_leaves_it_to_the_sweep,
        workers_ride_out_a_redis_restart_and_nothing_owed_is_lost,
        dropped_database_connections_are_reopened,
        a_full_disk_refuses_uploads_politely_and_keeps_accounts,
    ],
    "lost": [
        every_receipt_has_its_account,
        every_finished_upload_is_stored_with_its_hash,
        no_server_error_was_logged,
        no_log_holds_a_token_or_a_client_address,
    ],
}


# Setting up ---------------------------------------------------------------------------------------------------


def as_superuser(*statements):
    """Statements run outside a transaction, in the server's postgres database."""
    admin = psycopg2.connect(DATABASE._replace(path="/postgres").geturl())
    admin.autocommit = True
    with admin.cursor() as cursor:
        for statement in statements:
            cursor.execute(statement)
    admin.close()


def create_database():
    """The run's own database, set up as at a deploy: migrated by the tables' owner, then granted to the site's role."""
    as_superuser(
        *(
            f"DO $$ BEGIN IF NOT EXISTS (SELECT FROM pg_roles WHERE rolname = '{role}') "
            f'THEN CREATE ROLE "{role}" {options}; END IF; END $$'
            for role, options in [(OWNER, "LOGIN CREATEDB"), (APP, "LOGIN")]
        ),
        f'DROP DATABASE IF EXISTS "{DATABASE_NAME}" WITH (FORCE)',
        f'CREATE DATABASE "{DATABASE_NAME}" OWNER "{OWNER}"',
    )
    quiet = {"verbosity": 0, "stdout": io.StringIO()}
    call_command("migrate", database="owner", **quiet)
    call_command("grant_app_role", APP, **quiet)
    call_command("setup_roles", **quiet)
    call_command("load_demo", **quiet)
    call_command("collectstatic", "--noinput", **quiet)


def start_clamd():
    script = ROOT / "scripts" / "local-clamd.sh"
    subprocess.run([script, "start", RUN / "clamav", str(CLAMD_MAX_BYTES)], check=True, capture_output=True)


def new_stack(redis_url):
    """The stack's folders and environment: nothing runs yet."""
    (RUN / "mail").mkdir()
    (RUN / "tmp").mkdir()
    STACK_DIR.mkdir()
    stack = Stack(
        STACK_DIR,
        SECRET_KEY=SECRET_KEY,
        DATABASE_URL=database_url(APP),
        CELERY_BROKER_URL=f"{redis_url}/0",
        CACHE_URL=f"{redis_url.replace('redis://', 'rediscache://')}/1",
        EMAIL_URL=f"filemail:///{RUN / 'mail'}",
        CLAMD_ADDRESS=str(RUN / "clamav" / "clamd.sock"),
        CLAMD_MAX_BYTES=str(CLAMD_MAX_BYTES),
        STATIC_ROOT=os.environ["STATIC_ROOT"],
        EVIDENCE_ROOT=os.environ["EVIDENCE_ROOT"],
        MEDIA_ROOT=os.environ["MEDIA_ROOT"],
        UPLOAD_DIR=os.environ["UPLOAD_DIR"],
        TMPDIR=str(RUN / "tmp"),
        LOG_LEVEL="INFO",
        # The sweeps, soon enough for a run of minutes.
        MEDIA_SWEEP_INTERVAL="5",
        MEDIA_LEASE_SECONDS="30",
        MEDIA_STUCK_AFTER_SECONDS="15",
        NOTIFY_SWEEP_INTERVAL="5",
        NOTIFY_STUCK_AFTER_SECONDS="15",
        NOTIFY_BATCH_MINUTES="1",
    )
    return stack


def main():
    began = time.monotonic()
    create_database()
    (redis_port,) = free_ports(1)
    stack = new_stack(f"redis://127.0.0.1:{redis_port}")
    attack = Attack(stack=stack, redis=None, redis_port=redis_port, base_clip=tiny_mp4())
    passed = failed = 0
    try:
        start_clamd()
        attack.redis = start_redis(redis_port, RUN)
        stack.start_nginx()
        for name in PROCESSES:
            attack.start(name)
        attack.client = browser(attack)
        wait_serving(attack)
        print(
            f"Stack up in {time.monotonic() - began:.0f} s: nginx, deploy/Procfile's {', '.join(PROCESSES)}, "
            f"PostgreSQL {DATABASE_NAME}, Redis on port {redis_port}, clamd; files in {RUN}",
            flush=True,
        )
        for group, checks in CHECKS.items():
            print(f"\n== {group} ==", flush=True)
            for check in checks:
                started = time.monotonic()
                try:
                    reason = check(attack)
                    if group == "bad inputs":
                        expect(site_answers(attack), "the site stopped serving after it")
                except Failed as error:
                    failed += 1
                    outcome, reason = "FAIL", str(error)
                except Exception as error:
                    failed += 1
                    outcome, reason = "FAIL", f"{type(error).__name__}: {error}"
                else:
                    passed += 1
                    outcome = "PASS"
                seconds = time.monotonic() - started
                print(f"{outcome} {check.__name__} ({seconds:.0f} s): {reason.strip()}", flush=True)
    finally:
        stack.stop()
        stop(attack.redis)
        subprocess.run([ROOT / "scripts" / "local-clamd.sh", "stop", RUN / "clamav"], check=False)
    print(f"\nThe run took {time.monotonic() - began:.0f} s.")
    if failed:
        print(f"Logs and files kept in {RUN}; the database {DATABASE_NAME} too.")
    else:
        connection.close()
        as_superuser(f'DROP DATABASE "{DATABASE_NAME}" WITH (FORCE)')
        shutil.rmtree(RUN, ignore_errors=True)
    figures = f"bad_inputs={attack.bad_inputs} faults={attack.faults} lost={attack.lost}"
    print(f"attack checks={passed + failed} passed={passed} {figures}")
    sys.exit(1 if failed else 0)


if __name__ == "__main__":
    main()
