import os

from celery import Celery
from celery.signals import after_setup_logger, after_setup_task_logger
from celery.utils.log import get_multiprocessing_logger

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")

app = Celery("config")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks()


@after_setup_logger.connect
@after_setup_task_logger.connect
def scrub_upload_tokens(logger, **kwargs):
    """A worker logs through handlers of its own, not the settings' LOGGING: they scrub upload tokens too."""
    from submissions.logs import ScrubUploadTokens

    # The worker's multiprocessing logger is given a handler too, with no signal of its own.
    for each in filter(None, (logger, get_multiprocessing_logger())):
        for handler in each.handlers:
            if not any(isinstance(existing, ScrubUploadTokens) for existing in handler.filters):
                handler.addFilter(ScrubUploadTokens())
