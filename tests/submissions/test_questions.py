"""The question pages: GOV.UK errors shown after a redirect, only known answers kept, lost and closed journeys."""

import re
from datetime import timedelta

import pytest
from django.contrib.sessions.models import Session
from django.utils import timezone

from appeals.models import Appeal
from submissions.models import Submission
from tests.sessions import expire_sessions
from tests.submissions.test_give_information import ACCOUNT, ANSWERS, answer_all, url

pytestmark = pytest.mark.django_db


def answers_in_session(client, appeal):
    return client.session[f"give-information:{appeal.pk}"]


def input_classes(html, input_id):
    return re.search(rf'<(?:input|textarea) class="([^"]*)" id="{input_id}"', html).group(1).split()


def test_an_answer_with_a_problem_is_shown_again_by_a_get_with_its_values_and_errors(client, demo):
    client.post(url(demo), ANSWERS[""])
    response = client.post(url(demo, "when"), {"seen_on_0": "18", "seen_on_1": "3", "seen_on_2": ""})
    # Post/redirect/get: Back never asks to send the form again.
    assert response.status_code == 302
    assert response["Location"] == url(demo, "when")

    page = client.get(url(demo, "when"))
    assert page.status_code == 200
    assert page.text.count("The date you saw it must include a year") == 2, "in the summary and by the date"
    assert '<a href="#id_seen_on_2">The date you saw it must include a year</a>' in page.text
    assert 'value="18"' in page.text
    assert page.text.count("<title>Error: ") == 1
    assert "govuk-input--error" in input_classes(page.text, "id_seen_on_2")
    assert "govuk-input--error" not in input_classes(page.text, "id_seen_on_0")
    assert "govuk-input--error" not in input_classes(page.text, "id_seen_on_1")
    # Reloading shows the same again; nothing was kept as an answer.
    assert "must include a year" in client.get(url(demo, "when")).text
    assert "when" not in answers_in_session(client, demo)

    client.post(url(demo, "when"), {"seen_on_0": "18", "seen_on_1": "March", "seen_on_2": "2021"})
    assert "There is a problem" not in client.get(url(demo, "when")).text


def test_the_summary_links_to_the_first_wrong_part_of_the_date(client, demo):
    client.post(url(demo), ANSWERS[""])
    client.post(url(demo, "when"), {"seen_on_0": "", "seen_on_1": "3", "seen_on_2": ""})
    page = client.get(url(demo, "when")).text
    assert '<a href="#id_seen_on_0">The date you saw it must include a day and year</a>' in page
    assert "govuk-input--error" in input_classes(page, "id_seen_on_0")
    assert "govuk-input--error" not in input_classes(page, "id_seen_on_1")
    assert "govuk-input--error" in input_classes(page, "id_seen_on_2")


def test_the_date_pages_carry_no_stray_attributes(client, demo):
    client.post(url(demo), ANSWERS[""])
    assert "legend-size" not in client.get(url(demo, "when")).text


@pytest.mark.parametrize(
    ("date", "shown"),
    [
        (("18", "3", "2021"), "Thursday 18 March 2021 at 7:10pm"),
        (("18", "mar", "2021"), "Thursday 18 March 2021 at 7:10pm"),
        (("", "", ""), "7:10pm"),
    ],
)
def test_a_date_given_in_words_or_not_at_all_is_checked_as_given(client, demo, date, shown):
    day, month, year = date
    when = {"seen_on_0": day, "seen_on_1": month, "seen_on_2": year, "seen_at_time": "7:10pm"}
    answer_all(client, demo, {**ANSWERS, "when": when})
    assert shown in client.get(url(demo, "check")).text


@pytest.mark.parametrize(("date", "shown"), [(("18", "3", ""), "must include a year"), (("", "", "2021"), "day")])
def test_a_partial_date_is_never_dropped_silently(client, demo, date, shown):
    client.post(url(demo), ANSWERS[""])
    day, month, year = date
    client.post(url(demo, "when"), {"seen_on_0": day, "seen_on_1": month, "seen_on_2": year})
    assert shown in client.get(url(demo, "when")).text
    assert client.get(url(demo, "check"))["Location"] == url(demo, "when")


def test_only_the_fields_a_page_knows_are_kept(client, demo):
    junk = {f"junk{n}": "x" * 100 for n in range(900)}
    client.post(url(demo), {**ANSWERS[""], **junk})
    client.post(url(demo, "when"), {**ANSWERS["when"], **junk, "seen_at_time": "teatime"})
    answers = answers_in_session(client, demo)
    assert answers[""] == {"account": ACCOUNT}
    assert answers["rejected"] == {"step": "when", "data": {**ANSWERS["when"], "seen_at_time": "teatime"}}


def test_contact_details_typed_before_choosing_anonymous_are_not_kept(client, demo):
    answer_all(client, demo, {**ANSWERS, "contact": {"contact_choice": "contact"}})
    client.post(url(demo, "contact-details"), {"contact_email": "sam@example.org"})
    client.post(url(demo, "contact"), {"contact_choice": "anonymous"})
    assert "contact-details" not in answers_in_session(client, demo)
    assert "sam@example.org" not in Session.objects.get().session_data


def test_each_mistyped_contact_detail_has_its_own_message(client, demo):
    answer_all(client, demo, {**ANSWERS, "contact": {"contact_choice": "contact"}})
    client.post(url(demo, "contact-details"), {"contact_email": "sam@", "contact_phone": "0770090098"})
    page = client.get(url(demo, "contact-details")).text
    assert "Enter an email address in the correct format, like name@example.com" in page
    assert "Enter a phone number, like 020 7946 0018 or +44 808 157 0192" in page
    assert "Enter an email address or a phone number" not in page
    assert "govuk-input--error" in page.split('id="id_contact_email"')[0].rsplit("<input", 1)[1]

    client.post(url(demo, "contact-details"), {"contact_email": "", "contact_phone": "(020) 7946-0000"})
    client.post(url(demo, "check"))
    assert Submission.objects.get().contact_phone == "020 7946 0000"


def test_the_account_has_a_generous_limit_checked_without_javascript(client, demo):
    page = client.get(url(demo)).text
    assert 'data-module="govuk-character-count" data-maxlength="10000"' in page
    assert "You can enter up to 10,000 characters" in page
    assert "maxlength=" not in page.split("<textarea")[1].split(">")[0], "no hard limit that cuts off a paste"

    client.post(url(demo), {"account": "x" * 10_001})
    page = client.get(url(demo)).text
    assert "What you saw or heard must be 10,000 characters or less" in page
    assert "x" * 10_001 in page, "the account is given back to be shortened"
    assert "govuk-textarea--error" in input_classes(page, "id_account")

    # A line break counts as one character, as the character count counts it.
    lines = "\r\n".join(["x" * 99] * 100)
    assert client.post(url(demo), {"account": lines})["Location"] == url(demo, "when")


def test_a_huge_rejected_answer_is_not_kept_whole(client, demo):
    client.post(url(demo), {"account": "x" * 100_000})
    assert len(answers_in_session(client, demo)["rejected"]["data"]["account"]) == 20_000


def test_sending_after_the_answers_expired_says_so_instead_of_an_empty_form(client, demo):
    answer_all(client, demo)
    expire_sessions()

    response = client.post(url(demo, "check"))
    assert response["Location"] == url(demo, "not-saved")
    page = client.get(url(demo, "not-saved"))
    assert page.status_code == 200
    assert "Your answers have not been saved" in page.text
    assert "Nothing has been sent to the police" in page.text
    assert "24 hours" in page.text
    assert 'href="tel:101"' in page.text
    assert f'href="{url(demo)}"' in page.text
    assert not Submission.objects.exists()


@pytest.mark.parametrize("method", ["get", "post"])
def test_a_later_question_without_the_answers_before_it_says_they_are_lost(client, demo, method):
    response = getattr(client, method)(url(demo, "where"), {"seen_where": "Lanacre Avenue"})
    assert response["Location"] == url(demo, "not-saved")
    assert client.get(url(demo, "check"))["Location"] == url(demo, "not-saved")


def test_the_lost_answers_page_is_never_shown_to_someone_whose_answers_are_there(client, demo):
    answer_all(client, demo)
    assert client.get(url(demo, "not-saved"))["Location"] == url(demo, "check")


def test_a_witness_session_keeps_answers_for_a_day_idle(client, demo, settings):
    assert settings.SESSION_COOKIE_AGE >= 24 * 3600
    client.post(url(demo), ANSWERS[""])
    assert Session.objects.get().expire_date >= timezone.now() + timedelta(hours=23, minutes=59)


def test_abandoned_answers_are_purged_every_hour(client, demo, settings):
    from submissions.tasks import clear_expired_sessions

    schedule = {entry["task"]: entry["schedule"] for entry in settings.CELERY_BEAT_SCHEDULE.values()}
    assert schedule["submissions.tasks.clear_expired_sessions"] <= 3600
    client.post(url(demo), ANSWERS[""])
    other_browser = type(client)()
    other_browser.post(url(demo), {"account": "Typed, then left for more than a day."})
    abandoned = Session.objects.exclude(session_key=client.session.session_key)
    abandoned.update(expire_date=timezone.now() - timedelta(seconds=1))

    clear_expired_sessions.delay()
    assert Session.objects.get().session_key == client.session.session_key
    assert answers_in_session(client, demo)[""] == {"account": ACCOUNT}


@pytest.mark.parametrize("step", ["", "when", "where", "connection", "contact", "contact-details", "check"])
def test_every_page_of_a_closed_appeal_says_it_has_closed(client, demo, step):
    demo.close()
    response = client.get(url(demo, step))
    assert response.status_code == 410
    assert "This appeal has closed" in response.text
    assert 'href="tel:101"' in response.text
    assert 'href="tel:0800555111"' in response.text
    assert client.post(url(demo, step), ANSWERS.get(step, {})).status_code == 410
    assert not Submission.objects.exists()


def test_answers_started_before_the_appeal_closed_are_said_not_to_be_sent(client, demo):
    client.post(url(demo), ANSWERS[""])
    demo.close()
    assert "The answers you started have not been sent" in client.get(url(demo, "when")).text


def test_a_draft_appeal_has_no_journey(client, demo):
    demo.status = Appeal.Status.DRAFT
    demo.save(update_fields=["status"])
    assert client.get(url(demo)).status_code == 404
