"""The witness journey in a real browser at 320 px: answers, reference, then two uploads, one cut off."""

import hashlib
import re
import shutil
import time

import pytest
from playwright.sync_api import expect

from submissions import tus
from submissions.models import MediaFile, Submission, Upload
from tests.browser.conftest import assert_accessible, open_page
from tests.factories import make_submission
from tests.services import wait_for

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


@pytest.fixture
def narrow_page(browser, live_server):
    with open_page(browser, live_server, 320, 640, timeout=15_000) as page:
        yield page


def fits_the_screen(page):
    return page.evaluate("document.documentElement.scrollWidth <= window.innerWidth")


def sha256(path):
    return hashlib.sha256(path.read_bytes()).hexdigest()


def test_a_witness_sends_an_account_then_two_files_one_cut_off_and_resumed(
    narrow_page, demo, footage, settings, monkeypatch, assert_valid_html
):
    # Small chunks, so that the connection can drop half-way through the clip.
    settings.UPLOAD_CHUNK_SIZE = 128 * 1024
    clip, photo = footage
    page = narrow_page

    page.goto(demo.get_absolute_url())
    page.get_by_role("button", name="Give information").first.click()
    page.get_by_label("What did you see or hear?").fill("Six people ran past the shops, then I heard bangs.")
    assert_accessible(page)
    page.get_by_role("button", name="Continue").click()

    page.get_by_label("Day").fill("18")
    page.get_by_label("Month").fill("3")
    page.get_by_label("Year").fill("2021")
    page.get_by_label("Time, roughly").fill("7:10pm")
    assert_accessible(page)
    page.get_by_role("button", name="Continue").click()

    page.get_by_label("Where were you?").fill("Driving along Lanacre Avenue")
    assert_accessible(page)
    page.get_by_role("button", name="Continue").click()

    page.get_by_label("I have footage or photos of the area or the time").check()
    assert_accessible(page)
    page.get_by_role("button", name="Continue").click()

    page.get_by_text("What staying anonymous means").click()
    assert page.get_by_text("Crimestoppers on 0800 555 111").first.is_visible()
    page.get_by_label("No, I want to stay anonymous").check()
    assert_accessible(page)
    assert fits_the_screen(page)
    page.get_by_role("button", name="Continue").click()

    assert page.locator("h1").inner_text() == "Check your answers before sending them"
    assert page.get_by_text("Driving along Lanacre Avenue").is_visible()
    assert_accessible(page)
    assert fits_the_screen(page)
    page.get_by_role("button", name="Send information").click()

    # The account is stored and the reference shown before any file is chosen, on a page whose address is
    # the witness's private link: a reload keeps it.
    submission = Submission.objects.get()
    assert page.locator(".govuk-panel__title").inner_text() == "Information sent"
    assert submission.reference in page.locator(".govuk-panel__body").inner_text()
    assert "/footage/" in page.url
    expect(page.locator(".app-capability-link")).to_have_text(page.url)
    assert_accessible(page)
    assert_valid_html(page)
    assert fits_the_screen(page)
    page.reload()
    expect(page.locator(".govuk-panel__title")).to_have_text("Information sent")
    expect(page.locator(".app-capability-link")).to_have_text(page.url)

    # A slow uplink, as on a phone, so the clip is still going when the connection drops.
    receive = tus.receive

    def slow_receive(*args, **kwargs):
        time.sleep(0.15)
        return receive(*args, **kwargs)

    monkeypatch.setattr(tus, "receive", slow_receive)
    page.get_by_label("Choose files").set_input_files([str(clip), str(photo)])
    rows = page.locator(".app-uploader__file")
    clip_row, photo_row = rows.nth(0), rows.nth(1)
    assert page.get_by_text("2 files").is_visible()
    page.wait_for_function(
        "() => { const p = document.querySelector('.app-uploader__file progress');"
        " return p && p.value >= 15 && p.value < 80; }"
    )
    page.context.set_offline(True)
    clip_row.get_by_text("Waiting for a connection").wait_for()
    assert_accessible(page)
    page.context.set_offline(False)

    clip_row.get_by_text("Uploaded", exact=True).wait_for(timeout=30_000)
    photo_row.get_by_text("Uploaded", exact=True).wait_for(timeout=30_000)
    expect(clip_row.get_by_text(re.compile(r"^\d.* MB received\.$"))).to_be_visible()
    assert_accessible(page)
    assert fits_the_screen(page)

    stored = wait_for(lambda: {m.original_filename: m.sha256 for m in MediaFile.objects.all()} or None)
    assert stored == {clip.name: sha256(clip), photo.name: sha256(photo)}
    assert {m.size for m in MediaFile.objects.all()} == {clip.stat().st_size, photo.stat().st_size}
    # Resumed, not started again: one upload per file, both finished.
    assert Upload.objects.count() == 2
    assert not Upload.objects.filter(completed_at=None).exists()

    # The same clip again is refused by its content, naming the file already sent.
    copy = clip.with_name("copy of the clip.mp4")
    shutil.copy(clip, copy)
    page.get_by_label("Add another file").set_input_files(str(copy))
    # Known only once the whole copy is in, through the same slow uplink.
    refused = rows.nth(2).get_by_text(f"the same file as {clip.name}, which you have already sent")
    expect(refused).to_be_visible(timeout=30_000)
    assert MediaFile.objects.count() == 2


def test_an_upload_carries_on_after_the_page_is_reloaded(page, demo, footage, settings, monkeypatch):
    settings.UPLOAD_CHUNK_SIZE = 128 * 1024
    clip, _photo = footage
    submission = make_submission(demo)
    submission.set_upload_token("reload-token-with-plenty-of-randomness")
    submission.save(update_fields=["upload_token_hash"])
    receive = tus.receive

    def slow_receive(*args, **kwargs):
        time.sleep(0.1)
        return receive(*args, **kwargs)

    monkeypatch.setattr(tus, "receive", slow_receive)

    page.goto("/footage/reload-token-with-plenty-of-randomness/")
    assert submission.reference in page.locator("main").inner_text()
    assert_accessible(page)
    page.get_by_label("Choose files").set_input_files(str(clip))
    page.wait_for_function("() => document.querySelector('.app-uploader__file progress')?.value >= 20")
    page.once("dialog", lambda dialog: dialog.accept())  # "Leave site? Changes may not be saved."
    page.reload()

    expect(page.get_by_text(f"{clip.name} did not finish uploading. Choose it again")).to_be_visible()
    page.get_by_label("Choose files").set_input_files(str(clip))
    expect(page.get_by_text("did not finish uploading")).to_be_hidden()
    page.get_by_text("Uploaded", exact=True).wait_for(timeout=30_000)
    assert Upload.objects.count() == 1, "resumed, not started again"
    assert MediaFile.objects.get().sha256 == sha256(clip)
