from django.conf import settings
from django.db import models

from appeals.models import evidence_storage
from incidents.models import IncidentScopedQuerySet
from submissions.append_only import AppendOnly, AppendOnlyModel, AppendOnlyQuerySet
from submissions.models import MediaFile, Submission


class AuditTrailIsAppendOnly(AppendOnly):
    pass


class AuditEntryQuerySet(IncidentScopedQuerySet, AppendOnlyQuerySet):
    incident_lookup = "submission__appeal__incident"


class AuditEntry(AppendOnlyModel):
    """Who did what to which piece of evidence, and when. Written once, never changed or deleted.

    On PostgreSQL a trigger refuses UPDATE and DELETE too, so not even raw SQL from the application
    can rewrite the trail.
    """

    class Action(models.TextChoices):
        VIEWED_SUBMISSION = "viewed_submission", "Viewed the submission"
        PLAYED_FILE = "played_file", "Played a file"
        VIEWED_IMAGE = "viewed_image", "Viewed a still image"
        DOWNLOADED_ORIGINAL = "downloaded_original", "Downloaded an original"
        CHANGED_STATE = "changed_state", "Changed the state"
        ASSIGNED = "assigned", "Assigned"
        CHANGED_PRIORITY = "changed_priority", "Changed the priority"
        ADDED_NOTE = "added_note", "Added a note"
        REQUESTED_EXPORT = "requested_export", "Requested an evidence export"
        DOWNLOADED_EXPORT = "downloaded_export", "Downloaded an evidence export"
        RETAINED = "retained", "Retained after review"
        PLACED_LEGAL_HOLD = "placed_legal_hold", "Put on legal hold"
        LIFTED_LEGAL_HOLD = "lifted_legal_hold", "Lifted the legal hold"
        APPROVED_DISPOSAL = "approved_disposal", "Approved disposal"
        WITHDREW_DISPOSAL = "withdrew_disposal", "Withdrew the approved disposal"
        DISPOSED = "disposed", "Disposed of"
        REVOKED_FOOTAGE_LINK = "revoked_footage_link", "Turned off the witness's footage link"
        SEARCHED_PERSONAL_DATA = "searched_personal_data", "Searched for a person's data"
        EXPORTED_PERSONAL_DATA = "exported_personal_data", "Exported a person's data"
        REDACTED_CONTACT_DETAILS = "redacted_contact_details", "Redacted the contact details"

    actor = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    action = models.CharField(max_length=30, choices=Action.choices)
    # Empty only for a search or export of a person's data that found no submission.
    submission = models.ForeignKey(
        Submission, on_delete=models.PROTECT, null=True, blank=True, related_name="audit_entries"
    )
    media_file = models.ForeignKey(MediaFile, on_delete=models.PROTECT, null=True, blank=True, related_name="+")
    reason = models.TextField(blank=True)
    detail = models.JSONField(default=dict, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    objects = AuditEntryQuerySet.as_manager()
    refused = AuditTrailIsAppendOnly
    refused_name = "Audit entries"

    class Meta:
        ordering = ["created_at", "pk"]
        verbose_name_plural = "audit entries"
        permissions = [
            ("search_personal_data", "Can find, export and redact a person's data in every incident"),
        ]
        constraints = [
            models.CheckConstraint(
                name="auditentry_about_a_submission",
                condition=models.Q(submission__isnull=False)
                | models.Q(action__in=["searched_personal_data", "exported_personal_data"]),
            ),
        ]
        indexes = [
            # A submission's audit trail, in order.
            models.Index(fields=["submission", "created_at"], name="auditentry_trail_idx"),
            # "Has this officer played this file in the last few minutes?" (one entry per viewing).
            models.Index(fields=["actor", "media_file", "action", "created_at"], name="auditentry_recent_access_idx"),
        ]

    def __str__(self):
        return f"{self.actor} {self.get_action_display().lower()} ({self.submission})"

    def change_summary(self) -> str:
        """ "In review → Actioned" for state, assignment and priority changes; empty for the rest."""
        labels = {
            self.Action.CHANGED_STATE: dict(Submission.State.choices),
            self.Action.CHANGED_PRIORITY: dict(Submission.Priority.choices),
            self.Action.ASSIGNED: {},
        }.get(self.action)
        if labels is None:
            return ""
        before, after = self.detail.get("from"), self.detail.get("to")
        return f"{labels.get(before, before or 'nobody')} → {labels.get(after, after or 'nobody')}"


def export_upload_to(export, filename):
    return f"exports/{export.submission.reference}/{export.pk}.zip"


class EvidenceExportQuerySet(IncidentScopedQuerySet):
    incident_lookup = "submission__appeal__incident"


class EvidenceExport(models.Model):
    """A zip of a submission's originals, derivatives, manifest and audit trail, built by a worker."""

    class State(models.TextChoices):
        PENDING = "pending", "Waiting to be built"
        BUILDING = "building", "Being built"
        READY = "ready", "Ready to download"
        FAILED = "failed", "Failed"

    submission = models.ForeignKey(Submission, on_delete=models.PROTECT, related_name="exports")
    requested_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    state = models.CharField(max_length=20, choices=State.choices, default=State.PENDING)
    failure_reason = models.CharField(max_length=300, blank=True)
    file = models.FileField(storage=evidence_storage, upload_to=export_upload_to, max_length=300, blank=True)
    size = models.BigIntegerField(null=True, blank=True)
    sha256 = models.CharField(max_length=64, blank=True)
    requested_at = models.DateTimeField(auto_now_add=True)
    started_at = models.DateTimeField(null=True, blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)

    objects = EvidenceExportQuerySet.as_manager()

    class Meta:
        ordering = ["-requested_at"]
        constraints = [
            models.CheckConstraint(
                name="evidenceexport_ready_has_hash",
                condition=~models.Q(state="ready") | models.Q(sha256__regex=r"^[0-9a-f]{64}$", size__gt=0),
            ),
        ]
        indexes = [
            # verify_export: which recorded export has this SHA-256?
            models.Index(fields=["sha256"], name="evidenceexport_sha256_idx"),
        ]

    def __str__(self):
        return f"Export {self.pk} of {self.submission}"

    def filename(self):
        return f"evidence-{self.submission.reference}-{self.pk}.zip"


class DisposalQuerySet(IncidentScopedQuerySet):
    incident_lookup = "submission__appeal__incident"

    def open(self):
        return self.filter(withdrawn_at__isnull=True, completed_at__isnull=True)


class Disposal(models.Model):
    """A supervisor's approval to dispose of a submission, and once done the erasure record: what was removed
    (its reference, how many files, their sizes and SHA-256s; never the content), when, who approved and why.
    """

    submission = models.ForeignKey(Submission, on_delete=models.PROTECT, related_name="disposals")
    reference = models.CharField(max_length=9, editable=False)
    approved_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    reason = models.TextField()
    approved_at = models.DateTimeField(auto_now_add=True)
    # Set when a legal hold stops the disposal before it ran.
    withdrawn_at = models.DateTimeField(null=True, blank=True)
    completed_at = models.DateTimeField(null=True, blank=True)
    file_count = models.PositiveIntegerField(null=True, blank=True)
    total_bytes = models.BigIntegerField(null=True, blank=True)
    # One {"kind", "size", "sha256"} per original, derivative and export removed from storage.
    removed = models.JSONField(default=list, blank=True)

    objects = DisposalQuerySet.as_manager()

    class Meta:
        ordering = ["-approved_at"]
        constraints = [
            models.UniqueConstraint(
                fields=["submission"], condition=models.Q(withdrawn_at__isnull=True), name="disposal_one_per_submission"
            ),
            models.CheckConstraint(name="disposal_has_reason", condition=~models.Q(reason="")),
        ]
        indexes = [
            # The sweep: approved disposals not yet done.
            models.Index(
                fields=["approved_at"],
                name="disposal_open_idx",
                condition=models.Q(withdrawn_at__isnull=True, completed_at__isnull=True),
            ),
        ]

    def __str__(self):
        return f"Disposal of {self.reference}"
