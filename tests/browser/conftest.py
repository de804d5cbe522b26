"""Browser tests: Playwright for Python driving Debian's chromium, headless."""

import json
import os
import re
import shutil
import socket
import subprocess
import time
import urllib.request
from contextlib import contextmanager
from pathlib import Path

import pytest
from PIL import Image
from playwright.sync_api import expect

from tests.conftest import require

# Playwright's sync API runs an event loop in the test thread; the ORM calls around it are safe here.
os.environ.setdefault("DJANGO_ALLOW_ASYNC_UNSAFE", "true")
# Assertions wait on the page as long as its actions do (open_page), not Playwright's 5 s: in a parallel run the
# machine is busy, and the wait ends as soon as the condition holds.
expect.set_options(timeout=10_000)

CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-dev-shm-usage",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--disable-quic",
    "--no-first-run",
]
WCAG_TAGS = ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa", "wcag22aa"]
# Put here by `make test` (scripts/html-checker.sh).
VNU_JAR = Path(__file__).resolve().parents[2] / ".venv" / "share" / "vnu.jar"


@pytest.fixture(scope="session")
def browser(chromium_path):
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=chromium_path, headless=True, args=CHROMIUM_ARGS)
        yield browser
        browser.close()


@contextmanager
def open_page(browser, live_server, width, height, timeout=10_000, **options):
    """A fresh page of the given size; `page.goto("/")` is relative to the live server."""
    context = browser.new_context(
        base_url=live_server.url, viewport={"width": width, "height": height}, locale="en-GB", **options
    )
    page = context.new_page()
    page.set_default_timeout(timeout)
    yield page
    context.close()


@pytest.fixture
def page(browser, live_server):
    """A phone-sized page."""
    with open_page(browser, live_server, 375, 812) as page:
        yield page


def assert_accessible(page):
    """Run axe-core with the WCAG 2.2 AA rules and fail on any violation."""
    from axe_playwright_python.sync_playwright import Axe

    results = Axe().run(page, options={"runOnly": {"type": "tag", "values": WCAG_TAGS}})
    assert results.violations_count == 0, results.generate_report()


def free_port():
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


@pytest.fixture(scope="session")
def html_checker():
    """The Nu HTML checker as a local web service for the session: starting Java once per page is slow."""
    java = shutil.which("java")
    require(java is not None and VNU_JAR.exists(), f"the Nu HTML checker (Java and {VNU_JAR})")
    port = free_port()
    bind = "-Dnu.validator.servlet.bind-address=127.0.0.1"
    checker = subprocess.Popen(
        [java, bind, "-cp", VNU_JAR, "nu.validator.servlet.Main", str(port)],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    url = f"http://127.0.0.1:{port}/?out=json"
    deadline = time.monotonic() + 60
    while True:
        try:
            urllib.request.urlopen(f"http://127.0.0.1:{port}/", timeout=1).close()
            break
        except OSError:
            if checker.poll() is not None or time.monotonic() > deadline:
                checker.kill()
                pytest.fail("The Nu HTML checker did not start")
            time.sleep(0.2)
    yield url
    checker.terminate()
    checker.wait(timeout=10)


@pytest.fixture
def assert_valid_html(html_checker):
    """Check the page as it stands, scripts' changes included, with the Nu checker; fail on any error."""

    def check(page):
        html = page.content().encode()
        request = urllib.request.Request(
            html_checker, data=html, headers={"Content-Type": "text/html; charset=utf-8"}, method="POST"
        )
        with urllib.request.urlopen(request, timeout=30) as response:
            messages = json.load(response)["messages"]
        errors = [message for message in messages if message["type"] in ("error", "non-document-error")]
        report = "\n".join(f"line {error.get('lastLine')}: {error['message']}" for error in errors)
        assert not errors, f"{page.url} is not valid HTML:\n{report}"

    return check


@pytest.fixture
def footage(tmp_path):
    """A two-second noisy dashcam-like clip (about 2 MB) and a phone photo, made for this test."""
    require(shutil.which("ffmpeg") is not None, "ffmpeg")
    clip = tmp_path / "dashcam 18-03.mp4"
    subprocess.run(
        ["ffmpeg", "-v", "error", "-f", "lavfi", "-i", "testsrc2=size=320x240:rate=25", "-t", "2",
         "-vf", "noise=alls=30:allf=t", "-c:v", "libx264", "-preset", "ultrafast", "-crf", "20", str(clip)],
        check=True,
    )  # fmt: skip
    photo = tmp_path / "IMG_0042.jpg"
    Image.frombytes("RGB", (400, 300), os.urandom(400 * 300 * 3)).save(photo, "JPEG", quality=90)
    return clip, photo


def assert_accessible_as_shown(browser, live_server, page):
    """axe needs JavaScript: check a page from a context without it in one with scripts blocked instead."""
    with open_page(browser, live_server, *page.viewport_size.values()) as checker:
        checker.route(re.compile(r"\.m?js(\?|$)"), lambda route: route.abort())
        checker.goto(page.url)
        checker.set_content(page.content())
        assert_accessible(checker)
