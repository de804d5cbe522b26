import pytest
from django.db import IntegrityError

from incidents.models import Incident, Team
from tests.factories import make_incident, make_officer


@pytest.mark.django_db
def test_it_stores_the_reference_in_its_canonical_form():
    incident = make_incident(reference="cad 6602/18mar")
    incident.refresh_from_db()
    assert incident.reference == "CAD6602/18MAR"


@pytest.mark.django_db
def test_the_reference_is_unique_whatever_the_spelling():
    make_incident(reference="CAD6602/18MAR")
    with pytest.raises(IntegrityError):
        make_incident(reference="cad6602/18mar", team=Team.objects.create(name="Other"))


@pytest.mark.django_db
def test_coordinates_come_in_pairs():
    with pytest.raises(IntegrityError):
        make_incident(latitude="51.5")


@pytest.mark.django_db
def test_an_officer_sees_only_their_own_teams_incidents():
    north, south = Team.objects.create(name="North"), Team.objects.create(name="South")
    north_officer, south_officer = make_officer("north", north), make_officer("south", south)
    north_incident = make_incident("CAD1/01JAN", team=north, officer=north_officer)
    south_incident = make_incident("CAD2/01JAN", team=south, officer=south_officer)

    assert list(Incident.objects.visible_to(north_officer)) == [north_incident]
    assert list(Incident.objects.visible_to(south_officer)) == [south_incident]


@pytest.mark.django_db
def test_superusers_see_every_incident_and_non_staff_see_none():
    make_incident("CAD1/01JAN")
    make_incident("CAD2/01JAN")
    superuser = make_officer("boss", is_superuser=True)
    member_of_public = make_officer("public")
    member_of_public.is_staff = False

    assert Incident.objects.visible_to(superuser).count() == 2
    assert Incident.objects.visible_to(member_of_public).count() == 0
