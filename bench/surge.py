"""A viral day, compressed: the production stack on loopback, a thousand witnesses and a thousand files.

Starts what deploy/ describes, with tests/services.py's Stack: nginx with deploy/nginx/appeals.conf over TLS,
and deploy/Procfile's web and uploads (gunicorn for pages, and for tus), media workers, notify and beat, on
a fresh PostgreSQL database of the server at BENCH_POSTGRES_URL (the site as the role that owns nothing, as
in production), a Redis and a clamd of its own, and files on local disk. Then, in one run:

1. Scale: 40 files sent while no media worker runs, then processed by one worker pinned to one core, and
   the same 40 again by two workers pinned to a core each (taskset), with clamd, which scans every file,
   pinned to the same cores. scale_2w = the second rate over the first.
2. The surge: BENCH_SURGE_WITNESSES witnesses (1,000), BENCH_SURGE_CONCURRENCY (32) at a time, each a
   client of its own (aiohttp, its own TLS connection and cookies): the appeal page, every question page
   read and answered with its CSRF token, check answers, send, the receipt. Some then send 1 to 3 files
   with tus to their private link, BENCH_SURGE_FILES (1,000) in all, from a generated mix (MIX below).
   Two media workers process them meanwhile; when 40% of the witnesses have their receipts (or after two
   minutes), one worker is killed with SIGKILL (its whole process group) and started again 5 s later.
   No witness starts after 14 minutes into the run (so on a slow day fewer than all of them are counted).
   - accepted_per_min: receipts per minute, from the first witness's start to the last receipt.
   - page_p99_ms: every request from the first question to the receipt (not the appeal page, which nginx
     serves from its cache, nor the uploads).
   - poster_p50_s / poster_p99_s: from the answer to a file's last PATCH to its poster (a photo's preview)
     row being in the database, where officers see it; a file without one 16 minutes into the run
     counts as never, so that the whole run stays within 20 minutes.
3. Peers, with the media workers stopped: the cached appeal page through nginx's cache against the same
   bytes as a static file from the same nginx, same TLS (wrk); a 1 GiB upload to the product's tus
   endpoint (straight to the uploads' gunicorn, which hashes and fsyncs the file) against the official Node tus server
   (@tus/server with its file store, installed by scripts/tus-node.sh) from the same sendfile client.
4. lost: receipts without the account stored as sent, uploads completed without a stored file, and stored
   files whose bytes on disk have another SHA-256 than the client's. Must be 0.

Targets: accepted_per_min >= 600 with page_p99_ms < 500; scale_2w >= 1.8; lost = 0; cached page / static
>= 0.5; tus / Node tus >= 1.0. The machine is shared: the load averages are printed beside the figures.
The last line is the summary. Run with `make bench-surge` (about 15 minutes here); media is made once
with ffmpeg and kept in var/bench/.
"""

import asyncio
import base64
import hashlib
import itertools
import math
import os
import random
import re
import resource
import shutil
import ssl
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from collections import defaultdict
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import urljoin, urlsplit

import aiohttp
import psycopg2
from bench_journey import database_cpu
from bench_pages import wrk
from bench_upload import make_file, tus_upload

ROOT = Path(__file__).resolve().parent.parent
WITNESSES = int(os.environ.get("BENCH_SURGE_WITNESSES", "1000"))
FILES = int(os.environ.get("BENCH_SURGE_FILES", "1000"))
CONCURRENCY = int(os.environ.get("BENCH_SURGE_CONCURRENCY", "32"))
POSTGRES_URL = os.environ.get("BENCH_POSTGRES_URL", "postgres://postgres@127.0.0.1:5432/postgres")
APP_ROLE = os.environ.get("BENCH_DATABASE_APP_ROLE", "appeals_app")
DATABASE = "bench_surge"
# The whole run stays within 20 minutes: no witness starts after 14 minutes in, and posters not made by
# 16 minutes in count as never made.
STARTED = time.monotonic()
SURGE_UNTIL = STARTED + 14 * 60
DRAIN_UNTIL = STARTED + 16 * 60
# A media worker is killed when this share of the witnesses have their receipts, or this long into the
# surge if that comes first (a slow day).
KILL_AFTER_RECEIPTS = 0.4
KILL_AFTER_SECONDS = 120
CHUNK = 8 * 1024 * 1024
GiB = 1024**3
APPEAL = "/appeals/shots-fired-at-officers-grahame-park-colindale/"
JOURNEY = f"{APPEAL}give-information/"
CSRF_TOKEN = re.compile(r'name="csrfmiddlewaretoken" value="([^"]+)"')
RECEIPT = re.compile(r'class="app-reference">([2-9A-Z]{4}-[2-9A-Z]{4})<')
LOAD = {"before the stack started": os.getloadavg()}
# Measured in the scale runs, where the media workers' processes live from start to end.
MEDIA_CPU_PER_FILE = []


@dataclass(frozen=True)
class Kind:
    """One kind of file in the mix: how many of every 40, the device's file name, and ffmpeg's arguments."""

    label: str
    share: int
    filename: str
    ffmpeg: str


NOISE = "noise=alls=12:allf=t+u:all_seed={seed}"  # real cameras' noise, so the bitrates are a camera's
MIX = [
    Kind(
        "dashcam H.264, 2 s of 640x360 at 30 fps with AAC, MP4",
        12,
        "DASH{n:04d}.MP4",
        f"-f lavfi -i testsrc2=size=640x360:rate=30,{NOISE} -f lavfi -i sine=frequency=440 -t 2 "
        "-c:v libx264 -preset veryfast -crf 23 -g 30 -pix_fmt yuv420p -c:a aac -b:a 96k -movflags +faststart -f mp4",
    ),
    Kind(
        "phone HEVC, 2 s of 640x360 at 30 fps with AAC, QuickTime",
        6,
        "IMG_{n:04d}.MOV",
        f"-f lavfi -i testsrc2=size=640x360:rate=30,{NOISE} -f lavfi -i sine=frequency=440 -t 2 "
        "-c:v libx265 -preset ultrafast -x265-params log-level=error -tag:v hvc1 -pix_fmt yuv420p "
        "-c:a aac -b:a 96k -f mov",
    ),
    Kind(
        "CCTV MJPEG, 2 s of 640x360 at 10 fps, AVI",
        3,
        "CAM01_{n:04d}.avi",
        f"-f lavfi -i testsrc2=size=640x360:rate=10,{NOISE} -t 2 -c:v mjpeg -q:v 5 -pix_fmt yuvj420p -f avi",
    ),
    Kind(
        "CCTV H.264, 2 s of 704x576 at 12.5 fps, MPEG-TS",
        3,
        "CH02_{n:04d}.ts",
        f"-f lavfi -i testsrc2=size=704x576:rate=12.5,{NOISE} -t 2 "
        "-c:v libx264 -preset veryfast -crf 25 -g 25 -pix_fmt yuv420p -f mpegts",
    ),
    Kind(
        "phone JPEG photo, 12 MP (4032x3024)",
        16,
        "IMG_{n:04d}.JPG",
        "-f lavfi -i testsrc2=size=4032x3024:rate=1,noise=alls=10:allf=u:all_seed={seed} -frames:v 1 -q:v 3 -f image2",
    ),
]


@dataclass(frozen=True)
class Clip:
    kind: Kind
    name: str
    content: bytes
    sha256: str


def make_media():
    """The mix's 40 distinct files, made once with ffmpeg in a folder named after their recipe."""
    recipe = hashlib.sha256(repr(MIX).encode()).hexdigest()[:12]
    folder = ROOT / "var" / "bench" / f"surge-media-{recipe}"
    folder.mkdir(parents=True, exist_ok=True)
    clips = []
    for kind in MIX:
        for n in range(1, kind.share + 1):
            path = folder / kind.filename.format(n=n)
            if not path.exists():
                arguments = kind.ffmpeg.format(seed=n).split()
                partial = path.with_name(f"partial-{path.name}")
                subprocess.run(["ffmpeg", "-v", "error", "-y", *arguments, str(partial)], check=True)
                partial.rename(path)
            content = path.read_bytes()
            clips.append(Clip(kind, path.name, content, hashlib.sha256(content).hexdigest()))
    return clips


# The environment of the site's processes and of this one, which reads the database to check on them.
WORK = Path(tempfile.mkdtemp(prefix="bench-surge-", dir=ROOT / "var"))
OWNER_URL = POSTGRES_URL.rsplit("/", 1)[0] + f"/{DATABASE}"
APP_URL = re.sub(r"//[^@/]*@", f"//{APP_ROLE}@", OWNER_URL)
SITE = {
    "DATABASE_URL": APP_URL,
    "DATABASE_OWNER_URL": OWNER_URL,
    "SECRET_KEY": "bench-surge-secret-key",
    "EVIDENCE_ROOT": str(WORK / "evidence"),
    "MEDIA_ROOT": str(WORK / "media"),
    "MEDIA_WORK_DIR": str(WORK / "media-work"),
    "STATIC_ROOT": str(WORK / "static-root"),
    # One client address sends everything here: no per-address limits.
    "SUBMISSIONS_RATE_LIMIT": "",
    "UPLOADS_RATE_LIMIT": "",
}
os.environ.update(SITE, DJANGO_SETTINGS_MODULE="config.settings", DATABASE_URL=OWNER_URL, DEBUG="false")
sys.path.insert(0, str(ROOT))

import django  # noqa: E402

django.setup()

from django.conf import settings  # noqa: E402
from django.db import connection  # noqa: E402
from django.db.models import Count, Q  # noqa: E402

from submissions.models import Derivative, MediaFile, Submission, Upload  # noqa: E402
from tests.services import Stack, free_ports, start_redis, stop  # noqa: E402

POSTER_KINDS = [Derivative.Kind.POSTER, Derivative.Kind.PREVIEW]


# The witnesses ------------------------------------------------------------------------------------------


class JourneyFailed(Exception):
    pass


@dataclass
class Sent:
    """A file a witness sent: its tus upload's id, its SHA-256 and when the last PATCH was answered."""

    upload_id: str
    sha256: str
    finished_at: float


@dataclass
class Witness:
    number: int
    clips: list
    reference: str = ""
    account: str = ""
    token: str = ""
    sent: list = field(default_factory=list)


@dataclass
class Timings:
    pages: list = field(default_factory=list)
    appeal: list = field(default_factory=list)
    receipts: list = field(default_factory=list)
    errors: list = field(default_factory=list)
    # The question pages' times by request, e.g. "POST where" or "GET footage".
    steps: dict = field(default_factory=lambda: defaultdict(list))

    def record(self, method, url, seconds):
        self.pages.append(seconds)
        path = urlsplit(url).path
        step = "footage" if path.startswith("/footage/") else path.removeprefix(JOURNEY).strip("/") or "account"
        self.steps[f"{method} {step}"].append(seconds)


def answers(witness):
    """One witness's answers, page by page; one in four leaves an email address (and gets a receipt email)."""
    contact = witness.number % 4 == 0
    pages = {
        "": {"account": witness.account},
        "when": {"seen_on_0": "18", "seen_on_1": "3", "seen_on_2": "2021", "seen_at_time": "7:10pm"},
        "where": {"seen_where": f"Lanacre Avenue, by number {witness.number % 90 + 1}"},
        "connection": {"relationship": "have_footage" if witness.clips else "saw_or_heard"},
        "contact": {"contact_choice": "contact" if contact else "anonymous"},
    }
    if contact:
        pages["contact-details"] = {
            "contact_name": f"Witness {witness.number}",
            "contact_email": f"witness{witness.number}@example.org",
            "contact_phone": "",
        }
    return pages.values()


async def fetch(http, method, url, timings=None, **options):
    """One request; its time goes into `timings` (a Timings' pages, or a list) if given."""
    started = time.perf_counter()
    async with http.request(method, url, allow_redirects=False, **options) as response:
        body = await response.text()
    if isinstance(timings, Timings):
        timings.record(method, url, time.perf_counter() - started)
    elif timings is not None:
        timings.append(time.perf_counter() - started)
    return response, body


async def answer(http, url, data, timings):
    """Read the page and post its form, as a browser does: the page's CSRF token, the page as Referer."""
    response, page = await fetch(http, "GET", url, timings)
    if response.status != 200 or not (token := CSRF_TOKEN.search(page)):
        raise JourneyFailed(f"GET {urlsplit(url).path}: {response.status}")
    response, page = await fetch(
        http, "POST", url, timings, data={"csrfmiddlewaretoken": token.group(1), **data}, headers={"Referer": url}
    )
    if response.status != 302:
        raise JourneyFailed(f"POST {urlsplit(url).path}: {response.status} {page[:300]}")
    return urljoin(url, response.headers["Location"])


async def send_file(http, site_url, witness, clip):
    """One file with tus, in the site's uploader's chunks."""
    auth = {"Tus-Resumable": "1.0.0", "Authorization": f"Bearer {witness.token}", "Origin": site_url}
    metadata = ",".join(
        f"{key} {base64.b64encode(value.encode()).decode()}" for key, value in [("filename", clip.name)]
    )
    headers = {**auth, "Upload-Length": str(len(clip.content)), "Upload-Metadata": metadata}
    response, body = await fetch(http, "POST", f"{site_url}/uploads", headers=headers)
    if response.status != 201:
        raise JourneyFailed(f"POST /uploads: {response.status} {body[:300]}")
    location = response.headers["Location"]
    for offset in range(0, len(clip.content), CHUNK):
        headers = {**auth, "Upload-Offset": str(offset), "Content-Type": "application/offset+octet-stream"}
        response, body = await fetch(
            http, "PATCH", location, data=clip.content[offset : offset + CHUNK], headers=headers
        )
        if response.status != 204:
            raise JourneyFailed(f"PATCH {clip.name}: {response.status} {body[:300]}")
    witness.sent.append(Sent(location.rsplit("/", 1)[1], clip.sha256, time.time()))


async def walk(site_url, tls, witness, timings):
    """The whole journey of one witness, on a connection and cookies of their own."""
    witness.account = (
        f"Witness {witness.number}: a man in a grey hoodie fired twice towards the officers, then ran towards "
        "the shops on Lanacre Avenue."
    )
    connector = aiohttp.TCPConnector(ssl=tls, limit=2)
    # unsafe: the site's address is an IP address, whose cookies aiohttp would otherwise drop.
    jar = aiohttp.CookieJar(unsafe=True)
    timeout = aiohttp.ClientTimeout(total=120)
    async with aiohttp.ClientSession(connector=connector, cookie_jar=jar, timeout=timeout) as http:
        response, _ = await fetch(http, "GET", site_url + APPEAL, timings.appeal)
        if response.status != 200:
            raise JourneyFailed(f"GET the appeal: {response.status}")
        url = site_url + JOURNEY
        for data in answers(witness):
            url = await answer(http, url, data, timings)
        footage_url = await answer(http, url, {}, timings)
        response, page = await fetch(http, "GET", footage_url, timings)
        if response.status != 200 or not (reference := RECEIPT.search(page)):
            raise JourneyFailed(f"the receipt: {response.status}")
        witness.reference = reference.group(1)
        witness.token = urlsplit(footage_url).path.split("/")[2]
        timings.receipts.append(time.time())
        for clip in witness.clips:
            await send_file(http, site_url, witness, clip)


async def walk_all(site_url, tls, witnesses, timings, concurrency, until=None):
    """The witnesses, `concurrency` at a time, each starting as soon as one before has finished, and none
    after `until` (a time.monotonic() value)."""
    waiting = iter(witnesses)

    async def one_after_another():
        for witness in waiting:
            if until and time.monotonic() > until:
                return
            try:
                await walk(site_url, tls, witness, timings)
            except (TimeoutError, JourneyFailed, aiohttp.ClientError) as error:
                timings.errors.append(f"witness {witness.number}: {type(error).__name__}: {error}")

    await asyncio.gather(*(one_after_another() for _ in range(concurrency)))


def plan_witnesses(count, files, clips):
    """Who sends what: witnesses in a shuffled order send 1 to 3 different files each until `files` are
    planned; the rest send none."""
    chooser = random.Random(18032021)
    witnesses = [Witness(number, []) for number in range(1, count + 1)]
    chooser.shuffle(witnesses)
    remaining = files
    for witness in witnesses:
        if remaining == 0:
            break
        witness.clips = chooser.sample(clips, min(remaining, chooser.randint(1, 3)))
        remaining -= len(witness.clips)
    chooser.shuffle(witnesses)
    return witnesses


# The stack ----------------------------------------------------------------------------------------------


def fresh_database():
    """The benchmark's own database on the PostgreSQL server, new each run, and the site's role."""
    server = psycopg2.connect(POSTGRES_URL)
    server.autocommit = True
    with server.cursor() as cursor:
        cursor.execute(f"DROP DATABASE IF EXISTS {DATABASE} WITH (FORCE)")
        cursor.execute(f"CREATE DATABASE {DATABASE}")
        cursor.execute("SELECT FROM pg_roles WHERE rolname = %s", [APP_ROLE])
        if cursor.fetchone() is None:
            cursor.execute(f"CREATE ROLE {APP_ROLE} LOGIN")
    server.close()


def drop_database():
    connection.close()
    server = psycopg2.connect(POSTGRES_URL)
    server.autocommit = True
    with server.cursor() as cursor:
        cursor.execute(f"DROP DATABASE IF EXISTS {DATABASE} WITH (FORCE)")
    server.close()


def manage(stack, *arguments, **environment):
    command = [sys.executable, "manage.py", *arguments]
    env = {**stack.environment, **environment}
    subprocess.run(command, cwd=ROOT, env=env, check=True, stdout=subprocess.DEVNULL)


def static_server(port, stack, folder):
    """An nginx server for the peer: the same TLS and logging as the site, files from a folder."""
    return f"""
        server {{
            listen 127.0.0.1:{port} ssl http2;
            server_name 127.0.0.1;
            ssl_certificate {stack.certificate};
            ssl_certificate_key {stack.directory / "tls.key"};
            ssl_protocols TLSv1.2 TLSv1.3;
            access_log {stack.logs}/static.log appeals_no_client;
            root {folder};
        }}
    """


def tls_for(stack):
    return ssl.create_default_context(cafile=str(stack.certificate))


def stop_workers(workers):
    for worker in workers:
        worker.terminate()
    for worker in workers:
        worker.wait(timeout=60)


def with_poster(media_file_ids):
    """The files officers can see a picture of (a poster, or a photo's preview), or whose processing ended in
    a problem they are told about."""
    shown = Q(derivatives__kind__in=POSTER_KINDS) | Q(state__in=MediaFile.PROBLEM_STATES)
    return MediaFile.objects.filter(shown, pk__in=media_file_ids).distinct()


def done_by_media_workers(media_file_ids):
    """The files with a poster that no media worker holds any more: all the media queue does is done (a web
    proxy made on a queue of its own may still be to come)."""
    return with_poster(media_file_ids).exclude(state=MediaFile.State.PROCESSING)


def media_file_ids(witnesses):
    upload_ids = [sent.upload_id for witness in witnesses for sent in witness.sent]
    return list(Upload.objects.filter(pk__in=upload_ids).values_list("media_file", flat=True))


def process_roles(stack):
    """A process's role, by what its command line (or an ancestor's, NUL-separated) holds."""
    return {
        b"nginx": "nginx",
        b"--bind\x00127.0.0.1:%d" % stack.web_port: "pages",
        b"--bind\x00127.0.0.1:%d" % stack.uploads_port: "uploads",
        b"--queues\x00media": "media",
        b"--queues\x00notify": "notify",
        b"redis-server": "redis",
    }


def cpu_seconds(stack):
    """CPU seconds (user and system, with those of their children waited for) of the live processes this
    benchmark started, by role: nginx, pages and uploads (the two gunicorn pools), media (media workers with
    their ffmpeg), notify, redis, other (beat, clamd, honcho); and client, this process. The PostgreSQL server
    is not among them, and a killed process's seconds are gone with it."""
    ticks = os.sysconf("SC_CLK_TCK")
    parents, seconds, commands = {}, {}, {}
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            text, command = stat.read_text(), (stat.parent / "cmdline").read_bytes()
        except OSError:
            continue  # it has just ended
        pid = int(stat.parent.name)
        # After the command's name in brackets: state, ppid, ..., utime, stime, cutime, cstime (fields 14-17).
        fields = text[text.rindex(")") + 2 :].split()
        parents[pid], seconds[pid], commands[pid] = int(fields[1]), sum(map(int, fields[11:15])) / ticks, command
    marks = process_roles(stack)
    roles = {role: 0.0 for role in marks.values()} | {"other": 0.0}
    for pid in seconds:
        role, ancestor = None, pid
        while ancestor in parents and ancestor != os.getpid():
            if role is None:
                role = next((role for mark, role in marks.items() if mark in commands[ancestor]), None)
            ancestor = parents[ancestor]
        if ancestor == os.getpid() and pid != ancestor:
            roles[role or "other"] += seconds[pid]
    own = resource.getrusage(resource.RUSAGE_SELF)
    roles["client"] = own.ru_utime + own.ru_stime
    return roles


def wait_until(condition, timeout, every=0.1):
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise SystemExit(f"Gave up after {timeout} s waiting for {condition.__name__}")
        time.sleep(every)


# The phases ---------------------------------------------------------------------------------------------


def scale_run(stack, clips, cpus, numbers, clamd_pid):
    """Files per minute by media workers pinned to the given cores, on the same 40 files each time, sent
    by two witnesses numbered from `numbers`. clamd, which scans every file for them, is pinned to the same
    cores: one worker on one core means its scans on that core too, not on the core left idle."""
    witnesses = [Witness(next(numbers), clips[0::2]), Witness(next(numbers), clips[1::2])]
    timings = Timings()
    asyncio.run(walk_all(stack.site_url, tls_for(stack), witnesses, timings, concurrency=1))
    if timings.errors:
        raise SystemExit(f"Sending the scale batch failed: {timings.errors}")
    ids = media_file_ids(witnesses)
    subprocess.run(["taskset", "--all-tasks", "--cpu-list", "--pid", ",".join(cpus), str(clamd_pid)],
                   check=True, stdout=subprocess.DEVNULL)  # fmt: skip
    workers = [stack.start_process("media", cpus=cpu) for cpu in cpus]

    def first_claimed():
        return MediaFile.objects.filter(pk__in=ids).exclude(state=MediaFile.State.RECEIVED).exists()

    def all_done():
        return done_by_media_workers(ids).count() == len(ids)

    wait_until(first_claimed, timeout=120, every=0.05)
    started, cpu_at_start = time.time(), cpu_seconds(stack)["media"]
    wait_until(all_done, timeout=600, every=0.2)
    finished = max(MediaFile.objects.filter(pk__in=ids).values_list("updated_at", flat=True)).timestamp()
    MEDIA_CPU_PER_FILE.append((cpu_seconds(stack)["media"] - cpu_at_start) / len(ids))
    stop_workers(workers)
    subprocess.run(["taskset", "--all-tasks", "--cpu-list", "--pid", f"0-{os.cpu_count() - 1}", str(clamd_pid)],
                   check=True, stdout=subprocess.DEVNULL)  # fmt: skip
    return len(ids) / (finished - started) * 60, witnesses


def surge(stack, witnesses):
    timings = Timings()
    workers = [stack.start_process("media"), stack.start_process("media")]
    killed = {}

    async def kill_one_worker_and_restart_it(walkers):
        while len(timings.receipts) < KILL_AFTER_RECEIPTS * len(witnesses):
            if walkers.done():
                return
            if time.time() - started > KILL_AFTER_SECONDS:
                break
            await asyncio.sleep(0.2)
        stack.kill(workers[0])
        killed["receipts"], killed["seconds"] = len(timings.receipts), time.time() - started
        await asyncio.sleep(5)
        workers[0] = stack.start_process("media")

    async def progress():
        while True:
            await asyncio.sleep(15)
            sent = sum(len(witness.sent) for witness in witnesses)
            print(f"  {time.time() - started:4.0f} s: {len(timings.receipts)} receipts, {sent} files", flush=True)

    async def run():
        walkers = asyncio.ensure_future(
            walk_all(stack.site_url, tls_for(stack), witnesses, timings, CONCURRENCY, until=SURGE_UNTIL)
        )
        reporter = asyncio.ensure_future(progress())
        await kill_one_worker_and_restart_it(walkers)
        await walkers
        reporter.cancel()

    started, cpu_at_start, backends_at_start = time.time(), cpu_seconds(stack), database_cpu({"DATABASE_URL": APP_URL})
    asyncio.run(run())
    surge_seconds = max(timings.receipts, default=started) - started
    cpu = {role: seconds - cpu_at_start[role] for role, seconds in cpu_seconds(stack).items()}
    # The site's connections last CONN_MAX_AGE, so most backends live through the surge; one that ended took
    # its seconds with it (an undercount).
    backends = database_cpu({"DATABASE_URL": APP_URL})
    cpu["postgresql"] = sum(seconds - backends_at_start.get(pid, 0) for pid, seconds in backends.items())
    LOAD["at the end of the surge"] = os.getloadavg()
    print(f"  the witnesses are done after {time.time() - started:.0f} s; waiting for the posters", flush=True)

    ids = media_file_ids(witnesses)

    def every_poster_made():
        return with_poster(ids).count() == len(ids)

    while not every_poster_made() and time.monotonic() < DRAIN_UNTIL:
        time.sleep(15)
        print(f"  {time.time() - started:4.0f} s: {with_poster(ids).count()} of {len(ids)} posters made", flush=True)
    drained = time.time() - started
    LOAD["at the end of processing"] = os.getloadavg()
    stop_workers(workers)
    return timings, surge_seconds, drained, killed, cpu


def posters(witnesses):
    """Seconds from each file's last PATCH to its poster (or preview) row; None where there is none."""
    sent = [sent for witness in witnesses for sent in witness.sent]
    media_files = dict(Upload.objects.filter(pk__in=[s.upload_id for s in sent]).values_list("pk", "media_file"))
    made = dict(
        Derivative.objects.filter(kind__in=POSTER_KINDS, media_file__in=media_files.values()).values_list(
            "media_file", "created_at"
        )
    )
    waits = []
    for each in sent:
        poster = made.get(media_files.get(uuid.UUID(each.upload_id)))
        waits.append(poster.timestamp() - each.finished_at if poster else None)
    return waits


def cached_page_against_static(stack, static_port, folder):
    session = stack.session()
    page = session.get(stack.url(APPEAL))
    page = session.get(stack.url(APPEAL))
    if page.headers.get("X-Cache-Status") != "HIT":
        raise SystemExit(f"The appeal page is not in nginx's cache: {page.headers.get('X-Cache-Status')}")
    (folder / "appeal.html").write_bytes(page.content)
    static_url = f"https://127.0.0.1:{static_port}/appeal.html"
    subprocess.run(["wrk", "-t1", "-c4", "-d1s", stack.url(APPEAL)], capture_output=True, check=True)
    # Interleaved, the best of two each: the machine is shared.
    cached, static = [], []
    for _round in range(2):
        cached.append(wrk(stack.url(APPEAL)))
        static.append(wrk(static_url))
    return fastest(cached), fastest(static), len(page.content)


def fastest(runs):
    return max(runs, key=lambda run: run["rate"])


def big_upload_against_node(stack, tokens):
    """Best of two each, interleaved: 1 GiB to the product's tus endpoint and to the Node tus server."""
    installed = subprocess.run(
        [ROOT / "scripts" / "tus-node.sh", ROOT / ".venv" / "share" / "tus-node"],
        capture_output=True,
        text=True,
        check=True,
    ).stdout.strip()
    big = WORK / "big.mp4"
    make_file(big, GiB)
    with big.open("rb") as source:
        expected = hashlib.file_digest(source, "sha256").hexdigest()
    (node_port,) = free_ports(1)
    (WORK / "tus-node").mkdir()
    with (stack.logs / "tus-node.log").open("w") as log:
        node = subprocess.Popen(
            ["node", ROOT / "bench" / "tus_node_server.mjs", installed, str(node_port), WORK / "tus-node"],
            stdout=log,
            stderr=subprocess.STDOUT,
        )
    try:
        wait_until(lambda: subprocess.run(["curl", "-sf", "-X", "OPTIONS", f"http://127.0.0.1:{node_port}/uploads"],
                                          capture_output=True).returncode == 0, timeout=30)  # fmt: skip
        product, peer = [], []
        for token in tokens:
            product.append(
                tus_upload(big, "filename YmlnLm1wNA==", port=stack.uploads_port, token=token,
                           headers={"X-Forwarded-Proto": "https"})
            )  # fmt: skip
            peer.append(tus_upload(big, "filename YmlnLm1wNA==", port=node_port))
            for stored in (WORK / "tus-node").iterdir():
                stored.unlink()
    finally:
        stop(node)
    big.unlink()
    return min(product), min(peer), expected


def count_lost(witnesses, big_uploads):
    """Receipts without the account as sent, completed uploads without a stored file, stored files whose
    bytes have another SHA-256 than the client's."""
    lost = []
    given = [witness for witness in witnesses if witness.reference]
    accounts = dict(
        Submission.objects.filter(reference__in=[w.reference for w in given]).values_list("reference", "account")
    )
    for witness in given:
        if accounts.get(witness.reference) != witness.account:
            lost.append(f"receipt {witness.reference} (witness {witness.number}): no such account stored")
    sent = {s.upload_id: s.sha256 for witness in witnesses for s in witness.sent}
    for token, sha256 in big_uploads:
        submission = Submission.objects.for_footage_link(token)
        sent.update({str(pk): sha256 for pk in submission.uploads.values_list("pk", flat=True)})
    uploads = Upload.objects.filter(pk__in=sent).select_related("media_file")
    stored = {str(upload.pk): upload.media_file for upload in uploads if upload.completed_at}
    for upload_id, sha256 in sent.items():
        media_file = stored.get(upload_id)
        if media_file is None:
            lost.append(f"upload {upload_id}: completed, but no stored file")
        elif media_file.sha256 != sha256:
            lost.append(f"upload {upload_id}: recorded SHA-256 {media_file.sha256}, sent {sha256}")
        else:
            with media_file.original.open("rb") as original:
                if hashlib.file_digest(original, "sha256").hexdigest() != sha256:
                    lost.append(f"upload {upload_id}: the stored bytes have another SHA-256 than those sent")
    return lost


def percentile(values, fraction):
    """The nearest-rank percentile; None (never) counts as larger than everything."""
    ordered = sorted(values, key=lambda value: (value is None, value or 0))
    if not ordered:
        return float("nan")
    value = ordered[max(0, math.ceil(fraction * len(ordered)) - 1)]
    return float("inf") if value is None else value


def verdict(met):
    return "met" if met else "MISSED"


def main():
    for program in ("ffmpeg", "wrk", "node", "npm", "curl", "taskset"):
        if not shutil.which(program):
            raise SystemExit(f"{program} is not installed (scripts/system-packages.sh test installs what is packaged)")
    clips = make_media()
    fresh_database()
    (redis_port,) = free_ports(1)
    redis = start_redis(redis_port, WORK)
    clamd = subprocess.run(
        [ROOT / "scripts" / "local-clamd.sh", "start", WORK / "clamav", str(settings.CLAMD_MAX_BYTES)],
        capture_output=True,
        text=True,
        check=True,
    ).stdout.strip()
    (WORK / "stack").mkdir()
    stack = Stack(
        WORK / "stack",
        **SITE,
        CELERY_BROKER_URL=f"redis://127.0.0.1:{redis_port}/0",
        CACHE_URL=f"rediscache://127.0.0.1:{redis_port}/1",
        CLAMD_ADDRESS=clamd,
    )
    try:
        # As at each deploy.
        manage(stack, "collectstatic", "--noinput")
        # As at each deploy: migrated by the tables' owner.
        manage(stack, "migrate", "--noinput", "--database", "owner")
        manage(stack, "grant_app_role")
        manage(stack, "load_demo")
        clamd_pid = int((WORK / "clamav" / "clamd.pid").read_text())
        # As a clamd sharing a machine with the web should run (Nice= in its unit): a scan is media work, which
        # the Procfile runs at nice 10.
        for thread in Path(f"/proc/{clamd_pid}/task").iterdir():
            os.setpriority(os.PRIO_PROCESS, int(thread.name), 10)
        (static_port,) = free_ports(1)
        static_folder = WORK / "static-peer"
        static_folder.mkdir()
        stack.start("web", "uploads", "notify", "beat", more_servers=static_server(static_port, stack, static_folder))
        LOAD["with the stack started"] = os.getloadavg()

        print("Scale: 40 files by one media worker on core 0, then by two on cores 0 and 1, twice", flush=True)
        # The surge's witnesses are numbered from 1; the others after them.
        numbers = itertools.count(WITNESSES + 1)
        rates, checked = {1: [], 2: []}, []
        for _round in range(2):  # interleaved, the best of two each: the machine is shared
            for cpus in (["0"], ["0", "1"]):
                rate, senders = scale_run(stack, clips, cpus, numbers, clamd_pid)
                rates[len(cpus)].append(rate)
                checked += senders
        one_worker, two_workers = max(rates[1]), max(rates[2])
        LOAD["after the scale runs"] = os.getloadavg()

        print(f"Surge: {WITNESSES} witnesses, {CONCURRENCY} at a time, {FILES} files", flush=True)
        witnesses = plan_witnesses(WITNESSES, FILES, clips)
        timings, surge_seconds, drained, killed, cpu = surge(stack, witnesses)
        waits = posters(witnesses)

        print("Peers: the cached appeal page against a static file (wrk), 1 GiB to tus against Node's", flush=True)
        cached, static, page_bytes = cached_page_against_static(stack, static_port, static_folder)
        big_witnesses = [Witness(next(numbers), []), Witness(next(numbers), [])]
        asyncio.run(walk_all(stack.site_url, tls_for(stack), big_witnesses, Timings(), concurrency=1))
        product_seconds, node_seconds, big_sha256 = big_upload_against_node(stack, [w.token for w in big_witnesses])
        LOAD["at the end"] = os.getloadavg()

        lost = count_lost(checked + witnesses, [(w.token, big_sha256) for w in big_witnesses])
        states = dict(
            MediaFile.objects.filter(pk__in=media_file_ids(witnesses))
            .order_by()
            .values_list("state")
            .annotate(count=Count("pk"))
        )
    except BaseException:
        print(stack.log_tails(), file=sys.stderr)
        raise
    finally:
        stack.stop()
        stop(redis)
        subprocess.run([ROOT / "scripts" / "local-clamd.sh", "stop", WORK / "clamav"], check=False)
        drop_database()
        shutil.rmtree(WORK, ignore_errors=True)

    receipts = sum(1 for witness in witnesses if witness.reference)
    files = sum(len(witness.sent) for witness in witnesses)
    accepted_per_min = receipts / surge_seconds * 60
    page_p50 = statistics.median(timings.pages) * 1000
    page_p99 = percentile(timings.pages, 0.99) * 1000
    poster_p50, poster_p99 = percentile(waits, 0.5), percentile(waits, 0.99)
    scale = two_workers / one_worker
    cached_ratio = cached["rate"] / static["rate"]
    product_rate, node_rate = GiB / product_seconds / 1e6, GiB / node_seconds / 1e6

    print()
    print("Media mix (40 distinct files, made once with ffmpeg):")
    for kind in MIX:
        sizes = [len(clip.content) for clip in clips if clip.kind == kind]
        print(f"  {kind.share:2} x {kind.label}: {statistics.mean(sizes) / 1e6:.1f} MB on average")
    print(
        f"Scale, 40 files: one worker on core 0 {one_worker:.0f} files/min, two on cores 0 and 1 "
        f"{two_workers:.0f} files/min, best of 2 each: x{scale:.2f} (target >= 1.8: {verdict(scale >= 1.8)}); "
        f"{statistics.median(MEDIA_CPU_PER_FILE):.2f} CPU seconds per file"
    )
    print(
        f"Surge: {receipts} of {WITNESSES} witnesses given a receipt in {surge_seconds:.0f} s, {CONCURRENCY} at a "
        f"time: {accepted_per_min:.0f} accounts/min (target >= 600: {verdict(accepted_per_min >= 600)})"
    )
    print(
        f"  question pages, {len(timings.pages)} requests: p50 {page_p50:.0f} ms, p99 {page_p99:.0f} ms "
        f"(target < 500: {verdict(page_p99 < 500)}); appeal page from nginx's cache p99 "
        f"{percentile(timings.appeal, 0.99) * 1000:.0f} ms"
    )
    slowest = sorted(timings.steps.items(), key=lambda item: percentile(item[1], 0.99), reverse=True)[:4]
    print("  slowest requests at p99: " + ", ".join(f"{step} {percentile(times, 0.99) * 1000:.0f} ms"
                                                     for step, times in slowest))  # fmt: skip
    print(
        f"  {files} files sent with tus; waited for posters until {drained:.0f} s after the first witness "
        f"started; states then: {', '.join(f'{state} {count}' for state, count in sorted(states.items()))}"
    )
    print(
        f"  poster visible after the last byte: p50 {poster_p50:.1f} s, p99 {poster_p99:.1f} s, "
        f"{sum(wait is None for wait in waits)} never"
    )
    if killed:
        print(
            f"  a media worker was killed (SIGKILL) {killed['seconds']:.0f} s into the surge, after "
            f"{killed['receipts']} receipts, and started again 5 s later"
        )
    else:
        print("  NO media worker was killed: the witnesses were done first")
    if not_started := sum(1 for witness in witnesses if not witness.account):
        print(f"  {not_started} witnesses did not start: the run's 14 minutes for them were over")
    print(
        "  CPU while the witnesses walked, ms per account: "
        + ", ".join(
            f"{role} {seconds / max(1, receipts) * 1000:.0f}"
            for role, seconds in sorted(cpu.items(), key=lambda item: -item[1])
        )
        + f"; {sum(cpu.values()):.0f} CPU seconds in all"
    )
    for error in timings.errors[:10]:
        print(f"  error: {error}")
    if timings.errors:
        print(f"  {len(timings.errors)} witnesses did not finish")
    print(
        f"Cached appeal page ({page_bytes / 1000:.0f} KB) through nginx's cache: {cached['rate']:.0f} req/s, p99 "
        f"{cached['p99']:.1f} ms; the same bytes as a static file from the same nginx: {static['rate']:.0f} req/s, "
        f"p99 {static['p99']:.1f} ms; ratio {cached_ratio:.2f} (target >= 0.5: {verdict(cached_ratio >= 0.5)})"
    )
    print(
        f"1 GiB upload, 8 MiB PATCHes, best of 2: product's tus endpoint (gunicorn, hashing and fsync) "
        f"{product_rate:.0f} MB/s; Node tus server (@tus/server + file store) {node_rate:.0f} MB/s; ratio "
        f"{product_rate / node_rate:.2f} (target >= 1.0: {verdict(product_rate >= node_rate)})"
    )
    for item in lost[:10]:
        print(f"  lost: {item}")
    print("Load average (1, 5, 15 min), on a machine shared with others' work:")
    for moment, load in LOAD.items():
        print(f"  {moment}: {load[0]:.2f} {load[1]:.2f} {load[2]:.2f}")
    print(
        f"surge witnesses={receipts} files={files} accepted_per_min={accepted_per_min:.0f} "
        f"page_p99_ms={page_p99:.0f} poster_p50_s={poster_p50:.1f} poster_p99_s={poster_p99:.1f} "
        f"scale_2w={scale:.2f} lost={len(lost)}"
    )
    if lost or timings.errors:
        sys.exit(1)


if __name__ == "__main__":
    main()
