"""Queueing Celery work once the transaction that owes it commits."""

import logging

from django.db import transaction

log = logging.getLogger(__name__)


def enqueue_on_commit(task, *args):
    """Queue task(*args) once the current transaction commits (at once outside one). It never raises.

    With the broker down, the rows are stored all the same and the failure is logged: every task queued this
    way is owed by a row that a periodic sweep finds, and queues again once the broker is back.
    """

    def enqueue():
        try:
            task.delay(*args)
        except Exception:
            log.exception("Could not queue %s%r; the sweep will queue it", task.name, args)

    transaction.on_commit(enqueue)
