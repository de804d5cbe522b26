"""Appeals from the admin: create an incident and its appeal, publish, post an update, close."""

import pytest
from django.urls import reverse

from appeals.models import Appeal, AppealUpdate
from incidents.models import Incident
from tests.factories import make_appeal
from tests.officers import sign_in

pytestmark = pytest.mark.django_db


def test_an_officer_creates_an_incident_and_a_draft_appeal_publishes_updates_and_closes_it(client, north):
    sign_in(client, north.officer)
    response = client.post(
        reverse("admin:incidents_incident_add"),
        {
            "reference": "cad 77/2feb",
            "title": "Stabbing outside the station",
            "offence": Incident.Offence.KNIFE_CRIME,
            "occurred_at_0": "02/02/2024",
            "occurred_at_1": "21:15",
            "place": "Station Road",
            "area": "Barnet",
            "officer_in_charge": north.officer.pk,
            "team": north.team.pk,
            "status": Incident.Status.OPEN,
        },
    )
    assert response.status_code == 302, response.context["adminform"].form.errors
    incident = Incident.objects.get(reference="CAD77/02FEB")
    appeal = make_appeal(incident, status=Appeal.Status.DRAFT, headline="Stabbing outside the station")

    assert client.get(appeal.get_absolute_url()).status_code == 404

    client.post(reverse("admin:appeals_appeal_publish", args=[appeal.pk]))
    assert client.get(appeal.get_absolute_url()).status_code == 200

    client.post(
        reverse("admin:appeals_appealupdate_add"),
        {
            "appeal": appeal.pk,
            "posted_at_0": "03/02/2024",
            "posted_at_1": "10:00",
            "title": "Arrest",
            "body": "A man, 19, was arrested.",
        },
    )
    assert AppealUpdate.objects.get(appeal=appeal).title == "Arrest"

    client.post(reverse("admin:appeals_appeal_close", args=[appeal.pk]))
    appeal.refresh_from_db()
    assert appeal.status == Appeal.Status.CLOSED


def test_an_officer_cannot_file_an_incident_for_another_team_or_close_its_appeals(client, north, south):
    sign_in(client, north.officer)
    form = client.get(reverse("admin:incidents_incident_add")).context["adminform"].form
    assert list(form.fields["team"].queryset) == [north.team]
    assert client.post(reverse("admin:appeals_appeal_close", args=[south.appeal.pk])).status_code == 404
