import time

# How often an active session's expiry is pushed back; the idle limits are in config.sessions.
REFRESH_SECONDS = 60


class IdleSessionMiddleware:
    """End sessions after their idle limit without a request, writing the session at most once a minute.

    Django's SESSION_SAVE_EVERY_REQUEST would write it on every request, including each Range request a
    video player makes while an officer seeks; marking it modified once a minute moves the expiry just as well.
    """

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        session = request.session
        if session.session_key:
            now = int(time.time())
            if now - session.get("_last_seen", 0) >= REFRESH_SECONDS:
                session["_last_seen"] = now
        return self.get_response(request)
