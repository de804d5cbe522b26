"""Production settings from the environment alone: no deploy warnings, __Host- cookies, a strict CSP that reports."""

import json
import logging
import secrets
import subprocess
import sys
from pathlib import Path
from types import SimpleNamespace

import pytest
from django.test import Client

from tests.conftest import clear_cache

BASE_DIR = Path(__file__).resolve().parent.parent
REPORT = {
    "csp-report": {
        "document-uri": "https://appeals.example.police.uk/footage/Zm9vdGFnZS10b2tlbi1zZWNyZXQ/?x=1",
        "violated-directive": "script-src-elem",
        "effective-directive": "script-src-elem",
        "blocked-uri": "https://evil.example/steal.js?session=abc",
        "source-file": "https://appeals.example.police.uk/static/js/uploader.mjs",
        "line-number": 12,
    }
}


def production_env(tmp_path, **extra):
    # As at a deploy, after collectstatic: the site refuses to start without the static files' manifest.
    (tmp_path / "static").mkdir(exist_ok=True)
    (tmp_path / "static" / "staticfiles.json").write_text('{"paths": {}, "version": "1.1"}')
    return {
        "PATH": "/usr/bin:/bin",
        "DJANGO_SETTINGS_MODULE": "config.settings",
        "DEBUG": "false",
        "SECRET_KEY": secrets.token_urlsafe(50),
        "SITE_URL": "https://appeals.example.police.uk",
        "ALLOWED_HOSTS": "appeals.example.police.uk",
        "CLAMD_ADDRESS": "/run/clamav/clamd.ctl",
        "DATABASE_URL": f"sqlite:///{tmp_path / 'db.sqlite3'}",
        "VAR_DIR": str(tmp_path),
        "STATIC_ROOT": str(tmp_path / "static"),
        "FORCE_CONTACT_EMAIL": "witness-appeals@example.police.uk",
        "FORCE_DPO_EMAIL": "data-protection@example.police.uk",
        **extra,
    }


def run(args, env):
    return subprocess.run([sys.executable, *args], capture_output=True, text=True, env=env, cwd=BASE_DIR)


def production_setting(tmp_path, expression, **extra):
    code = f"import django; django.setup(); from django.conf import settings; print({expression})"
    result = run(["-c", code], production_env(tmp_path, **extra))
    assert result.returncode == 0, result.stderr
    return result.stdout.strip()


def test_check_deploy_has_no_warnings_over_https(tmp_path):
    result = run(["manage.py", "check", "--deploy", "--fail-level", "WARNING"], production_env(tmp_path))
    assert result.returncode == 0, result.stderr + result.stdout
    assert "System check identified no issues" in result.stdout


def test_https_turns_on_the_redirect_and_hsts_and_the_environment_can_tune_them(tmp_path):
    assert production_setting(tmp_path, "settings.SECURE_SSL_REDIRECT, settings.SECURE_HSTS_SECONDS") == (
        "True 31536000"
    )
    tuned = production_setting(
        tmp_path, "settings.SECURE_SSL_REDIRECT, settings.SECURE_HSTS_SECONDS", SECURE_HSTS_SECONDS="300"
    )
    assert tuned == "True 300"
    plain = production_setting(
        tmp_path, "settings.SECURE_SSL_REDIRECT, settings.SECURE_HSTS_SECONDS", SITE_URL="http://127.0.0.1:8000"
    )
    assert plain == "False 0"


def test_cookies_are_host_prefixed_over_https_only(tmp_path):
    names = "settings.SESSION_COOKIE_NAME, settings.CSRF_COOKIE_NAME, settings.SESSION_COOKIE_SECURE"
    assert production_setting(tmp_path, names) == "__Host-sessionid __Host-csrftoken True"
    # Over plain HTTP (local use) browsers refuse __Host- cookies, so the plain names stay.
    assert production_setting(tmp_path, names, SITE_URL="http://127.0.0.1:8000") == "sessionid csrftoken False"


@pytest.mark.django_db
def test_pages_carry_a_csp_with_base_uri_none_that_reports(client):
    response = client.get("/")
    policy = [part.strip() for part in response["Content-Security-Policy"].split(";")]
    assert "base-uri 'none'" in policy
    assert "report-uri /csp-report/" in policy
    assert "report-to csp" in policy
    assert response["Reporting-Endpoints"] == 'csp="/csp-report/"'


def post_report(client, payload, content_type="application/csp-report"):
    return client.post("/csp-report/", json.dumps(payload), content_type=content_type)


def test_a_report_is_logged_without_address_query_or_token(caplog):
    client = Client(enforce_csrf_checks=True, REMOTE_ADDR="203.0.113.77")
    with caplog.at_level(logging.WARNING, logger="csp"):
        response = post_report(client, REPORT)
    assert response.status_code == 204
    [line] = [record.getMessage() for record in caplog.records if record.name == "csp"]
    assert "directive=script-src-elem" in line
    assert "blocked=https://evil.example " in line
    assert "source=https://appeals.example.police.uk:12" in line
    assert "page=submissions:footage" in line
    for secret in ["203.0.113.77", "Zm9vdGFnZS10b2tlbi1zZWNyZXQ", "session=abc", "x=1"]:
        assert secret not in line


def test_a_reporting_api_batch_is_logged_too(caplog):
    batch = [
        {"type": "csp-violation", "body": {"effectiveDirective": "img-src", "blockedURL": "data", "documentURL": "/"}},
        {"type": "deprecation", "body": {"id": "something"}},
    ]
    with caplog.at_level(logging.WARNING, logger="csp"):
        response = post_report(Client(), batch, content_type="application/reports+json")
    assert response.status_code == 204
    lines = [record.getMessage() for record in caplog.records if record.name == "csp"]
    assert lines == ["CSP violation: directive=img-src blocked=data page=appeals:list"]


def test_reports_are_limited_in_size_and_number(caplog, settings, monkeypatch):
    settings.CSP_REPORTS_PER_MINUTE = 3
    clear_cache()
    monkeypatch.setattr("config.csp.time", SimpleNamespace(time=lambda: 1_800_000_000.0))  # all in one minute
    client = Client()
    assert (
        client.post("/csp-report/", b"{" + b" " * 20_000 + b"}", content_type="application/csp-report").status_code
        == 413
    )
    assert client.get("/csp-report/").status_code == 405
    assert post_report(client, "not a report").status_code == 204
    with caplog.at_level(logging.WARNING, logger="csp"):
        for _ in range(5):
            assert post_report(client, REPORT).status_code == 204
    assert len([record for record in caplog.records if record.name == "csp"]) == 3
