"""Load the demo appeal (CAD6602/18MAR, Grahame Park Estate). Running it again changes nothing."""

from base64 import b32encode
from datetime import datetime
from zoneinfo import ZoneInfo

from django.conf import settings
from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand
from django.db import transaction
from django_otp.plugins.otp_totp.models import TOTPDevice

from appeals.models import Appeal
from incidents.models import Incident, Team
from incidents.roles import OFFICERS as OFFICERS_GROUP
from incidents.roles import ensure_roles

LONDON = ZoneInfo("Europe/London")
# Known only to a local, DEBUG instance; set once, when the user is created.
DEMO_PASSWORD = "demo-password-change-me"

OFFICERS = [
    # username, first, last, email, team, superuser
    ("admin", "Local", "Administrator", "admin@example.org", None, True),
    ("dci.alger", "Gemma", "Alger", "gemma.alger@example.org", "North West Violence Suppression Unit", False),
    ("ds.okafor", "Daniel", "Okafor", "daniel.okafor@example.org", "South East Criminal Investigation", False),
]

BODY = """\
At about 7:10pm on Thursday 18 March, ten plain-clothes officers from the North West Violence \
Suppression Unit were on patrol on the Grahame Park Estate in Colindale. They had gone there after \
hearing about a large gathering.

When the officers approached, a group of six males, who we believe live locally, ran away. The \
officers chased them on foot. During the chase, one of the group is believed to have fired a gun \
several times towards the officers, who were not armed.

No one was hurt, but the officers were badly shaken. More officers, including armed response \
vehicles, then searched the area."""

SOUGHT = """\
We want to identify and find the group of about six males involved. If you were on or near the \
Grahame Park Estate that evening, saw a group running, or heard what sounded like gunshots, please \
tell us.

If you have security camera (CCTV), dashcam or doorbell camera footage of the estate or the streets \
around it from that evening, please send it, even if you think it shows nothing."""

QUOTE = """\
Attacks on police officers will not be tolerated. This could easily have become a murder \
investigation. Our officers go to work to keep people safe, and none of them should have to wonder \
whether they will get home at the end of their shift. If you know who did this, please tell us."""

CONTEXT = """\
Assaults on Met officers are rising. In the last 12 months there were 7,140 recorded assaults on \
our officers, 19.1% more than in the year before."""


class Command(BaseCommand):
    help = "Create the demo team, officers, incident and published appeal (idempotent)."

    @transaction.atomic
    def handle(self, *args, **options):
        officers_group = ensure_roles()[OFFICERS_GROUP]
        users = {}
        devices = {}
        for username, first, last, email, team_name, superuser in OFFICERS:
            user, created = get_user_model().objects.get_or_create(
                username=username,
                defaults={
                    "first_name": first,
                    "last_name": last,
                    "email": email,
                    "is_staff": True,
                    "is_superuser": superuser,
                },
            )
            if created:
                user.set_password(DEMO_PASSWORD)
                user.save(update_fields=["password"])
            if team_name:
                team, _ = Team.objects.get_or_create(name=team_name)
                team.members.add(user)
                officers_group.user_set.add(user)
            # The admin needs a second factor: one authenticator per demo officer, made once.
            devices[username], _ = TOTPDevice.objects.get_or_create(
                user=user, name="Demo authenticator", defaults={"confirmed": True}
            )
            users[username] = user

        incident, _ = Incident.objects.get_or_create(
            reference="CAD6602/18MAR",
            defaults={
                "title": "Firearm discharged towards officers, Grahame Park Estate",
                "offence": Incident.Offence.FIREARMS,
                "occurred_at": datetime(2021, 3, 18, 19, 10, tzinfo=LONDON),
                "place": "Grahame Park Estate, Colindale",
                "area": "Barnet",
                "latitude": "51.597900",
                "longitude": "-0.247200",
                "unit": "North West Violence Suppression Unit",
                "officer_in_charge": users["dci.alger"],
                "team": Team.objects.get(name="North West Violence Suppression Unit"),
            },
        )
        Appeal.objects.get_or_create(
            slug="shots-fired-at-officers-grahame-park-colindale",
            defaults={
                "incident": incident,
                "headline": "Shots fired at officers in Colindale: can you help?",
                "summary": (
                    "A gun was fired towards unarmed officers during a foot chase on the Grahame Park "
                    "Estate on Thursday 18 March. Did you see anything, or do you have footage?"
                ),
                "body": BODY,
                "information_sought": SOUGHT,
                "footage_sought": [Appeal.Footage.CCTV, Appeal.Footage.DASHCAM, Appeal.Footage.DOORBELL],
                "window_starts_at": datetime(2021, 3, 18, 18, 30, tzinfo=LONDON),
                "window_ends_at": datetime(2021, 3, 18, 20, 30, tzinfo=LONDON),
                "area_of_interest": "The Grahame Park Estate and the streets around it, Colindale NW9",
                "officer_quote": QUOTE,
                "officer_quote_attribution": "Detective Chief Inspector Gemma Alger, who is leading the investigation",
                "context": CONTEXT,
                "social_handle": "@MetCC",
                "status": Appeal.Status.PUBLISHED,
                "published_at": datetime(2021, 3, 20, 11, 0, tzinfo=LONDON),
            },
        )

        self.stdout.write(self.style.SUCCESS("Demo appeal loaded: CAD6602/18MAR, Grahame Park Estate."))
        if settings.DEBUG:
            self.stdout.write("Demo logins for /admin/ (local use only). Each needs a code from an authenticator app:")
            self.stdout.write(
                "add the key (or open the otpauth link) in the app, or run `manage.py demo_totp_code USER`."
            )
            for username, *_rest in OFFICERS:
                device = devices[username]
                self.stdout.write(f"  {username:<10} password: {DEMO_PASSWORD}")
                self.stdout.write(f"             authenticator key: {b32encode(device.bin_key).decode()}")
                self.stdout.write(f"             {device.config_url}")
