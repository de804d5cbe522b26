import json
import re
import xml.etree.ElementTree as ET

import pytest
import segno
from django.conf import settings

from appeals.models import Appeal, AppealUpdate
from tests.factories import make_appeal, make_incident

pytestmark = pytest.mark.django_db
ATOM = "{http://www.w3.org/2005/Atom}"


def meta(page, attribute, name):
    match = re.search(rf'<meta {attribute}="{re.escape(name)}" content="([^"]*)">', page)
    assert match, f"no {name} meta tag"
    return match.group(1)


def test_the_appeal_page_has_share_tags_a_canonical_url_and_a_news_article(client, demo):
    page = client.get(demo.get_absolute_url()).text
    canonical = settings.SITE_URL + demo.get_absolute_url()

    assert f'<link rel="canonical" href="{canonical}">' in page
    assert meta(page, "property", "og:title") == demo.headline
    assert meta(page, "property", "og:url") == canonical
    assert meta(page, "property", "og:type") == "article"
    assert meta(page, "property", "og:description").startswith("A gun was fired")
    assert meta(page, "property", "og:image") == settings.SITE_URL + "/static/images/share.png"
    assert meta(page, "name", "twitter:card") == "summary_large_image"
    assert meta(page, "name", "twitter:image") == settings.SITE_URL + "/static/images/share.png"

    data = json.loads(re.search(r'<script type="application/ld\+json">(.*?)</script>', page, re.S).group(1))
    assert data["@type"] == "NewsArticle"
    assert data["headline"] == demo.headline
    assert data["datePublished"].startswith("2021-03-20")
    assert data["url"] == canonical
    assert data["publisher"]["name"] == settings.FORCE_NAME


def test_structured_data_cannot_break_out_of_its_script_element(client):
    appeal = make_appeal(headline="</script><script>alert(1)</script>", slug="tricky")
    page = client.get(appeal.get_absolute_url()).text
    assert "<script>alert(1)" not in page


def test_the_appeal_page_follows_the_order_of_an_appeal(client, demo):
    AppealUpdate.objects.create(appeal=demo, title="A man has been arrested", body="He is on bail.")
    page = client.get(demo.get_absolute_url()).text
    in_order = [
        "<h1",
        "Published Saturday 20 March 2021",
        "Updated ",
        "CAD6602/18MAR",
        "Thursday 18 March 2021 at 7:10pm",
        "What happened",
        "What we are looking for",
        "Doorbell camera",
        "Attacks on police officers will not be tolerated",
        "Other ways to tell us",
        "Call <a",
        "18001 101",
        "On X, message @MetCC",
        "Crimestoppers will not ask your name",
        "In an emergency, call 999",
        "do not post footage",
        "7,140 recorded assaults",
        "A man has been arrested",
    ]
    position = 0
    for text in in_order:
        assert text in page[position:], f"{text!r} is missing or out of order"
        position = page.index(text, position)
    # A start button near the top, for phones, and one again after the officer's words.
    assert page.count("govuk-button--start") == 2
    assert page.index("govuk-button--start") < page.index("What happened")


def test_the_feed_lists_appeals_and_their_updates_newest_first(client, demo):
    AppealUpdate.objects.create(appeal=demo, title="A man has been arrested", body="He is on bail.")
    make_appeal(make_incident("CAD9/01JAN"), headline="A draft", status=Appeal.Status.DRAFT)

    response = client.get("/feed/")
    assert response["Content-Type"].startswith("application/atom+xml")
    entries = ET.fromstring(response.content).findall(f"{ATOM}entry")
    titles = [entry.findtext(f"{ATOM}title") for entry in entries]
    assert titles == [f"Update: A man has been arrested ({demo.headline})", demo.headline]
    links = [entry.find(f"{ATOM}link").get("href") for entry in entries]
    assert links[1] == settings.SITE_URL + demo.get_absolute_url()


def test_the_sitemap_lists_published_appeals_only(client, demo):
    draft = make_appeal(make_incident("CAD9/01JAN"), headline="A draft", status=Appeal.Status.DRAFT)
    response = client.get("/sitemap.xml")
    assert response.status_code == 200
    locations = [element.text for element in ET.fromstring(response.content).iter() if element.tag.endswith("loc")]
    assert settings.SITE_URL + demo.get_absolute_url() in locations
    assert settings.SITE_URL + "/" in locations
    assert not any(draft.slug in location for location in locations)
    assert client.get("/sitemap.xml?p=abc").status_code == 404
    # The sitemap itself stays out of search results, from the cache too.
    assert client.get("/sitemap.xml")["X-Robots-Tag"] == response["X-Robots-Tag"] != ""


def test_robots_txt_points_at_the_sitemap_and_keeps_crawlers_off_forms(client):
    response = client.get("/robots.txt")
    assert response["Content-Type"] == "text/plain; charset=utf-8"
    assert f"Sitemap: {settings.SITE_URL}/sitemap.xml" in response.text
    assert "Disallow: /admin/" in response.text
    assert "Disallow: /appeals/*/give-information/" in response.text


def test_the_print_poster_has_the_facts_and_a_qr_code_to_the_appeal(client, demo):
    response = client.get(f"{demo.get_absolute_url()}print/")
    page = response.text
    assert response.status_code == 200
    for fact in [
        demo.headline,
        "CAD6602/18MAR",
        "Thursday 18 March 2021 at 7:10pm",
        "Grahame Park Estate",
        "0800 555 111",
    ]:
        assert fact in page
    assert "Security camera (CCTV), Dashcam, Doorbell camera" in page
    # The code encodes the appeal's canonical address: the same matrix segno makes for that address.
    expected = segno.make(settings.SITE_URL + demo.get_absolute_url(), error="m")
    drawn = re.search(r'<svg viewBox="0 0 (\d+) \d+" class="app-print__qr-code">', page)
    assert drawn and int(drawn.group(1)) == expected.symbol_size(scale=1, border=4)[0]
    assert (
        expected.svg_inline(scale=1, border=4, omitsize=True, svgclass="app-print__qr-code").split("<path")[1] in page
    )
    assert settings.SITE_URL + demo.get_absolute_url() in page
    draft = make_appeal(make_incident("CAD9/01JAN"), status=Appeal.Status.DRAFT)
    assert client.get(f"{draft.get_absolute_url()}print/").status_code == 404
