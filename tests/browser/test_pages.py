import pytest

from tests.browser.conftest import assert_accessible

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def test_a_witness_reads_the_demo_appeal_and_gives_information(page, demo):
    page.goto("/")
    assert_accessible(page)
    page.get_by_role("link", name=demo.headline).click()
    assert page.locator("h1").inner_text() == demo.headline
    assert "govuk-frontend-supported" in page.locator("body").get_attribute("class")
    assert_accessible(page)

    page.get_by_role("button", name="Give information").first.click()
    assert_accessible(page)
    page.get_by_role("button", name="Continue").click()
    assert page.get_by_text("There is a problem").is_visible()
    assert_accessible(page)
