"""The privacy notice, the accessibility statement and the cookies page, and the footer that links to them."""

import re

import pytest
from django.db import OperationalError
from django.test import RequestFactory

from appeals.models import Appeal
from appeals.views import server_error
from config.checks import check_force_contact_details
from tests.factories import make_appeal, make_incident
from tests.submissions.test_footage_page import photo
from tests.submissions.test_give_information import answer_all, url

pytestmark = pytest.mark.django_db
LEGAL_PAGES = ["/privacy/", "/cookies/", "/accessibility-statement/"]


@pytest.fixture
def force(settings):
    settings.FORCE_NAME = "Northshire Police"
    settings.FORCE_CONTROLLER = "The Chief Constable of Northshire Police"
    settings.FORCE_ADDRESS = "Police Headquarters, 1 Castle Street, Northtown, NT1 1AA"
    settings.FORCE_CONTACT_EMAIL = "appeals@northshire.police.example"
    settings.FORCE_DPO_EMAIL = "dpo@northshire.police.example"
    settings.SITE_URL = "https://appeals.northshire.police.example"
    return settings


def text_of(response):
    """The page's words, tags removed and spaces collapsed, as a reader sees them."""
    return " ".join(re.sub(r"<[^>]+>", " ", response.content.decode()).split())


def test_the_privacy_notice_names_the_force_its_officer_and_how_long_things_are_kept(client, force):
    force.SUBMISSION_REVIEW_MONTHS_NO_ACTION = 18
    force.UPLOAD_EXPIRY_HOURS = 48
    page = text_of(client.get("/privacy/"))
    assert "Privacy notice \u2013 Northshire Police" in page
    assert "The Chief Constable of Northshire Police is the controller" in page
    assert "Part 3 of the Data Protection Act 2018" in page
    assert "dpo@northshire.police.example" in page
    assert (
        "Data Protection Officer, Northshire Police, Police Headquarters, 1 Castle Street, Northtown, NT1 1AA" in page
    )
    assert "We do not keep your IP address or any details of your device" in page
    assert "deleted after 48 hours without any progress" in page
    assert "reviewed 18 months after that decision" in page
    assert "Information Commissioner's Office" in page
    assert "Metropolitan" not in page


def test_answers_kept_a_day_meet_the_time_limit_criterion(client, force):
    page = text_of(client.get("/accessibility-statement/"))
    assert "fully compliant with the Web Content Accessibility Guidelines version 2.2 AA standard" in page
    assert "The answers you give are kept for 1 day without a visit." in page
    assert "2.2.1" not in page


def test_the_accessibility_statement_follows_the_public_sector_model(client, force):
    force.SESSION_COOKIE_AGE = 45 * 60
    page = text_of(client.get("/accessibility-statement/"))
    assert "This accessibility statement applies to https://appeals.northshire.police.example" in page
    assert "This website is run by Northshire Police." in page
    assert "partially compliant with the Web Content Accessibility Guidelines version 2.2 AA standard" in page
    assert "After 45 minutes without moving to another page, the answers you have given are lost" in page
    assert "2.2.1 (Timing adjustable)" in page
    assert "officers' side of the service" in page
    assert "without captions" in page
    assert "email appeals@northshire.police.example" in page
    assert "Equality and Human Rights Commission (EHRC)" in page
    assert "Equality Commission for Northern Ireland (ECNI)" in page
    assert "This statement was prepared on 1 December 2026." in page


def test_the_cookies_page_names_the_cookies_as_configured(client, settings):
    settings.SESSION_COOKIE_NAME = "__Host-appeals-session"
    settings.CSRF_COOKIE_NAME = "__Host-appeals-csrf"
    page = client.get("/cookies/").text
    assert '<td class="govuk-table__cell app-cookie-name">__Host-appeals-session</td>' in page
    assert '<td class="govuk-table__cell app-cookie-name">__Host-appeals-csrf</td>' in page
    assert "do not set any cookies" in page


def cookies_set(response):
    """Cookies a response sets (not those it deletes), with whether they outlive the browser session."""
    return {
        name: bool(morsel["max-age"] or morsel["expires"])
        for name, morsel in response.cookies.items()
        if morsel.value and morsel["max-age"] != 0
    }


def test_the_cookies_page_names_every_cookie_giving_information_sets_and_when_it_goes(
    client, demo, django_capture_on_commit_callbacks
):
    responses = [client.get(demo.get_absolute_url()), client.get(url(demo))]
    responses.append(answer_all(client, demo))
    responses.append(client.get(url(demo, "check")))
    with django_capture_on_commit_callbacks(execute=True):
        responses.append(client.post(url(demo, "check")))
    # Sending leads to the private footage page, whose address is the witness's link.
    footage = responses[-1]["Location"]
    responses.append(client.get(footage))
    with django_capture_on_commit_callbacks(execute=True):
        responses.append(client.post(f"{footage}upload/", {"files": [photo()]}))
    responses.append(client.get(footage))
    assert "1 file received" in responses[-1].text

    set_by_journey = {}
    for response in responses:
        set_by_journey.update(cookies_set(response))
    cookies_page = client.get("/cookies/").text
    assert len(set_by_journey) == 3
    for name, persistent in set_by_journey.items():
        assert f'<td class="govuk-table__cell app-cookie-name">{name}</td>' in cookies_page
        # The page says each one goes when the browser closes (or sooner).
        assert not persistent, name


def public_urls():
    appeal = make_appeal()
    closed = make_appeal(make_incident("CAD2/01JAN"), headline="A closed appeal", status=Appeal.Status.CLOSED)
    return [
        "/",
        "/?status=closed",
        appeal.get_absolute_url(),
        closed.get_absolute_url(),
        f"{appeal.get_absolute_url()}print/",
        "/appeals/no-such-appeal/",
        *LEGAL_PAGES,
        url(appeal),
        url(appeal, "when"),
    ]


def assert_footer_links(html, where):
    footer = html[html.index('<footer class="govuk-footer">') :]
    for href, name in [
        ("/privacy/", "Privacy"),
        ("/cookies/", "Cookies"),
        ("/accessibility-statement/", "Accessibility statement"),
    ]:
        assert f'<a class="govuk-footer__link" href="{href}">{name}</a>' in footer, (where, name)


def test_every_public_page_links_to_the_pages_the_law_requires_in_its_footer(client):
    for address in public_urls():
        response = client.get(address, follow=True)
        assert response.status_code in (200, 404), address
        assert_footer_links(response.text, address)


def test_the_error_pages_link_to_them_too():
    request = RequestFactory().get("/")
    assert_footer_links(server_error(request).content.decode(), "500")
    try:
        raise OperationalError("could not connect to server")
    except OperationalError:
        unavailable = server_error(request)
    assert unavailable.status_code == 503
    assert_footer_links(unavailable.content.decode(), "503")


def test_the_pages_are_cached_like_other_public_pages_and_set_no_cookies(client):
    for address in LEGAL_PAGES:
        first = client.get(address)
        assert first.status_code == 200, address
        assert "public" in first["Cache-Control"], address
        assert not first.cookies, address
        assert client.get(address, headers={"If-None-Match": first["ETag"]}).status_code == 304


def test_a_deploy_check_warns_while_the_force_s_email_addresses_are_the_examples(settings):
    settings.FORCE_CONTACT_EMAIL = "witness-appeals@example.org"
    settings.FORCE_DPO_EMAIL = "dpo@northshire.police.example"
    warnings = check_force_contact_details(None)
    assert [warning.id for warning in warnings] == ["config.W001"]
    assert "FORCE_CONTACT_EMAIL" in warnings[0].msg
    assert "FORCE_DPO_EMAIL" not in warnings[0].msg

    settings.FORCE_CONTACT_EMAIL = "appeals@northshire.police.example"
    assert check_force_contact_details(None) == []
