"""The witness's private footage page in a real browser: what each file's row shows, with and without JavaScript."""

import itertools
import re
import threading
import zipfile

import pytest
from playwright.sync_api import expect

from submissions import tus
from submissions.models import MediaFile, Submission, Upload
from tests.browser.conftest import assert_accessible, assert_accessible_as_shown, open_page
from tests.factories import make_submission

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]
TOKEN = "a-private-token-with-plenty-of-randomness"


@pytest.fixture
def submission(demo):
    submission = make_submission(demo, upload_token=TOKEN)
    return submission


@pytest.fixture
def small_chunks(settings):
    # Many PATCHes per clip, so that a test can act while one is still going.
    settings.UPLOAD_CHUNK_SIZE = 128 * 1024


@pytest.fixture
def held_upload(monkeypatch, small_chunks):
    """Lets the first two chunks in, then holds every later one until the test sets the event."""
    release = threading.Event()
    receive, calls = tus.receive, itertools.count()

    def held(*args, **kwargs):
        if next(calls) >= 2:
            release.wait(timeout=30)
        return receive(*args, **kwargs)

    monkeypatch.setattr(tus, "receive", held)
    yield release
    release.set()


@pytest.fixture
def refused_files(tmp_path):
    """A zip file and a Windows program, both named as if they were videos."""
    archive = tmp_path / "clip from the DVR.mp4"
    with zipfile.ZipFile(archive, "w") as zipped:
        zipped.writestr("player.txt", "Open the footage with the player program. " * 50)
    program = tmp_path / "footage.mp4"
    program.write_bytes(b"MZ\x90\x00\x03\x00\x00\x00\x04\x00\x00\x00\xff\xff" + bytes(4000))
    return archive, program


def row(page, name):
    return page.locator(".app-uploader__file").filter(has=page.get_by_text(name, exact=True))


def expect_no_buttons(file_row):
    buttons = file_row.locator("button")
    assert buttons.count() == 2, "Try again and Cancel are there, for the states that need them"
    for button in buttons.all():
        expect(button).to_be_hidden()


def test_finished_files_offer_nothing_to_undo_and_refused_files_say_why(
    page, submission, footage, refused_files, assert_valid_html
):
    clip, photo = footage
    archive, program = refused_files
    page.goto(f"/footage/{TOKEN}/")
    expect(page.get_by_role("heading", name="Add footage or photos")).to_be_visible()
    # JavaScript sends each file as it is chosen: no button to press, and no limit for the plain form.
    expect(page.get_by_role("button", name="Upload files", include_hidden=True)).to_be_hidden()
    expect(page.get_by_text("Without JavaScript, up to")).to_be_hidden()
    expect(page.locator(".app-uploader__resume")).to_be_hidden()
    assert_accessible(page)
    assert_valid_html(page)

    page.get_by_label("Choose files").set_input_files([str(clip), str(photo)])
    for name in (clip.name, photo.name):
        expect(row(page, name).get_by_text("Uploaded", exact=True)).to_be_visible(timeout=30_000)
        expect(row(page, name).get_by_text(re.compile(r"^[\d.]+ (KB|MB) received\.$"))).to_be_visible()
        expect(row(page, name).locator("progress")).to_be_hidden()
        expect_no_buttons(row(page, name))
    assert_accessible(page)

    copy = clip.with_name("the same clip again.mp4")
    copy.write_bytes(clip.read_bytes())
    page.get_by_label("Add another file").set_input_files([str(archive), str(program), str(copy)])
    for name in (archive.name, program.name):
        refused = row(page, name)
        expect(refused.get_by_text("Not accepted", exact=True)).to_be_visible(timeout=30_000)
        expect(refused.get_by_text(f"{name} is not a video or photo we can accept")).to_be_visible()
        expect(refused.get_by_text("We have not kept it.", exact=False)).to_be_visible()
        expect(refused.locator("progress")).to_be_hidden()
        expect(refused).not_to_contain_text("% uploaded")
        expect_no_buttons(refused)
    duplicate = row(page, copy.name)
    expect(duplicate.get_by_text("Not accepted", exact=True)).to_be_visible(timeout=30_000)
    expect(
        duplicate.get_by_text(f"{copy.name} is the same file as {clip.name}, which you have already sent.")
    ).to_be_visible()
    expect(duplicate).not_to_contain_text("% uploaded")
    expect_no_buttons(duplicate)
    expect(page.get_by_text("2 files, ")).to_be_visible()
    assert_accessible(page)
    assert_valid_html(page)

    # Refused files are not waiting to carry on: nothing asks for them again.
    page.reload()
    expect(page.get_by_role("heading", name="Files we have received")).to_be_visible()
    expect(page.locator(".app-uploader__resume")).to_be_hidden()
    assert MediaFile.objects.count() == 2


def test_a_file_on_its_way_can_be_cancelled_and_is_not_kept(page, submission, footage, held_upload, assert_valid_html):
    clip, _photo = footage
    page.goto(f"/footage/{TOKEN}/")
    page.get_by_label("Choose files").set_input_files(str(clip))
    clip_row = row(page, clip.name)
    expect(clip_row.get_by_text("Uploading", exact=True)).to_be_visible()
    # The button's name starts with the words on it, then says which file (WCAG 2.5.3).
    cancel = page.get_by_role("button", name=f"Cancel uploading {clip.name}", exact=True)
    expect(cancel).to_be_visible()
    expect(page.get_by_role("button", name=re.compile("^Try again"))).to_be_hidden()
    assert_accessible(page)
    assert_valid_html(page)

    cancel.click()
    held_upload.set()
    expect(clip_row).to_have_count(0, timeout=15_000)
    expect(page.locator(".app-uploader__status")).to_have_text(f"{clip.name}: upload cancelled. It was not sent.")
    assert not Upload.objects.exists()
    assert not MediaFile.objects.exists()
    page.reload()
    expect(page.locator(".app-uploader__resume")).to_be_hidden()


def test_an_upload_that_stopped_can_be_tried_again(page, submission, footage, small_chunks, monkeypatch):
    clip, _photo = footage
    receive, calls = tus.receive, itertools.count()

    def stops_once(*args, **kwargs):
        response = receive(*args, **kwargs)
        # The third chunk is stored, but the answer is an error that no automatic retry can get past.
        return tus.tus_response(400) if next(calls) == 2 else response

    monkeypatch.setattr(tus, "receive", stops_once)
    page.goto(f"/footage/{TOKEN}/")
    page.get_by_label("Choose files").set_input_files(str(clip))
    clip_row = row(page, clip.name)
    expect(clip_row.get_by_text("Stopped", exact=True)).to_be_visible(timeout=15_000)
    expect(clip_row.get_by_text("The upload stopped. Check your connection, then choose Try again.")).to_be_visible()
    try_again = page.get_by_role("button", name=f"Try again uploading {clip.name}", exact=True)
    expect(try_again).to_be_visible()
    expect(try_again).to_have_text(re.compile(r"^Try again"))
    expect(page.get_by_role("button", name=f"Cancel uploading {clip.name}", exact=True)).to_be_visible()
    assert_accessible(page)

    try_again.click()
    expect(clip_row.get_by_text("Uploaded", exact=True)).to_be_visible(timeout=30_000)
    expect(clip_row.get_by_text("The upload stopped")).to_be_hidden()
    expect_no_buttons(clip_row)
    assert Upload.objects.count() == 1, "carried on, not started again"
    assert MediaFile.objects.get().size == clip.stat().st_size


def test_the_private_link_can_be_copied_with_one_tap(page, submission):
    page.context.grant_permissions(["clipboard-read", "clipboard-write"])
    page.goto(f"/footage/{TOKEN}/")
    expect(page.locator(".app-capability-link")).to_have_text(page.url)
    page.get_by_role("button", name="Copy your private link").click()
    expect(page.get_by_role("status")).to_have_text(re.compile("^Link copied"))
    assert page.evaluate("navigator.clipboard.readText()") == page.url
    assert_accessible(page)


def send_an_account(page, appeal):
    page.goto(appeal.get_absolute_url())
    page.get_by_role("button", name="Give information").first.click()
    page.get_by_label("What did you see or hear?").fill("A car without lights drove off towards the station.")
    page.get_by_role("button", name="Continue").click()
    page.get_by_role("button", name="Continue").click()  # the date and time are optional
    page.get_by_label("Where were you?").fill("Lanacre Avenue")
    page.get_by_role("button", name="Continue").click()
    page.get_by_label("I have footage or photos of the area or the time").check()
    page.get_by_role("button", name="Continue").click()
    page.get_by_label("No, I want to stay anonymous").check()
    page.get_by_role("button", name="Continue").click()
    page.get_by_role("button", name="Send information").click()


def test_without_javascript_files_go_from_the_private_link_in_two_batches(
    browser, live_server, demo, footage, refused_files, assert_valid_html
):
    clip, photo = footage
    archive, _program = refused_files
    with open_page(browser, live_server, 320, 640, java_script_enabled=False) as page:
        send_an_account(page, demo)
        expect(page.locator(".govuk-panel__title")).to_have_text("Information sent")
        link = page.locator(".app-capability-link").inner_text()
        assert link == page.url
        # Nothing a script would show: no copy button, but the link to copy by hand.
        expect(page.get_by_role("button", name="Copy your private link", include_hidden=True)).to_be_hidden()
        assert_accessible_as_shown(browser, live_server, page)
        assert_valid_html(page)

        page.get_by_label("Choose files").set_input_files(str(photo))
        page.get_by_role("button", name="Upload files").click()
        expect(page.get_by_text("1 file received. Thank you.")).to_be_visible()

        # Later, from the private link: twice more, and the second time the file is refused and said to be.
        page.goto(link)
        expect(page.get_by_role("heading", name="Files we have received")).to_be_visible()
        page.get_by_label("Choose files").set_input_files(str(clip))
        page.get_by_role("button", name="Upload files").click()
        expect(page.get_by_text("1 file received. Thank you.")).to_be_visible()

        page.goto(link)
        page.get_by_label("Choose files").set_input_files(str(archive))
        page.get_by_role("button", name="Upload files").click()
        expect(page.get_by_text("We have not kept this file:")).to_be_visible()
        expect(page.get_by_role("link", name=re.compile(f"^{archive.name} is not a video or photo"))).to_be_visible()
        assert_accessible_as_shown(browser, live_server, page)
        assert_valid_html(page)
    submission = Submission.objects.get()
    assert sorted(submission.media_files.values_list("original_filename", flat=True)) == sorted([clip.name, photo.name])
