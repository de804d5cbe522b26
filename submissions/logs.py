"""Keep witnesses' upload tokens out of log lines and error reports.

A token is the whole key to a witness's private "add more footage" page, and it travels in that page's
address (/footage/<token>/) and in the uploader's Authorization header. Settings attach ScrubUploadTokens to
every logging handler and make ScrubbedExceptionReporter the error report, so neither ever writes one.
"""

import logging
import re

from django.views.debug import ExceptionReporter

FOOTAGE_PATH = re.compile(r"(/footage/)([^/\s?#\"'<>\\]+)")
BEARER = re.compile(r"(Bearer\s+)([^\s\"',;]+)", re.IGNORECASE)
REDACTED = "[redacted]"


def tokens_in(*texts: str) -> set[str]:
    found = {match[2] for text in texts for pattern in (FOOTAGE_PATH, BEARER) for match in pattern.finditer(text)}
    return found - {REDACTED}


def redact(text: str, tokens: set[str]) -> str:
    # Every copy of a token, not only the one in the address: a view's `token` variable stands alone.
    for token in sorted(tokens, key=len, reverse=True):
        text = text.replace(token, REDACTED)
    return text


def scrub(text: str) -> str:
    return redact(text, tokens_in(text))


class ScrubUploadTokens(logging.Filter):
    """Redacts tokens in each record's message, traceback and stack; drops nothing."""

    def filter(self, record):
        if record.exc_info and not record.exc_text:
            record.exc_text = logging.Formatter().formatException(record.exc_info)
        message = record.getMessage()
        tokens = tokens_in(message, record.exc_text or "", record.stack_info or "")
        if tokens:
            record.msg, record.args = redact(message, tokens), ()
            if record.exc_text:
                record.exc_text = redact(record.exc_text, tokens)
            if record.stack_info:
                record.stack_info = redact(record.stack_info, tokens)
        return True


class ScrubbedExceptionReporter(ExceptionReporter):
    """Django's error report (the email to ADMINS, the DEBUG page) with the request's token redacted.

    The report shows the request's address, headers and each frame's local variables.
    """

    def redact(self, text):
        tokens = tokens_in(text)
        if self.request is not None:
            tokens |= tokens_in(self.request.path, self.request.headers.get("Authorization", ""))
        return redact(text, tokens)

    def get_traceback_html(self):
        return self.redact(super().get_traceback_html())

    def get_traceback_text(self):
        return self.redact(super().get_traceback_text())
