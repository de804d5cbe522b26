import pytest
from playwright.sync_api import expect

from tests.appeals.images import make_image
from tests.browser.conftest import assert_accessible

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

LEGAL_PAGES = {
    "/privacy/": "Privacy notice",
    "/cookies/": "Cookies",
    "/accessibility-statement/": "Accessibility statement for Witness appeals",
}
FOOTER_LINKS = {
    "Privacy": "Privacy notice",
    "Cookies": "Cookies",
    "Accessibility statement": LEGAL_PAGES["/accessibility-statement/"],
}


@pytest.fixture
def appeal(demo):
    make_image(demo, alt_text="CCTV still of a person in a grey hooded top running past garages")
    return demo


def public_pages(appeal):
    return [
        "/",
        appeal.get_absolute_url(),
        f"{appeal.get_absolute_url()}print/",
        "/appeals/no-such-appeal/",
        *LEGAL_PAGES,
    ]


def test_the_pages_the_law_requires_meet_wcag_2_2_aa_and_are_valid_html(page, demo, assert_valid_html):
    for width in [320, 1280]:
        page.set_viewport_size({"width": width, "height": 800})
        for address, heading in LEGAL_PAGES.items():
            assert page.goto(address).status == 200
            expect(page.get_by_role("heading", level=1)).to_have_text(heading)
            assert page.evaluate("document.documentElement.scrollWidth") <= width, address
            assert_accessible(page)
            assert_valid_html(page)


def test_every_public_page_shows_the_footer_links_and_they_lead_to_their_pages(page, appeal):
    for address in [*public_pages(appeal), f"{appeal.get_absolute_url()}give-information/"]:
        page.goto(address)
        footer = page.get_by_role("contentinfo")
        for name in FOOTER_LINKS:
            expect(footer.get_by_role("link", name=name, exact=True)).to_be_visible()

    for name, heading in FOOTER_LINKS.items():
        page.get_by_role("contentinfo").get_by_role("link", name=name, exact=True).click()
        expect(page.get_by_role("heading", level=1)).to_have_text(heading)


def test_reading_the_public_pages_leaves_no_cookie_in_the_browser(page, appeal):
    for address in public_pages(appeal):
        page.goto(address)
        page.wait_for_load_state("load")
        assert page.context.cookies() == [], address

    # Giving information is where the essential cookies start, as the cookies page says.
    page.goto(appeal.get_absolute_url())
    page.get_by_role("button", name="Give information").first.click()
    names = {cookie["name"] for cookie in page.context.cookies()}
    assert names
    page.goto("/cookies/")
    for name in names:
        expect(page.get_by_role("cell", name=name, exact=True)).to_be_visible()
