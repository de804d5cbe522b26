"""What each page of the journey costs the database, and what the caches may and may not do to a witness's answers."""

import pytest
from django.core.exceptions import ValidationError
from django.db import IntegrityError

from submissions.models import Submission
from submissions.services import create_submission

pytestmark = pytest.mark.django_db


def test_sending_still_checks_every_field_it_stores(demo):
    with pytest.raises(ValidationError, match="valid email"):
        create_submission(appeal=demo, submission=Submission(account="I heard bangs.", contact_email="not-an-email"))
    assert not Submission.objects.exists()


def test_the_database_refuses_a_submission_that_is_neither_anonymous_nor_contactable(demo):
    with pytest.raises(IntegrityError, match="submission_anonymous_or_contactable"):
        create_submission(appeal=demo, submission=Submission(account="I heard bangs.", is_anonymous=False))
    assert not Submission.objects.exists()
