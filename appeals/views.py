import json
import sys
from datetime import timedelta

import segno
from django.conf import settings
from django.contrib.messages.storage.cookie import CookieStorage
from django.core.paginator import Paginator
from django.db import DatabaseError
from django.http import FileResponse, Http404, HttpResponse, HttpResponseGone, HttpResponseServerError, QueryDict
from django.shortcuts import get_object_or_404, render
from django.template import loader
from django.templatetags.static import static
from django.utils import timezone
from django.utils.cache import get_conditional_response
from django.utils.http import http_date
from django.utils.safestring import mark_safe
from django.utils.timesince import timeuntil
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_safe

from appeals.caching import allow_shared_caching, public_page
from appeals.forms import AppealFilterForm
from appeals.models import Appeal, AppealImage

APPEALS_PER_PAGE = 20
CLOSED_ON_FIRST_PAGE = 10
# Every query parameter the list reads; any other (fbclid, utm_source) is ignored.
LIST_PARAMS = ["q", "area", "offence", "status", "page"]


@require_safe
@public_page(params=LIST_PARAMS)
def appeal_list(request):
    published = Appeal.objects.published().select_related("incident")
    areas = published.order_by("incident__area").values_list("incident__area", flat=True).distinct()
    form = AppealFilterForm(request.GET, areas=areas)
    if form.is_valid():
        data = form.cleaned_data
        matching = published.search(data["q"])
        if data["area"]:
            matching = matching.filter(incident__area=data["area"])
        if data["offence"]:
            matching = matching.filter(incident__offence=data["offence"])
    else:
        # An area or offence that does not exist matches nothing; it is not an error.
        matching = published.none()
    filtered = any(form.data.get(name) for name in form.fields)
    show_closed = request.GET.get("status") == "closed"
    open_appeals = Paginator(matching.open().order_by("-published_at", "-pk"), APPEALS_PER_PAGE)
    closed_appeals = matching.filter(status=Appeal.Status.CLOSED).order_by("-closed_at", "-pk")
    context = {
        "form": form,
        "filtered": filtered,
        "show_closed": show_closed,
        "query_without_page": query_without(request, "page"),
    }
    if show_closed:
        context["page"] = context["closed_page"] = Paginator(closed_appeals, APPEALS_PER_PAGE).get_page(
            request.GET.get("page")
        )
    else:
        context["page"] = context["open_page"] = open_appeals.get_page(request.GET.get("page"))
        if context["open_page"].number == 1:
            # One query for a page of closed appeals plus one more row: that row says whether there are more.
            closed = list(closed_appeals[: CLOSED_ON_FIRST_PAGE + 1])
            context["closed_appeals"] = closed[:CLOSED_ON_FIRST_PAGE]
            context["more_closed"] = len(closed) > CLOSED_ON_FIRST_PAGE
    return render(request, "appeals/appeal_list.html", context)


def query_without(request, name):
    """The list's own parameters, less one: other parameters (tracking ones) never reach the page."""
    query = QueryDict(mutable=True)
    for param in LIST_PARAMS:
        if param != name and request.GET.getlist(param):
            query.setlist(param, request.GET.getlist(param))
    return query.urlencode()


@require_safe
@public_page
def appeal_detail(request, slug):
    appeal = get_object_or_404(Appeal.objects.published().select_related("incident"), slug=slug)
    return render(request, "appeals/appeal_detail.html", appeal_page_context(appeal))


@never_cache
def appeal_preview(request, slug):
    """The page exactly as the public will see it, for any appeal the officer may see, drafts included.

    Mounted behind the admin site's own check (urls.py), so it needs the same password and second factor.
    """
    appeal = get_object_or_404(Appeal.objects.visible_to(request.user).select_related("incident"), slug=slug)
    response = render(request, "appeals/appeal_detail.html", {**appeal_page_context(appeal), "preview": True})
    response["X-Robots-Tag"] = "noindex"
    return response


def appeal_page_context(appeal):
    updates = list(appeal.updates.all())
    images = list(appeal.images.released())
    canonical_url = settings.SITE_URL + appeal.get_absolute_url()
    share_image = settings.SITE_URL + (images[0].get_absolute_url() if images else static("images/share.png"))
    updated_at = updates[0].posted_at if updates else None
    article = {
        "@context": "https://schema.org",
        "@type": "NewsArticle",
        "headline": appeal.headline[:110],
        "description": appeal.summary,
        "datePublished": appeal.published_at.isoformat() if appeal.published_at else None,
        "dateModified": (updated_at or appeal.updated_at).isoformat(),
        "image": [share_image],
        "url": canonical_url,
        "mainEntityOfPage": canonical_url,
        "author": {"@type": "Organization", "name": settings.FORCE_NAME},
        "publisher": {"@type": "Organization", "name": settings.FORCE_NAME},
    }
    return {
        "appeal": appeal,
        "updates": updates,
        "images": images,
        "updated_at": updated_at,
        "canonical_url": canonical_url,
        "share_image": share_image,
        "share_image_alt": images[0].alt_text if images else "",
        "structured_data": json_for_script(article),
    }


def json_for_script(data):
    """JSON safe inside a <script> element: no way to close the element or open a comment."""
    text = json.dumps(data, ensure_ascii=False)
    return mark_safe(text.replace("<", "\\u003c").replace(">", "\\u003e").replace("&", "\\u0026"))


@require_safe
@public_page
def appeal_print(request, slug):
    appeal = get_object_or_404(Appeal.objects.published().select_related("incident"), slug=slug)
    canonical_url = settings.SITE_URL + appeal.get_absolute_url()
    qr_code = segno.make(canonical_url, error="m").svg_inline(
        scale=1, border=4, omitsize=True, svgclass="app-print__qr-code", title="QR code linking to this appeal"
    )
    return render(
        request,
        "appeals/appeal_print.html",
        {"appeal": appeal, "canonical_url": canonical_url, "qr_code": mark_safe(qr_code)},
    )


@require_safe
def appeal_image(request, slug, pk):
    """A released image's public derivative. Images of drafts are shown to the officers who may preview them.

    Cached like a public page (appeals.caching.allow_shared_caching), so that a withdrawn image is gone from
    shared caches as soon as the pages that showed it are; a reader's browser asks again and gets a 304.
    """
    images = AppealImage.objects.select_related("appeal").filter(pk=pk, appeal__slug=slug)
    image = images.filter(appeal__in=Appeal.objects.published()).first()
    public = image is not None
    if image is None and request.COOKIES.get(settings.SESSION_COOKIE_NAME) and request.user.is_staff:
        image = images.filter(appeal__in=Appeal.objects.visible_to(request.user)).first()
    if image is None:
        raise Http404("No such image.")
    if image.withdrawn_at:
        return HttpResponseGone("This image has been withdrawn.", content_type="text/plain; charset=utf-8")
    last_modified = int(image.created_at.timestamp())
    response = get_conditional_response(request, last_modified=last_modified)
    if response is None:
        try:
            response = FileResponse(image.public.open("rb"), content_type="image/jpeg")
        except FileNotFoundError:
            raise Http404("The image file is missing.") from None
    # An image's file never changes (a replacement is a new image with a new address); it can only be withdrawn.
    response["Last-Modified"] = http_date(last_modified)
    if public:
        allow_shared_caching(response)
    else:
        # Not yet public: no shared cache may keep it.
        response["Cache-Control"] = "private, no-store"
    return response


def force_details():
    """How to reach the force, for the privacy notice and the accessibility statement."""
    return {
        "controller": settings.FORCE_CONTROLLER,
        "address_lines": [line.strip() for line in settings.FORCE_ADDRESS.split(",") if line.strip()],
        "contact_email": settings.FORCE_CONTACT_EMAIL,
        "dpo_email": settings.FORCE_DPO_EMAIL,
    }


@require_safe
@public_page
def privacy_notice(request):
    return render(
        request,
        "appeals/privacy.html",
        {
            **force_details(),
            "review_months_no_action": settings.SUBMISSION_REVIEW_MONTHS_NO_ACTION,
            "upload_expiry_hours": settings.UPLOAD_EXPIRY_HOURS,
        },
    )


@require_safe
@public_page
def accessibility_statement(request):
    return render(
        request,
        "appeals/accessibility.html",
        {
            **force_details(),
            "answers_kept_for": answers_kept_for(),
            # WCAG 2.2.1 allows a time limit longer than 20 hours.
            "time_limit_is_adjustable": settings.SESSION_COOKIE_AGE > 20 * 3600,
        },
    )


@require_safe
@public_page
def cookies(request):
    """The cookies the witness journey sets, named as configured, so the page stays true when settings change."""
    return render(
        request,
        "appeals/cookies.html",
        {
            "session_cookie": settings.SESSION_COOKIE_NAME,
            "session_lasts": cookie_lifetime(
                None if settings.SESSION_EXPIRE_AT_BROWSER_CLOSE else settings.SESSION_COOKIE_AGE
            ),
            "answers_kept_for": answers_kept_for(),
            "csrf_cookie": settings.CSRF_COOKIE_NAME,
            "csrf_lasts": cookie_lifetime(settings.CSRF_COOKIE_AGE),
            "messages_cookie": CookieStorage.cookie_name,
        },
    )


def answers_kept_for():
    """How long a witness's unsent answers are kept without a visit, in words."""
    now = timezone.now()
    return timeuntil(now + timedelta(seconds=settings.SESSION_COOKIE_AGE), now)


def cookie_lifetime(max_age):
    """How long a cookie lasts, in words. One with no age is deleted when the browser closes."""
    if max_age is None:
        return "When you close your browser"
    now = timezone.now()
    return f"After {timeuntil(now + timedelta(seconds=max_age), now)}"


@require_safe
@public_page
def robots_txt(request):
    lines = [
        "User-agent: *",
        "Disallow: /admin/",
        "Disallow: /appeals/*/give-information/",
        "Disallow: /appeals/*/preview/",
        f"Sitemap: {settings.SITE_URL}/sitemap.xml",
    ]
    return HttpResponse("\n".join(lines) + "\n", content_type="text/plain; charset=utf-8")


def server_error(request):
    """The 500 page, or the 503 page when the database is down: both readable without the database."""
    unavailable = isinstance(sys.exc_info()[1], DatabaseError)
    template = loader.get_template("503.html" if unavailable else "500.html")
    # No request context: context processors could need the database (request.user) that just failed.
    content = template.render(
        {"SITE_NAME": settings.SITE_NAME, "FORCE_NAME": settings.FORCE_NAME, "SITE_URL": settings.SITE_URL}
    )
    if unavailable:
        response = HttpResponse(content, status=503)
        response["Retry-After"] = "60"
        return response
    return HttpResponseServerError(content)
