import pytest
from playwright.sync_api import expect

from tests.appeals.images import make_image

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def test_a_withdrawn_image_disappears_from_the_page_at_once(page, demo):
    image = make_image(demo, alt_text="CCTV still of a person in a grey hooded top running past garages")
    page.goto(demo.get_absolute_url())
    still = page.get_by_role("img", name=image.alt_text)
    expect(still).to_be_visible()
    assert page.evaluate("document.querySelector('.app-figure__image').naturalWidth") > 0

    image.withdraw()

    page.reload()
    expect(page.get_by_role("heading", name="Released images")).to_have_count(0)
    expect(page.get_by_role("img", name=image.alt_text)).to_have_count(0)
    assert page.request.get(image.get_absolute_url()).status == 410
