import logging
from datetime import timedelta

from celery import shared_task
from django.db.models import Q
from django.utils import timezone

from evidence.disposal import DisposalBusy, dispose
from evidence.exports import ExportError, build_export
from evidence.models import Disposal, EvidenceExport
from submissions.queueing import enqueue_on_commit

log = logging.getLogger(__name__)


TIME_LIMIT = 3660


@shared_task(autoretry_for=(OSError,), retry_backoff=True, max_retries=5, soft_time_limit=3600, time_limit=TIME_LIMIT)
def build_evidence_export(export_id: int):
    """Build one requested export; a second run finds it claimed and does nothing.

    A claim older than the time limit belongs to a worker that died, so the redelivered task may take it over.
    """
    now = timezone.now()
    abandoned = Q(state=EvidenceExport.State.BUILDING, started_at__lt=now - timedelta(seconds=TIME_LIMIT))
    claimed = (
        EvidenceExport.objects.filter(pk=export_id)
        .filter(Q(state=EvidenceExport.State.PENDING) | abandoned)
        .update(state=EvidenceExport.State.BUILDING, started_at=now)
    )
    if not claimed:
        log.info("Export %s is gone or already claimed", export_id)
        return
    export = EvidenceExport.objects.select_related("submission", "requested_by").get(pk=export_id)
    try:
        build_export(export)
    except ExportError as error:
        export.state = EvidenceExport.State.FAILED
        export.failure_reason = str(error)[:300]
        export.finished_at = timezone.now()
        export.save(update_fields=["state", "failure_reason", "finished_at"])
        log.error("Export %s failed: %s", export_id, error)
    except OSError:
        # Storage hiccup: hand the claim back so the retry builds it.
        EvidenceExport.objects.filter(pk=export_id).update(state=EvidenceExport.State.PENDING)
        raise


# An export still waiting after this long was never enqueued (the broker was down) or its message was lost.
STUCK_AFTER = timedelta(minutes=5)


@shared_task(soft_time_limit=30, time_limit=45)
def sweep_stuck_exports():
    """Enqueue exports left waiting, and those whose worker died mid-build; the claim keeps this idempotent."""
    now = timezone.now()
    stuck = EvidenceExport.objects.filter(
        Q(state=EvidenceExport.State.PENDING, requested_at__lt=now - STUCK_AFTER)
        | Q(state=EvidenceExport.State.BUILDING, started_at__lt=now - timedelta(seconds=TIME_LIMIT))
    )
    for export_id in stuck.values_list("pk", flat=True):
        enqueue_on_commit(build_evidence_export, export_id)


@shared_task(
    autoretry_for=(OSError, DisposalBusy), retry_backoff=True, max_retries=10, soft_time_limit=600, time_limit=660
)
def dispose_submission(disposal_id: int):
    """Carry out one approved disposal; a second run, or one for a held submission, does nothing."""
    dispose(disposal_id)


@shared_task(soft_time_limit=30, time_limit=45)
def sweep_stuck_disposals():
    """Enqueue approved disposals not done yet: never enqueued, lost, or given up while a file was busy."""
    stuck = Disposal.objects.open().filter(approved_at__lt=timezone.now() - STUCK_AFTER)
    for disposal_id in stuck.values_list("pk", flat=True):
        enqueue_on_commit(dispose_submission, disposal_id)
