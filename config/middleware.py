import time

from django.conf import settings

# How often an active session's expiry is pushed back; the idle limits are in config.sessions.
REFRESH_SECONDS = 60


class IdleSessionMiddleware:
    """End sessions after their idle limit without a request, writing the session at most once a minute.

    Django's SESSION_SAVE_EVERY_REQUEST would write it on every request, including each Range request a
    video player makes while an officer seeks; marking it modified once a minute moves the expiry just as well.
    A session the view has changed is written anyway, and is stamped for free (a witness's first answer).
    """

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        response = self.get_response(request)
        session = request.session
        now = int(time.time())
        written_anyway = session.modified and not session.is_empty()
        if written_anyway or (session.session_key and now - session.get("_last_seen", 0) >= REFRESH_SECONDS):
            session["_last_seen"] = now
        return response


class ClientAddressFromProxyMiddleware:
    """Behind the site's own proxy, REMOTE_ADDR is the proxy: put back the address the proxy saw.

    nginx appends the client's address to X-Forwarded-For; anything before it came from the client and
    could be anything, so only the last entry is believed. Everything that reads REMOTE_ADDR (the
    sign-in throttle, rate limits) then sees the client, never one address shared by everyone.
    """

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        if settings.BEHIND_TLS_PROXY:
            forwarded = request.META.get("HTTP_X_FORWARDED_FOR", "").rsplit(",", 1)[-1].strip()
            if forwarded:
                request.META["REMOTE_ADDR"] = forwarded
        return self.get_response(request)
