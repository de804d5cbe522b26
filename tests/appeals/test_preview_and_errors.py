import pytest
from django.db import OperationalError
from django.test import Client
from django.urls import include, path

from appeals.models import Appeal
from tests.appeals.images import make_image
from tests.factories import make_appeal, make_incident, make_officer
from tests.officers import sign_in

pytestmark = pytest.mark.django_db


def test_officers_preview_a_draft_exactly_as_it_will_appear(client):
    appeal = make_appeal(status=Appeal.Status.DRAFT)
    sign_in(client, appeal.incident.officer_in_charge)
    response = client.get(f"{appeal.get_absolute_url()}preview/")
    assert response.status_code == 200
    assert response.templates[0].name == "appeals/appeal_detail.html"
    assert "This is how the appeal will look to the public" in response.text
    assert "Give information" in response.text
    assert response["X-Robots-Tag"] == "noindex"


def test_the_public_and_other_teams_cannot_preview_a_draft(client):
    appeal = make_appeal(status=Appeal.Status.DRAFT)
    preview = f"{appeal.get_absolute_url()}preview/"
    assert client.get(appeal.get_absolute_url()).status_code == 404
    assert client.get(preview).status_code == 302
    sign_in(client, make_officer("someone-else"))
    assert client.get(preview).status_code == 404


def test_the_admin_links_to_the_preview_and_shows_the_public_copy_of_each_image(client):
    appeal = make_appeal(status=Appeal.Status.DRAFT)
    image = make_image(appeal, alt_text="Still from camera 4")
    officer = appeal.incident.officer_in_charge
    officer.is_superuser = True
    officer.save()
    sign_in(client, officer)
    response = client.get(f"/admin/appeals/appeal/{appeal.pk}/change/")
    assert f"{appeal.get_absolute_url()}preview/" in response.text
    assert f'<img src="{image.get_absolute_url()}" alt="Still from camera 4" width="40">' in response.text


def test_the_not_found_page_follows_govuk_wording_and_offers_101(client):
    make_appeal(make_incident("CAD2/01JAN"), status=Appeal.Status.DRAFT, slug="secret-draft")
    for url in ["/appeals/no-such-appeal/", "/appeals/secret-draft/", "/appeals/secret-draft/print/", "/nowhere"]:
        response = client.get(url)
        assert response.status_code == 404
        assert "Page not found" in response.text
        assert "If you typed the web address, check it is correct." in response.text
        assert "101" in response.text
        assert not response.cookies


def broken_view(request):
    raise ValueError("boom")


def database_down_view(request):
    raise OperationalError("could not connect to server")


urlpatterns = [
    path("broken/", broken_view),
    path("database-down/", database_down_view),
    path("", include("appeals.urls")),
]
handler500 = "appeals.views.server_error"


@pytest.mark.urls("tests.appeals.test_preview_and_errors")
def test_the_error_pages_follow_govuk_wording_and_offer_101():
    client = Client(raise_request_exception=False)

    error = client.get("/broken/")
    assert error.status_code == 500
    assert "Sorry, there is a problem with the service" in error.text
    assert "101" in error.text
    assert "Crimestoppers" in error.text

    unavailable = client.get("/database-down/")
    assert unavailable.status_code == 503
    assert unavailable["Retry-After"] == "60"
    assert "Sorry, the service is unavailable" in unavailable.text
    assert "101" in unavailable.text
