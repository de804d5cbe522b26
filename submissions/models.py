import hashlib
import uuid
from datetime import timedelta
from pathlib import Path

from django.conf import settings
from django.core.files.storage import storages
from django.db import IntegrityError, models, transaction
from django.urls import reverse
from django.utils import timezone

from appeals.models import Appeal
from incidents.models import Incident
from submissions.references import REFERENCE_PATTERN, hash_upload_token, new_receipt_reference


class SubmissionQuerySet(models.QuerySet):
    def visible_to(self, user):
        return self.filter(appeal__incident__in=Incident.objects.visible_to(user))


class Submission(models.Model):
    """What one witness sent about one appeal. No IP address or user agent is ever stored."""

    class Relationship(models.TextChoices):
        SAW_OR_HEARD = "saw_or_heard", "I saw or heard what happened"
        HAVE_FOOTAGE = "have_footage", "I have footage or photos of the area or the time"
        KNOW_SOMETHING = "know_something", "I know something about the people involved"
        INVOLVED = "involved", "I was involved or affected"
        OTHER = "other", "Something else"

    class State(models.TextChoices):
        NEW = "new", "New"
        IN_REVIEW = "in_review", "In review"
        ACTIONED = "actioned", "Actioned"
        NO_FURTHER_ACTION = "no_further_action", "No further action"
        DUPLICATE = "duplicate", "Duplicate"

    appeal = models.ForeignKey(Appeal, on_delete=models.PROTECT, related_name="submissions")
    reference = models.CharField(max_length=9, unique=True, editable=False)
    account = models.TextField()
    seen_on = models.DateField(null=True, blank=True)
    seen_at_time = models.TimeField(null=True, blank=True)
    seen_where = models.CharField(max_length=300, blank=True)
    relationship = models.CharField(max_length=20, choices=Relationship.choices, blank=True)
    is_anonymous = models.BooleanField(default=False)
    contact_name = models.CharField(max_length=200, blank=True)
    contact_email = models.EmailField(blank=True)
    contact_phone = models.CharField(max_length=40, blank=True)
    # NULL until a token is issued; unique among issued ones.
    upload_token_hash = models.CharField(max_length=64, unique=True, null=True, editable=False)  # noqa: DJ001
    state = models.CharField(max_length=20, choices=State.choices, default=State.NEW)
    assignee = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="assigned_submissions",
    )
    receipt_sent_at = models.DateTimeField(null=True, blank=True, editable=False)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    objects = SubmissionQuerySet.as_manager()

    class Meta:
        ordering = ["-created_at"]
        constraints = [
            models.CheckConstraint(
                name="submission_anonymous_or_contactable",
                condition=models.Q(is_anonymous=True, contact_name="", contact_email="", contact_phone="")
                | (models.Q(is_anonymous=False) & (~models.Q(contact_email="") | ~models.Q(contact_phone=""))),
                violation_error_message="Either stay anonymous or give an email address or phone number.",
            ),
            models.CheckConstraint(
                name="submission_reference_format",
                condition=models.Q(reference__regex=REFERENCE_PATTERN.pattern),
            ),
        ]
        indexes = [
            # Triage: an appeal's submissions in a given state, newest first.
            models.Index(fields=["appeal", "state", "-created_at"], name="submission_triage_idx"),
            # "Assigned to me".
            models.Index(fields=["assignee", "state"], name="submission_assignee_idx"),
        ]

    def __str__(self):
        return self.reference

    def save(self, *args, **kwargs):
        if self.reference:
            return super().save(*args, **kwargs)
        # A collision among ~850 billion references is rare; retry rather than fail the witness.
        for _attempt in range(5):
            self.reference = new_receipt_reference()
            try:
                with transaction.atomic():
                    return super().save(*args, **kwargs)
            except IntegrityError:
                if Submission.objects.filter(reference=self.reference).exists():
                    continue
                raise
        raise IntegrityError("Could not find a free receipt reference.")

    def get_admin_url(self):
        return reverse("admin:submissions_submission_change", args=[self.pk])

    def set_upload_token(self, token: str):
        self.upload_token_hash = hash_upload_token(token)

    def files_in_use(self) -> int:
        """Files received plus uploads still under way: what counts against UPLOAD_MAX_FILES."""
        return self.media_files.count() + self.uploads.unfinished().count()

    def officers_to_notify(self):
        """The incident's officer in charge and every active member of its team, with an email."""
        incident = self.appeal.incident
        officers = {officer for officer in incident.team.members.all()}
        officers.add(incident.officer_in_charge)
        return sorted((officer for officer in officers if officer.is_active and officer.email), key=lambda o: o.pk)


def evidence_storage():
    return storages["evidence"]


def original_upload_to(media_file, filename):
    # Generated names only: the witness's filename is data, never a path.
    return f"originals/{media_file.submission.reference}/{media_file.sha256}"


class MediaFile(models.Model):
    """A file a witness sent. The original is written once and never changed."""

    class State(models.TextChoices):
        RECEIVED = "received", "Received"
        PROCESSING = "processing", "Processing"
        READY = "ready", "Ready"
        QUARANTINED = "quarantined", "Quarantined"
        UNPROCESSABLE = "unprocessable", "Unprocessable"
        FAILED = "failed", "Failed"

    submission = models.ForeignKey(Submission, on_delete=models.PROTECT, related_name="media_files")
    original = models.FileField(storage=evidence_storage, upload_to=original_upload_to, max_length=300)
    original_filename = models.CharField(max_length=255, help_text="As the witness named it; data only.")
    size = models.BigIntegerField()
    sha256 = models.CharField(max_length=64)
    content_type = models.CharField(max_length=100, blank=True, help_text="Detected from the content.")

    class ScanState(models.TextChoices):
        PENDING = "pending", "Scan pending"
        CLEAN = "clean", "No virus found"
        INFECTED = "infected", "Infected"
        TOO_LARGE = "too_large", "Not scanned: too large"

    state = models.CharField(max_length=20, choices=State.choices, default=State.RECEIVED)
    state_reason = models.CharField(max_length=300, blank=True)
    scan_state = models.CharField(max_length=20, choices=ScanState.choices, default=ScanState.PENDING)
    scan_detail = models.CharField(max_length=300, blank=True)
    metadata = models.JSONField(default=dict, blank=True)
    received_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["received_at"]
        constraints = [
            models.UniqueConstraint(fields=["submission", "sha256"], name="mediafile_unique_per_submission"),
            models.CheckConstraint(name="mediafile_size_positive", condition=models.Q(size__gt=0)),
            models.CheckConstraint(name="mediafile_sha256_hex", condition=models.Q(sha256__regex=r"^[0-9a-f]{64}$")),
        ]
        indexes = [
            # The sweeper: files stuck in a state since before a cut-off.
            models.Index(fields=["state", "updated_at"], name="mediafile_state_idx"),
        ]

    def __str__(self):
        return f"{self.original_filename} ({self.submission.reference})"

    def original_matches_record(self) -> bool:
        """Re-read the stored original and compare its size and SHA-256 with what was recorded on arrival."""
        with self.original.open("rb") as original:
            digest = hashlib.file_digest(original, "sha256").hexdigest()
        return self.original.size == self.size and digest == self.sha256


class Notification(models.Model):
    """One email to one officer about one event; the unique key makes sending at most once."""

    event_key = models.CharField(max_length=100, help_text="What happened, e.g. new_submission:42.")
    recipient = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+")
    submission = models.ForeignKey(Submission, on_delete=models.CASCADE, related_name="notifications")
    created_at = models.DateTimeField(auto_now_add=True)
    sent_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["event_key", "recipient"], name="notification_once_per_event"),
        ]

    def __str__(self):
        return f"{self.event_key} to {self.recipient}"


def derivative_upload_to(derivative, filename):
    media_file = derivative.media_file
    return f"derivatives/{media_file.submission.reference}/{media_file.pk}/{derivative.kind}{derivative.extension()}"


class Derivative(models.Model):
    """A file made from an original (poster, contact sheet, preview, web proxy), reproducible from it."""

    class Kind(models.TextChoices):
        POSTER = "poster", "Poster frame"
        CONTACT_SHEET = "contact_sheet", "Contact sheet"
        PREVIEW = "preview", "Image preview"
        PROXY = "proxy", "Web-playable proxy"

    EXTENSIONS = {Kind.POSTER: ".jpg", Kind.CONTACT_SHEET: ".jpg", Kind.PREVIEW: ".jpg", Kind.PROXY: ".mp4"}

    media_file = models.ForeignKey(MediaFile, on_delete=models.PROTECT, related_name="derivatives")
    kind = models.CharField(max_length=20, choices=Kind.choices)
    file = models.FileField(storage=evidence_storage, upload_to=derivative_upload_to, max_length=300)
    size = models.BigIntegerField()
    sha256 = models.CharField(max_length=64)
    content_type = models.CharField(max_length=100)
    tool = models.CharField(max_length=50, help_text="The program that made it, e.g. ffmpeg.")
    tool_version = models.CharField(max_length=200)
    arguments = models.JSONField(default=list, help_text="The exact arguments, to reproduce it.")
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["media_file", "kind"]
        constraints = [
            models.UniqueConstraint(fields=["media_file", "kind"], name="derivative_one_per_kind"),
            models.CheckConstraint(name="derivative_sha256_hex", condition=models.Q(sha256__regex=r"^[0-9a-f]{64}$")),
        ]

    def __str__(self):
        return f"{self.get_kind_display()} of {self.media_file}"

    def extension(self):
        return self.EXTENSIONS[self.kind]


class UploadQuerySet(models.QuerySet):
    def unfinished(self):
        return self.filter(completed_at__isnull=True, expires_at__gt=timezone.now())

    def abandoned(self):
        return self.filter(completed_at__isnull=True, expires_at__lte=timezone.now())


def upload_expiry():
    return timezone.now() + timedelta(hours=settings.UPLOAD_EXPIRY_HOURS)


class Upload(models.Model):
    """A resumable (tus) upload: its bytes grow in a partial file under UPLOAD_DIR until complete."""

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    submission = models.ForeignKey(Submission, on_delete=models.CASCADE, related_name="uploads")
    length = models.BigIntegerField()
    offset = models.BigIntegerField(default=0)
    filename = models.CharField(max_length=255, help_text="As the witness named it, sanitised; data only.")
    content_type = models.CharField(max_length=100, blank=True, help_text="Detected from the first bytes.")
    media_file = models.OneToOneField(MediaFile, on_delete=models.SET_NULL, null=True, blank=True, related_name="+")
    created_at = models.DateTimeField(auto_now_add=True)
    expires_at = models.DateTimeField(default=upload_expiry)
    completed_at = models.DateTimeField(null=True, blank=True)

    objects = UploadQuerySet.as_manager()

    class Meta:
        ordering = ["created_at"]
        constraints = [
            models.CheckConstraint(name="upload_length_positive", condition=models.Q(length__gt=0)),
            models.CheckConstraint(
                name="upload_offset_within_length", condition=models.Q(offset__gte=0, offset__lte=models.F("length"))
            ),
        ]
        indexes = [
            # The expiry sweep: unfinished uploads past their expiry time.
            models.Index(
                fields=["expires_at"], name="upload_abandoned_idx", condition=models.Q(completed_at__isnull=True)
            ),
        ]

    def __str__(self):
        return f"{self.filename} ({self.offset} of {self.length} bytes)"

    @property
    def partial_path(self) -> Path:
        return Path(settings.UPLOAD_DIR) / f"{self.pk.hex}.part"

    def discard(self):
        """Forget the upload and its bytes; the caller holds the partial file's lock, if it exists."""
        partial_path = self.partial_path
        self.delete()
        partial_path.unlink(missing_ok=True)

    def is_expired(self) -> bool:
        return self.completed_at is None and self.expires_at <= timezone.now()
