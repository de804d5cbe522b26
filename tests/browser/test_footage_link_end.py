"""The private footage link once it has ended or been turned off, in a real browser."""

import re
from datetime import timedelta

import pytest
from django.utils import timezone
from playwright.sync_api import expect

from appeals.models import Appeal
from submissions.models import MediaFile, Submission
from tests.browser.conftest import assert_accessible, open_page
from tests.factories import make_submission

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]
TOKEN = "a-private-token-that-has-ended"


@pytest.fixture
def submission(demo):
    submission = make_submission(demo, upload_token=TOKEN)
    return submission


def end_link(submission):
    closed_at = timezone.now() - timedelta(days=31)
    Appeal.objects.filter(pk=submission.appeal_id).update(status=Appeal.Status.CLOSED, closed_at=closed_at)


def expect_other_ways_to_tell_us(page, submission):
    expect(page.get_by_text(submission.reference, exact=True)).to_be_visible()
    expect(page.get_by_role("link", name="101", exact=True)).to_be_visible()
    expect(page.get_by_text("through the independent charity Crimestoppers")).to_be_visible()
    expect(page.get_by_label("Choose files", exact=False)).to_have_count(0)


@pytest.mark.parametrize("width", [320, 1280])
def test_an_ended_link_says_so_and_how_else_to_tell_us(browser, live_server, submission, width, assert_valid_html):
    end_link(submission)
    with open_page(browser, live_server, width, 800) as page:
        response = page.goto(f"/footage/{TOKEN}/")
        assert response.status == 410
        expect(page.get_by_role("heading", name="This link has ended")).to_be_visible()
        expect(page.get_by_text("stopped taking footage or photos on")).to_be_visible()
        expect_other_ways_to_tell_us(page, submission)
        assert_accessible(page)
        assert_valid_html(page)


def test_a_link_turned_off_says_so(page, submission, assert_valid_html):
    Submission.objects.filter(pk=submission.pk).update(footage_link_revoked_at=timezone.now())
    page.goto(f"/footage/{TOKEN}/")
    expect(page.get_by_role("heading", name="This link has been turned off")).to_be_visible()
    expect_other_ways_to_tell_us(page, submission)
    assert_accessible(page)
    assert_valid_html(page)


def test_a_file_chosen_after_the_link_ended_says_why_it_was_not_kept(page, submission, footage):
    _clip, photo = footage
    page.goto(f"/footage/{TOKEN}/")
    expect(page.get_by_role("heading", name="Add footage or photos")).to_be_visible()
    end_link(submission)
    page.get_by_label("Choose files").set_input_files([str(photo)])
    expect(page.get_by_text("Not accepted", exact=True)).to_be_visible(timeout=30_000)
    message = page.locator(".app-uploader__message")
    expect(message).to_have_text(re.compile(r"^This link no longer takes files: .* Call 101 .* We have not kept it\.$"))
    expect(message).to_be_visible()
    assert not MediaFile.objects.exists()
