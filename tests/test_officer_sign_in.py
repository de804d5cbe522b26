"""Signing in to the officers' admin: password and TOTP code, throttled failures, idle sessions ending."""

from datetime import timedelta

import pytest
from axes.models import AccessAttempt
from django.contrib.sessions.models import Session
from django.urls import reverse
from django.utils import timezone

from tests.officers import authenticator, current_code, make_triage_officer, sign_in

pytestmark = pytest.mark.django_db
LOGIN = "/admin/login/?next=/admin/"


@pytest.fixture
def officer(db):
    officer = make_triage_officer("dc.hale")
    authenticator(officer)
    return officer


def sign_in_form(officer, password="officer-password", code=None):
    return {
        "username": officer.username,
        "password": password,
        "otp_token": current_code(authenticator(officer)) if code is None else code,
    }


def test_a_password_alone_does_not_open_the_admin(client, officer):
    response = client.post(LOGIN, sign_in_form(officer, code=""))
    assert response.status_code == 200
    assert client.get(reverse("admin:index")).status_code == 302


def test_a_wrong_code_does_not_open_the_admin(client, officer):
    response = client.post(
        LOGIN, sign_in_form(officer, code="000000" if current_code(authenticator(officer)) != "000000" else "111111")
    )
    assert response.status_code == 200
    assert client.get(reverse("admin:index")).status_code == 302


def test_the_password_and_a_current_code_open_the_admin(client, officer):
    page = client.get(LOGIN).content.decode()
    assert 'autocomplete="one-time-code"' in page
    response = client.post(LOGIN, sign_in_form(officer))
    assert response.status_code == 302
    assert client.get(reverse("admin:index")).status_code == 200


def test_repeated_failures_lock_that_username_from_that_address(client, officer):
    answers = [client.post(LOGIN, sign_in_form(officer, password="guess-again")).status_code for _ in range(5)]
    # The fifth failure reaches the limit and is already answered with the lock.
    assert answers == [200, 200, 200, 200, 429]
    locked = client.post(LOGIN, sign_in_form(officer))
    assert locked.status_code == 429
    assert "Too many failed sign-in attempts" in locked.content.decode()
    assert client.get(reverse("admin:index")).status_code == 302


def test_an_attacker_elsewhere_cannot_lock_the_officer_out(client, officer):
    for _ in range(6):
        client.post(LOGIN, sign_in_form(officer, password="guess-again"), REMOTE_ADDR="203.0.113.9")
    assert client.post(LOGIN, sign_in_form(officer), REMOTE_ADDR="198.51.100.4").status_code == 302


def test_behind_the_proxy_an_attacker_elsewhere_cannot_lock_the_officer_out(client, officer, settings):
    settings.BEHIND_TLS_PROXY = True
    # Every request comes from nginx on 127.0.0.1; the client's own X-Forwarded-For comes first.
    for _ in range(6):
        attempt = sign_in_form(officer, password="guess-again")
        client.post(LOGIN, attempt, REMOTE_ADDR="127.0.0.1", HTTP_X_FORWARDED_FOR="198.51.100.4, 203.0.113.9")
    assert client.post(LOGIN, attempt, REMOTE_ADDR="127.0.0.1", HTTP_X_FORWARDED_FOR="203.0.113.9").status_code == 429
    signed_in = client.post(LOGIN, sign_in_form(officer), REMOTE_ADDR="127.0.0.1", HTTP_X_FORWARDED_FOR="198.51.100.4")
    assert signed_in.status_code == 302


def test_the_lock_lifts_after_a_short_cool_off(client, officer, settings):
    assert timedelta(minutes=15) >= settings.AXES_COOLOFF_TIME
    for _ in range(5):
        client.post(LOGIN, sign_in_form(officer, password="guess-again"))
    assert client.post(LOGIN, sign_in_form(officer, code="")).status_code == 429
    AccessAttempt.objects.update(attempt_time=timezone.now() - settings.AXES_COOLOFF_TIME - timedelta(seconds=1))
    assert client.post(LOGIN, sign_in_form(officer)).status_code == 302


def test_an_idle_session_ends(client, officer):
    sign_in(client, officer)
    assert client.get(reverse("admin:index")).status_code == 200
    # Each request pushes the expiry back by the idle limit, an officer's, not the day a witness gets...
    session = Session.objects.get()
    assert timezone.now() + timedelta(minutes=29) < session.expire_date <= timezone.now() + timedelta(minutes=30)
    # ...and once that passes without a request, the officer must sign in again.
    Session.objects.update(expire_date=timezone.now() - timedelta(seconds=1))
    response = client.get(reverse("admin:index"))
    assert response.status_code == 302
    assert response.url.startswith(reverse("admin:login"))


def test_an_active_session_is_written_at_most_once_a_minute(client, officer):
    sign_in(client, officer)
    client.get(reverse("admin:index"))
    first = Session.objects.get().expire_date
    client.get(reverse("admin:index"))
    assert Session.objects.get().expire_date == first
    session = client.session
    session["_last_seen"] -= 61
    session.save()
    saved = Session.objects.get().expire_date
    client.get(reverse("admin:index"))
    assert Session.objects.get().expire_date > saved
