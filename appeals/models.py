from django.core.exceptions import ValidationError
from django.db import models
from django.urls import reverse
from django.utils import timezone

from incidents.models import Incident


class AppealQuerySet(models.QuerySet):
    def published(self):
        """Appeals the public may read: open ones and closed ones (which say they are closed)."""
        return self.filter(status__in=[Appeal.Status.PUBLISHED, Appeal.Status.CLOSED])

    def open(self):
        return self.filter(status=Appeal.Status.PUBLISHED)

    def visible_to(self, user):
        return self.filter(incident__in=Incident.objects.visible_to(user))


class Appeal(models.Model):
    class Status(models.TextChoices):
        DRAFT = "draft", "Draft"
        PUBLISHED = "published", "Published"
        CLOSED = "closed", "Closed"

    class Footage(models.TextChoices):
        CCTV = "cctv", "Security camera (CCTV)"
        DASHCAM = "dashcam", "Dashcam"
        DOORBELL = "doorbell", "Doorbell camera"
        PHONE = "phone", "Mobile phone video or photos"

    incident = models.ForeignKey(Incident, on_delete=models.PROTECT, related_name="appeals")
    slug = models.SlugField(max_length=120, unique=True)
    headline = models.CharField(max_length=160)
    summary = models.CharField(max_length=300, help_text="One or two sentences: shown in lists and when shared.")
    body = models.TextField(help_text="What happened, in plain words. Separate paragraphs with a blank line.")
    information_sought = models.TextField(help_text="Who and what the investigation is looking for.")
    footage_sought = models.JSONField(
        default=list, blank=True, help_text="Kinds of footage wanted: cctv, dashcam, doorbell, phone."
    )
    window_starts_at = models.DateTimeField(null=True, blank=True, help_text="Start of the time of interest.")
    window_ends_at = models.DateTimeField(null=True, blank=True, help_text="End of the time of interest.")
    area_of_interest = models.CharField(max_length=300, blank=True)
    officer_quote = models.TextField(blank=True)
    officer_quote_attribution = models.CharField(max_length=200, blank=True)
    context = models.TextField(blank=True, help_text="Background, such as figures that explain why it matters.")
    offer_101 = models.BooleanField("Offer 101", default=True)
    social_handle = models.CharField(max_length=50, blank=True, default="@MetCC")
    offer_crimestoppers = models.BooleanField("Offer Crimestoppers", default=True)
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.DRAFT)
    published_at = models.DateTimeField(null=True, blank=True)
    closed_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    objects = AppealQuerySet.as_manager()

    class Meta:
        ordering = ["-published_at", "-created_at"]
        constraints = [
            models.CheckConstraint(
                name="appeal_published_has_published_at",
                condition=models.Q(status="draft") | models.Q(published_at__isnull=False),
            ),
            models.CheckConstraint(
                name="appeal_closed_has_closed_at",
                condition=~models.Q(status="closed") | models.Q(closed_at__isnull=False),
            ),
            models.CheckConstraint(
                name="appeal_window_in_order",
                condition=models.Q(window_starts_at__isnull=True)
                | models.Q(window_ends_at__isnull=True)
                | models.Q(window_ends_at__gte=models.F("window_starts_at")),
            ),
        ]
        indexes = [
            # The public list: published appeals, newest first.
            models.Index(fields=["status", "-published_at"], name="appeal_status_published_idx"),
        ]

    def __str__(self):
        return self.headline

    def get_absolute_url(self):
        return reverse("appeals:detail", args=[self.slug])

    def clean(self):
        unknown = set(self.footage_sought or []) - set(self.Footage.values)
        if not isinstance(self.footage_sought, list) or unknown:
            raise ValidationError({"footage_sought": f"Choose from: {', '.join(self.Footage.values)}."})
        if self.window_starts_at and self.window_ends_at and self.window_ends_at < self.window_starts_at:
            raise ValidationError({"window_ends_at": "The end of the time of interest must be after its start."})

    def is_open(self):
        return self.status == self.Status.PUBLISHED

    def footage_sought_labels(self):
        return [self.Footage(kind).label for kind in self.footage_sought]

    def publish(self):
        self.status = self.Status.PUBLISHED
        self.published_at = self.published_at or timezone.now()
        self.closed_at = None
        self.save(update_fields=["status", "published_at", "closed_at", "updated_at"])

    def close(self):
        self.status = self.Status.CLOSED
        self.closed_at = timezone.now()
        self.save(update_fields=["status", "closed_at", "updated_at"])


class AppealUpdate(models.Model):
    """A dated public update on an appeal: an arrest, a charge, a new image, the closure."""

    appeal = models.ForeignKey(Appeal, on_delete=models.CASCADE, related_name="updates")
    posted_at = models.DateTimeField(default=timezone.now)
    title = models.CharField(max_length=160)
    body = models.TextField()

    class Meta:
        ordering = ["-posted_at"]
        indexes = [
            # An appeal's timeline, newest first.
            models.Index(fields=["appeal", "-posted_at"], name="appealupdate_timeline_idx"),
        ]

    def __str__(self):
        return f"{self.appeal}: {self.title}"
