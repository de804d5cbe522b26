from django.conf import settings
from django.core.files.storage import storages
from django.db import connection
from django.http import JsonResponse
from django.views.decorators.cache import never_cache

from config.celery import app as celery_app


def check_database():
    try:
        with connection.cursor() as cursor:
            cursor.execute("SELECT 1")
    except Exception as error:
        return f"error: {type(error).__name__}"
    return "ok"


def check_broker():
    if not settings.CELERY_BROKER_URL:
        return "not configured (tasks run in-process)"
    try:
        with celery_app.connection_for_write() as conn:
            conn.ensure_connection(max_retries=1, timeout=2)
    except Exception as error:
        return f"error: {type(error).__name__}"
    return "ok"


def check_evidence_storage():
    try:
        storages["evidence"].exists("healthz")
    except Exception as error:
        return f"error: {type(error).__name__}"
    return "ok"


@never_cache
def healthz(request):
    checks = {"database": check_database(), "broker": check_broker(), "evidence_storage": check_evidence_storage()}
    healthy = not any(value.startswith("error") for value in checks.values())
    return JsonResponse({"status": "ok" if healthy else "error", **checks}, status=200 if healthy else 503)
