from django.conf import settings
from django.db import models
from django.urls import reverse

from incidents.access import is_supervisor
from incidents.references import normalise_cad_reference


class Team(models.Model):
    """A group of officers; an incident belongs to one team, whose officers triage it."""

    name = models.CharField(max_length=120, unique=True)
    members = models.ManyToManyField(settings.AUTH_USER_MODEL, related_name="teams", blank=True)

    class Meta:
        ordering = ["name"]

    def __str__(self):
        return self.name


class IncidentQuerySet(models.QuerySet):
    def visible_to(self, user):
        """The access rule: officers see their own teams' incidents; supervisors see all."""
        if not user.is_active or not user.is_staff:
            return self.none()
        if is_supervisor(user):
            return self
        return self.filter(team__members=user).distinct()


class IncidentScopedQuerySet(models.QuerySet):
    """Records that belong to an incident: an officer sees them where they may see the incident."""

    incident_lookup = None  # the path from the record to its incident, for example "appeal__incident"

    def visible_to(self, user):
        return self.filter(**{f"{self.incident_lookup}__in": Incident.objects.visible_to(user)})


class Incident(models.Model):
    class Offence(models.TextChoices):
        FIREARMS = "firearms", "Firearms offence"
        KNIFE_CRIME = "knife_crime", "Knife crime"
        HOMICIDE = "homicide", "Homicide"
        ASSAULT = "assault", "Assault"
        ASSAULT_ON_POLICE = "assault_on_police", "Assault on police"
        ROBBERY = "robbery", "Robbery"
        SEXUAL_OFFENCE = "sexual_offence", "Sexual offence"
        BURGLARY = "burglary", "Burglary"
        ROAD_TRAFFIC = "road_traffic", "Serious road traffic collision"
        MISSING_PERSON = "missing_person", "Missing person"
        OTHER = "other", "Other"

    class Status(models.TextChoices):
        OPEN = "open", "Open"
        CLOSED = "closed", "Closed"

    reference = models.CharField(
        max_length=20, unique=True, help_text="The CAD reference the public quote, for example CAD6602/18MAR."
    )
    title = models.CharField(max_length=200)
    offence = models.CharField(max_length=32, choices=Offence.choices)
    occurred_at = models.DateTimeField()
    place = models.CharField(max_length=200, help_text="Where it happened, as people know it.")
    area = models.CharField(max_length=100, help_text="Borough or area, used to filter appeals.")
    latitude = models.DecimalField(max_digits=8, decimal_places=6, null=True, blank=True)
    longitude = models.DecimalField(max_digits=9, decimal_places=6, null=True, blank=True)
    unit = models.CharField(max_length=200, blank=True, help_text="The unit investigating.")
    officer_in_charge = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="incidents_in_charge"
    )
    team = models.ForeignKey(Team, on_delete=models.PROTECT, related_name="incidents")
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.OPEN)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    objects = IncidentQuerySet.as_manager()

    class Meta:
        ordering = ["-occurred_at"]
        permissions = [("view_all_incidents", "Can see every team's incidents (supervisor)")]
        constraints = [
            models.CheckConstraint(
                name="incident_coordinates_both_or_neither",
                condition=models.Q(latitude__isnull=True, longitude__isnull=True)
                | models.Q(latitude__isnull=False, longitude__isnull=False),
            ),
            models.CheckConstraint(
                name="incident_latitude_in_range",
                condition=models.Q(latitude__isnull=True) | models.Q(latitude__gte=-90, latitude__lte=90),
            ),
            models.CheckConstraint(
                name="incident_longitude_in_range",
                condition=models.Q(longitude__isnull=True) | models.Q(longitude__gte=-180, longitude__lte=180),
            ),
        ]

    def __str__(self):
        return f"{self.reference}: {self.title}"

    def save(self, *args, **kwargs):
        # Normalised on every save too, so a reference can never be stored in two spellings.
        self.reference = normalise_cad_reference(self.reference)
        super().save(*args, **kwargs)

    def clean(self):
        if self.reference:
            self.reference = normalise_cad_reference(self.reference)

    def get_admin_url(self):
        return reverse("admin:incidents_incident_change", args=[self.pk])
