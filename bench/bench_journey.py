"""The witness journey's cost: queries per page, and CPU per journey in the web workers and the database.

A journey is what a contactable witness does: the appeal page, every question page (GET, then POST and its
redirect), check your answers, send, and the receipt (the private footage page): 16 requests.

1. Queries per step, counted in a process of its own with Django's test client (CaptureQueriesContext).
2. The same journey over HTTP against gunicorn (2 sync workers, DEBUG off), driven by BENCH_CLIENTS witnesses
   at once for BENCH_JOURNEYS journeys after a warm-up. CPU per journey is read from the workers' own
   counters (/proc/<pid>/stat) and from the PostgreSQL backends serving them, so it does not depend on how
   busy the machine is; journeys a minute and page p99 do, and are printed for reference only.
   Static files served by the same workers give the floor: 16 of them cost what 16 requests cost anyway.

With no configuration the site runs on a fresh SQLite database with the local-memory cache. For the
production set-up give BENCH_DATABASE_URL (a PostgreSQL database the benchmark may empty), BENCH_CACHE_URL
(rediscache://...) and BENCH_BROKER_URL (redis://..., whose queues are purged afterwards).

Baseline: before the journey was made cheaper (sessions read from PostgreSQL on every page, the appeal queried
on every page, a query per model constraint on every answer and on send) a journey's 16 requests cost the
workers 8 to 10 times the CPU of 16 static-file requests: about 100 ms on a quiet machine, 175-285 ms on a busy
one. Target: at most half of that, 5 times.
"""

import os
import re
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
PYTHON = sys.executable
GUNICORN = str(Path(PYTHON).with_name("gunicorn"))
SLUG = "shots-fired-at-officers-grahame-park-colindale"
APPEAL = f"/appeals/{SLUG}/"
JOURNEY = f"/appeals/{SLUG}/give-information/"
CLIENTS = int(os.environ.get("BENCH_CLIENTS", "50"))
JOURNEYS = int(os.environ.get("BENCH_JOURNEYS", "600"))
# The journey's worker CPU over that of as many static-file requests (see above).
BASELINE_RATIO = 9.0
TARGET_RATIO = 5.0
CLOCK_TICKS = os.sysconf("SC_CLK_TCK")

ANSWERS = [
    ("", {"account": "I saw six people running past the shops, then heard three bangs."}),
    ("when", {"seen_on_0": "18", "seen_on_1": "3", "seen_on_2": "2021", "seen_at_time": "7:10pm"}),
    ("where", {"seen_where": "Lanacre Avenue"}),
    ("connection", {"relationship": "saw_or_heard"}),
    ("contact", {"contact_choice": "contact"}),
    ("contact-details", {"contact_name": "Sam", "contact_email": "sam@example.org"}),
]
CSRF_INPUT = re.compile(r'name="csrfmiddlewaretoken" value="([^"]+)"')


def free_port():
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def site_environment(var_dir, port):
    env = {key: value for key, value in os.environ.items() if key not in {"DATABASE_URL", "CACHE_URL", "REDIS_URL"}}
    env.update(
        DJANGO_SETTINGS_MODULE="config.settings",
        DEBUG="false",
        SECRET_KEY="benchmark-only-secret-key",
        VAR_DIR=str(var_dir),
        ALLOWED_HOSTS="127.0.0.1,testserver",
        SITE_URL=f"http://127.0.0.1:{port}",
        CELERY_BROKER_URL=os.environ.get("BENCH_BROKER_URL", ""),
        EMAIL_URL="dummymail://",
        LOG_LEVEL="WARNING",
        # Every witness comes from 127.0.0.1: keep the limit's cost without ever reaching it.
        SUBMISSIONS_RATE_LIMIT="1000000/10m",
        # Database connections outlive the run, so that the backends' CPU counters cover all of it.
        CONN_MAX_AGE="3600",
    )
    for name, bench_name in [("DATABASE_URL", "BENCH_DATABASE_URL"), ("CACHE_URL", "BENCH_CACHE_URL")]:
        if os.environ.get(bench_name):
            env[name] = os.environ[bench_name]
    return env


def manage(env, *args):
    subprocess.run([PYTHON, "manage.py", *args], cwd=ROOT, env=env, check=True, stdout=subprocess.DEVNULL)


def journey_requests(client, get_token):
    """Walk one journey with a test client or a requests session; yields (step name, response) for each request."""
    yield "appeal page", client.get(APPEAL)
    for step, data in ANSWERS:
        address = f"{JOURNEY}{step}/" if step else JOURNEY
        page = client.get(address)
        yield f"{step or 'account'} GET", page
        yield f"{step or 'account'} POST", client.post(address, {**data, **get_token(page)})
    check = client.get(f"{JOURNEY}check/")
    yield "check GET", check
    sent = client.post(f"{JOURNEY}check/", get_token(check))
    yield "send POST", sent
    yield "receipt GET", client.get(sent.headers["Location"])


def count_queries():
    """In the site's own environment: the queries each request of a journey makes, the second time round."""
    sys.path.insert(0, str(ROOT))
    import django

    django.setup()
    from django.db import connection
    from django.test import Client
    from django.test.utils import CaptureQueriesContext

    # One client, as one gunicorn worker keeps its middleware (and the public pages it has learned) between requests.
    client = Client()
    for _round in ("warm-up", "counted"):
        client.cookies.clear()
        counts = list(counted_requests(client, connection, CaptureQueriesContext))
    for name, queries in counts:
        print(f"{name}\t{len(queries)}\t" + " | ".join(query["sql"][:90] for query in queries))


def counted_requests(client, connection, capture):
    steps = journey_requests(client, lambda page: {})
    while True:
        with capture(connection) as queries:
            try:
                name, response = next(steps)
            except StopIteration:
                return
        assert response.status_code in (200, 302), (name, response.status_code)
        yield name, queries


def worker_pids(master_pid):
    return [int(pid) for pid in Path(f"/proc/{master_pid}/task/{master_pid}/children").read_text().split()]


def cpu_seconds(pids):
    total = 0
    for pid in pids:
        try:
            fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        except FileNotFoundError:
            continue
        total += int(fields[11]) + int(fields[12])  # utime, stime
    return total / CLOCK_TICKS


def database_cpu(env):
    """CPU seconds so far of each PostgreSQL backend connected to the benchmark's database, by pid."""
    if not env.get("DATABASE_URL", "").startswith("postgres"):
        return {}
    name = env["DATABASE_URL"].rsplit("/", 1)[1].split("?")[0]
    backends = {}
    for cmdline in Path("/proc").glob("[0-9]*/cmdline"):
        try:
            words = cmdline.read_bytes().decode(errors="replace").split()
        except OSError:
            continue
        # A backend names itself "postgres: [<cluster>:] <user> <database> <client> <state>".
        if words[:1] == ["postgres:"] and name in words[2:4]:
            backends[int(cmdline.parent.name)] = cpu_seconds([int(cmdline.parent.name)])
    return backends


def start_gunicorn(env, port):
    import requests

    server = subprocess.Popen(
        [GUNICORN, "config.wsgi:application", "--bind", f"127.0.0.1:{port}", "--workers", "2"],
        cwd=ROOT,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        try:
            if requests.get(f"http://127.0.0.1:{port}{APPEAL}", timeout=10).status_code == 200:
                return server
        except (requests.ConnectionError, requests.Timeout):
            time.sleep(0.2)
    server.kill()
    raise SystemExit("gunicorn did not start")


def http_journey(base, latencies):
    import requests

    session = requests.Session()

    def token(page):
        return {"csrfmiddlewaretoken": CSRF_INPUT.search(page.text).group(1)}

    class Timed:
        def get(self, path):
            return self.timed("GET", path)

        def post(self, path, data):
            return self.timed("POST", path, data=data, headers={"Referer": base + path})

        def timed(self, method, path, **kwargs):
            started = time.perf_counter()
            response = session.request(method, base + path, allow_redirects=False, timeout=30, **kwargs)
            latencies.append(time.perf_counter() - started)
            if response.status_code not in (200, 302):
                raise RuntimeError(f"{method} {path}: {response.status_code}")
            return response

    for _name, _response in journey_requests(Timed(), token):
        pass


def run_journeys(base, count):
    latencies = []
    started = time.perf_counter()
    with ThreadPoolExecutor(CLIENTS) as pool:
        for done in pool.map(lambda _n: http_journey(base, latencies), range(count)):
            assert done is None
    return time.perf_counter() - started, latencies


def static_floor(base, pids, count):
    """Worker CPU for `count` requests of a static file: what any request costs this process model."""
    import requests

    address = base + "/static/" + static_name()
    sessions = threading.local()

    def fetch(_n):
        if not hasattr(sessions, "session"):
            sessions.session = requests.Session()
        assert sessions.session.get(address, timeout=30).status_code == 200

    before = cpu_seconds(pids)
    with ThreadPoolExecutor(4) as pool:
        list(pool.map(fetch, range(count)))
    return (cpu_seconds(pids) - before) / count


def static_name():
    import json

    manifest = json.loads((ROOT / "staticfiles" / "staticfiles.json").read_text())
    return manifest["paths"]["css/site.css"]


def purge_queues(env):
    if env["CELERY_BROKER_URL"]:
        subprocess.run(
            [PYTHON, "-m", "celery", "-A", "config", "purge", "-f", "-Q", "media,notify"],
            cwd=ROOT,
            env=env,
            stdout=subprocess.DEVNULL,
            check=True,
        )


def main():
    var_dir = Path(tempfile.mkdtemp(prefix="bench-journey-"))
    try:
        port = free_port()
        env = site_environment(var_dir, port)
        manage(env, "collectstatic", "--noinput")
        manage(env, "migrate", "--noinput")
        if env.get("DATABASE_URL", "").startswith("postgres"):
            manage(env, "flush", "--noinput")
        manage(env, "load_demo")
        purge_queues(env)

        counted = subprocess.run(
            [PYTHON, __file__, "--count-queries"], cwd=ROOT, env=env, capture_output=True, text=True, check=True
        ).stdout
        steps = [line.split("\t") for line in counted.splitlines()]

        server = start_gunicorn(env, port)
        base = f"http://127.0.0.1:{port}"
        try:
            pids = worker_pids(server.pid)
            run_journeys(base, CLIENTS)  # warm-up: every worker and database connection is open
            workers_before, db_before = cpu_seconds(pids), database_cpu(env)
            elapsed, latencies = run_journeys(base, JOURNEYS)
            worker_cpu = (cpu_seconds(pids) - workers_before) / JOURNEYS
            db_after = database_cpu(env)
            # A backend that ended during the run takes its CPU with it: say so rather than undercount silently.
            db_ended = set(db_before) - set(db_after)
            db_cpu = sum(cpu - db_before.get(pid, 0) for pid, cpu in db_after.items()) / JOURNEYS
            per_journey = len(latencies) // JOURNEYS
            floor = static_floor(base, pids, 2000) * per_journey
        finally:
            server.terminate()
            server.wait(timeout=30)
            purge_queues(env)
    finally:
        shutil.rmtree(var_dir, ignore_errors=True)

    database = env.get("DATABASE_URL", "sqlite").split("://")[0]
    cache = env.get("CACHE_URL", "local memory").split("://")[0]
    print(f"database: {database}, cache: {cache}, broker: {env['CELERY_BROKER_URL'] or 'none (tasks in-process)'}")
    print(f"{'request':24} {'queries':>7}")
    for name, queries, _sql in steps:
        print(f"{name:24} {queries:>7}")
    print(f"{'whole journey':24} {sum(int(queries) for _name, queries, _sql in steps):>7}")
    print()
    print(f"gunicorn 2 sync workers, {CLIENTS} witnesses at once, {JOURNEYS} journeys of {per_journey} requests")
    print(f"worker CPU per journey:      {worker_cpu * 1000:6.1f} ms")
    if db_after:
        ended = f" ({len(db_ended)} backends ended during the run: an undercount)" if db_ended else ""
        print(f"PostgreSQL CPU per journey:  {db_cpu * 1000:6.1f} ms{ended}")
    print(f"static files, {per_journey} requests:   {floor * 1000:6.1f} ms")
    # On a busy machine every CPU figure grows; the journey's cost in static-file requests much less so.
    ratio = worker_cpu / floor
    print(f"journey / static files:      {ratio:6.1f}x (baseline {BASELINE_RATIO}x, target <= {TARGET_RATIO}x: "
          f"{'met' if ratio <= TARGET_RATIO else 'MISSED'})")  # fmt: skip
    print(f"journeys a minute: {JOURNEYS / elapsed * 60:.0f}, page p50 {percentile(latencies, 50):.0f} ms, "
          f"p99 {percentile(latencies, 99):.0f} ms (depend on the machine's load)")  # fmt: skip


def percentile(values, percent):
    return statistics.quantiles(values, n=100)[percent - 1] * 1000


if __name__ == "__main__":
    if sys.argv[1:] == ["--count-queries"]:
        count_queries()
    else:
        main()
