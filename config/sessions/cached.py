"""Witnesses' sessions read from the shared cache and written through to the database (the engine with Redis).

Every page of the journey reads the witness's session; only a page that takes an answer writes it. Reads
come from the cache; every write goes to the database first, then to the cache. A draft is therefore never
only in the cache: whatever Redis does (evicts under memory pressure, restarts empty, cannot be reached),
the next read finds the answers in the database, and abandoned ones are purged there as before. Django's
"cache" engine would save the database write too, but the answers would then live only in a store that is
also the page cache, where a witness's draft could vanish without a trace.

An officer's session (it signs them in) is never kept in the cache: signing out or expiring never depends
on a copy. Never with a per-process cache (local memory), where another process's copy would be stale.
"""

import logging

from django.contrib.auth import SESSION_KEY
from django.contrib.sessions.backends.base import UpdateError
from django.contrib.sessions.backends.cached_db import SessionStore as CachedDatabaseSessionStore
from django.contrib.sessions.backends.db import SessionStore as DatabaseSessionStore
from django.db import transaction

from config.sessions import IdleLimits

logger = logging.getLogger(__name__)


class SessionStore(IdleLimits, CachedDatabaseSessionStore):
    def load(self):
        try:
            data = self._cache.get(self.cache_key)
        except Exception:
            logger.warning("The session cache cannot be reached: reading from the database", exc_info=True)
            data = None
        if data is not None:
            return data
        stored = self._get_session_from_db()
        if not stored:
            return {}
        data = self.decode(stored.session_data)
        self.keep_in_cache(data, self.get_expiry_age(expiry=stored.expire_date))
        return data

    def exists(self, session_key):
        # Every session is in the database: a new key is checked there alone.
        return DatabaseSessionStore.exists(self, session_key)

    def save(self, must_create=False):
        if must_create or self.session_key is None or transaction.get_connection().in_atomic_block:
            DatabaseSessionStore.save(self, must_create)
        else:
            self.update_row()
        self.keep_in_cache(self._session, self.get_expiry_age())

    def update_row(self):
        """Django's save, less its transaction: a single UPDATE needs no BEGIN and COMMIT around it, and every
        answer a witness gives saves the session (two round trips fewer per answer)."""
        updated = self.model.objects.filter(session_key=self.session_key).update(
            session_data=self.encode(self._get_session()), expire_date=self.get_expiry_date()
        )
        if not updated:
            # Gone meanwhile (signed out elsewhere, or purged): as Django's own save says.
            raise UpdateError

    def delete(self, session_key=None):
        DatabaseSessionStore.delete(self, session_key)
        session_key = session_key or self.session_key
        if session_key:
            self.forget(self.cache_key_prefix + session_key)

    def keep_in_cache(self, data, timeout):
        if SESSION_KEY in data:
            # Signed in just now: the copy kept before (a witness's) goes.
            self.forget(self.cache_key)
            return
        try:
            self._cache.set(self.cache_key, data, timeout)
        except Exception:
            logger.warning("The session cache cannot be reached: not keeping a copy", exc_info=True)
            # An older copy left there would hide what the database now holds.
            self.forget(self.cache_key)

    def forget(self, cache_key):
        try:
            self._cache.delete(cache_key)
        except Exception:
            logger.error("A session's copy in the cache may be out of date", exc_info=True)
