"""Test settings: the real settings, with fast hashing and email kept in memory."""

import os

os.environ.setdefault("SECRET_KEY", "tests-only-secret-key")
# pytest-xdist's processes (gw0, gw1, ...) share the Redis databases of CELERY_BROKER_URL and CACHE_URL: each keeps
# its queues and cache under keys of its own, as do the Celery workers it starts, which inherit the environment.
if worker := os.environ.get("PYTEST_XDIST_WORKER"):
    os.environ["REDIS_KEY_PREFIX"] = f"tests-{worker}:"

from config.settings import *  # noqa: F403

PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"
STORAGES["staticfiles"]["BACKEND"] = "django.contrib.staticfiles.storage.StaticFilesStorage"  # noqa: F405
# Serve static files from the source folders, as runserver does, without collectstatic.
WHITENOISE_USE_FINDERS = True
WHITENOISE_AUTOREFRESH = True
# The tests create their own database, whose creator (DATABASE_URL's user) is the owner: tests/conftest.py.
DATABASES.pop("owner", None)  # noqa: F405
