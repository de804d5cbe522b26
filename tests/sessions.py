"""Sessions as time leaves them, in the database and in the cache's copies of witnesses' sessions."""

from datetime import timedelta

from django.contrib.sessions.backends.cached_db import KEY_PREFIX
from django.contrib.sessions.models import Session
from django.core.cache import cache
from django.utils import timezone


def expire_sessions():
    """Every session past its idle limit: expired in the database, its cached copy gone with its time to live."""
    keys = list(Session.objects.values_list("session_key", flat=True))
    Session.objects.update(expire_date=timezone.now() - timedelta(seconds=1))
    cache.delete_many([KEY_PREFIX + key for key in keys])
