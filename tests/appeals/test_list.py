from datetime import timedelta

import pytest
from django.utils import timezone

from appeals.models import Appeal
from incidents.models import Incident
from tests.factories import make_appeal, make_incident

pytestmark = pytest.mark.django_db


def make_listed(reference, headline, *, area="Camden", offence=Incident.Offence.ROBBERY, days_ago=0, **fields):
    incident = make_incident(reference, area=area, offence=offence, place=fields.pop("place", "High Street"))
    appeal = make_appeal(incident=incident, headline=headline, **fields)
    if appeal.published_at:
        Appeal.objects.filter(pk=appeal.pk).update(published_at=timezone.now() - timedelta(days=days_ago))
    return appeal


def headlines(response, section="open_page"):
    return [appeal.headline for appeal in response.context[section]]


def test_open_appeals_come_first_newest_first_and_closed_ones_separately(client):
    make_listed("CAD1/01JAN", "Older open", days_ago=5)
    make_listed("CAD2/01JAN", "Newer open", days_ago=1)
    make_listed("CAD3/01JAN", "Closed one", status=Appeal.Status.CLOSED)
    make_listed("CAD4/01JAN", "Still a draft", status=Appeal.Status.DRAFT)

    response = client.get("/")
    assert headlines(response) == ["Newer open", "Older open"]
    assert [appeal.headline for appeal in response.context["closed_appeals"]] == ["Closed one"]
    assert "Still a draft" not in response.text
    assert response.text.index("Older open") < response.text.index("Closed one")

    closed = client.get("/?status=closed")
    assert headlines(closed, "closed_page") == ["Closed one"]
    assert "Newer open" not in closed.text


def test_appeals_can_be_filtered_by_area_and_offence(client):
    make_listed("CAD1/01JAN", "Camden robbery", area="Camden")
    make_listed("CAD2/01JAN", "Barnet shooting", area="Barnet", offence=Incident.Offence.FIREARMS)
    make_listed("CAD3/01JAN", "Barnet robbery", area="Barnet")

    assert sorted(headlines(client.get("/?area=Barnet"))) == ["Barnet robbery", "Barnet shooting"]
    assert headlines(client.get("/?offence=firearms")) == ["Barnet shooting"]
    assert headlines(client.get("/?area=Barnet&offence=robbery")) == ["Barnet robbery"]
    page = client.get("/").text
    assert '<option value="Barnet">Barnet</option>' in page
    assert '<option value="firearms">Firearms offence</option>' in page


def test_search_finds_appeals_by_words_place_and_reference(client):
    make_listed("CAD6602/18MAR", "Shots fired at officers in Colindale", place="Grahame Park Estate")
    make_listed("CAD2/01JAN", "Phone snatched from a cyclist", body="A moped rider took a phone.")

    assert headlines(client.get("/?q=colindale")) == ["Shots fired at officers in Colindale"]
    assert headlines(client.get("/?q=Grahame+Park")) == ["Shots fired at officers in Colindale"]
    assert headlines(client.get("/?q=moped")) == ["Phone snatched from a cyclist"]
    assert headlines(client.get("/?q=cad6602/18mar")) == ["Shots fired at officers in Colindale"]
    assert headlines(client.get("/?q=colindale+moped")) == []
    assert "No open appeals match your search" in client.get("/?q=nothing-like-this").text


@pytest.mark.parametrize(
    "query",
    [
        "?area=Atlantis",
        "?offence=jaywalking",
        "?q=" + "x" * 100_000,
        "?q=%00%00drop%20table",
        "?q=%E2%80%AE%F0%9F%94%AB%D8%B4%D8%B1%D8%B7%D8%A9%E8%AD%A6%E5%AF%9F",
        "?q=%ff%fe%fd",
        "?q='\"<script>alert(1)</script>",
        "?q=a&q=b&area=&area=Camden",
        "?q=!!!%20%7C%20%26%20(",
        "?q=%20%20%20",
        "?page=abc",
        "?page=-1",
        "?page=99999999999999999999",
        "?status=closed&page=0",
        "?status=../../etc/passwd",
        "?%zz=1&&=&q",
    ],
)
def test_bad_input_never_breaks_the_list(client, query):
    make_listed("CAD1/01JAN", "Camden robbery")
    response = client.get("/" + query)
    assert response.status_code == 200
    assert "<script>alert(1)</script>" not in response.text


def test_unknown_filter_values_give_an_empty_result(client):
    make_listed("CAD1/01JAN", "Camden robbery")
    response = client.get("/?area=Atlantis")
    assert headlines(response) == []
    assert "No open appeals match your search" in response.text


def test_long_lists_are_paged(client):
    for number in range(25):
        make_listed(f"CAD{number + 1}/01JAN", f"Appeal number {number}", days_ago=number)
    first = client.get("/")
    assert len(headlines(first)) == 20
    assert 'rel="next"' in first.text
    second = client.get("/?page=2")
    assert len(headlines(second)) == 5
    assert "Appeal number 24" in second.text
    assert "<title>Police appeals for witnesses and information (page 2 of 2)" in second.text


def test_only_the_latest_closed_appeals_show_on_the_first_page(client):
    for number in range(12):
        make_listed(f"CAD{number + 1}/01JAN", f"Closed number {number}", status=Appeal.Status.CLOSED)
    response = client.get("/")
    assert len(response.context["closed_appeals"]) == 10
    assert "See all closed appeals" in response.text
