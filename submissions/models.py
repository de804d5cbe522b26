import fcntl
import logging
import os
import re
import tempfile
import uuid
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from pathlib import Path

from dateutil.relativedelta import relativedelta
from django.conf import settings
from django.db import IntegrityError, models, transaction
from django.urls import reverse
from django.utils import timezone

from appeals.models import Appeal, evidence_storage
from incidents.models import IncidentScopedQuerySet
from submissions.append_only import AppendOnly, AppendOnlyModel, AppendOnlyQuerySet
from submissions.files import SNIFF_BYTES, FileRefused, check_content_type
from submissions.references import REFERENCE_PATTERN, hash_upload_token, new_receipt_reference
from submissions.storage import (
    FinishedFile,
    has_room_for,
    in_object_storage,
    join_parts,
    part_size,
    part_sizes,
    remove_parts,
    send_part,
    sha256_of_path,
    start_parts,
)

log = logging.getLogger(__name__)

# An absolute path, with ffmpeg's "file:" and any quotes and ": " around it (not "30000/1001" or "H.264/AAC").
SERVER_PATH = re.compile(r"""['"]?(?<![\w.:/])(?:file:)?/[\w.@%+=~-]+(?:/[\w.@%+=~-]*)*['"]?(?::\s+)?""")


def without_paths(text: str) -> str:
    """A tool's or a library's message as officers may read it: with every server path taken out."""
    # The configured folders first, as they may hold spaces that the pattern stops at.
    for folder in (settings.EVIDENCE_ROOT, settings.UPLOAD_DIR, settings.MEDIA_ROOT, tempfile.gettempdir()):
        text = re.sub(re.escape(str(folder).rstrip("/")) + r"""(?![^/'":\s])""", "", text)
    return " ".join(SERVER_PATH.sub(" ", text).split())


class SubmissionQuerySet(IncidentScopedQuerySet):
    incident_lookup = "appeal__incident"

    def media_ready(self):
        """Submissions with a file officers can watch or view now, whatever became of the others."""
        files = MediaFile.objects.filter(MediaFile.watchable_rule(), submission=models.OuterRef("pk"))
        return self.filter(models.Exists(files))

    def media_web_copy_pending(self):
        """Submissions with a ready video whose web copy is still being made (the player says so)."""
        files = MediaFile.objects.filter(MediaFile.web_copy_pending_rule(), submission=models.OuterRef("pk"))
        return self.filter(models.Exists(files))

    def media_processing(self):
        files = MediaFile.objects.filter(submission=models.OuterRef("pk"), state__in=MediaFile.PENDING_STATES)
        return self.filter(models.Exists(files))

    def media_problem(self):
        """Submissions with a file that is quarantined, infected, unprocessable or failed."""
        files = MediaFile.objects.filter(MediaFile.problem_rule(), submission=models.OuterRef("pk"))
        return self.filter(models.Exists(files))

    def for_footage_link(self, token: str) -> "Submission":
        """The submission whose private "add more footage" link this is, while the link takes files.

        Every page and endpoint the link opens gets its submission here. Raises Submission.DoesNotExist for
        a token that was never issued, FootageLinkEnded once the link has ended or been turned off.
        """
        submission = self.select_related("appeal__incident").get(upload_token_hash=hash_upload_token(token))
        if not submission.accepts_footage():
            raise FootageLinkEnded(submission)
        return submission


class FootageLinkEnded(Exception):
    def __init__(self, submission):
        super().__init__(f"The footage link of {submission} no longer takes files.")
        self.submission = submission


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

    # Where each state may go next. A decision (actioned, no further action, duplicate) always has a
    # reason; actioning needs a review first; a decided submission can only be reopened for review.
    TRANSITIONS = {
        State.NEW: [State.IN_REVIEW, State.NO_FURTHER_ACTION, State.DUPLICATE],
        State.IN_REVIEW: [State.NEW, State.ACTIONED, State.NO_FURTHER_ACTION, State.DUPLICATE],
        State.ACTIONED: [State.IN_REVIEW],
        State.NO_FURTHER_ACTION: [State.IN_REVIEW],
        State.DUPLICATE: [State.IN_REVIEW],
    }
    DECISIONS = [State.ACTIONED, State.NO_FURTHER_ACTION, State.DUPLICATE]

    class Priority(models.IntegerChoices):
        LOW = 1, "Low"
        NORMAL = 2, "Normal"
        HIGH = 3, "High"
        URGENT = 4, "Urgent"

    appeal = models.ForeignKey(Appeal, on_delete=models.PROTECT, related_name="submissions")
    reference = models.CharField(max_length=9, unique=True, editable=False)
    # Long enough for an hour of writing on a phone; the page counts the characters as the witness types.
    account = models.TextField(max_length=10_000)
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
    priority = models.PositiveSmallIntegerField(choices=Priority.choices, default=Priority.NORMAL)
    decision_reason = models.TextField(blank=True, help_text="Why this decision was made; kept with the decision.")
    decided_at = models.DateTimeField(null=True, blank=True, editable=False)
    decided_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, blank=True, editable=False, related_name="+"
    )
    duplicate_of = models.ForeignKey("self", on_delete=models.PROTECT, null=True, blank=True, related_name="duplicates")
    # NULL while the incident's officers are still owed the email (or digest entry) about this submission.
    officers_notified_at = models.DateTimeField(null=True, blank=True, editable=False)
    receipt_sent_at = models.DateTimeField(null=True, blank=True, editable=False)
    # While the witness is owed their receipt: their upload token, encrypted (see notify_witness_receipt).
    receipt_token = models.CharField(max_length=200, blank=True, editable=False)
    # Retention (MoPI review and retain): set from the decision (see review_date), moved on by a supervisor who
    # retains it; never disposed of while held. The audit trail says who and why.
    review_on = models.DateField("review due", null=True, blank=True, editable=False)
    held_at = models.DateTimeField("on legal hold since", null=True, blank=True, editable=False)
    # Set when disposal has removed the account, contact details and files; the row stays as a tombstone so
    # the audit trail and the erasure record keep what they point to.
    disposed_at = models.DateTimeField("disposed of", null=True, blank=True, editable=False)
    # Set when an officer turns the private link off (the audit trail says who and why).
    footage_link_revoked_at = models.DateTimeField(null=True, blank=True, editable=False)
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
            models.CheckConstraint(
                name="submission_decision_has_reason",
                condition=~models.Q(state__in=["actioned", "no_further_action", "duplicate"])
                | (~models.Q(decision_reason="") & models.Q(decided_at__isnull=False)),
            ),
            models.CheckConstraint(
                name="submission_duplicate_names_original",
                condition=models.Q(state="duplicate", duplicate_of__isnull=False)
                | (~models.Q(state="duplicate") & models.Q(duplicate_of__isnull=True)),
            ),
            models.CheckConstraint(
                name="submission_not_duplicate_of_itself", condition=~models.Q(duplicate_of=models.F("pk"))
            ),
            models.CheckConstraint(
                name="submission_reviewed_once_decided",
                condition=models.Q(state__in=["actioned", "no_further_action", "duplicate"])
                | models.Q(review_on__isnull=True),
            ),
        ]
        indexes = [
            # Supervisors' "Due for review" list.
            models.Index(
                fields=["review_on"], name="submission_review_idx", condition=models.Q(disposed_at__isnull=True)
            ),
            # Triage: an appeal's submissions in a given state, newest first.
            models.Index(fields=["appeal", "state", "-created_at"], name="submission_triage_idx"),
            # "Assigned to me".
            models.Index(fields=["assignee", "state"], name="submission_assignee_idx"),
            # The notification sweep: submissions whose officers or witness are still owed an email.
            models.Index(
                fields=["created_at"],
                name="submission_unnotified_idx",
                condition=models.Q(officers_notified_at__isnull=True) | ~models.Q(receipt_token=""),
            ),
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

    def next_states(self):
        return self.TRANSITIONS[self.State(self.state)]

    def transition_problem(self, to, reason="", duplicate_of=None) -> str | None:
        """Why this submission cannot move to state `to` with this reason, or None if it can."""
        target = self.State(to)
        if target not in self.next_states():
            return f"A submission that is {self.get_state_display().lower()} cannot become {target.label.lower()}."
        if target in self.DECISIONS and not reason.strip():
            return f"Give a reason for the decision “{target.label}”."
        if target == self.State.DUPLICATE:
            if duplicate_of is None:
                return "Say which submission this one duplicates."
            if duplicate_of.pk == self.pk:
                return "A submission cannot be a duplicate of itself."
        return None

    def is_decided(self):
        return self.state in self.DECISIONS

    @classmethod
    def review_date(cls, state: str, decided_at: datetime | None) -> date | None:
        """When a submission in `state`, decided at `decided_at`, is first reviewed: None until it is decided."""
        if state not in cls.DECISIONS or decided_at is None:
            return None
        decided_on = timezone.localdate(decided_at)
        if state == cls.State.ACTIONED:
            # Part of the case record: reviewed with the case, on the period the privacy notice points to.
            return decided_on + relativedelta(years=settings.SUBMISSION_REVIEW_YEARS_ACTIONED)
        return decided_on + relativedelta(months=settings.SUBMISSION_REVIEW_MONTHS_NO_ACTION)

    def is_disposed(self):
        return self.disposed_at is not None

    def set_upload_token(self, token: str):
        self.upload_token_hash = hash_upload_token(token)

    def footage_link_open_until(self):
        """When the private link stops taking files: a set time after the appeal closes; None while it is open."""
        if self.appeal.status != Appeal.Status.CLOSED:
            return None
        return self.appeal.closed_at + timedelta(days=settings.FOOTAGE_LINK_DAYS_AFTER_CLOSING)

    def accepts_footage(self) -> bool:
        """The one rule for the private link: open until a set time after closing, unless an officer turned it off."""
        if self.footage_link_revoked_at is not None:
            return False
        open_until = self.footage_link_open_until()
        return open_until is None or timezone.now() < open_until

    def files_in_use(self) -> int:
        """Files received plus uploads still under way: what counts against UPLOAD_MAX_FILES."""
        return self.media_files.count() + self.uploads.unfinished().count() + self.uploads.awaiting_hash().count()

    def check_not_sent(self, *, sha256: str, filename: str):
        """Raises FileRefused if this submission already has the file. The caller holds the submission's row lock."""
        if sent := self.media_files.filter(sha256=sha256).values_list("original_filename", flat=True).first():
            if sent == filename:
                raise FileRefused(f"You have already sent {sent}.")
            raise FileRefused(f"{filename} is the same file as {sent}, which you have already sent.")

    def officers_to_notify(self):
        """The incident's officer in charge and every active member of its team, with an email."""
        incident = self.appeal.incident
        officers = {officer for officer in incident.team.members.all()}
        officers.add(incident.officer_in_charge)
        return sorted((officer for officer in officers if officer.is_active and officer.email), key=lambda o: o.pk)


class NotesAreAppendOnly(AppendOnly):
    pass


class SubmissionNote(AppendOnlyModel):
    """An officer's note on a submission. Notes are added, never edited or deleted."""

    submission = models.ForeignKey(Submission, on_delete=models.PROTECT, related_name="notes")
    author = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    text = models.TextField()
    created_at = models.DateTimeField(auto_now_add=True)

    objects = AppendOnlyQuerySet.as_manager()
    refused = NotesAreAppendOnly
    refused_name = "Notes"

    class Meta:
        ordering = ["created_at"]
        indexes = [
            # A submission's notes, oldest first.
            models.Index(fields=["submission", "created_at"], name="submissionnote_timeline_idx"),
        ]

    def __str__(self):
        return f"Note by {self.author} on {self.submission}"


def original_upload_to(media_file, filename):
    # Generated names only: the witness's filename is data, never a path.
    return f"originals/{media_file.submission.reference}/{media_file.sha256}"


@dataclass(frozen=True)
class MediaBacklog:
    """Files received but not yet processed, and whether the upload disk is running short of room."""

    waiting: int
    oldest_received_at: datetime | None
    disk_filling: bool

    @property
    def oldest_wait(self) -> timedelta:
        return timezone.now() - self.oldest_received_at if self.oldest_received_at else timedelta(0)

    def is_busy(self) -> bool:
        """Deep enough, or slow enough, that files will take longer than usual to be looked at."""
        return (
            self.disk_filling
            or self.waiting >= settings.MEDIA_BACKLOG_WARN_FILES
            or self.oldest_wait > timedelta(minutes=settings.MEDIA_BACKLOG_WARN_MINUTES)
        )


class MediaFileQuerySet(IncidentScopedQuerySet):
    incident_lookup = "submission__appeal__incident"

    def backlog(self) -> MediaBacklog:
        pending = self.filter(state__in=MediaFile.PENDING_STATES).aggregate(
            waiting=models.Count("pk"), oldest=models.Min("received_at")
        )
        return MediaBacklog(
            waiting=pending["waiting"],
            oldest_received_at=pending["oldest"],
            # Within twice the free space that uploads keep: soon they are refused.
            disk_filling=not has_room_for(settings.UPLOAD_MIN_FREE_BYTES),
        )

    def claim(self, pk):
        """Take a file for processing: one that waits, or one whose worker stopped renewing its hold.

        Returns the claimed row (its `attempts` identifies this claim) or None if another worker holds it.
        """
        now = timezone.now()
        lapsed = now - timedelta(seconds=settings.MEDIA_LEASE_SECONDS)
        claimed = (
            self.filter(pk=pk)
            .filter(
                models.Q(state=MediaFile.State.RECEIVED)
                | models.Q(state=MediaFile.State.PROCESSING, updated_at__lt=lapsed)
            )
            .update(state=MediaFile.State.PROCESSING, attempts=models.F("attempts") + 1, updated_at=now)
        )
        return self.select_related("submission").get(pk=pk) if claimed else None

    def copies_of(self, media_files):
        """Files with the same bytes (SHA-256) as these, sent in other submissions still held, oldest first: on
        a viral day many witnesses send the same clip, and officers look at it once."""
        return (
            self.filter(sha256__in={media_file.sha256 for media_file in media_files})
            .exclude(submission__in={media_file.submission_id for media_file in media_files})
            .filter(submission__disposed_at__isnull=True)
            .select_related("submission")
            .order_by("received_at", "pk")
        )

    def also_sent_elsewhere(self, among):
        """These files, still held, whose bytes are also in another submission still held, of the files `among`."""
        others = among.filter(sha256=models.OuterRef("sha256"), submission__disposed_at__isnull=True).exclude(
            submission=models.OuterRef("submission")
        )
        return self.filter(models.Exists(others), submission__disposed_at__isnull=True)

    def playable(self):
        """Files that may be previewed or played: not quarantined (see MediaFile.is_quarantined)."""
        return self.exclude(MediaFile.quarantine_rule())

    def claim_proxy(self, pk):
        """Take a ready file's web copy to make: one that waits, or one whose worker stopped renewing its hold.

        Returns the claimed row (its `proxy_attempts` identifies this claim) or None when the copy is made,
        not needed, failed, or being made by another worker.
        """
        now = timezone.now()
        lapsed = now - timedelta(seconds=settings.MEDIA_LEASE_SECONDS)
        claimed = (
            self.filter(pk=pk, state=MediaFile.State.READY)
            .filter(
                models.Q(proxy_state=MediaFile.ProxyState.WAITING)
                | models.Q(proxy_state=MediaFile.ProxyState.MAKING, proxy_updated_at__lt=lapsed)
            )
            .update(
                proxy_state=MediaFile.ProxyState.MAKING,
                proxy_attempts=models.F("proxy_attempts") + 1,
                proxy_updated_at=now,
            )
        )
        return self.select_related("submission").get(pk=pk) if claimed else None

    def requeue_stuck_proxies(self) -> list[int]:
        """Put the web copies nobody is making back in the queue, counted from now (see requeue_stuck)."""
        stuck = list(self.stuck_proxies().values_list("pk", flat=True))
        self.stuck_proxies().filter(pk__in=stuck).update(
            proxy_state=MediaFile.ProxyState.WAITING, proxy_updated_at=timezone.now()
        )
        return stuck

    def stuck_proxies(self):
        """Web copies waiting but never picked up, or held by a worker that stopped renewing its hold."""
        now = timezone.now()
        return self.filter(
            models.Q(
                proxy_state=MediaFile.ProxyState.WAITING,
                proxy_updated_at__lt=now - timedelta(seconds=settings.MEDIA_STUCK_AFTER_SECONDS),
            )
            | models.Q(
                proxy_state=MediaFile.ProxyState.MAKING,
                proxy_updated_at__lt=now - timedelta(seconds=settings.MEDIA_LEASE_SECONDS),
            )
        )

    def requeue_stuck(self) -> list[int]:
        """Put the stuck files back in the queue, counted from now so the next sweep does not queue them twice."""
        stuck = list(self.stuck().values_list("pk", flat=True))
        self.stuck().filter(pk__in=stuck).update(state=MediaFile.State.RECEIVED, updated_at=timezone.now())
        return stuck

    def stuck(self):
        """Files nobody is working on: received but never picked up, or held by a worker that stopped."""
        now = timezone.now()
        return self.filter(
            models.Q(
                state=MediaFile.State.RECEIVED,
                updated_at__lt=now - timedelta(seconds=settings.MEDIA_STUCK_AFTER_SECONDS),
            )
            | models.Q(
                state=MediaFile.State.PROCESSING, updated_at__lt=now - timedelta(seconds=settings.MEDIA_LEASE_SECONDS)
            )
        )


class MediaFile(models.Model):
    """A file a witness sent. The original is written once and never changed."""

    class State(models.TextChoices):
        RECEIVED = "received", "Received"
        PROCESSING = "processing", "Processing"
        READY = "ready", "Ready"
        QUARANTINED = "quarantined", "Quarantined"
        UNPROCESSABLE = "unprocessable", "Unprocessable"
        FAILED = "failed", "Failed"

    class ScanState(models.TextChoices):
        PENDING = "pending", "Scan pending"
        CLEAN = "clean", "No virus found"
        INFECTED = "infected", "Infected"
        TOO_LARGE = "too_large", "Not scanned: too large"

    class ProxyState(models.TextChoices):
        """The web copy for the player: made with the first look when a stream copy will do, else afterwards
        on its own queue (submissions/pipeline.py)."""

        NONE = "none", "None"  # not a video, or not looked at yet
        WAITING = "waiting", "Waiting to be made"
        MAKING = "making", "Being made"
        MADE = "made", "Made"
        FAILED = "failed", "Failed"

    PENDING_STATES = [State.RECEIVED, State.PROCESSING]
    # Officers are told when a file ends in one of these.
    PROBLEM_STATES = [State.QUARANTINED, State.UNPROCESSABLE, State.FAILED]
    PROXY_PENDING_STATES = [ProxyState.WAITING, ProxyState.MAKING]

    submission = models.ForeignKey(Submission, on_delete=models.PROTECT, related_name="media_files")
    original = models.FileField(storage=evidence_storage, upload_to=original_upload_to, max_length=300)
    original_filename = models.CharField(max_length=255, help_text="As the witness named it; data only.")
    size = models.BigIntegerField()
    sha256 = models.CharField(max_length=64)
    content_type = models.CharField(max_length=100, blank=True, help_text="Detected from the content.")

    state = models.CharField(max_length=20, choices=State.choices, default=State.RECEIVED)
    state_reason = models.CharField(max_length=300, blank=True)
    scan_state = models.CharField(max_length=20, choices=ScanState.choices, default=ScanState.PENDING)
    scan_detail = models.CharField(max_length=300, blank=True)
    metadata = models.JSONField(default=dict, blank=True)
    attempts = models.PositiveSmallIntegerField(default=0, help_text="How many times processing has started.")
    proxy_state = models.CharField(max_length=20, choices=ProxyState.choices, default=ProxyState.NONE)
    proxy_reason = models.CharField(max_length=300, blank=True)
    proxy_attempts = models.PositiveSmallIntegerField(
        default=0, help_text="How many times making the web copy has started."
    )
    # While the web copy is made, its worker renews this; a stale value means the worker has gone.
    proxy_updated_at = models.DateTimeField(null=True, blank=True)
    received_at = models.DateTimeField(auto_now_add=True)
    # While processing, the worker renews this; a stale value means the worker has gone.
    updated_at = models.DateTimeField(auto_now=True)

    objects = MediaFileQuerySet.as_manager()

    class Meta:
        ordering = ["received_at"]
        constraints = [
            models.UniqueConstraint(fields=["submission", "sha256"], name="mediafile_unique_per_submission"),
            models.CheckConstraint(name="mediafile_size_positive", condition=models.Q(size__gt=0)),
            models.CheckConstraint(name="mediafile_sha256_hex", condition=models.Q(sha256__regex=r"^[0-9a-f]{64}$")),
            # The web copy is made once officers can look at the file, never before.
            models.CheckConstraint(
                name="mediafile_proxy_once_ready", condition=models.Q(proxy_state="none") | models.Q(state="ready")
            ),
        ]
        indexes = [
            # The sweeper: files stuck in a state since before a cut-off.
            models.Index(fields=["state", "updated_at"], name="mediafile_state_idx"),
            # The same file sent in other submissions.
            models.Index(fields=["sha256"], name="mediafile_sha256_idx"),
            # The sweeper: web copies waiting or being made since before a cut-off.
            models.Index(
                fields=["proxy_state", "proxy_updated_at"],
                name="mediafile_proxy_idx",
                condition=models.Q(proxy_state__in=["waiting", "making"]),
            ),
        ]

    def __str__(self):
        return f"{self.original_filename} ({self.submission.reference})"

    def check_fields(self):
        """Every field checked as it will be stored, without a query for what the database enforces on this very
        insert (the submission's foreign key, which the caller holds locked, and the constraints): on a viral
        day that is five queries fewer per file, and a violation stores nothing all the same."""
        self.full_clean(exclude=["submission"], validate_constraints=False)

    def matches_record(self, path) -> bool:
        """Whether the original at path (the stored file, or a copy of it) has the size and SHA-256 recorded
        on arrival."""
        return Path(path).stat().st_size == self.size and sha256_of_path(path) == self.sha256

    def status_line(self) -> str:
        """What officers read: the state with its reason, e.g. "Unprocessable: ffprobe could not read the file"."""
        state = self.get_state_display()
        return f"{state}: {self.state_reason}" if self.state_reason else state

    def still_held(self, attempt: int) -> bool:
        """Renew this worker's hold on the file; False if the hold was lost to another worker."""
        return bool(
            MediaFile.objects.filter(pk=self.pk, state=self.State.PROCESSING, attempts=attempt).update(
                updated_at=timezone.now()
            )
        )

    def mark_ready(self, proxy_state: str):
        """End the first look: officers can see the file, and its web copy is made, not needed, or waiting."""
        self.state = self.State.READY
        self.state_reason = ""
        self.proxy_state = proxy_state
        self.proxy_updated_at = timezone.now()
        self.save(update_fields=["state", "state_reason", "proxy_state", "proxy_updated_at", "updated_at"])

    def still_making_proxy(self, attempt: int) -> bool:
        """Renew this worker's hold on the web copy; False if the hold was lost to another worker."""
        return bool(
            MediaFile.objects.filter(pk=self.pk, proxy_state=self.ProxyState.MAKING, proxy_attempts=attempt).update(
                proxy_updated_at=timezone.now()
            )
        )

    def finish_proxy(self, proxy_state: str, reason: str = ""):
        """The web copy is made, or failed for the reason shown to officers; the file itself stays ready."""
        self.proxy_state = proxy_state
        self.proxy_reason = without_paths(reason)[:300]
        self.proxy_updated_at = timezone.now()
        self.save(update_fields=["proxy_state", "proxy_reason", "proxy_updated_at"])

    def release_proxy_for_retry(self, reason: str):
        """Hand the web copy back to the queue after an error; the retry or the sweep takes it again."""
        self.proxy_state = self.ProxyState.WAITING
        self.proxy_reason = f"Waiting to try again: {without_paths(reason)}"[:300]
        self.proxy_updated_at = timezone.now()
        self.save(update_fields=["proxy_state", "proxy_reason", "proxy_updated_at"])

    def proxy_status_line(self) -> str:
        """What officers read about the web copy, e.g. "Failed: ffmpeg could not read the file"."""
        status = self.get_proxy_state_display()
        return f"{status}: {self.proxy_reason}" if self.proxy_reason else status

    def finish(self, state: str, reason: str = ""):
        """End processing; the reason is shown to officers, so tools' messages lose the paths they name."""
        self.state = state
        self.state_reason = without_paths(reason)[:300]
        self.save(update_fields=["state", "state_reason", "updated_at"])

    def release_for_retry(self, reason: str):
        """Hand the file back to the queue after a transient error; the retry or the sweep takes it again."""
        self.state = self.State.RECEIVED
        self.state_reason = f"Waiting to try again: {without_paths(reason)}"[:300]
        self.save(update_fields=["state", "state_reason", "updated_at"])

    def record_scan(self, detail: str, verdict: str | None = None):
        """The virus scan's outcome; with no verdict (no scanner configured) the file stays unscanned."""
        if verdict is not None:
            self.scan_state = verdict
        self.scan_detail = detail[:300]
        self.save(update_fields=["scan_state", "scan_detail", "updated_at"])

    def record_description(self, metadata: dict, content_type: str):
        """What the tools found in the file; the type sniffed on arrival is kept if there was one."""
        self.metadata = metadata
        self.content_type = self.content_type or content_type
        self.save(update_fields=["metadata", "content_type", "updated_at"])

    @property
    def problem_event_key(self) -> str:
        """One alert to officers per file and problem state."""
        return f"media_{self.state}:{self.pk}"

    @classmethod
    def quarantine_rule(cls, through=""):
        """An infected file is kept as evidence but never previewed or played (`through`: a lookup prefix)."""
        return models.Q(**{f"{through}state": cls.State.QUARANTINED}) | models.Q(
            **{f"{through}scan_state": cls.ScanState.INFECTED}
        )

    @classmethod
    def watchable_rule(cls, through=""):
        """Ready files officers can watch or view now. A video waiting for its web copy is not, yet; one whose
        web copy failed is: its poster, contact sheet and original are all there, and nothing more is coming."""
        ready = models.Q(**{f"{through}state": cls.State.READY})
        return ready & ~models.Q(**{f"{through}proxy_state__in": cls.PROXY_PENDING_STATES})

    @classmethod
    def web_copy_pending_rule(cls, through=""):
        """Ready videos whose web copy is waiting or being made."""
        return models.Q(**{f"{through}state": cls.State.READY, f"{through}proxy_state__in": cls.PROXY_PENDING_STATES})

    @classmethod
    def problem_rule(cls, through=""):
        """Files officers are told about: quarantined, unprocessable or failed."""
        return models.Q(**{f"{through}state__in": cls.PROBLEM_STATES}) | cls.quarantine_rule(through)

    def is_quarantined(self):
        """quarantine_rule, for a file in hand."""
        return self.state == self.State.QUARANTINED or self.scan_state == self.ScanState.INFECTED

    def is_video(self):
        return self.metadata.get("kind") == "video"

    def add_derivative(self, *, kind: str, path, sha256: str, content_type: str, tool, tool_version, arguments):
        """Store a derived file once: if another run already stored this kind, keep theirs and drop ours."""
        derivative = Derivative(
            media_file=self,
            kind=kind,
            size=path.stat().st_size,
            sha256=sha256,
            content_type=content_type,
            tool=tool,
            tool_version=tool_version[:200],
            arguments=arguments,
        )
        with path.open("rb") as made:
            # Moved into local storage rather than copied: a proxy is as large as the original.
            derivative.file.save(path.name, FinishedFile(made), save=False)
        try:
            with transaction.atomic():
                derivative.save()
        except IntegrityError:
            derivative.file.delete(save=False)
            return Derivative.objects.get(media_file=self, kind=kind)
        return derivative


class NotificationQuerySet(models.QuerySet):
    def unsent(self):
        return self.filter(sent_at__isnull=True)

    def sent_lately(self):
        """Sent within NOTIFY_BATCH_MINUTES: their officers' next new submissions wait for the listing email."""
        return self.filter(sent_at__gte=timezone.now() - timedelta(minutes=settings.NOTIFY_BATCH_MINUTES))

    def held(self):
        """Waiting for an email that lists them: for officers who take their emails as things happen."""
        return self.unsent().exclude(recipient__in=NotificationPreference.objects.digest_readers())


class Notification(models.Model):
    """One email to one officer about one event; the unique key makes sending at most once.

    A row with no `sent_at` waits: for the officer's daily digest, for the email that lists what came in
    since their last (on a busy day, NOTIFY_BATCH_MINUTES), or for a retry of its own email.
    """

    event_key = models.CharField(max_length=100, help_text="What happened, e.g. new_submission:42.")
    recipient = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+")
    submission = models.ForeignKey(Submission, on_delete=models.CASCADE, related_name="notifications")
    summary = models.CharField(max_length=300, blank=True, help_text="One line for the digest.")
    created_at = models.DateTimeField(auto_now_add=True)
    sent_at = models.DateTimeField(null=True, blank=True)

    objects = NotificationQuerySet.as_manager()

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["event_key", "recipient"], name="notification_once_per_event"),
        ]
        indexes = [
            # The digest: each officer's notifications not sent yet.
            models.Index(
                fields=["recipient", "created_at"],
                condition=models.Q(sent_at__isnull=True),
                name="notification_unsent_idx",
            ),
            # When each officer was last emailed.
            models.Index(fields=["recipient", "sent_at"], name="notification_sent_idx"),
        ]

    def __str__(self):
        return f"{self.event_key} to {self.recipient}"


class NotificationPreferenceQuerySet(models.QuerySet):
    def digest_readers(self):
        return self.filter(delivery=NotificationPreference.Delivery.DAILY_DIGEST).values("officer")


class NotificationPreference(models.Model):
    """How an officer wants to hear about new submissions and problem files."""

    class Delivery(models.TextChoices):
        EACH = "each", "Emails as things happen"
        DAILY_DIGEST = "daily_digest", "One email a day listing everything"

    officer = models.OneToOneField(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="notification_preference"
    )
    delivery = models.CharField(
        max_length=20,
        choices=Delivery.choices,
        default=Delivery.EACH,
        help_text=(
            "As things happen: an email for each new submission and each problem file, except on a busy day, "
            "when the new submissions since your last email come together in one email a few minutes later."
        ),
    )

    objects = NotificationPreferenceQuerySet.as_manager()

    def __str__(self):
        return f"{self.officer}: {self.get_delivery_display()}"

    @classmethod
    def wants_digest(cls, officer) -> bool:
        return cls.objects.filter(officer=officer, delivery=cls.Delivery.DAILY_DIGEST).exists()


def derivative_upload_to(derivative, filename):
    media_file = derivative.media_file
    return f"derivatives/{media_file.submission.reference}/{media_file.pk}/{derivative.kind}{derivative.extension()}"


class DerivativeQuerySet(IncidentScopedQuerySet):
    incident_lookup = "media_file__submission__appeal__incident"


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

    objects = DerivativeQuerySet.as_manager()

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

    def filename(self):
        """The name an officer's browser gives it, from the witness's: "DASH0001 contact sheet.jpg"."""
        stem = Path(self.media_file.original_filename).stem
        return f"{stem} {self.get_kind_display().lower()}{self.extension()}"


class UploadQuerySet(models.QuerySet):
    def unfinished(self):
        return self.filter(completed_at__isnull=True, expires_at__gt=timezone.now())

    def abandoned(self):
        """Uploads left part-way past their expiry time. A whole one is stored, never abandoned."""
        return self.filter(completed_at__isnull=True, offset__lt=models.F("length"), expires_at__lte=timezone.now())

    def whole_but_unstored(self):
        """Uploads whose last byte arrived but whose request died before storing the file."""
        return self.filter(completed_at__isnull=True, offset=models.F("length"))

    def awaiting_hash(self):
        """Uploads stored whole in object storage, and so received, whose SHA-256 is not yet recorded."""
        return self.filter(completed_at__isnull=False, media_file__isnull=True)


def upload_expiry():
    return timezone.now() + timedelta(hours=settings.UPLOAD_EXPIRY_HOURS)


class Upload(models.Model):
    """A resumable (tus) upload: its bytes grow in a partial file under UPLOAD_DIR until complete.

    With object storage each PATCH also sends the parts of a multipart upload that its bytes complete, and
    the last one joins them into the stored object and sets completed_at: the file is received. Its SHA-256,
    and with it the MediaFile, are recorded next by a task reading the object (see record_stored_upload);
    until then media_file is empty. On local disk the last PATCH moves the file into place and records it;
    should it die in between, the next HEAD or PATCH, or the sweep, records the file left (adopt_moved_upload).
    """

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
    # Object storage: the S3 multipart upload the parts go to, once the first is sent.
    multipart_id = models.CharField(max_length=200, blank=True, editable=False)
    # Local disk: taken once the last byte is in and saved before the file moves into evidence storage, so
    # that if the request dies before recording it, the file left there can be checked and recorded.
    sha256 = models.CharField(max_length=64, blank=True, editable=False)

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

    def hold_partial(self):
        """The partial file, open and locked against every other request and task, or None while one holds it.

        Raises FileNotFoundError if there is no partial file. Closing the file lets go of the lock.
        """
        partial = open(self.partial_path, "r+b")  # noqa: SIM115 (the caller closes it)
        try:
            fcntl.flock(partial, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            partial.close()
            return None
        return partial

    def discard(self):
        """Forget the upload and its bytes: the partial file, and in object storage the parts sent or the object
        they made, unless that is a recorded media file's. The caller holds the partial file's lock, if it exists."""
        partial_path = self.partial_path
        storage = evidence_store()
        if self.media_file_id is None and in_object_storage(storage):
            remove_parts(storage, self.stored_name, self.multipart_id)
        self.delete()
        partial_path.unlink(missing_ok=True)

    def is_expired(self) -> bool:
        return self.completed_at is None and self.offset < self.length and self.expires_at <= timezone.now()

    def offset_on_disk(self, partial) -> int:
        """The recorded offset, or less (saved) if a crash lost bytes that were recorded but not yet on disk.

        The caller holds the partial file's lock.
        """
        on_disk = os.fstat(partial.fileno()).st_size
        if self.completed_at is None and on_disk < self.offset:
            log.warning(
                "Upload %s lost bytes %s to %s in a crash; asking for them again", self.pk, on_disk, self.offset
            )
            self.offset = on_disk
            self.save(update_fields=["offset"])
        return self.offset

    def check_type(self, partial):
        """Tell what the file is from its first bytes, once; raises FileRefused if it is not a video or photo."""
        if not self.content_type:
            partial.seek(0)
            self.content_type = check_content_type(partial.read(SNIFF_BYTES), self.filename)
            self.save(update_fields=["content_type"])

    @property
    def stored_name(self) -> str:
        """Where the original goes in object storage: named before its SHA-256 is known, as parts go first."""
        return f"originals/{self.submission.reference}/{self.pk.hex}"

    def send_parts(self, partial, start: int):
        """Object storage: send every part whose last byte is among those just written (from start to the offset).

        So the last PATCH has at most one part and its own chunk left to send. A part that a crash took from
        the disk is sent again with the bytes the client sends again. The caller holds the partial file's lock.
        """
        storage = evidence_store()
        if not in_object_storage(storage):
            return
        size = part_size(self.length)
        last = len(part_sizes(self.length)) if self.offset == self.length else self.offset // size
        for number in range(start // size + 1, last + 1):
            if not self.multipart_id:
                self.multipart_id = start_parts(storage, self.stored_name)
                self.save(update_fields=["multipart_id"])
            send_part(storage, self.stored_name, self.multipart_id, number, self.read_part(partial, number))

    def read_part(self, partial, number: int) -> bytes:
        size = part_size(self.length)
        wanted = part_sizes(self.length)[number - 1]
        data = os.pread(partial.fileno(), wanted, (number - 1) * size)
        if len(data) != wanted:
            raise OSError(f"Upload {self.pk} has fewer bytes on disk than part {number} needs")
        return data

    def store_parts(self, partial):
        """Object storage: join the parts into the stored object, sending any missing (for example those of a
        PATCH whose request died). The caller holds the partial file's lock, and every byte is on disk."""
        storage = evidence_store()
        if not self.multipart_id:
            self.multipart_id = start_parts(storage, self.stored_name)
            self.save(update_fields=["multipart_id"])
        join_parts(
            storage,
            self.stored_name,
            self.multipart_id,
            part_sizes(self.length),
            lambda number: self.read_part(partial, number),
        )


def evidence_store():
    """Where originals are kept (the storage of MediaFile.original)."""
    return MediaFile._meta.get_field("original").storage
