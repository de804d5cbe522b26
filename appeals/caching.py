"""Public pages under a viral load: browser and proxy caching, 304 answers and a shared server-side cache.

`public_page` marks a view whose answer is the same for every reader and gives it Cache-Control, ETag,
Last-Modified and 304 answers. `PublicPageCacheMiddleware` keeps those answers in the cache (Redis when
configured) and serves repeat requests from it before the rest of the middleware runs.

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


def read_cache(key=None):
    """The current generation and, given a key, the cached copy of a page, in one round trip."""
    try:
        found = cache.get_many([GENERATION_KEY, key] if key else [GENERATION_KEY])
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


def allow_shared_caching(response):
    """Let nginx or a CDN keep the answer for a second or so, and make browsers ask again every time.

    On a viral day that second still turns thousands of requests for a page into one; for longer, a shared
    cache could go on showing an image an officer has withdrawn, and nginx (without the paid purge) cannot
    be told to drop it. A stale copy may be served while it is being refreshed only just after it expired,
    never one left from an hour ago (deploy/nginx keeps old copies only for when the site cannot answer).
    """
    seconds = settings.PUBLIC_PAGE_SHARED_MAX_AGE
    patch_cache_control(response, public=True, max_age=0, s_maxage=seconds, stale_while_revalidate=seconds)


def public_object(key, load):
    """What `load()` returns, kept in the cache like a rendered page: until public content next changes.

    For rows that every page of a witness's journey shows (an appeal and its incident), which would
    otherwise be queried again on every page. What `load()` raises (Http404) is never kept. With
    PUBLIC_PAGE_CACHE_SECONDS at 0, or the cache out of reach, every call loads.
    """
    if settings.PUBLIC_PAGE_CACHE_SECONDS <= 0:
        return load()
    # Read before loading: a change committed meanwhile moves the generation on, so this copy is stale.
    generation, entry = read_cache(key)
    if entry is not None and entry[0] == generation:
        return entry[1]
    value = load()
    if generation is not None:
        write_cache(key, (generation, value))
    return value


def answer_conditionally(request, response, etag, last_modified):
    allow_shared_caching(response)
    conditional = get_conditional_response(request, etag=etag, last_modified=last_modified, response=response)
    if conditional is not response:
        allow_shared_caching(conditional)
    return conditional


def public_page(view=None, *, params=()):
    """Mark a view whose successful GET answer is the same for every reader, and make it cacheable.

    The view must not read the session, the user or cookies, so the page sets no cookie and needs no Vary
    header. Its answer depends on the path and the query parameters in `params` only: links shared on
    social media carry tracking parameters (fbclid, utm_source) that differ for every reader and would
    otherwise defeat the cache.
    """
    if view is None:
        return functools.partial(public_page, params=params)

    @functools.wraps(view)
    def public_view(request, *args, **kwargs):
        # Read before rendering: a change committed meanwhile moves the generation on, so this copy is stale.
        generation, _ = read_cache()
        response = view(request, *args, **kwargs)
        if hasattr(response, "render") and not response.is_rendered:
            response.render()
        if response.status_code != 200 or response.streaming:
            return response
        etag = f'"{hashlib.md5(response.content, usedforsecurity=False).hexdigest()}"'
        # The generation is when public content last changed, so this page cannot be newer than it.
        last_modified = generation // 1_000_000_000 if generation is not None else None
        response["ETag"] = etag
        if last_modified is not None:
            response["Last-Modified"] = http_date(last_modified)
        # Read by PublicPageCacheMiddleware: this answer may be kept and served to everyone.
        response.public_page_params = params
        response.public_page_generation = generation
        return answer_conditionally(request, response, etag, last_modified)

    return public_view


class PublicPageCacheMiddleware:
    """Serve repeat requests for public pages from the shared cache, before the rest of the middleware.

    Placed just after WhiteNoise, so a cached page costs about what a static file costs: sessions, CSRF,
    authentication, URL resolving and the CSP header are skipped, and the stored answer carries the
    headers they added. A path is served from the cache only once a `public_page` view has answered it.
    """

    def __init__(self, get_response):
        self.get_response = get_response
        # Path -> the query parameters its page reads, learned from the view's first answer.
        self.public_paths = {}

    def __call__(self, request):
        if request.method not in ("GET", "HEAD") or settings.PUBLIC_PAGE_CACHE_SECONDS <= 0:
            return self.get_response(request)
        params = self.public_paths.get(request.path)
        if params is not None:
            key = self.key(request, params)
            generation, entry = read_cache(key)
            if entry is not None and entry[0] == generation:
                _generation, content, headers, etag, last_modified = entry
                return answer_conditionally(request, HttpResponse(content, headers=headers), etag, last_modified)

        response = self.get_response(request)
        if request.method == "GET" and self.is_public(response):
            self.public_paths[request.path] = response.public_page_params
            self.keep(self.key(request, response.public_page_params), response)
        return response

    @staticmethod
    def key(request, params):
        query = urlencode(sorted((name, value) for name in params for value in request.GET.getlist(name)))
        return "public-page:" + hashlib.sha256(f"{request.path}?{query}".encode()).hexdigest()

    @staticmethod
    def keep(key, response):
        # Stored under the generation read before the page was rendered: if public content changed
        # meanwhile, this copy is already stale and is never served.
        generation = response.public_page_generation
        if generation is None or not response.has_header("Last-Modified"):
            return
        headers = {name: value for name, value in response.headers.items() if name.lower() != "set-cookie"}
        last_modified = generation // 1_000_000_000
        write_cache(key, (generation, response.content, headers, headers["ETag"], last_modified))

    @staticmethod
    def is_public(response):
        """A public page's full answer, and nothing that varies by reader slipped into it."""
        return (
            hasattr(response, "public_page_params")
            and response.status_code == 200
            and not response.cookies
            and "cookie" not in response.get("Vary", "").lower()
        )
