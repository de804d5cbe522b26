"""What each page of the journey costs the database, and what the caches may and may not do to a witness's answers."""

import re

import pytest
from django.contrib.auth import SESSION_KEY as SIGNED_IN
from django.contrib.sessions.backends.cached_db import KEY_PREFIX
from django.contrib.sessions.models import Session
from django.core.cache import cache
from django.core.exceptions import ValidationError
from django.db import IntegrityError, connection
from django.test import Client
from django.test.utils import CaptureQueriesContext

from submissions.models import Submission
from submissions.services import create_submission
from submissions.views import journey_key
from tests.conftest import clear_cache
from tests.officers import sign_in
from tests.submissions.test_give_information import ANSWERS, url

pytestmark = pytest.mark.django_db

CONTACTABLE = {
    **ANSWERS,
    "contact": {"contact_choice": "contact"},
    "contact-details": {"contact_name": "Sam", "contact_email": "sam@example.org"},
}
CACHED = "config.sessions.cached"


@pytest.fixture
def cached_sessions(settings):
    settings.SESSION_ENGINE = CACHED


def cached_copy(client):
    return cache.get(KEY_PREFIX + client.cookies["sessionid"].value)


@pytest.mark.parametrize(("engine", "session_reads"), [("config.sessions", 1), (CACHED, 0)])
def test_each_page_of_the_journey_makes_at_most_its_queries(
    client, demo, settings, django_assert_max_num_queries, engine, session_reads
):
    settings.SESSION_ENGINE = engine
    # The appeal is read once, then kept in the cache; the first answer starts the session (a free key, the insert).
    with django_assert_max_num_queries(1):
        client.get(url(demo))
    with django_assert_max_num_queries(4):
        client.post(url(demo), CONTACTABLE[""])
    for step, answer in list(CONTACTABLE.items())[1:]:
        with django_assert_max_num_queries(session_reads):
            assert client.get(url(demo, step)).status_code == 200
        # The answer is written to the database (in a transaction: 3 statements), checked without a query.
        with django_assert_max_num_queries(session_reads + 3):
            assert client.post(url(demo, step), answer).status_code == 302
    # Check your answers marks the answers as being checked, once.
    with django_assert_max_num_queries(session_reads + 3):
        assert client.get(url(demo, "check")).status_code == 200
    with django_assert_max_num_queries(session_reads):
        assert client.get(url(demo, "check")).status_code == 200
    # The submission (a savepoint around it, for a fresh reference) and the session without the answers.
    with django_assert_max_num_queries(session_reads + 8):
        sent = client.post(url(demo, "check"))
    # The receipt: the submission, the backlog of files waiting, its files, and its uploads received into
    # object storage whose SHA-256 is still being taken.
    with django_assert_max_num_queries(session_reads + 4):
        assert client.get(sent["Location"]).status_code == 200
    assert Submission.objects.get().contact_email == "sam@example.org"


@pytest.mark.django_db(transaction=True)
def test_as_in_production_an_answer_is_one_update_of_the_stored_session(client, demo, cached_sessions):
    # Out of a test's transaction, as gunicorn runs it: no BEGIN and COMMIT around the session's UPDATE.
    client.post(url(demo), ANSWERS[""])
    with CaptureQueriesContext(connection) as queries:
        assert client.post(url(demo, "when"), ANSWERS["when"]).status_code == 302
    assert [query["sql"].split()[0] for query in queries] == ["UPDATE"]
    clear_cache()
    stored = Session.objects.get().get_decoded()[journey_key(demo)]
    assert stored[""]["account"] == ANSWERS[""]["account"]
    assert stored["when"]["seen_at_time"] == "7:10pm"


@pytest.mark.django_db(transaction=True)
def test_an_answer_to_a_session_gone_from_the_database_is_refused_as_django_refuses_it(client, demo, cached_sessions):
    client.post(url(demo), ANSWERS[""])
    Session.objects.all().delete()
    assert client.post(url(demo, "when"), ANSWERS["when"]).status_code == 400


def test_a_blank_question_is_rendered_once_for_everyone_and_posts_with_each_witness_own_token(demo):
    witnesses = [Client(enforce_csrf_checks=True), Client(enforce_csrf_checks=True)]
    pages = [witness.get(url(demo, "")).text for witness in witnesses]
    tokens = [re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', page).group(1) for page in pages]
    assert tokens[0] != tokens[1]
    assert pages[0].replace(tokens[0], "") == pages[1].replace(tokens[1], "")
    assert '<form novalidate method="post"><input type="hidden" name="csrfmiddlewaretoken"' in pages[0]
    for witness, token in zip(witnesses, tokens, strict=True):
        assert witness.post(url(demo), {**ANSWERS[""], "csrfmiddlewaretoken": token}).status_code == 302


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


def test_sessions_are_read_from_the_cache_only_when_every_process_shares_it(settings):
    if "LocMemCache" in settings.CACHES["default"]["BACKEND"]:
        assert settings.SESSION_ENGINE == "config.sessions"
    else:
        assert settings.SESSION_ENGINE == CACHED


def test_answers_are_kept_when_the_cache_loses_its_copy(client, demo, cached_sessions):
    client.post(url(demo), ANSWERS[""])
    client.post(url(demo, "when"), ANSWERS["when"])
    assert cached_copy(client)[f"give-information:{demo.pk}"]["when"] == ANSWERS["when"]
    # Evicted under memory pressure, or Redis restarted empty: the database has every answer.
    clear_cache()
    client.post(url(demo, "where"), ANSWERS["where"])
    answers = client.session[f"give-information:{demo.pk}"]
    assert list(answers) == ["", "when", "where"]
    assert "Lanacre Avenue" in Session.objects.get().get_decoded()[f"give-information:{demo.pk}"]["where"]["seen_where"]


def test_sent_answers_leave_no_copy_behind(client, demo, cached_sessions):
    for step, answer in ANSWERS.items():
        client.post(url(demo, step), answer)
    client.post(url(demo, "check"))
    assert f"give-information:{demo.pk}" not in cached_copy(client)
    assert f"give-information:{demo.pk}" not in Session.objects.get().get_decoded()
    assert client.get(url(demo, "check"))["Location"] == url(demo, "done")
    assert Submission.objects.count() == 1


def test_an_officers_session_is_never_kept_in_the_cache(client, demo, cached_sessions):
    client.post(url(demo), ANSWERS[""])
    assert cached_copy(client) is not None
    sign_in(client, demo.incident.officer_in_charge)
    client.get("/admin/")
    assert SIGNED_IN in Session.objects.get(session_key=client.cookies["sessionid"].value).get_decoded()
    assert cached_copy(client) is None


def test_the_journey_works_when_the_cache_cannot_be_reached(client, demo, settings, cached_sessions, caplog):
    settings.CACHES = {
        "default": {
            "BACKEND": "django_redis.cache.RedisCache",
            "LOCATION": "redis://127.0.0.1:1/0",  # nothing listens on port 1
            "OPTIONS": {"SOCKET_CONNECT_TIMEOUT": 0.5},
        }
    }
    for step, answer in ANSWERS.items():
        assert client.post(url(demo, step), answer).status_code == 302
    assert "Lanacre Avenue" in client.get(url(demo, "check")).text
    assert client.post(url(demo, "check")).status_code == 302
    assert Submission.objects.get().seen_where == "Lanacre Avenue"
    assert "The session cache cannot be reached" in caplog.text


def test_sending_still_checks_every_field_it_stores(demo):
    with pytest.raises(ValidationError, match="valid email"):
        create_submission(appeal=demo, submission=Submission(account="I heard bangs.", contact_email="not-an-email"))
    assert not Submission.objects.exists()


def test_the_database_refuses_a_submission_that_is_neither_anonymous_nor_contactable(demo):
    with pytest.raises(IntegrityError, match="submission_anonymous_or_contactable"):
        create_submission(appeal=demo, submission=Submission(account="I heard bangs.", is_anonymous=False))
    assert not Submission.objects.exists()
