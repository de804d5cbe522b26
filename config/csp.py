"""Content-Security-Policy violation reports: logged briefly, never with the client's address.

Browsers post here on their own (report-uri and report-to), so the view takes no cookies' word for
anything: it is CSRF-exempt, reads at most CSP_REPORT_MAX_BYTES, and logs at most
CSP_REPORTS_PER_MINUTE reports a minute across the site, so a flood costs a counter, not the logs.
"""

import json
import logging
import time
from urllib.parse import urlsplit

from django.conf import settings
from django.core.cache import cache
from django.http import HttpResponse
from django.urls import Resolver404, resolve
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_POST

log = logging.getLogger("csp")
CSP_REPORT_MAX_BYTES = 16 * 1024


class ReportingEndpointsMiddleware:
    """Name the endpoint that the policy's report-to refers to (the Reporting API)."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        response = self.get_response(request)
        response.setdefault("Reporting-Endpoints", f'{settings.CSP_REPORT_GROUP}="{settings.CSP_REPORT_PATH}"')
        return response


@csrf_exempt
@require_POST
def csp_report(request):
    try:
        length = int(request.headers.get("Content-Length", ""))
    except ValueError:
        return HttpResponse(status=411)
    if length > CSP_REPORT_MAX_BYTES:
        return HttpResponse(status=413)
    try:
        payload = json.loads(request.read(CSP_REPORT_MAX_BYTES))
    except ValueError:
        return HttpResponse(status=400)
    for report in violations(payload):
        if not within_rate():
            break
        log.warning("CSP violation: %s", describe(report))
    return HttpResponse(status=204)


def violations(payload) -> list[dict]:
    """The violation bodies of a report-uri post ({"csp-report": {...}}) or a report-to batch ([{...}])."""
    if isinstance(payload, dict) and isinstance(payload.get("csp-report"), dict):
        return [payload["csp-report"]]
    if isinstance(payload, list):
        return [
            item["body"]
            for item in payload
            if isinstance(item, dict) and item.get("type") == "csp-violation" and isinstance(item.get("body"), dict)
        ]
    return []


def within_rate() -> bool:
    key = f"csp-reports:{int(time.time() // 60)}"
    cache.add(key, 0, timeout=120)
    try:
        return cache.incr(key) <= settings.CSP_REPORTS_PER_MINUTE
    except ValueError:  # expired between add and incr
        return False


def describe(report: dict) -> str:
    """Which rule, what it blocked and on which page, with no query strings or tokens from paths."""

    def field(*names):
        return next((str(report[name]) for name in names if report.get(name)), "")

    line = f"directive={field('effectiveDirective', 'effective-directive', 'violated-directive')[:100]}"
    line += f" blocked={origin_or_keyword(field('blockedURL', 'blocked-uri'))}"
    line += f" page={page_name(field('documentURL', 'document-uri'))}"
    if source := field("sourceFile", "source-file"):
        line += f" source={origin_or_keyword(source)}:{field('lineNumber', 'line-number')[:10]}"
    return line


def origin_or_keyword(url: str) -> str:
    """ "inline", "eval" and the like as they are; a URL reduced to its origin."""
    parts = urlsplit(url)
    if parts.scheme and parts.netloc:
        return f"{parts.scheme}://{parts.netloc}"[:200]
    return (parts.scheme or url)[:50]


def page_name(url: str) -> str:
    """The page's URL name rather than its path, which may carry a witness's upload token."""
    try:
        match = resolve(urlsplit(url).path or "/")
    except Resolver404:
        return "unknown"
    return match.view_name
