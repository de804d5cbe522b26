"""A supervisor's review in a real browser: what is due, and approving disposal with a reason."""

import pytest
from django.utils import timezone
from playwright.sync_api import expect

from evidence.models import Disposal
from evidence.triage import change_state
from submissions.models import Submission
from tests.browser.conftest import assert_accessible, open_page
from tests.officers import authenticator, current_code, make_triage_officer, team_with_submission

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


@pytest.mark.parametrize("width", [320, 1280])
def test_a_supervisor_finds_what_is_due_and_approves_its_disposal(browser, live_server, assert_valid_html, width):
    north = team_with_submission("North team", "101", account="A red car sped off towards the estate.")
    change_state(submission=north.submission, to=Submission.State.NO_FURTHER_ACTION, by=north.officer, reason="None")
    Submission.objects.filter(pk=north.submission.pk).update(review_on=timezone.localdate())
    supervisor = make_triage_officer("supervisor", supervisor=True)
    device = authenticator(supervisor)

    with open_page(browser, live_server, width, 900) as page:
        page.goto("/admin/")
        page.get_by_label("Username").fill(supervisor.username)
        page.get_by_label("Password").fill("officer-password")
        page.get_by_label("Authentication code").fill(current_code(device))
        page.get_by_role("button", name="Sign in").click()
        page.goto("/admin/submissions/submission/?retention=due")
        row = page.get_by_role("row").filter(has_text=north.submission.reference)
        expect(row).to_be_visible()
        row.get_by_role("checkbox").check()
        page.locator("select[name=action]").select_option(label="Approve disposal (with a reason)")
        page.get_by_role("button", name="Go").click()

        expect(page.get_by_role("heading", name="Approve disposal")).to_be_visible()
        expect(page.get_by_text("deleted for good")).to_be_visible()
        assert_accessible(page)
        assert_valid_html(page)
        page.get_by_role("button", name="Approve disposal").click()
        expect(page.get_by_text("This field is required")).to_be_visible()
        page.get_by_label("Why dispose of it?").fill("Reviewed: nothing of use, no reason to keep it")
        page.get_by_role("button", name="Approve disposal").click()
        expect(page.get_by_text("Disposal approved for 1 submission(s)")).to_be_visible()
    assert Disposal.objects.get(submission=north.submission).reason.startswith("Reviewed")
