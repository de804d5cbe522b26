import os

from celery import Celery
from celery.signals import after_setup_logger, after_setup_task_logger

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")

app = Celery("config")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks()


@after_setup_logger.connect
@after_setup_task_logger.connect
def scrub_upload_tokens(logger, **kwargs):
    """A worker logs through handlers of its own, not the settings' LOGGING: they scrub upload tokens too."""
    from submissions.logs import ScrubUploadTokens

    for handler in logger.handlers:
        handler.addFilter(ScrubUploadTokens())
