import json
import re

import pytest
from django.core import mail

from submissions.models import Submission
from submissions.references import hash_upload_token, seal_upload_token
from submissions.views import SESSION_KEY

ACCOUNT = "I saw six people running past the shops, then heard three bangs."
ANSWERS = {
    "": {"account": ACCOUNT},
    "when": {"seen_on_0": "18", "seen_on_1": "3", "seen_on_2": "2021", "seen_at_time": "7:10pm"},
    "where": {"seen_where": "Lanacre Avenue"},
    "connection": {"relationship": Submission.Relationship.SAW_OR_HEARD},
    "contact": {"contact_choice": "anonymous"},
}


def url(appeal, step=""):
    base = f"/appeals/{appeal.slug}/give-information/"
    return f"{base}{step}/" if step else base


def answer_all(client, appeal, answers=ANSWERS):
    for step, data in answers.items():
        response = client.post(url(appeal, step), data)
        assert response.status_code == 302, (step, response.content)
    return response


@pytest.mark.django_db
def test_the_journey_starts_from_the_appeal_with_one_question_per_page(client, demo):
    assert url(demo) in client.get(demo.get_absolute_url()).text
    response = client.get(url(demo))
    assert response.status_code == 200
    assert "What did you see or hear?" in response.text
    assert "Date" not in response.text

    assert client.post(url(demo), ANSWERS[""])["Location"] == url(demo, "when")
    assert client.post(url(demo, "when"), ANSWERS["when"])["Location"] == url(demo, "where")
    assert client.post(url(demo, "where"), ANSWERS["where"])["Location"] == url(demo, "connection")
    assert client.post(url(demo, "connection"), ANSWERS["connection"])["Location"] == url(demo, "contact")
    assert client.post(url(demo, "contact"), {"contact_choice": "anonymous"})["Location"] == url(demo, "check")
    assert client.post(url(demo, "contact"), {"contact_choice": "contact"})["Location"] == url(demo, "contact-details")


@pytest.mark.django_db
def test_nothing_is_stored_until_the_witness_checks_and_sends(client, demo, django_capture_on_commit_callbacks):
    answer_all(client, demo)
    assert not Submission.objects.exists()

    check = client.get(url(demo, "check"))
    assert check.status_code == 200
    assert ACCOUNT in check.text
    assert "Lanacre Avenue" in check.text
    assert "Thursday 18 March 2021 at 7:10pm" in check.text
    assert "Anonymous" in check.text

    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(url(demo, "check"))
    submission = Submission.objects.get()
    assert submission.is_anonymous
    assert submission.account == ACCOUNT
    assert str(submission.seen_at_time) == "19:10:00"

    # The page after sending is the private add-footage page: its address is the witness's link.
    token = re.fullmatch(r"/footage/([^/]+)/", response["Location"]).group(1)
    assert submission.upload_token_hash == hash_upload_token(token)
    assert len(token) >= 22, "at least 128 bits of randomness"
    for _visit in ("after sending", "on reload"):
        page = client.get(response["Location"])
        assert "govuk-panel--confirmation" in page.text
        assert submission.reference in page.text
        assert f'<p class="govuk-body app-capability-link">http://testserver/footage/{token}/</p>' in page.text
    # Only the reference is kept, so a copy of the session store cannot be used to add files.
    assert token not in json.dumps(dict(client.session.items()))
    assert client.session[SESSION_KEY] == submission.reference


@pytest.mark.django_db
def test_back_after_sending_never_sends_twice(client, demo):
    answer_all(client, demo)
    client.post(url(demo, "check"))
    assert client.get(url(demo, "check"))["Location"] == url(demo, "done")
    assert client.post(url(demo, "check")).status_code == 302
    assert Submission.objects.count() == 1
    # The receipt again, and where the private link is; the link itself is nowhere to be had but there.
    done = client.get(url(demo, "done"))
    assert Submission.objects.get().reference in done.text
    assert "Forward button" in done.text
    assert "/footage/" not in done.text


@pytest.mark.django_db
def test_a_changed_answer_returns_to_check_your_answers(client, demo):
    answer_all(client, demo)
    client.get(url(demo, "check"))
    response = client.post(url(demo, "where"), {"seen_where": "Colindale station"})
    assert response["Location"] == url(demo, "check")
    assert "Colindale station" in client.get(url(demo, "check")).text
    # Choosing to be contactable asks for the details before going back.
    assert client.post(url(demo, "contact"), {"contact_choice": "contact"})["Location"] == url(demo, "contact-details")


@pytest.mark.django_db
def test_a_date_outside_the_appeal_is_a_gentle_hint_not_a_block(client, demo):
    answer_all(client, demo, {**ANSWERS, "when": {"seen_on_0": "20", "seen_on_1": "3", "seen_on_2": "2021"}})
    check = client.get(url(demo, "check"))
    assert "not the day this appeal is about" in check.text
    client.post(url(demo, "check"))
    assert Submission.objects.get().seen_on.day == 20


@pytest.mark.django_db
def test_a_contactable_witness_gets_a_receipt_email_without_the_account(
    client, demo, django_capture_on_commit_callbacks
):
    answers = {**ANSWERS, "contact": {"contact_choice": "contact"}}
    answer_all(client, demo, answers)
    response = client.post(url(demo, "contact-details"), {"contact_name": "Sam"}, follow=True)
    assert response.status_code == 200
    assert "Enter an email address or a phone number" in response.text

    client.post(url(demo, "contact-details"), {"contact_name": "Sam", "contact_email": "sam@example.org"})
    with django_capture_on_commit_callbacks(execute=True):
        client.post(url(demo, "check"))
    submission = Submission.objects.get()
    assert submission.contact_email == "sam@example.org"
    assert not submission.is_anonymous

    receipts = [message for message in mail.outbox if message.to == ["sam@example.org"]]
    assert len(receipts) == 1
    receipt = receipts[0]
    assert submission.reference in receipt.body
    token = re.search(r"/footage/([^/\s]+)/", receipt.body).group(1)
    assert submission.upload_token_hash == hash_upload_token(token)
    assert ACCOUNT not in receipt.body
    assert "Lanacre" not in receipt.body
    assert submission.receipt_sent_at is not None
    assert submission.receipt_token == "", "the token is kept only until the receipt is sent"


@pytest.mark.django_db
def test_an_anonymous_witness_keeps_no_contact_details(client, demo):
    answer_all(client, demo, {**ANSWERS, "contact": {"contact_choice": "contact"}})
    client.post(url(demo, "contact-details"), {"contact_email": "typed-then-changed-mind@example.org"})
    client.post(url(demo, "contact"), {"contact_choice": "anonymous"})
    client.post(url(demo, "check"))
    submission = Submission.objects.get()
    assert submission.is_anonymous
    assert submission.contact_email == ""
    assert not mail.outbox or all(message.to != ["typed-then-changed-mind@example.org"] for message in mail.outbox)


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("step", "data", "message"),
    [
        ("", {"account": ""}, "Enter what you saw or heard"),
        ("contact", {}, "Choose whether officers can contact you"),
        ("connection", {}, "Choose how you are connected"),
        ("when", {"seen_at_time": "teatime"}, "Enter a time like 7:10pm or 19:10"),
        ("when", {"seen_on_0": "31", "seen_on_1": "2", "seen_on_2": "2021"}, "The date you saw it must be a real date"),
        ("when", {"seen_on_0": "1", "seen_on_1": "1", "seen_on_2": "2999"}, "today or in the past"),
    ],
)
def test_invalid_answers_show_the_error_summary(client, demo, step, data, message):
    if step:
        client.post(url(demo), ANSWERS[""])
    response = client.post(url(demo, step), data, follow=True)
    assert response.status_code == 200
    assert "There is a problem" in response.text
    assert message in response.text


@pytest.mark.django_db
def test_check_your_answers_sends_the_witness_back_to_a_missing_answer(client, demo):
    client.post(url(demo), ANSWERS[""])
    assert client.get(url(demo, "check"))["Location"] == url(demo, "when")


@pytest.mark.django_db
def test_the_confirmation_page_needs_the_witness_own_session(client, demo):
    answer_all(client, demo)
    client.post(url(demo, "check"))
    other_browser = type(client)()
    assert other_browser.get(url(demo, "done")).status_code == 404


@pytest.mark.django_db
def test_officers_are_emailed_the_reference_without_the_account(client, demo, django_capture_on_commit_callbacks):
    answer_all(client, demo)
    with django_capture_on_commit_callbacks(execute=True):
        client.post(url(demo, "check"))
    submission = Submission.objects.get()

    assert [message.to for message in mail.outbox] == [["gemma.alger@example.org"]]
    assert submission.reference in mail.outbox[0].body
    assert f"/admin/submissions/submission/{submission.pk}/change/" in mail.outbox[0].body
    assert ACCOUNT not in mail.outbox[0].body


@pytest.mark.django_db
def test_the_receipt_is_sent_once_however_often_the_task_runs(demo):
    from submissions.tasks import notify_witness_receipt
    from tests.factories import make_submission

    submission = make_submission(demo, contact_email="sam@example.org", receipt_token=seal_upload_token("the-token"))
    notify_witness_receipt(submission.pk)
    notify_witness_receipt(submission.pk)
    assert len(mail.outbox) == 1
    assert "/footage/the-token/" in mail.outbox[0].body


def test_every_sweep_and_the_expiry_of_abandoned_uploads_run_on_beat(settings):
    schedule = {entry["task"]: entry["schedule"] for entry in settings.CELERY_BEAT_SCHEDULE.values()}
    assert schedule["submissions.tasks.expire_uploads"] <= 3600
    for sweep in [
        "submissions.tasks.sweep_stuck_media",
        "submissions.tasks.sweep_unsent_notifications",
        "submissions.tasks.store_whole_uploads",
        "evidence.tasks.sweep_stuck_exports",
    ]:
        assert schedule[sweep] <= 300
