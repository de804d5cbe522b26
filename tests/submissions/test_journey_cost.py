"""What each page of the journey costs the database, and what the caches may and may not do to a witness's answers."""

import pytest
from django.core.exceptions import ValidationError
from django.db import IntegrityError

from submissions.models import Submission
from submissions.services import create_submission
from tests.submissions.test_give_information import ANSWERS, url

pytestmark = pytest.mark.django_db


def test_an_officers_change_to_the_appeal_reaches_the_journey_at_once(client, demo):
    client.post(url(demo), ANSWERS[""])
    assert demo.headline in client.get(url(demo, "when")).text
    demo.headline = "Shots fired in Colindale: new pictures"
    demo.save(update_fields=["headline"])
    assert "Shots fired in Colindale: new pictures" in client.get(url(demo, "when")).text
    demo.close()
    assert client.get(url(demo, "when")).status_code == 410


def test_without_the_server_side_copy_every_page_reads_the_appeal(client, demo, settings, django_assert_num_queries):
    settings.PUBLIC_PAGE_CACHE_SECONDS = 0
    client.get(url(demo))
    with django_assert_num_queries(1):
        client.get(url(demo))


def test_sending_still_checks_every_field_it_stores(demo):
    with pytest.raises(ValidationError, match="valid email"):
        create_submission(appeal=demo, submission=Submission(account="I heard bangs.", contact_email="not-an-email"))
    assert not Submission.objects.exists()


def test_the_database_refuses_a_submission_that_is_neither_anonymous_nor_contactable(demo):
    with pytest.raises(IntegrityError, match="submission_anonymous_or_contactable"):
        create_submission(appeal=demo, submission=Submission(account="I heard bangs.", is_anonymous=False))
    assert not Submission.objects.exists()
