"""Sessions whose idle limit depends on whose they are: an officer's is short, a witness's draft lasts a day.

Kept in the database, the copy that counts: a witness's unsent answers survive a restart of anything
else, and expired ones are purged hourly (clear_expired_sessions). With a shared cache, config.sessions.cached
reads them from the cache instead and writes them to both.
"""

from django.conf import settings
from django.contrib.auth import SESSION_KEY
from django.contrib.sessions.backends.db import SessionStore as DatabaseSessionStore


class IdleLimits:
    def get_session_cookie_age(self):
        # A signed-in session is an officer's; any other holds a witness's unsent answers.
        if SESSION_KEY in self:
            return settings.SESSION_IDLE_MINUTES * 60
        return settings.SESSION_COOKIE_AGE


class SessionStore(IdleLimits, DatabaseSessionStore):
    pass
