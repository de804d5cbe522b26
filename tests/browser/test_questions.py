"""The question pages in a real browser at 320 px: what a witness sees when an answer has a problem."""

import re

import pytest
from playwright.sync_api import expect

from submissions.models import Submission
from tests.browser.conftest import assert_accessible, open_page
from tests.sessions import expire_sessions

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]
IN_ERROR = re.compile(r"\bgovuk-input--error\b")


@pytest.fixture
def narrow_page(browser, live_server):
    with open_page(browser, live_server, 320, 640) as page:
        yield page


@pytest.fixture
def check(assert_valid_html):
    def check(page):
        assert_accessible(page)
        assert_valid_html(page)
        assert page.evaluate("document.documentElement.scrollWidth <= window.innerWidth"), "nothing scrolls sideways"

    return check


def start(page, appeal):
    page.goto(f"/appeals/{appeal.slug}/give-information/")


def continue_(page):
    page.get_by_role("button", name="Continue").click()


def expect_problem(page, message):
    """The message is in the error summary and beside the answer, both on screen."""
    summary = page.locator(".govuk-error-summary")
    expect(summary.get_by_role("heading", name="There is a problem")).to_be_visible()
    expect(summary.get_by_role("link", name=message)).to_be_visible()
    expect(page.locator(".govuk-error-message").filter(has_text=message)).to_be_visible()


def enter_date(page, day, month, year):
    page.get_by_label("Day").fill(day)
    page.get_by_label("Month").fill(month)
    page.get_by_label("Year").fill(year)
    continue_(page)


def test_a_witness_is_told_exactly_what_is_wrong_with_a_date_and_a_time(narrow_page, demo, check):
    page = narrow_page
    start(page, demo)
    page.get_by_label("What did you see or hear?").fill("Six people ran past the shops, then I heard bangs.")
    continue_(page)
    expect(page.get_by_role("heading", name="When did you see it?")).to_be_visible()
    check(page)

    page.get_by_label("Month").fill("3")
    page.get_by_label("Time, roughly").fill("25:70")
    continue_(page)
    expect_problem(page, "The date you saw it must include a day and year")
    expect_problem(page, "The time you saw it must be a real time")
    expect(page.get_by_label("Day")).to_have_class(IN_ERROR)
    expect(page.get_by_label("Month")).not_to_have_class(IN_ERROR)
    expect(page.get_by_label("Year")).to_have_class(IN_ERROR)
    expect(page.get_by_label("Month")).to_have_value("3")
    check(page)
    page.get_by_role("link", name="The date you saw it must include a day and year").click()
    expect(page.get_by_label("Day")).to_be_focused()

    page.get_by_label("Time, roughly").fill("7:10pm")
    enter_date(page, "18", "3", "21")
    expect_problem(page, "Year must include 4 numbers")
    expect(page.get_by_label("Year")).to_have_class(IN_ERROR)
    expect(page.get_by_label("Day")).not_to_have_class(IN_ERROR)
    expect(page.get_by_label("Time, roughly")).to_have_value("7:10pm")

    enter_date(page, "31", "2", "2021")
    expect_problem(page, "The date you saw it must be a real date")
    expect(page.get_by_text("day is out of range")).to_have_count(0)

    enter_date(page, "18", "March", "2021")
    expect(page.get_by_role("heading", name="Where were you?")).to_be_visible()

    # Back after the errors is a plain page again: no "Confirm form resubmission", nothing sent twice.
    posts = []
    page.on("request", lambda request: posts.append(request.url) if request.method == "POST" else None)
    page.go_back()
    expect(page.get_by_role("heading", name="When did you see it?")).to_be_visible()
    expect(page.locator(".govuk-error-summary")).to_be_hidden()
    expect(page.get_by_label("Month")).to_have_value("March")
    assert posts == []


def test_every_question_passes_axe_and_the_html_checker_with_and_without_errors(narrow_page, demo, check):
    page = narrow_page
    start(page, demo)
    # Each page: its question, an answer with a problem (None where every answer is fine), then a good one.
    pages = [
        ("What did you see or hear?", None, lambda: page.get_by_label("What did you see or hear?").fill("Bangs.")),
        ("When did you see it?", lambda: enter_date(page, "18", "3", ""), lambda: enter_date(page, "18", "3", "2021")),
        ("Where were you?", None, lambda: page.get_by_label("Where were you?").fill("Lanacre Avenue")),
        ("How are you connected to what happened?", None, lambda: page.get_by_label("I saw or heard what").check()),
        ("Can officers contact you about what you have told them?", None, lambda: page.get_by_label("Yes").check()),
        ("Your contact details", None, lambda: page.get_by_label("Phone number").fill("020 7946 0000")),
    ]
    for heading, wrong, right in pages:
        expect(page.get_by_role("heading", name=heading)).to_be_visible()
        check(page)
        if heading != "Where were you?":
            (wrong or (lambda: continue_(page)))()
            expect(page.locator(".govuk-error-summary")).to_be_visible()
            check(page)
        right()
        if heading != "When did you see it?":
            continue_(page)
    expect(page.get_by_role("heading", name="Check your answers before sending them")).to_be_visible()
    expect(page.get_by_text("Thursday 18 March 2021")).to_be_visible()
    expect(page.get_by_text("020 7946 0000")).to_be_visible()
    check(page)


def test_each_mistyped_contact_detail_gets_its_own_message(narrow_page, demo):
    page = narrow_page
    start(page, demo)
    page.get_by_label("What did you see or hear?").fill("I heard bangs.")
    for _ in range(3):
        continue_(page)
    page.get_by_label("I saw or heard what").check()
    continue_(page)
    page.get_by_label("Yes").check()
    continue_(page)

    page.get_by_label("Email address").fill("sam@")
    page.get_by_label("Phone number").fill("0770090098")
    continue_(page)
    expect_problem(page, "Enter an email address in the correct format, like name@example.com")
    expect_problem(page, "Enter a phone number, like 020 7946 0018 or +44 808 157 0192")
    expect(page.get_by_text("Enter an email address or a phone number")).to_have_count(0)
    expect(page.get_by_label("Email address")).to_have_class(IN_ERROR)
    expect(page.get_by_label("Phone number")).to_have_class(IN_ERROR)


def test_the_account_counts_its_characters_as_the_witness_types(narrow_page, demo):
    page = narrow_page
    start(page, demo)
    account = page.get_by_label("What did you see or hear?")
    count = page.locator(".govuk-character-count__status")
    # Below three quarters of the limit the count stays out of the way.
    account.fill("x" * 7_000)
    account.press("End")  # The character count updates on a key press.
    expect(count).to_be_hidden()
    account.fill("x" * 7_600)
    account.press("End")
    expect(count).to_be_visible()
    expect(count).to_have_text("You have 2,400 characters remaining")
    account.fill("x" * 10_050)
    account.press("End")
    expect(count).to_have_text("You have 50 characters too many")
    continue_(page)
    expect_problem(page, "What you saw or heard must be 10,000 characters or less")
    expect(count).to_be_visible()
    expect(count).to_have_text("You have 50 characters too many")


def test_sending_after_the_answers_expired_says_they_were_not_saved(narrow_page, demo, check):
    page = narrow_page
    start(page, demo)
    page.get_by_label("What did you see or hear?").fill("I heard bangs.")
    for _ in range(3):
        continue_(page)
    page.get_by_label("I saw or heard what").check()
    continue_(page)
    page.get_by_label("No, I want to stay anonymous").check()
    continue_(page)
    expect(page.get_by_role("heading", name="Check your answers before sending them")).to_be_visible()

    expire_sessions()
    page.get_by_role("button", name="Send information").click()
    expect(page.get_by_role("heading", name="Your answers have not been saved")).to_be_visible()
    expect(page.get_by_text("Nothing has been sent to the police.")).to_be_visible()
    expect(page.get_by_role("link", name="101", exact=True)).to_be_visible()
    check(page)
    assert not Submission.objects.exists()

    page.get_by_role("button", name="Start again").click()
    expect(page.get_by_label("What did you see or hear?")).to_have_value("")


def test_a_closed_appeal_says_it_has_closed_and_how_else_to_tell_the_police(narrow_page, demo, check):
    demo.close()
    page = narrow_page
    response = page.goto(f"/appeals/{demo.slug}/give-information/when/")
    assert response.status == 410
    expect(page.get_by_role("heading", name="This appeal has closed")).to_be_visible()
    expect(page.get_by_role("link", name="0800 555 111")).to_be_visible()
    expect(page.get_by_role("link", name="101", exact=True)).to_be_visible()
    check(page)
