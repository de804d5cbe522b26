"""Flooding in a real browser at 320 px: over a limit the witness is told to wait and loses nothing."""

import pytest
from playwright.sync_api import expect

from submissions.models import MediaFile, Submission
from tests.browser.conftest import assert_accessible, open_page
from tests.factories import make_submission

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]
TOKEN = "a-private-token-for-this-witness"
BACKLOG = "We have your account. Your files are safe with us and will be looked at, but it may take longer than usual."


@pytest.fixture
def narrow_page(browser, live_server):
    with open_page(browser, live_server, 320, 640) as page:
        yield page


@pytest.fixture
def check(assert_valid_html):
    def check(page):
        assert_accessible(page)
        assert_valid_html(page)
        assert page.evaluate("document.documentElement.scrollWidth <= window.innerWidth"), "nothing scrolls sideways"

    return check


@pytest.fixture
def submission(demo):
    submission = make_submission(demo, upload_token=TOKEN)
    return submission


def answer_and_check(page, appeal):
    page.goto(f"/appeals/{appeal.slug}/give-information/")
    page.get_by_label("What did you see or hear?").fill("I heard bangs near the shops.")
    for _ in range(3):
        page.get_by_role("button", name="Continue").click()
    page.get_by_label("I saw or heard what").check()
    page.get_by_role("button", name="Continue").click()
    page.get_by_label("No, I want to stay anonymous").check()
    page.get_by_role("button", name="Continue").click()
    expect(page.get_by_role("heading", name="Check your answers before sending them")).to_be_visible()


def test_over_the_limit_the_witness_is_told_to_wait_then_sends_the_same_answers(narrow_page, demo, settings, check):
    settings.SUBMISSIONS_RATE_LIMIT = "0/10m"
    page = narrow_page
    answer_and_check(page, demo)
    with page.expect_response(lambda response: response.request.method == "POST") as sent:
        page.get_by_role("button", name="Send information").click()
    assert sent.value.status == 429
    assert 1 <= int(sent.value.headers["retry-after"]) <= 600
    expect(page.get_by_role("heading", name="Too many attempts")).to_be_visible()
    expect(page.get_by_text("Your information has not been sent yet. We have kept your answers.")).to_be_visible()
    expect(page.get_by_role("link", name="101", exact=True)).to_be_visible()
    expect(page.get_by_text("through the independent charity Crimestoppers")).to_be_visible()
    check(page)
    assert not Submission.objects.exists()

    settings.SUBMISSIONS_RATE_LIMIT = "30/10m"
    page.get_by_role("button", name="Go back to your answers").click()
    expect(page.get_by_text("I heard bangs near the shops.")).to_be_visible()
    page.get_by_role("button", name="Send information").click()
    expect(page.locator(".govuk-panel__title")).to_have_text("Information sent")
    assert Submission.objects.get().account == "I heard bangs near the shops."


def test_the_uploader_says_to_wait_when_too_many_uploads_started(narrow_page, submission, footage, settings):
    settings.UPLOADS_RATE_LIMIT = "0/10m"
    _, photo = footage
    page = narrow_page
    page.goto(f"/footage/{TOKEN}/")
    page.get_by_label("Choose files").set_input_files(str(photo))
    row = page.locator(".app-uploader__file")
    expect(row.get_by_text("Stopped", exact=True)).to_be_visible()
    expect(row.get_by_text("Too many uploads have been started from your internet connection. Wait ")).to_be_visible()
    expect(row.get_by_text("The files you have already sent are safe with us.")).to_be_visible()
    assert_accessible(page)

    settings.UPLOADS_RATE_LIMIT = "300/10m"
    row.get_by_role("button", name=f"Try again uploading {photo.name}").click()
    expect(row.get_by_text("Uploaded", exact=True)).to_be_visible(timeout=15_000)
    assert MediaFile.objects.get().original_filename == photo.name


def test_a_deep_queue_is_told_on_the_footage_page(narrow_page, submission, settings, check):
    settings.MEDIA_BACKLOG_WARN_FILES = 0
    page = narrow_page
    page.goto(f"/footage/{TOKEN}/")
    expect(page.locator(".govuk-inset-text", has_text=BACKLOG)).to_be_visible()
    check(page)
    settings.MEDIA_BACKLOG_WARN_FILES = 200
    page.reload()
    expect(page.get_by_text(BACKLOG)).to_be_hidden()
