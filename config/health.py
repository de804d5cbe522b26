from botocore.exceptions import ClientError
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


def check_object_storage():
    """The bucket answers a signed request: a wrong key, a missing bucket or a refused permission shows here."""
    storage = storages["evidence"]
    try:
        # A listing, not a HEAD, so that a refusal comes with S3's reason (SignatureDoesNotMatch, NoSuchBucket...).
        storage.connection.meta.client.list_objects_v2(Bucket=storage.bucket_name, Prefix="healthz", MaxKeys=1)
    except ClientError as error:
        return f"error: {error.response['Error'].get('Code', 'refused')}"
    except Exception as error:
        return f"error: {type(error).__name__}"
    return "ok"


@never_cache
def healthz(request):
    checks = {"database": check_database(), "broker": check_broker()}
    if settings.OBJECT_STORAGE_BUCKET:
        checks["object_storage"] = check_object_storage()
    else:
        checks["evidence_storage"] = check_evidence_storage()
    healthy = not any(value.startswith("error") for value in checks.values())
    return JsonResponse({"status": "ok" if healthy else "error", **checks}, status=200 if healthy else 503)
