import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from appeals.models import AppealUpdate
from tests.appeals.images import make_image
from tests.factories import make_appeal
from tests.officers import sign_in

pytestmark = pytest.mark.django_db


def public_urls(appeal):
    return [
        "/",
        "/?q=robbery&area=Camden",
        appeal.get_absolute_url(),
        f"{appeal.get_absolute_url()}print/",
        "/feed/",
        "/sitemap.xml",
        "/robots.txt",
    ]


def test_public_pages_are_cacheable_and_set_no_cookies(client):
    appeal = make_appeal()
    for url in public_urls(appeal):
        response = client.get(url)
        assert response.status_code == 200, url
        assert "public" in response["Cache-Control"], url
        assert "max-age=0" in response["Cache-Control"], url
        assert "s-maxage=1" in response["Cache-Control"], url
        assert response.has_header("ETag"), url
        assert response.has_header("Last-Modified"), url
        assert not response.cookies, url
        assert "Cookie" not in response.get("Vary", ""), url


def test_a_conditional_request_for_an_unchanged_page_gets_304(client):
    appeal = make_appeal()
    for url in public_urls(appeal):
        first = client.get(url)
        by_etag = client.get(url, headers={"If-None-Match": first["ETag"]})
        by_date = client.get(url, headers={"If-Modified-Since": first["Last-Modified"]})
        assert by_etag.status_code == 304, url
        assert by_etag.content == b""
        assert by_etag["ETag"] == first["ETag"]
        assert "public" in by_etag["Cache-Control"]
        assert by_date.status_code == 304, url
        assert client.get(url, headers={"If-None-Match": '"something-else"'}).status_code == 200


def test_a_cached_page_is_served_without_touching_the_database(client):
    appeal = make_appeal()
    client.get(appeal.get_absolute_url())
    with CaptureQueriesContext(connection) as queries:
        response = client.get(appeal.get_absolute_url())
    assert response.status_code == 200
    assert appeal.headline in response.text
    assert len(queries) == 0


def test_changing_an_appeal_its_updates_or_images_refreshes_the_cached_pages(
    client, django_capture_on_commit_callbacks
):
    appeal = make_appeal()
    client.get(appeal.get_absolute_url())
    client.get("/")
    etag = client.get(appeal.get_absolute_url())["ETag"]

    with django_capture_on_commit_callbacks(execute=True):
        appeal.headline = "A new headline"
        appeal.save(update_fields=["headline"])
    assert "A new headline" in client.get(appeal.get_absolute_url()).text
    assert "A new headline" in client.get("/").text
    assert client.get(appeal.get_absolute_url(), headers={"If-None-Match": etag}).status_code == 200

    with django_capture_on_commit_callbacks(execute=True):
        update = AppealUpdate.objects.create(appeal=appeal, title="A man has been charged", body="He appears in court.")
    assert "A man has been charged" in client.get(appeal.get_absolute_url()).text
    assert "A man has been charged" in client.get("/feed/").text

    with django_capture_on_commit_callbacks(execute=True):
        make_image(appeal, alt_text="Still from camera 2")
    assert "Still from camera 2" in client.get(appeal.get_absolute_url()).text

    with django_capture_on_commit_callbacks(execute=True):
        update.delete()
    assert "A man has been charged" not in client.get(appeal.get_absolute_url()).text

    with django_capture_on_commit_callbacks(execute=True):
        appeal.close()
    page = client.get(appeal.get_absolute_url()).text
    assert "This appeal has closed" in page
    assert "give-information" not in page


def test_the_server_side_copy_can_be_turned_off(client, settings):
    settings.PUBLIC_PAGE_CACHE_SECONDS = 0
    appeal = make_appeal()
    client.get(appeal.get_absolute_url())
    with CaptureQueriesContext(connection) as queries:
        response = client.get(appeal.get_absolute_url())
    assert response.status_code == 200
    assert len(queries) > 0
    assert "public" in response["Cache-Control"]


def test_staff_previews_and_error_pages_are_not_cached_publicly(client):
    appeal = make_appeal()
    sign_in(client, appeal.incident.officer_in_charge)
    preview = client.get(f"{appeal.get_absolute_url()}preview/")
    assert "public" not in preview["Cache-Control"]
    assert "no-cache" in preview["Cache-Control"] or "max-age=0" in preview["Cache-Control"]
    missing = client.get("/appeals/not-there/")
    assert missing.status_code == 404
    assert "public" not in missing.get("Cache-Control", "")


def test_links_shared_with_tracking_parameters_are_served_from_the_same_copy(client):
    appeal = make_appeal()
    client.get(appeal.get_absolute_url())
    client.get("/?q=robbery&page=1&fbclid=first-reader")
    with CaptureQueriesContext(connection) as queries:
        shared = client.get(f"{appeal.get_absolute_url()}?fbclid=IwAR0abc&utm_source=facebook")
        listed = client.get("/?utm_medium=social&q=robbery&page=1&fbclid=second-reader")
    assert len(queries) == 0
    assert shared.status_code == listed.status_code == 200
    assert "reader" not in listed.text
    assert client.get("/?q=other").status_code == 200


def test_pages_and_saves_still_work_when_the_cache_cannot_be_reached(client, settings, caplog):
    appeal = make_appeal()
    settings.CACHES = {
        "default": {
            "BACKEND": "django_redis.cache.RedisCache",
            "LOCATION": "redis://127.0.0.1:1/0",  # nothing listens on port 1
            "OPTIONS": {"SOCKET_CONNECT_TIMEOUT": 0.5},
        }
    }
    for url in public_urls(appeal):
        response = client.get(url)
        assert response.status_code == 200, url
        assert response.has_header("ETag")
    appeal.headline = "Saved while the cache is down"
    appeal.save(update_fields=["headline"])
    assert "Saved while the cache is down" in client.get(appeal.get_absolute_url()).text
    assert "The page cache cannot be reached" in caplog.text


def test_a_page_served_from_the_cache_keeps_its_security_headers(client, settings):
    assert settings.MIDDLEWARE.index("appeals.caching.PublicPageCacheMiddleware") == (
        settings.MIDDLEWARE.index("whitenoise.middleware.WhiteNoiseMiddleware") + 1
    )
    appeal = make_appeal()
    rendered = client.get(appeal.get_absolute_url())
    with CaptureQueriesContext(connection) as queries:
        cached = client.get(appeal.get_absolute_url())
    assert len(queries) == 0
    for header in ["Content-Security-Policy", "X-Frame-Options", "X-Content-Type-Options", "Referrer-Policy"]:
        assert cached[header] == rendered[header], header
    assert cached.content == rendered.content
    assert cached["ETag"] == rendered["ETag"]
