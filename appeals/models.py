import functools
import operator
import uuid
from io import BytesIO

from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.files.base import ContentFile
from django.core.files.storage import storages
from django.db import connection, models, transaction
from django.urls import reverse
from django.utils import timezone
from PIL import Image

from appeals.caching import invalidate_public_pages
from appeals.images import clean_jpeg
from incidents.models import Incident, IncidentScopedQuerySet

SEARCHED_FIELDS = [
    "headline",
    "summary",
    "body",
    "information_sought",
    "area_of_interest",
    "incident__place",
    "incident__area",
    "incident__reference",
]


class AppealQuerySet(IncidentScopedQuerySet):
    incident_lookup = "incident"

    def published(self):
        """Appeals the public may read: open ones and closed ones (which say they are closed)."""
        return self.filter(status__in=[Appeal.Status.PUBLISHED, Appeal.Status.CLOSED])

    def open(self):
        return self.filter(status=Appeal.Status.PUBLISHED)

    def search(self, text):
        """Appeals matching a search: PostgreSQL full-text search, or on SQLite every word found somewhere."""
        if not text:
            return self
        by_reference = models.Q(incident__reference__iexact=text)
        if connection.vendor == "postgresql":
            from django.contrib.postgres.search import SearchQuery, SearchVector

            vector = SearchVector(*SEARCHED_FIELDS, config="english")
            query = SearchQuery(text, search_type="websearch", config="english")
            return self.annotate(search_vector=vector).filter(models.Q(search_vector=query) | by_reference)
        every_word = models.Q()
        for word in text.split():
            every_word &= functools.reduce(
                operator.or_, (models.Q(**{f"{f}__icontains": word}) for f in SEARCHED_FIELDS)
            )
        return self.filter(every_word | by_reference)


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

    def close(self, *, by=None):
        """Close the appeal and withdraw its released images, except those marked to be kept after closing."""
        with transaction.atomic():
            self.status = self.Status.CLOSED
            self.closed_at = timezone.now()
            self.save(update_fields=["status", "closed_at", "updated_at"])
            for image in self.images.released().filter(keep_after_closing=False):
                image.withdraw(by=by)


class AppealUpdateQuerySet(IncidentScopedQuerySet):
    incident_lookup = "appeal__incident"


class AppealUpdate(models.Model):
    """A dated public update on an appeal: an arrest, a charge, a new image, the closure."""

    appeal = models.ForeignKey(Appeal, on_delete=models.CASCADE, related_name="updates")
    posted_at = models.DateTimeField(default=timezone.now)
    title = models.CharField(max_length=160)
    body = models.TextField()

    objects = AppealUpdateQuerySet.as_manager()

    class Meta:
        ordering = ["-posted_at"]
        indexes = [
            # An appeal's timeline, newest first.
            models.Index(fields=["appeal", "-posted_at"], name="appealupdate_timeline_idx"),
        ]

    def __str__(self):
        return f"{self.appeal}: {self.title}"


def private_storage():
    return storages["evidence"]


def original_image_upload_to(image, filename):
    # Generated names only: an uploaded file's name can itself carry personal data.
    return f"appeal-images/originals/{uuid.uuid4().hex}"


class AppealImageQuerySet(models.QuerySet):
    def released(self):
        """Images the public may see: those not withdrawn."""
        return self.filter(withdrawn_at__isnull=True)


class AppealImage(models.Model):
    """A released image, such as a CCTV still. The public only ever see the re-encoded derivative.

    Withdrawing an image is final: the row stays as the record of what was shown and when, the public copy is
    deleted and its address answers 410. To show it again, add it again.
    """

    # Long enough for a CCTV still to be read on a big screen, small enough for a phone on 3G.
    MAX_PIXELS = 1600
    MAX_UPLOAD_PIXELS = 50_000_000

    appeal = models.ForeignKey(Appeal, on_delete=models.CASCADE, related_name="images")
    original = models.ImageField(
        storage=private_storage, upload_to=original_image_upload_to, max_length=200, help_text="Never served."
    )
    public = models.ImageField(upload_to="appeal-images/", max_length=200, editable=False)
    width = models.PositiveIntegerField(editable=False)
    height = models.PositiveIntegerField(editable=False)
    alt_text = models.CharField(
        max_length=300,
        help_text="What the image shows, for people who cannot see it, for example "
        "'CCTV still of a man in a grey hooded top walking past a shop'.",
    )
    caption = models.CharField(max_length=300, blank=True)
    position = models.PositiveSmallIntegerField(default=0, help_text="Lower numbers come first.")
    keep_after_closing = models.BooleanField(
        default=False,
        help_text="Images are withdrawn when the appeal closes unless this is ticked. Tick it only when the image "
        "must stay public after closing, for example of stolen property still to be returned.",
    )
    withdrawn_at = models.DateTimeField(null=True, blank=True, editable=False)
    withdrawn_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, blank=True, editable=False, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)

    objects = AppealImageQuerySet.as_manager()

    class Meta:
        ordering = ["position", "pk"]
        constraints = [
            models.CheckConstraint(name="appealimage_alt_text_required", condition=~models.Q(alt_text="")),
            models.CheckConstraint(
                name="appealimage_withdrawn_by_has_date",
                condition=models.Q(withdrawn_by__isnull=True) | models.Q(withdrawn_at__isnull=False),
            ),
        ]
        indexes = [
            # An appeal's images in order, and the first one for share previews.
            models.Index(fields=["appeal", "position"], name="appealimage_order_idx"),
        ]

    def __str__(self):
        return self.alt_text

    def save(self, *args, **kwargs):
        if not self.public:
            self.make_public_derivative()
        super().save(*args, **kwargs)

    def get_absolute_url(self):
        return reverse("appeals:image", args=[self.appeal.slug, self.pk])

    def clean(self):
        if not (self.alt_text or "").strip():
            raise ValidationError({"alt_text": "Describe what the image shows, for people who cannot see it."})
        if self.original and not self.pk:
            width, height = self.original.width, self.original.height
            if width * height > self.MAX_UPLOAD_PIXELS:
                raise ValidationError({"original": "The image is too large: use one under 50 megapixels."})

    def withdraw(self, *, by=None):
        """Take the image off the public site at once. Returns False if it was already withdrawn.

        Every cached public page goes stale, and the public copy's bytes are deleted once the withdrawal is
        committed (a rollback leaves the image as it was).
        """
        withdrawn_at = timezone.now()
        claimed = AppealImage.objects.filter(pk=self.pk, withdrawn_at__isnull=True).update(
            withdrawn_at=withdrawn_at, withdrawn_by=by
        )
        if not claimed:
            return False
        self.withdrawn_at, self.withdrawn_by = withdrawn_at, by
        invalidate_public_pages()
        public = self.public
        transaction.on_commit(lambda: public.storage.delete(public.name), robust=True)
        return True

    def make_public_derivative(self):
        """Re-encode the original as a plain JPEG: the pixels only, no EXIF, GPS, XMP, ICC or comments."""
        self.original.open("rb")
        buffer = BytesIO()
        with Image.open(self.original) as source:
            size = clean_jpeg(source, (self.MAX_PIXELS, self.MAX_PIXELS), buffer, optimize=True, progressive=True)
        # Left open and rewound: a new upload is written to storage after this, by the same save().
        self.original.seek(0)
        self.width, self.height = size
        self.public.save(f"{uuid.uuid4().hex}.jpg", ContentFile(buffer.getvalue()), save=False)
