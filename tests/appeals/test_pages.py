import pytest

from appeals.models import Appeal
from tests.factories import make_appeal


@pytest.mark.django_db
def test_the_home_page_lists_the_demo_appeal(client, demo):
    response = client.get("/")
    assert response.status_code == 200
    assert demo.headline in response.text
    assert demo.get_absolute_url() in response.text


@pytest.mark.django_db
def test_the_demo_appeal_is_readable(client, demo):
    response = client.get(demo.get_absolute_url())
    assert response.status_code == 200
    for fact in [
        "CAD6602/18MAR",
        "Grahame Park Estate",
        "Thursday 18 March 2021 at 7:10pm",
        "Crimestoppers",
        "0800 555 111",
        "101",
        "@MetCC",
        "Give information",
        "Detective Chief Inspector Gemma Alger",
    ]:
        assert fact in response.text


@pytest.mark.django_db
def test_drafts_and_unknown_slugs_are_not_found(client):
    draft = make_appeal(status=Appeal.Status.DRAFT)
    assert client.get(draft.get_absolute_url()).status_code == 404
    assert client.get("/appeals/no-such-appeal/").status_code == 404


@pytest.mark.django_db
def test_a_closed_appeal_says_so_and_offers_no_form(client):
    appeal = make_appeal(status=Appeal.Status.CLOSED)
    response = client.get(appeal.get_absolute_url())
    assert "This appeal has closed" in response.text
    assert "give-information" not in response.text
    assert "0800 555 111" in response.text
    # Its old "Give information" link says the same rather than "Page not found".
    closed = client.get(f"/appeals/{appeal.slug}/give-information/")
    assert closed.status_code == 410
    assert "This appeal has closed" in closed.text
