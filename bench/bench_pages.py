"""Public pages under load: the cached appeal page, the uncached appeal page and a static file, in one run.

Serves the site with gunicorn (2 sync workers, about one per core) on 127.0.0.1, with the demo appeal on
a fresh SQLite database and the local-memory cache (or BENCH_CACHE_URL), and drives it with wrk (64
connections). The static file is served by the same gunicorn through WhiteNoise: the ceiling for this
process model. The uncached figures come from a second gunicorn started with PUBLIC_PAGE_CACHE_SECONDS=0,
so every request renders.

Target: the cached appeal page at 50% or more of the static file's rate.
"""

import json
import os
import re
import shutil
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
PYTHON = sys.executable
GUNICORN = str(Path(PYTHON).with_name("gunicorn"))
APPEAL = "/appeals/shots-fired-at-officers-grahame-park-colindale/"
DURATION = os.environ.get("BENCH_DURATION", "10s")
CONNECTIONS = os.environ.get("BENCH_CONNECTIONS", "64")
TARGET = 0.5


def free_port():
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def site_environment(var_dir, port):
    env = {key: value for key, value in os.environ.items() if key not in {"DATABASE_URL", "CACHE_URL", "REDIS_URL"}}
    # BENCH_CACHE_URL measures a shared cache instead, for example rediscache://127.0.0.1:6379/9.
    if os.environ.get("BENCH_CACHE_URL"):
        env["CACHE_URL"] = os.environ["BENCH_CACHE_URL"]
    env.update(
        DJANGO_SETTINGS_MODULE="config.settings",
        DEBUG="false",
        SECRET_KEY="benchmark-only-secret-key",
        VAR_DIR=str(var_dir),
        ALLOWED_HOSTS="127.0.0.1",
        SITE_URL=f"http://127.0.0.1:{port}",
        CELERY_BROKER_URL="",
        LOG_LEVEL="WARNING",
    )
    return env


def manage(env, *args):
    subprocess.run([PYTHON, "manage.py", *args], cwd=ROOT, env=env, check=True, stdout=subprocess.DEVNULL)


def start_gunicorn(env, port):
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
            with urllib.request.urlopen(f"http://127.0.0.1:{port}{APPEAL}", timeout=2) as response:
                if response.status == 200:
                    return server
        except OSError:
            time.sleep(0.2)
    server.kill()
    raise SystemExit("gunicorn did not start")


def stop(server):
    server.terminate()
    server.wait(timeout=30)


def wrk(url):
    output = subprocess.run(
        ["wrk", "--threads", "2", "--connections", CONNECTIONS, "--duration", DURATION, "--latency", url],
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    if "Non-2xx or 3xx responses" in output or "Socket errors" in output:
        raise SystemExit(f"Errors while loading {url}:\n{output}")
    rate = float(re.search(r"Requests/sec:\s+([\d.]+)", output).group(1))
    return {"rate": rate, "p50": latency(output, "50%"), "p99": latency(output, "99%")}


def latency(output, percentile):
    value, unit = re.search(rf"^\s+{percentile}\s+([\d.]+)(us|ms|s)\s*$", output, re.M).groups()
    return float(value) * {"us": 0.001, "ms": 1, "s": 1000}[unit]


def static_url(port):
    manifest = json.loads((ROOT / "staticfiles" / "staticfiles.json").read_text())
    return f"http://127.0.0.1:{port}/static/{manifest['paths']['css/site.css']}"


def measure(env, port, label, page_url, results):
    server = start_gunicorn(env, port)
    try:
        subprocess.run(["wrk", "-t1", "-c4", "-d1s", page_url], capture_output=True, check=True)  # warm up
        results[f"static file (beside {label})"] = wrk(static_url(port))
        results[label] = wrk(page_url)
    finally:
        stop(server)


def main():
    if not shutil.which("wrk"):
        raise SystemExit("wrk is not installed (Debian package wrk; scripts/system-packages.sh test installs it)")
    var_dir = Path(tempfile.mkdtemp(prefix="bench-pages-"))
    try:
        port = free_port()
        env = site_environment(var_dir, port)
        manage(env, "migrate", "--noinput")
        manage(env, "load_demo")
        manage(env, "collectstatic", "--noinput")

        results = {}
        page_url = f"http://127.0.0.1:{port}{APPEAL}"
        measure(env, port, "appeal page, cached", page_url, results)
        measure({**env, "PUBLIC_PAGE_CACHE_SECONDS": "0"}, port, "appeal page, uncached", page_url, results)
    finally:
        shutil.rmtree(var_dir, ignore_errors=True)

    cache = os.environ.get("BENCH_CACHE_URL", "local memory").split("://")[0]
    print(f"gunicorn 2 sync workers, wrk {CONNECTIONS} connections for {DURATION} each, SQLite, cache: {cache}")
    print(f"{'':42} {'req/s':>9} {'p50 ms':>8} {'p99 ms':>8}")
    for name, figures in results.items():
        print(f"{name:42} {figures['rate']:9.0f} {figures['p50']:8.1f} {figures['p99']:8.1f}")
    static = results["static file (beside appeal page, cached)"]["rate"]
    cached = results["appeal page, cached"]["rate"]
    uncached = results["appeal page, uncached"]["rate"]
    ratio = cached / static
    print(f"cached / static:   {ratio:.2f} (target >= {TARGET:.2f}: {'met' if ratio >= TARGET else 'MISSED'})")
    print(f"uncached / static: {uncached / static:.2f}")
    print(f"cached / uncached: {cached / uncached:.1f}x")


if __name__ == "__main__":
    main()
