"""Plain helpers that build valid rows for tests."""

import threading
from datetime import datetime
from zoneinfo import ZoneInfo

from django.contrib.auth import get_user_model
from django.db import connection
from django.utils.text import slugify

from appeals.models import Appeal
from incidents.models import Incident, Team
from submissions.models import Submission

LONDON = ZoneInfo("Europe/London")


def make_officer(username, team=None, **fields):
    user = get_user_model().objects.create_user(
        username=username, password="officer-password", email=f"{username}@example.org", is_staff=True, **fields
    )
    if team:
        team.members.add(user)
    return user


def make_incident(reference="CAD100/01JAN", team=None, officer=None, **fields):
    team = team or Team.objects.create(name=f"Team for {reference}")
    officer = officer or make_officer(f"oic-{slugify(reference)}", team)
    return Incident.objects.create(
        reference=reference,
        title=fields.pop("title", "Robbery on the high street"),
        offence=fields.pop("offence", Incident.Offence.ROBBERY),
        occurred_at=fields.pop("occurred_at", datetime(2024, 1, 1, 14, 30, tzinfo=LONDON)),
        place=fields.pop("place", "High Street"),
        area=fields.pop("area", "Camden"),
        officer_in_charge=officer,
        team=team,
        **fields,
    )


def make_appeal(incident=None, status=Appeal.Status.PUBLISHED, **fields):
    incident = incident or make_incident()
    headline = fields.pop("headline", f"Appeal about {incident.reference}")
    appeal = Appeal(
        incident=incident,
        slug=fields.pop("slug", slugify(headline)),
        headline=headline,
        summary=fields.pop("summary", "A short summary."),
        body=fields.pop("body", "What happened."),
        information_sought=fields.pop("information_sought", "Who we are looking for."),
        status=Appeal.Status.DRAFT,
        **fields,
    )
    appeal.save()
    if status == Appeal.Status.PUBLISHED:
        appeal.publish()
    elif status == Appeal.Status.CLOSED:
        appeal.publish()
        appeal.close()
    return appeal


def make_submission(appeal, upload_token=None, **fields):
    """A stored submission; with upload_token, its private footage link opens with that token."""
    fields.setdefault("account", "I saw a group of people running.")
    if not fields.get("contact_email") and not fields.get("contact_phone"):
        fields.setdefault("is_anonymous", True)
    submission = Submission(appeal=appeal, **fields)
    if upload_token:
        submission.set_upload_token(upload_token)
    submission.save()
    return submission


def run_twice_at_once(task, *args):
    """Run a Celery task eagerly on two threads released together, as two workers given the same message."""
    start = threading.Barrier(2)

    def worker():
        start.wait()
        try:
            task.apply(args=list(args))
        finally:
            connection.close()

    threads = [threading.Thread(target=worker) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
