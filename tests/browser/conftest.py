"""Browser tests: Playwright for Python driving Debian's chromium, headless."""

import os
import re
import shutil
import subprocess
from contextlib import contextmanager

import pytest
from PIL import Image

from tests.conftest import require

# Playwright's sync API runs an event loop in the test thread; the ORM calls around it are safe here.
os.environ.setdefault("DJANGO_ALLOW_ASYNC_UNSAFE", "true")

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
