import re

import pytest
from playwright.sync_api import expect

from appeals.models import Appeal, AppealUpdate
from tests.appeals.images import make_image
from tests.browser.conftest import assert_accessible
from tests.factories import make_appeal, make_incident

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

SMALL_PHONE = {"width": 320, "height": 568}


@pytest.fixture
def appeals(demo):
    AppealUpdate.objects.create(appeal=demo, title="A man has been arrested", body="He has been released on bail.")
    make_image(demo, alt_text="CCTV still of a person in a grey hooded top running past garages")
    closed = make_appeal(
        make_incident("CAD1234/02FEB", place="Camden High Street", area="Camden"),
        headline="Phone snatched from a cyclist on Camden High Street",
        status=Appeal.Status.CLOSED,
    )
    return {"open": demo, "closed": closed}


def pages(appeals):
    return {
        "list": "/",
        "open appeal": appeals["open"].get_absolute_url(),
        "closed appeal": appeals["closed"].get_absolute_url(),
        "not found": "/appeals/no-such-appeal/",
    }


def test_public_pages_meet_wcag_2_2_aa_and_are_valid_html(page, appeals, assert_valid_html):
    for name, url in pages(appeals).items():
        response = page.goto(url)
        assert response.status == (404 if name == "not found" else 200), name
        assert "govuk-frontend-supported" in page.locator("body").get_attribute("class"), name
        assert_accessible(page)
        assert_valid_html(page)


def test_nothing_scrolls_sideways_at_320_pixels(page, appeals):
    page.set_viewport_size(SMALL_PHONE)
    urls = [*pages(appeals).values(), "/?q=colindale", f"{appeals['open'].get_absolute_url()}print/"]
    for url in urls:
        page.goto(url)
        scroll_width = page.evaluate("document.documentElement.scrollWidth")
        assert scroll_width <= SMALL_PHONE["width"], f"{url} is {scroll_width}px wide"


def test_give_information_is_visible_without_scrolling_on_a_small_phone(page, appeals):
    longest = make_appeal(
        make_incident("CAD9999/31DEC", place="The junction of Grahame Park Way and Lanacre Avenue", area="Barnet"),
        headline=(
            "Witnesses sought after a man was seriously injured in a collision with a car on Grahame Park Way "
            "in Colindale late on Friday evening"
        )[:160],
        slug="longest-headline",
    )
    page.set_viewport_size(SMALL_PHONE)
    for appeal in [appeals["open"], longest]:
        page.goto(appeal.get_absolute_url())
        button = page.get_by_role("button", name="Give information").first
        assert button.is_visible()
        box = button.bounding_box()
        assert box["y"] + box["height"] <= SMALL_PHONE["height"], appeal.headline
        assert page.evaluate("window.scrollY") == 0

    button.click()
    assert page.locator("h1").inner_text() == "What did you see or hear?"


def test_a_reader_finds_an_appeal_by_searching_and_filtering(page, appeals):
    page.goto("/")
    page.get_by_label("Search appeals").fill("Colindale")
    page.get_by_role("button", name="Show appeals").click()
    assert page.get_by_role("link", name=appeals["open"].headline).is_visible()
    assert page.get_by_text("1 open appeal matches your search").is_visible()

    page.get_by_text("Filter by area or offence").click()
    page.get_by_label("Offence").select_option(label="Robbery")
    page.get_by_role("button", name="Show appeals").click()
    assert page.get_by_text("No open appeals match your search").is_visible()
    assert_accessible(page)


def test_the_print_poster_is_accessible_and_prints_on_one_a4_page(page, appeals, assert_valid_html):
    page.goto(f"{appeals['open'].get_absolute_url()}print/")
    assert page.get_by_role("button", name="Print this poster").is_visible()
    assert page.get_by_role("img", name="QR code: scan it to open the appeal page").is_visible()
    assert_accessible(page)
    assert_valid_html(page)

    pdf = page.pdf(format="A4")
    assert len(re.findall(rb"/Type\s*/Page[^s]", pdf)) == 1


def test_the_link_to_an_appeal_can_be_copied_with_one_tap(page, appeals):
    page.context.grant_permissions(["clipboard-read", "clipboard-write"])
    appeal = appeals["open"]
    page.goto(appeal.get_absolute_url())
    # Headless chromium on Linux has no share sheet, so the button copies the link instead.
    page.get_by_role("button", name="Copy the link to this appeal").click()
    expect(page.get_by_role("status")).to_have_text(re.compile("^Link copied"))
    copied = page.evaluate("navigator.clipboard.readText()")
    assert copied.endswith(appeal.get_absolute_url()) and copied.startswith("http")
    assert_accessible(page)
