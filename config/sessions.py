"""Sessions whose idle limit depends on whose they are: an officer's is short, a witness's draft lasts a day."""

from django.conf import settings
from django.contrib.auth import SESSION_KEY
from django.contrib.sessions.backends.db import SessionStore as DatabaseSessionStore


class SessionStore(DatabaseSessionStore):
    def get_session_cookie_age(self):
        # A signed-in session is an officer's; any other holds a witness's unsent answers.
        if SESSION_KEY in self:
            return settings.SESSION_IDLE_MINUTES * 60
        return settings.SESSION_COOKIE_AGE
