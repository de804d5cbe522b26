import os

from celery import Celery
from celery.signals import after_setup_logger, after_setup_task_logger
from celery.utils.log import get_multiprocessing_logger
from kombu.transport import redis as kombu_redis

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")

app = Celery("config")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks()


class RedisChannel(kombu_redis.Channel):
    def _connparams(self, asynchronous=False):
        # When the broker goes away, Celery 5.7's consumer collects the connection (unlinking it from the
        # transport) and then closes it again. A channel still holding unacknowledged messages (a task running,
        # or waiting for its countdown) then reconnects to put them back, or to acknowledge one later, and
        # failed here with AttributeError ("'NoneType' object has no attribute 'hostname'"): an unrecoverable
        # error that stopped the worker. A connection error is logged and recovered from; the messages come
        # back after the visibility timeout, and the sweeps queue again any work they stood for.
        if self.connection is None or self.connection.client is None:
            raise kombu_redis.redis.ConnectionError("The connection to the broker was closed")
        return super()._connparams(asynchronous=asynchronous)


class RedisTransport(kombu_redis.Transport):
    Channel = RedisChannel


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
