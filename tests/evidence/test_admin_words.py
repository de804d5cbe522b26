"""The officers' site speaks their words: no "Django administration", no "Select submission to change"."""

import re
from datetime import date, time

import pytest
from django.test import Client
from django.urls import reverse

from evidence.triage import add_note, change_state
from submissions.models import Submission
from tests.officers import sign_in

pytestmark = pytest.mark.django_db
DJANGO_WORDS = [
    "Django",
    "Select submission",
    " to change",
    "Change submission",
    "Change appeal",
    "Add incident",
    "Submission note",
]


def title_and_heading(page):
    title = re.search(r"<title>(.*?)</title>", page, re.S).group(1).strip()
    heading = re.search(r"<h1>(.*?)</h1>", page, re.S).group(1).strip()
    return title, heading


def assert_officers_words(page):
    for words in DJANGO_WORDS:
        assert words not in page


def test_the_submission_list_and_page_are_named_as_officers_name_them(client, north):
    sign_in(client, north.officer)
    listing = client.get(reverse("admin:submissions_submission_changelist")).content.decode()
    assert title_and_heading(listing) == ("Submissions | Witness appeals: officers", "Submissions")
    assert_officers_words(listing)
    page = client.get(north.submission.get_admin_url()).content.decode()
    reference = north.submission.reference
    assert title_and_heading(page) == (f"Submission {reference} | Witness appeals: officers", f"Submission {reference}")
    assert_officers_words(page)


def test_a_new_record_is_new_not_added(client, north):
    sign_in(client, north.officer)
    listing = client.get(reverse("admin:incidents_incident_changelist")).content.decode()
    assert ">New incident</a>" in listing
    assert_officers_words(listing)
    page = client.get(reverse("admin:incidents_incident_add")).content.decode()
    assert title_and_heading(page) == ("New incident | Witness appeals: officers", "New incident")
    assert_officers_words(page)


def test_the_sign_in_and_lockout_pages_carry_the_officers_site_name(north, settings):
    client = Client()
    login = client.get(reverse("admin:login")).content.decode()
    assert "<title>Sign in | Witness appeals: officers</title>" in login
    for _ in range(settings.AXES_FAILURE_LIMIT):
        locked = client.post(reverse("admin:login"), {"username": north.officer.username, "password": "wrong"})
    assert locked.status_code == 429
    page = locked.content.decode()
    assert title_and_heading(page) == (
        "Too many failed sign-in attempts | Witness appeals: officers",
        "Too many failed sign-in attempts",
    )
    assert '<a href="/admin/">Witness appeals: officers</a>' in page
    assert_officers_words(page)


def test_each_part_of_a_date_and_time_field_has_its_label(client, north):
    sign_in(client, north.officer)
    page = client.get(reverse("admin:appeals_appeal_change", args=[north.appeal.pk])).content.decode()
    for part in ["window_starts_at_0", "window_starts_at_1", "window_ends_at_0", "window_ends_at_1"]:
        assert f'<label for="id_{part}">' in page


def test_dates_times_and_notes_read_the_govuk_way(client, north):
    submission = north.submission
    submission.seen_on, submission.seen_at_time = date(2021, 3, 18), time(19, 10)
    submission.save()
    add_note(submission=submission, by=north.officer, text="Checked the dashcam timestamp.")
    change_state(submission=submission, to=Submission.State.NO_FURTHER_ACTION, by=north.officer, reason="Too far away")
    sign_in(client, north.officer)
    page = client.get(submission.get_admin_url()).content.decode()
    text = " ".join(re.sub(r"<[^>]+>", " ", page).split())
    assert "Date seen: 18 March 2021" in text
    assert "Time seen: 7:10pm" in text
    assert re.search(r"Decided: \d{1,2} \w+ \d{4} at \d{1,2}:\d\d[ap]m", text)
    assert "Review due: " in text
    assert "Note 1 Text: Checked the dashcam timestamp." in text
    assert "Add a note" in text
    for django_words in ("Mar. ", "p.m.", "Decided at", "Note: #", "Note by"):
        assert django_words not in text
