"""Each public page costs the same number of queries however many appeals, updates or images there are."""

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from appeals.models import Appeal, AppealUpdate
from tests.appeals.images import make_image
from tests.factories import make_appeal, make_incident
from tests.officers import sign_in

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def no_server_side_copy(settings):
    settings.PUBLIC_PAGE_CACHE_SECONDS = 0


def add_appeals(count, start):
    for number in range(start, start + count):
        incident = make_incident(f"CAD{number}/01JAN", area=f"Area {number % 3}")
        appeal = make_appeal(incident=incident, headline=f"Appeal {number}")
        AppealUpdate.objects.create(appeal=appeal, title="An arrest", body="A man was arrested.")
        if number % 2:
            appeal.close()


def add_to_appeal(appeal, count):
    for number in range(count):
        AppealUpdate.objects.create(appeal=appeal, title=f"Update {number}", body="More news.")
        make_image(appeal, alt_text=f"Still {number}", position=number)


def count_queries(client, url):
    with CaptureQueriesContext(connection) as queries:
        assert client.get(url).status_code == 200
    return len(queries)


@pytest.mark.parametrize("url", ["/", "/?q=appeal&area=Area+1", "/?status=closed", "/feed/", "/sitemap.xml"])
def test_list_feed_and_sitemap_queries_do_not_grow_with_the_number_of_appeals(client, url):
    add_appeals(4, start=1)
    few = count_queries(client, url)
    add_appeals(30, start=5)
    assert count_queries(client, url) == few


@pytest.mark.parametrize("suffix", ["", "print/", "preview/"])
def test_appeal_page_queries_do_not_grow_with_updates_or_images(client, suffix):
    appeal = make_appeal()
    if suffix == "preview/":
        sign_in(client, appeal.incident.officer_in_charge)
    add_to_appeal(appeal, 1)
    # The first signed-in request also refreshes the session's idle expiry.
    client.get(appeal.get_absolute_url() + suffix)
    few = count_queries(client, appeal.get_absolute_url() + suffix)
    add_to_appeal(appeal, 8)
    assert count_queries(client, appeal.get_absolute_url() + suffix) == few


def test_the_appeal_page_takes_three_queries(client, django_assert_num_queries):
    appeal = make_appeal()
    add_to_appeal(appeal, 3)
    # The appeal with its incident, its updates, its images.
    with django_assert_num_queries(3):
        client.get(appeal.get_absolute_url())
    assert Appeal.objects.count() == 1
