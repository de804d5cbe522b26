"""What an officer's player shows while a file's web copy is still being made, once it is made, and when it failed."""

import io

import pytest
from django.urls import reverse
from django.utils import timezone
from PIL import Image
from playwright.sync_api import expect

from submissions.models import Derivative, MediaFile
from tests.browser.conftest import assert_accessible, open_page
from tests.browser.test_officers_pages import sign_in
from tests.officers import add_derivative, store_media_file, team_with_submission, tiny_mp4

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]
VIDEO = {"kind": "video", "duration": 4.0, "width": 160, "height": 120, "video_codec": "hevc"}


def jpeg(colour):
    buffer = io.BytesIO()
    Image.new("RGB", (320, 240), colour).save(buffer, "JPEG")
    return buffer.getvalue()


@pytest.fixture
def looked_at():
    """A submission with a video that has had its first look (poster, contact sheet) and no web copy yet."""
    north = team_with_submission("North team", "101", proxy=tiny_mp4())
    media_file = store_media_file(
        north.submission,
        content=b"an iPhone's HEVC",
        original_filename="IMG_0001.MOV",
        content_type="video/quicktime",
        state=MediaFile.State.READY,
        metadata=VIDEO,
        proxy_state=MediaFile.ProxyState.WAITING,
        proxy_updated_at=timezone.now(),
    )
    add_derivative(media_file, Derivative.Kind.POSTER, jpeg("navy"))
    add_derivative(media_file, Derivative.Kind.CONTACT_SHEET, jpeg("teal"))
    north.looked_at = media_file
    return north


def labelled(page):
    """Wait for the admin's autocompletes to be named (static/js/officers-admin.js), before checking the page."""
    expect(page.get_by_role("textbox", name="Assignee")).to_be_attached()


def player_area(page):
    return page.get_by_role("region", name="IMG_0001.MOV")


@pytest.mark.parametrize("width", [320, 1280])
def test_the_player_says_a_web_copy_is_being_made_then_plays_it(browser, live_server, looked_at, width):
    north, media_file = looked_at, looked_at.looked_at
    with open_page(browser, live_server, width, 900) as page:
        sign_in(page, north.officer)
        page.goto(f"{north.submission.get_admin_url()}?file={media_file.pk}#selected-file")
        files = page.get_by_role("table", name="Files the witness sent")
        expect(files.get_by_role("row", name="IMG_0001.MOV")).to_contain_text("Ready, web copy being made")
        area = player_area(page)
        expect(area.get_by_text("A web copy of this video is being made so that it plays here.")).to_be_visible()
        expect(area.get_by_role("img", name="Poster frame of IMG_0001.MOV")).to_be_visible()
        expect(area.get_by_role("link", name="Contact sheet of IMG_0001.MOV")).to_be_visible()
        expect(area.get_by_role("link", name="Download the original of IMG_0001.MOV")).to_be_visible()
        expect(area.locator("video")).to_have_count(0)
        assert area.get_by_role("img").evaluate("image => image.naturalWidth") == 320, "the poster loads"
        labelled(page)
        assert_accessible(page)

        proxy = add_derivative(media_file, Derivative.Kind.PROXY, tiny_mp4())
        MediaFile.objects.filter(pk=media_file.pk).update(proxy_state=MediaFile.ProxyState.MADE)
        page.reload()
        video = area.locator("video")
        expect(video).to_be_visible()
        expect(video).to_have_attribute("src", reverse("admin:evidence_derivative", args=[proxy.pk]))
        expect(area.get_by_text("A web copy of this video is being made")).to_have_count(0)
        expect(files.get_by_role("row", name="IMG_0001.MOV")).not_to_contain_text("web copy")
        duration = video.evaluate(
            """v => v.readyState >= 1 ? v.duration
                : new Promise(ready => v.addEventListener("loadedmetadata", () => ready(v.duration)))"""
        )
        assert duration == pytest.approx(4, abs=0.2), "the web copy plays"


@pytest.mark.parametrize("width", [320, 1280])
def test_the_player_says_when_the_web_copy_could_not_be_made(browser, live_server, looked_at, width):
    north, media_file = looked_at, looked_at.looked_at
    media_file.finish_proxy(MediaFile.ProxyState.FAILED, "ffmpeg could not read the file: Invalid data found")
    with open_page(browser, live_server, width, 900) as page:
        sign_in(page, north.officer)
        page.goto(f"{north.submission.get_admin_url()}?file={media_file.pk}#selected-file")
        area = player_area(page)
        expect(area.get_by_text("The web copy of this video could not be made, so it cannot play here")).to_be_visible()
        expect(area.get_by_text("Failed: ffmpeg could not read the file: Invalid data found")).to_be_visible()
        expect(area.get_by_role("img", name="Poster frame of IMG_0001.MOV")).to_be_visible()
        expect(area.get_by_role("link", name="Download the original of IMG_0001.MOV")).to_be_visible()
        expect(area.locator("video")).to_have_count(0)
        expect(page.get_by_role("row", name="IMG_0001.MOV")).to_contain_text("Ready, no web copy")
        labelled(page)
        assert_accessible(page)
