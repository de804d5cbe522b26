"""The officers' main pages in a real browser: a many-file submission fits on a screen, with one player."""

import pytest
from playwright.sync_api import expect

from submissions.models import Derivative, MediaFile
from tests.browser.conftest import assert_accessible, open_page
from tests.factories import make_submission
from tests.officers import add_derivative, authenticator, current_code, store_media_file, team_with_submission, tiny_mp4

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]
VIDEO = {"kind": "video", "duration": 4.0, "width": 160, "height": 120, "codec": "h264"}


@pytest.fixture
def eleven_files():
    """A submission with 11 files: 8 play, 3 could not be processed (as DVR exports once did)."""
    north = team_with_submission("North team", "101", account="I filmed them running past the flats.", proxy=tiny_mp4())
    MediaFile.objects.filter(pk=north.media_file.pk).update(
        state=MediaFile.State.READY, metadata={**VIDEO, "creation_time": "2021-03-18T19:09:30.000000Z"}
    )
    for number in range(10):
        ready = number < 7
        media_file = store_media_file(
            north.submission,
            content=f"clip {number}".encode(),
            original_filename=f"CAM{number:02d}.MP4" if ready else f"export{number}.ts",
            state=MediaFile.State.READY if ready else MediaFile.State.UNPROCESSABLE,
            state_reason="" if ready else "ffmpeg produced no picture from the file",
            metadata=VIDEO,
        )
        if ready:
            add_derivative(media_file, Derivative.Kind.PROXY, tiny_mp4())
    return north


def sign_in(page, officer):
    page.goto("/admin/")
    page.get_by_label("Username").fill(officer.username)
    page.get_by_label("Password").fill("officer-password")
    page.get_by_label("Authentication code").fill(current_code(authenticator(officer)))
    page.get_by_role("button", name="Sign in").click()
    expect(page.get_by_role("table", name="Open appeals: submissions to triage")).to_be_visible()


def check(page, assert_valid_html):
    assert_accessible(page)
    assert_valid_html(page)


@pytest.mark.parametrize("width", [320, 1280])
def test_an_officer_finds_the_many_file_submission_compact_with_one_player(
    browser, live_server, eleven_files, assert_valid_html, width
):
    north = eleven_files
    with open_page(browser, live_server, width, 900) as page:
        sign_in(page, north.officer)
        ready = page.get_by_role("link", name="8 files ready to watch in CAD101/01JAN")
        expect(ready).to_have_text("8")
        expect(page.get_by_role("link", name="0 files with a web copy being made in CAD101/01JAN")).to_have_text("0")
        expect(page.get_by_role("link", name="3 files quarantined or failed in CAD101/01JAN")).to_have_text("3")
        check(page, assert_valid_html)

        ready.click()
        expect(page.get_by_role("heading", name="Submissions", exact=True)).to_be_visible()
        expect(page.locator("#result_list tbody tr")).to_have_count(1)
        check(page, assert_valid_html)

        page.get_by_role("link", name=north.submission.reference).click()
        expect(page.get_by_role("heading", name=f"Submission {north.submission.reference}")).to_be_visible()
        files = page.get_by_role("table", name="Files the witness sent")
        expect(files.locator("tbody tr")).to_have_count(11)
        expect(files.get_by_role("row", name="export9.ts")).to_contain_text("Unprocessable")
        players = page.locator("video")
        expect(players).to_have_count(1)
        expect(players).to_be_visible()
        expect(page.get_by_text("18 March 2021 at 7:09pm")).to_be_visible()
        page.wait_for_load_state("load")  # the autocomplete's labels are fixed up on load
        check(page, assert_valid_html)
        if width == 1280:
            # Eleven files once made an 11,000-pixel page; the list and one player fit in a few screens.
            assert page.evaluate("document.documentElement.scrollHeight") < 4000

        files.get_by_role("link", name="CAM05.MP4").click()
        chosen = MediaFile.objects.get(original_filename="CAM05.MP4")
        url = f"{live_server.url}{north.submission.get_admin_url()}?file={chosen.pk}#selected-file"
        expect(page).to_have_url(url)
        expect(page.get_by_role("heading", name="CAM05.MP4", level=3)).to_be_visible()
        expect(files.get_by_role("link", name="CAM05.MP4")).to_have_attribute("aria-current", "true")
        expect(players).to_have_count(1)
        expect(players).to_be_visible()
        expect(players).to_have_attribute("aria-label", "Web copy of CAM05.MP4")

        files.get_by_role("link", name="export9.ts").click()
        expect(page.locator("video")).to_have_count(0)
        expect(page.get_by_text("Nothing to play or show for this file")).to_be_visible()


def test_the_appeal_edit_page_is_accessible_and_valid(browser, live_server, assert_valid_html):
    north = team_with_submission("North team", "101")
    with open_page(browser, live_server, 1280, 900) as page:
        sign_in(page, north.officer)
        page.goto(f"/admin/appeals/appeal/{north.appeal.pk}/change/")
        expect(page.get_by_role("heading", name=f"Appeal {north.appeal.headline}")).to_be_visible()
        page.wait_for_load_state("load")
        # The window's start and end, each a date and a time with its own label.
        for field in ["window_starts_at", "window_ends_at"]:
            row = page.locator(f".field-{field}")
            expect(row.get_by_label("Date:", exact=True)).to_have_id(f"id_{field}_0")
            expect(row.get_by_label("Time:", exact=True)).to_have_id(f"id_{field}_1")
        check(page, assert_valid_html)


@pytest.mark.parametrize("width", [320, 1280])
def test_an_officer_goes_from_a_shared_clip_to_the_other_witness_who_sent_it(
    browser, live_server, assert_valid_html, width
):
    north = team_with_submission("North team", "101", proxy=tiny_mp4())
    MediaFile.objects.filter(pk=north.media_file.pk).update(state=MediaFile.State.READY, metadata=VIDEO)
    other = make_submission(north.appeal)
    with north.media_file.original.open("rb") as original:
        the_same_bytes = original.read()
    store_media_file(
        other, content=the_same_bytes, original_filename="VID_0001.mp4", state=MediaFile.State.READY, metadata=VIDEO
    )
    with open_page(browser, live_server, width, 900) as page:
        sign_in(page, north.officer)
        page.goto(north.submission.get_admin_url())
        files = page.get_by_role("table", name="Files the witness sent")
        expect(files.locator("tbody tr")).to_contain_text("also in 1 other submission")
        expect(page.get_by_text("1 other submission, the same bytes:")).to_be_visible()
        page.wait_for_load_state("load")
        check(page, assert_valid_html)

        page.get_by_role("link", name=other.reference).click()
        expect(page.get_by_role("heading", name=f"Submission {other.reference}")).to_be_visible()
        expect(page.get_by_role("heading", name="VID_0001.mp4", level=3)).to_be_visible()
        expect(page.get_by_role("link", name=north.submission.reference)).to_be_visible()
