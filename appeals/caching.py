"""Public pages under a viral load: a server-side cache, browser and proxy caching, and 304 answers.

Every cached page carries the generation it was rendered under: a number that changes whenever anything a
public page shows changes (an appeal, its incident, updates or images; see appeals/signals.py). A copy from
an older generation is never served, so a change reaches every page at once, on every web server sharing
the cache, without tracking which page shows what.

When the cache cannot be reached, pages are rendered for every request: slower, never an error.
"""

import functools
import hashlib
import logging
import time
from urllib.parse import urlencode

from django.conf import settings
from django.core.cache import cache
from django.db import transaction
from django.http import HttpResponse
from django.utils.cache import get_conditional_response, patch_cache_control
from django.utils.http import http_date

logger = logging.getLogger(__name__)
GENERATION_KEY = "public-pages:generation"
# Headers a view sets that a cached copy must carry too (the sitemap's X-Robots-Tag).
KEPT_HEADERS = ["X-Robots-Tag"]


def bump_generation():
    try:
        cache.set(GENERATION_KEY, time.time_ns(), timeout=None)
    except Exception:
        # Copies expire after PUBLIC_PAGE_CACHE_SECONDS in any case; an officer's save must not fail for this.
        logger.exception("Could not mark the cached public pages stale")


def invalidate_public_pages():
    """Make every cached public page stale, now and again once the current transaction commits.

    The second bump matters: a reader may render and cache the old rows between the first bump and the commit.
    """
    bump_generation()
    transaction.on_commit(bump_generation, robust=True)


def read_cache(key):
    """The current generation and the cached copy of a page, in one round trip to a shared cache."""
    try:
        found = cache.get_many([GENERATION_KEY, key])
        generation = found.get(GENERATION_KEY)
        if generation is None:
            cache.add(GENERATION_KEY, time.time_ns(), timeout=None)
            generation = cache.get(GENERATION_KEY)
        return generation, found.get(key)
    except Exception:
        logger.warning("The page cache cannot be reached: rendering without it", exc_info=True)
        return None, None


def write_cache(key, entry):
    try:
        cache.set(key, entry, timeout=settings.PUBLIC_PAGE_CACHE_SECONDS)
    except Exception:
        logger.warning("The page cache cannot be reached: not keeping the rendered page", exc_info=True)


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

    @functools.wraps(view)
    def cached_view(request, *args, **kwargs):
        query = urlencode(sorted((name, value) for name in params for value in request.GET.getlist(name)))
        key = "public-page:" + hashlib.sha256(f"{request.path}?{query}".encode()).hexdigest()
        use_cache = settings.PUBLIC_PAGE_CACHE_SECONDS > 0
        generation, entry = read_cache(key) if use_cache else (None, None)
        if entry is not None and entry[0] == generation:
            response = HttpResponse(entry[1], content_type=entry[2], headers=entry[4])
            etag = entry[3]
        else:
            response = view(request, *args, **kwargs)
            if hasattr(response, "render") and not response.is_rendered:
                response.render()
            if response.status_code != 200 or response.streaming:
                return response
            etag = f'"{hashlib.md5(response.content, usedforsecurity=False).hexdigest()}"'
            if generation is not None:
                # A copy rendered under an older generation is never served: the next request replaces it.
                headers = {name: response[name] for name in KEPT_HEADERS if response.has_header(name)}
                write_cache(key, (generation, response.content, response["Content-Type"], etag, headers))
        response["ETag"] = etag
        set_public_cache_headers(response)
        if generation is not None:
            # The generation is when public content last changed, so this page cannot be newer than it.
            response["Last-Modified"] = http_date(generation // 1_000_000_000)
        last_modified = generation // 1_000_000_000 if generation is not None else None
        conditional = get_conditional_response(request, etag=etag, last_modified=last_modified, response=response)
        return set_public_cache_headers(conditional) if conditional is not response else response

    return cached_view
