"""Upload tokens never reach a log line or an error report."""

import io
import logging
import sys
from contextlib import contextmanager

import pytest
from celery.utils.log import get_multiprocessing_logger
from django.core import mail
from django.test import Client

from config.celery import app as celery_app
from submissions import views
from submissions.logs import ScrubbedExceptionReporter, ScrubUploadTokens, scrub
from tests.factories import make_submission

TOKEN = "Xq3-secret_token-for-one-witness"


def our_handlers():
    """Every handler on every logger that writes, but pytest's own, which capture records for test reports."""
    loggers = [logging.getLogger(), *(logging.getLogger(name) for name in logging.root.manager.loggerDict)]
    return {
        handler
        for logger in loggers
        for handler in getattr(logger, "handlers", [])
        if not type(handler).__module__.startswith("_pytest") and not isinstance(handler, logging.NullHandler)
    }


@contextmanager
def written(logger_name):
    """What the handlers reached by this logger write (their streams and their formatters)."""
    logger, handlers = logging.getLogger(logger_name), []
    while logger:
        handlers += [h for h in logger.handlers if isinstance(h, logging.StreamHandler) and h in our_handlers()]
        logger = logger.parent if logger.propagate else None
    buffer = io.StringIO()
    streams = [handler.setStream(buffer) for handler in handlers]
    try:
        yield buffer
    finally:
        for handler, stream in zip(handlers, streams, strict=True):
            handler.setStream(stream)


@pytest.fixture
def submission(demo):
    submission = make_submission(demo, upload_token=TOKEN)
    return submission


def test_every_handler_scrubs_upload_tokens():
    handlers = our_handlers()
    assert {type(handler).__name__ for handler in handlers} >= {"StreamHandler", "AdminEmailHandler"}
    for handler in handlers:
        assert any(isinstance(f, ScrubUploadTokens) for f in handler.filters), handler


def test_a_worker_s_own_handlers_scrub_upload_tokens_too():
    loggers = [logging.getLogger(), logging.getLogger("celery.task"), get_multiprocessing_logger()]
    before = [logger.handlers[:] for logger in loggers]
    try:
        # As a worker starts: it takes over the root logger with handlers of its own.
        celery_app.log.setup_logging_subsystem(loglevel="INFO", hijack_root_logger=True)
        assert our_handlers() - {handler for handlers in before for handler in handlers}, "the worker's handlers"
        for handler in our_handlers():
            assert any(isinstance(f, ScrubUploadTokens) for f in handler.filters), handler
    finally:
        for logger, handlers in zip(loggers, before, strict=True):
            logger.handlers = handlers


@pytest.mark.django_db
def test_django_request_log_lines_never_show_a_token(client, submission):
    with written("django.request") as log:
        assert client.get("/footage/a-mistyped-token/").status_code == 404
        assert Client(enforce_csrf_checks=True).post(f"/footage/{TOKEN}/upload/").status_code == 403
    assert "Not Found: /footage/[redacted]/" in log.getvalue()
    assert "Forbidden (CSRF cookie not set.): /footage/[redacted]/upload/" in log.getvalue()
    assert "a-mistyped-token" not in log.getvalue()
    assert TOKEN not in log.getvalue()


def test_the_development_server_log_never_shows_a_token():
    with written("django.server") as log:
        # As django.core.servers.basehttp logs each request.
        logging.getLogger("django.server").warning(
            '"%s" %s %s', f"GET /footage/{TOKEN}/ HTTP/1.1", "404", "179", extra={"status_code": 404}
        )
    assert '"GET /footage/[redacted]/ HTTP/1.1" 404 179' in log.getvalue()
    assert TOKEN not in log.getvalue()


def test_a_traceback_that_names_the_token_is_scrubbed():
    def fails(token):
        raise ValueError(f"no such upload for /footage/{token}/ (token {token})")

    with written("submissions") as log:
        try:
            fails(TOKEN)
        except ValueError:
            logging.getLogger("submissions").exception("Upload failed")
    assert "no such upload for /footage/[redacted]/ (token [redacted])" in log.getvalue()
    assert TOKEN not in log.getvalue()


@pytest.mark.django_db
def test_the_error_report_never_shows_the_token(submission, settings, monkeypatch):
    settings.ADMINS = [("Ops", "ops@example.org")]

    def broken(request, submission, token, *args, **kwargs):
        raise RuntimeError("the page broke")

    monkeypatch.setattr(views, "render_footage", broken)
    response = Client(raise_request_exception=False).get(
        f"/footage/{TOKEN}/", headers={"Referer": f"http://testserver/footage/{TOKEN}/"}
    )
    assert response.status_code == 500
    [report] = mail.outbox
    assert "/footage/[redacted]/" in report.subject
    assert "the page broke" in report.body
    assert TOKEN not in report.subject + report.body


def test_the_html_error_report_never_shows_the_token(rf):
    request = rf.get(f"/footage/{TOKEN}/", headers={"Authorization": f"Bearer {TOKEN}"})
    try:
        token = TOKEN
        raise RuntimeError(f"stored under {token[:8]}{token[8:]}")
    except RuntimeError:
        html = ScrubbedExceptionReporter(request, *sys.exc_info()).get_traceback_html()
    assert "token</td>" in html, "the frame's local variables are in the report"
    assert "[redacted]" in html
    assert TOKEN not in html


@pytest.mark.parametrize(
    ("text", "scrubbed"),
    [
        (f"GET /footage/{TOKEN}/upload/?x=1", "GET /footage/[redacted]/upload/?x=1"),
        (f"Authorization: Bearer {TOKEN}", "Authorization: Bearer [redacted]"),
        (f"https://appeals.example/footage/{TOKEN}", "https://appeals.example/footage/[redacted]"),
        ("GET /appeals/lanacre-avenue/ 200", "GET /appeals/lanacre-avenue/ 200"),
    ],
)
def test_scrub(text, scrubbed):
    assert scrub(text) == scrubbed
