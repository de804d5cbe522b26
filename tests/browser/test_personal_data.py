"""A data protection officer finds a witness's submissions, in a real browser, and removes their contact details."""

from pathlib import Path

import pytest
from playwright.sync_api import expect

from incidents.roles import DATA_PROTECTION_OFFICERS, ensure_roles
from submissions.models import Submission
from tests.browser.conftest import assert_accessible, open_page
from tests.factories import make_submission
from tests.officers import authenticator, current_code, make_triage_officer, team_with_submission

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def sign_in(page, officer):
    page.goto("/admin/")
    page.get_by_label("Username").fill(officer.username)
    page.get_by_label("Password").fill("officer-password")
    page.get_by_label("Authentication code").fill(current_code(authenticator(officer)))
    page.get_by_role("button", name="Sign in").click()


def test_a_data_protection_officer_finds_a_witness_and_removes_their_contact_details(
    browser, live_server, assert_valid_html
):
    north = team_with_submission("North team", "101")
    south = team_with_submission("South team", "202")
    first = make_submission(
        north.appeal, contact_name="Sam Witness", contact_email="Sam.Witness@example.com", contact_phone="020 7946 0018"
    )
    make_submission(south.appeal, contact_email="sam.witness@example.com", account="I filmed the van.")
    dpo = make_triage_officer("dpo")
    dpo.groups.add(ensure_roles()[DATA_PROTECTION_OFFICERS])

    with open_page(browser, live_server, 1280, 900) as page:
        sign_in(page, dpo)
        page.get_by_role("link", name="Find a person's data").click()
        page.get_by_label("Email address or phone number").fill("SAM.WITNESS@EXAMPLE.COM")
        page.get_by_role("button", name="Search").click()
        expect(page.get_by_role("heading", name="2 submissions found")).to_be_visible()
        results = page.get_by_role("table", name="Submissions with these contact details")
        expect(results.get_by_role("row")).to_have_count(3)
        expect(results.get_by_role("rowheader", name=first.reference)).to_be_visible()
        expect(results.get_by_text("020 7946 0018")).to_be_visible()
        expect(page.get_by_role("button", name="Export what is held (JSON)")).to_be_visible()
        assert_accessible(page)
        assert_valid_html(page)

        # The readable copy, as the person it is about opens it, on a phone and on a desktop.
        with page.expect_download() as download:
            page.get_by_role("button", name="Export a readable copy (HTML)").click()
        readable = Path(download.value.path()).read_text()
        copy = page.context.new_page()
        for width in (320, 1280):
            copy.set_viewport_size({"width": width, "height": 900})
            copy.set_content(readable)
            heading = "Information Metropolitan Police holds about sam.witness@example.com"
            expect(copy.get_by_role("heading", name=heading, level=1)).to_be_visible()
            expect(copy.get_by_role("heading", name=f"Submission {first.reference}")).to_be_visible()
            expect(copy.get_by_text("I filmed the van.")).to_be_visible()
            assert copy.evaluate("document.documentElement.scrollWidth") <= width
            assert_accessible(copy)
            assert_valid_html(copy)
        copy.close()

        # On a phone the table scrolls inside its box, not the whole page.
        page.set_viewport_size({"width": 320, "height": 700})
        expect(results).to_be_visible()
        assert page.evaluate("document.documentElement.scrollWidth") <= 320
        assert_accessible(page)
        page.set_viewport_size({"width": 1280, "height": 900})

        page.get_by_role("link", name=f"Remove contact details from {first.reference}").click()
        expect(page.get_by_text("Sam.Witness@example.com")).to_be_visible()
        assert_accessible(page)
        assert_valid_html(page)
        page.get_by_label("Why are these contact details being removed?").fill("Erasure request, DPO case 114")
        page.get_by_role("button", name="Remove the contact details").click()
        expect(page.get_by_text(f"The contact details on {first.reference} have been removed.")).to_be_visible()

    stored = Submission.objects.get(pk=first.pk)
    assert (stored.contact_name, stored.contact_email, stored.contact_phone) == ("", "", "")
    assert stored.account == first.account
