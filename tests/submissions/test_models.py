import re

import pytest
from django.db import IntegrityError

from submissions.references import new_receipt_reference
from tests.factories import make_appeal, make_submission


def test_receipt_references_are_easy_to_read_aloud():
    for _ in range(500):
        reference = new_receipt_reference()
        assert re.fullmatch(r"[2-9A-HJKMNP-Z]{4}-[2-9A-HJKMNP-Z]{4}", reference)
        assert not set(reference) & set("01OIL")


@pytest.mark.django_db
def test_every_submission_gets_its_own_reference():
    appeal = make_appeal()
    references = {make_submission(appeal).reference for _ in range(20)}
    assert len(references) == 20


@pytest.mark.django_db
def test_an_anonymous_submission_cannot_keep_contact_details():
    with pytest.raises(IntegrityError):
        make_submission(make_appeal(), is_anonymous=True, contact_email="witness@example.org")


@pytest.mark.django_db
def test_a_contactable_submission_needs_an_email_or_a_phone_number():
    appeal = make_appeal()
    with pytest.raises(IntegrityError):
        make_submission(appeal, is_anonymous=False, contact_name="Sam")
    assert make_submission(appeal, is_anonymous=False, contact_phone="07700 900123").pk


@pytest.mark.django_db
def test_nothing_about_the_witness_device_or_network_is_stored():
    from submissions.models import MediaFile, Submission

    fields = {field.name for model in (Submission, MediaFile) for field in model._meta.get_fields()}
    words = {word for name in fields for word in name.split("_")}
    assert not words & {"ip", "agent", "remote", "addr", "browser", "device"}
