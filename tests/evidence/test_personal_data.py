"""A data protection officer finds, exports and redacts one person's data, in every incident, audited."""

import json

import pytest
from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.urls import reverse

from evidence import personal_data
from evidence.audit import record
from evidence.models import AuditEntry
from incidents.roles import DATA_PROTECTION_OFFICERS, ensure_roles
from submissions.models import Submission, SubmissionNote
from tests.factories import make_submission
from tests.officers import make_triage_officer, sign_in

pytestmark = pytest.mark.django_db

SEARCH = reverse("admin:personal_data_search")


@pytest.fixture
def dpo(db):
    officer = make_triage_officer("dpo")
    officer.groups.add(ensure_roles()[DATA_PROTECTION_OFFICERS])
    return officer


@pytest.fixture
def witness(north, south):
    """The same witness in two incidents of two teams (the email typed differently), and somebody else."""
    contact = {"contact_name": "Sam Witness", "contact_phone": "020 7946 0018"}
    first = make_submission(north.appeal, contact_email="Sam.Witness@Example.com", **contact)
    second = make_submission(south.appeal, contact_email="sam.witness@example.com", account="I filmed the van.")
    other = make_submission(south.appeal, contact_email="someone.else@example.com", contact_phone="07911 123456")
    return first, second, other


def references(submissions):
    return {submission.reference for submission in submissions}


def test_an_ordinary_officer_cannot_search_or_redact(client, north, witness):
    sign_in(client, north.officer)
    assert client.get(SEARCH).status_code == 403
    assert client.post(SEARCH, {"term": "sam.witness@example.com"}).status_code == 403
    redact = reverse("admin:personal_data_redact", args=[witness[0].pk])
    assert client.post(redact, {"reason": "Erasure request"}).status_code == 403
    assert Submission.objects.get(pk=witness[0].pk).contact_email == "Sam.Witness@Example.com"
    assert not AuditEntry.objects.filter(action__contains="personal_data").exists()


def test_finds_every_submission_with_the_email_in_any_case_and_in_every_incident(client, dpo, witness):
    first, second, _other = witness
    response = sign_in(client, dpo).post(SEARCH, {"term": "  SAM.witness@example.COM "})
    assert response.status_code == 200
    assert references(response.context["found"]) == {first.reference, second.reference}
    assert "2 submissions found" in response.content.decode()


@pytest.mark.parametrize("typed", ["020 7946 0018", "02079460018", "+44 20 7946 0018", "(020) 7946-0018"])
def test_finds_by_phone_number_in_any_format(dpo, witness, typed):
    found = personal_data.search(term=personal_data.Term.read(typed), by=dpo)
    assert references(found) == {witness[0].reference}


@pytest.mark.parametrize("typed", ["07700 900123", "+44 7700 900123", "07700900123"])
def test_finds_a_number_that_the_journey_would_refuse_now_in_any_format(client, dpo, witness, typed):
    # Ofcom keeps 07700 900xxx for drama, so libphonenumber counts it as no real number, yet one may be
    # stored: given before the journey checked numbers, or from a range withdrawn since.
    stored = make_submission(witness[0].appeal, contact_phone="07700 900123", account="I heard the shots.")
    response = sign_in(client, dpo).post(SEARCH, {"term": typed})
    assert response.status_code == 200
    assert references(response.context["found"]) == {stored.reference}
    assert "1 submission found" in response.content.decode()
    searched = AuditEntry.objects.get(action=AuditEntry.Action.SEARCHED_PERSONAL_DATA)
    assert searched.detail["term_hmac"] == personal_data.Term("phone", "07700 900123").digest()


@pytest.mark.parametrize("typed", ["12345", "999", "020 7946 00189", "+44"])
def test_digits_that_cannot_be_a_whole_phone_number_are_refused_unaudited(client, dpo, witness, typed):
    response = sign_in(client, dpo).post(SEARCH, {"term": typed})
    assert response.context["found"] is None
    assert "Enter an email address" in response.content.decode()
    assert not AuditEntry.objects.exists()


def test_a_search_is_audited_with_a_keyed_hash_of_the_term_not_the_term(client, dpo, witness):
    sign_in(client, dpo).post(SEARCH, {"term": "Sam.Witness@example.com"})
    sign_in(client, dpo).post(SEARCH, {"term": "nobody@example.com"})
    entries = list(AuditEntry.objects.filter(action=AuditEntry.Action.SEARCHED_PERSONAL_DATA))
    assert len(entries) == 2
    assert {entry.actor for entry in entries} == {dpo}
    assert entries[0].detail["found"] == [witness[0].reference, witness[1].reference]
    assert entries[1].detail["found"] == []
    assert entries[0].detail["term_hmac"] == personal_data.Term("email", "sam.witness@example.com").digest()
    for entry in entries:
        assert "example.com" not in json.dumps(entry.detail)
        assert entry.submission is None


def test_an_input_that_is_neither_email_nor_phone_is_refused_unaudited(client, dpo, witness):
    response = sign_in(client, dpo).post(SEARCH, {"term": "Sam Witness"})
    assert response.context["found"] is None
    assert "Enter an email address" in response.content.decode()
    assert not AuditEntry.objects.exists()


def test_the_export_holds_what_is_kept_about_the_person(client, north, dpo, witness):
    first, second, _other = witness
    SubmissionNote.objects.create(submission=first, author=north.officer, text="Called the witness back.")
    response = sign_in(client, dpo).post(SEARCH, {"term": "sam.witness@example.com", "export": "1"})
    assert response.status_code == 200
    assert response["Content-Type"] == "application/json; charset=utf-8"
    assert response["Content-Disposition"].startswith('attachment; filename="personal-data-')
    assert "no-store" in response["Cache-Control"]
    document = json.loads(response.content)
    assert document["searched_for"] == {"kind": "email", "value": "sam.witness@example.com"}
    assert document["exported_by"] == "dpo"
    held = {item["reference"]: item for item in document["submissions"]}
    assert set(held) == {first.reference, second.reference}
    assert held[first.reference]["incident"] == north.incident.reference
    assert held[first.reference]["appeal"] == north.appeal.headline
    assert held[first.reference]["contact_details"] == {
        "name": "Sam Witness",
        "email": "Sam.Witness@Example.com",
        "phone": "020 7946 0018",
    }
    assert held[second.reference]["what_they_told_us"]["account"] == "I filmed the van."
    assert held[first.reference]["received_at"].startswith(first.created_at.isoformat()[:19])
    assert held[first.reference]["files"] == []
    assert held[first.reference]["officers_notes"] == [
        {"written_at": held[first.reference]["officers_notes"][0]["written_at"], "text": "Called the witness back."}
    ]
    assert held[first.reference]["state"] == "New"
    exported = AuditEntry.objects.filter(action=AuditEntry.Action.EXPORTED_PERSONAL_DATA)
    assert {entry.submission for entry in exported} == {first, second}


def test_the_readable_export_is_a_page_for_the_person_holding_the_same(client, north, dpo, witness):
    first, second, _other = witness
    SubmissionNote.objects.create(submission=first, author=north.officer, text="Called the witness back.")
    response = sign_in(client, dpo).post(SEARCH, {"term": "sam.witness@example.com", "export_readable": "1"})
    assert response["Content-Type"] == "text/html; charset=utf-8"
    assert response["Content-Disposition"].startswith('attachment; filename="personal-data-')
    assert response["Content-Disposition"].endswith('.html"')
    assert "no-store" in response["Cache-Control"]
    page = response.content.decode()
    assert "<h1>Information Metropolitan Police holds about sam.witness@example.com</h1>" in page
    for text in [
        f"<h2>Submission {first.reference}</h2>",
        f"<h2>Submission {second.reference}</h2>",
        "Sam.Witness@Example.com",
        "020 7946 0018",
        "I filmed the van.",
        "Called the witness back.",
        north.incident.reference,
    ]:
        assert text in page
    exported = AuditEntry.objects.filter(action=AuditEntry.Action.EXPORTED_PERSONAL_DATA)
    assert {entry.submission for entry in exported} == {first, second}


def test_the_export_lists_each_file_by_name_size_and_hash(dpo, north):
    Submission.objects.filter(pk=north.submission.pk).update(is_anonymous=False, contact_phone="07911 123456")
    document = json.loads(personal_data.export(term=personal_data.Term.read("07911123456"), by=dpo))
    (held,) = document["submissions"]
    assert held["files"] == [
        {
            "name": "DASH0001.MP4",
            "size_bytes": north.media_file.size,
            "sha256": north.media_file.sha256,
            "type": "video/mp4",
            "received_at": held["files"][0]["received_at"],
        }
    ]


def test_redaction_blanks_the_contact_details_keeps_the_account_and_is_audited(client, dpo, witness):
    first = witness[0]
    Submission.objects.filter(pk=first.pk).update(receipt_token="sealed-token")
    redact = reverse("admin:personal_data_redact", args=[first.pk])
    sign_in(client, dpo)
    page = client.get(redact)
    assert "Sam.Witness@Example.com" in page.content.decode()
    assert client.post(redact, {"reason": ""}).status_code == 200  # a reason is needed
    response = client.post(redact, {"reason": "Erasure request from the witness, DPO case 114"})
    assert response.status_code == 302
    stored = Submission.objects.get(pk=first.pk)
    assert (stored.contact_name, stored.contact_email, stored.contact_phone) == ("", "", "")
    assert stored.is_anonymous and stored.receipt_token == ""
    assert stored.account == first.account
    (entry,) = AuditEntry.objects.filter(action=AuditEntry.Action.REDACTED_CONTACT_DETAILS)
    assert (entry.actor, entry.submission, entry.reason) == (
        dpo,
        stored,
        "Erasure request from the witness, DPO case 114",
    )
    assert entry.detail == {"removed": ["contact_name", "contact_email", "contact_phone"]}
    # The person is no longer found there; their other submission still is, until it is redacted too.
    found = personal_data.search(term=personal_data.Term.read("sam.witness@example.com"), by=dpo)
    assert references(found) == {witness[1].reference}
    # Nothing is left to remove, so asking again changes and records nothing.
    assert "holds no contact details" in client.post(redact, {"reason": "Again, by mistake"}).content.decode()
    assert AuditEntry.objects.filter(action=AuditEntry.Action.REDACTED_CONTACT_DETAILS).count() == 1


def test_the_index_links_to_the_search_for_data_protection_officers_only(client, north, dpo):
    assert SEARCH in sign_in(client, dpo).get(reverse("admin:index")).content.decode()
    assert SEARCH not in sign_in(client, north.officer).get(reverse("admin:index")).content.decode()


def test_only_a_search_or_export_of_a_persons_data_is_audited_without_a_submission(dpo):
    with pytest.raises(ValidationError):
        record(actor=dpo, action=AuditEntry.Action.VIEWED_SUBMISSION, submission=None)
    with pytest.raises(IntegrityError), transaction.atomic():
        AuditEntry.objects.create(actor=dpo, action=AuditEntry.Action.REDACTED_CONTACT_DETAILS, submission=None)
