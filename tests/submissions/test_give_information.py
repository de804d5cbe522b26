import pytest
from django.core import mail

from submissions.models import Submission

VALID = {
    "account": "I saw six people running past the shops, then heard three bangs.",
    "seen_on_0": "18",
    "seen_on_1": "3",
    "seen_on_2": "2021",
    "seen_at_time": "7:10pm",
    "seen_where": "Lanacre Avenue",
    "relationship": Submission.Relationship.SAW_OR_HEARD,
    "contact_choice": "anonymous",
}


def form_url(appeal):
    return f"/appeals/{appeal.slug}/give-information/"


@pytest.mark.django_db
def test_the_form_is_linked_from_the_appeal_and_renders(client, demo):
    assert form_url(demo) in client.get(demo.get_absolute_url()).text
    response = client.get(form_url(demo))
    assert response.status_code == 200
    assert "What did you see or hear?" in response.text


@pytest.mark.django_db
def test_an_anonymous_account_is_stored_and_the_reference_shown(client, demo, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(form_url(demo), {**VALID, "contact_email": "typed-then-changed-mind@example.org"})
    assert response.status_code == 302

    submission = Submission.objects.get()
    assert submission.appeal == demo
    assert submission.is_anonymous
    assert submission.contact_email == ""
    assert str(submission.seen_at_time) == "19:10:00"
    assert submission.state == Submission.State.NEW

    confirmation = client.get(response["Location"])
    assert confirmation.status_code == 200
    assert submission.reference in confirmation.text


@pytest.mark.django_db
def test_a_contactable_witness_gives_an_email_or_phone(client, demo):
    response = client.post(form_url(demo), {**VALID, "contact_choice": "contact", "contact_name": "Sam"})
    assert response.status_code == 200
    assert "Enter an email address or a phone number" in response.text
    assert not Submission.objects.exists()

    response = client.post(form_url(demo), {**VALID, "contact_choice": "contact", "contact_phone": "07700 900123"})
    assert response.status_code == 302
    assert Submission.objects.get().contact_phone == "07700 900123"


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"account": ""}, "Enter what you saw or heard"),
        ({"contact_choice": ""}, "Choose whether officers can contact you"),
        ({"seen_at_time": "teatime"}, "Enter a time like 7:10pm or 19:10"),
        ({"seen_on_0": "31", "seen_on_1": "2"}, "day"),
        ({"seen_on_2": "2999"}, "today or in the past"),
    ],
)
def test_invalid_input_re_renders_the_form_with_a_clear_error(client, demo, change, message):
    response = client.post(form_url(demo), {**VALID, **change})
    assert response.status_code == 200
    assert "There is a problem" in response.text
    assert message in response.text
    assert not Submission.objects.exists()


@pytest.mark.django_db
def test_the_confirmation_page_needs_the_witness_own_session(client, demo):
    client.post(form_url(demo), VALID)
    other_browser = type(client)()
    assert other_browser.get(f"{form_url(demo)}done/").status_code == 404


@pytest.mark.django_db
def test_officers_are_emailed_the_reference_without_the_account(client, demo, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        client.post(form_url(demo), VALID)
    submission = Submission.objects.get()

    assert [message.to for message in mail.outbox] == [["gemma.alger@example.org"]]
    assert submission.reference in mail.outbox[0].body
    assert f"/admin/submissions/submission/{submission.pk}/change/" in mail.outbox[0].body
    assert VALID["account"] not in mail.outbox[0].body
