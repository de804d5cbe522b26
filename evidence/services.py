"""The officers' requests that go through the audit trail."""

from django.db import transaction

from evidence.audit import record
from evidence.models import AuditEntry, EvidenceExport
from evidence.tasks import build_evidence_export
from submissions.models import Submission
from submissions.queueing import enqueue_on_commit


def request_export(*, submission: Submission, by) -> EvidenceExport:
    """Record the request (audited) and build the zip on the media queue once the request commits."""
    with transaction.atomic():
        export = EvidenceExport.objects.create(submission=submission, requested_by=by)
        record(
            actor=by,
            action=AuditEntry.Action.REQUESTED_EXPORT,
            submission=submission,
            detail={"export": export.pk},
        )
        enqueue_on_commit(build_evidence_export, export.pk)
    return export
