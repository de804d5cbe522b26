"""Public pages under a viral load: a server-side cache, browser and proxy caching, and 304 answers.

Every cached page carries the generation it was rendered under: a number that changes whenever anything a
public page shows changes (an appeal, its incident, updates or images; see appeals/signals.py). A copy from
an older generation is never served, so a change reaches every page at once, on every web server sharing
the cache, without tracking which page shows what.
"""

import functools
import hashlib
import time
from functools import wraps
from urllib.parse import urlencode

from django.conf import settings
from django.core.cache import cache
from django.db import transaction
from django.http import HttpResponse
from django.utils.cache import get_conditional_response, patch_cache_control
from django.utils.http import http_date

GENERATION_KEY = "public-pages:generation"


def current_generation() -> int:
    """The time of the last change to public content, in nanoseconds; set to now when the cache is empty."""
    generation = cache.get(GENERATION_KEY)
    if generation is None:
        cache.add(GENERATION_KEY, time.time_ns(), timeout=None)
        generation = cache.get(GENERATION_KEY)
    return generation


def invalidate_public_pages():
    """Make every cached public page stale, now and again once the current transaction commits.

    The second bump matters: a reader may render and cache the old rows between the first bump and the commit.
    """
    cache.set(GENERATION_KEY, time.time_ns(), timeout=None)
    transaction.on_commit(lambda: cache.set(GENERATION_KEY, time.time_ns(), timeout=None), robust=True)


def set_public_cache_headers(response):
    patch_cache_control(response, public=True, max_age=settings.PUBLIC_PAGE_MAX_AGE)
    return response


def public_page(view=None, *, params=()):
    """Serve a view's successful GET answers from the shared cache, with ETag, Last-Modified and 304s.

    Only for pages that are the same for every reader: the view must not read the session, the user or
    cookies, so the page sets no cookie and needs no Vary header. The page is cached by its path and the
    query parameters in `params`, and the view must read no others: links shared on social media carry
    tracking parameters (fbclid, utm_source) that differ for every reader and would defeat the cache.
    """
    if view is None:
        return functools.partial(public_page, params=params)

    @wraps(view)
    def cached_view(request, *args, **kwargs):
        query = urlencode(sorted((name, value) for name in params for value in request.GET.getlist(name)))
        key = "public-page:" + hashlib.sha256(f"{request.path}?{query}".encode()).hexdigest()
        # One round trip to a shared cache: the generation and the page come back together.
        found = cache.get_many([GENERATION_KEY, key]) if settings.PUBLIC_PAGE_CACHE_SECONDS else {}
        generation = found.get(GENERATION_KEY) or current_generation()
        entry = found.get(key)
        if entry is not None and entry[0] == generation:
            response = HttpResponse(entry[1], content_type=entry[2])
        else:
            response = view(request, *args, **kwargs)
            if hasattr(response, "render") and not response.is_rendered:
                response.render()
            if response.status_code != 200 or response.streaming:
                return response
            etag = f'"{hashlib.md5(response.content, usedforsecurity=False).hexdigest()}"'
            # A copy rendered under an older generation is never served: it is replaced on the next request.
            entry = (generation, response.content, response["Content-Type"], etag)
            if settings.PUBLIC_PAGE_CACHE_SECONDS:
                cache.set(key, entry, timeout=settings.PUBLIC_PAGE_CACHE_SECONDS)
        etag = entry[3]
        # The generation is when public content last changed, so this page cannot be newer than it.
        last_modified = generation // 1_000_000_000
        response["ETag"] = etag
        response["Last-Modified"] = http_date(last_modified)
        set_public_cache_headers(response)
        conditional = get_conditional_response(request, etag=etag, last_modified=last_modified, response=response)
        return set_public_cache_headers(conditional) if conditional is not response else response

    return cached_view
