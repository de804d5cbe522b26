"""The one access rule, everywhere: an officer cannot list, open, play, download or export another team's material."""

import pytest
from django.urls import reverse

from evidence.models import AuditEntry, EvidenceExport
from evidence.services import request_export
from submissions.models import MediaFile
from tests.officers import sign_in

pytestmark = pytest.mark.django_db


def test_an_officer_lists_only_their_own_teams_submissions(client, north, south):
    sign_in(client, north.officer)
    page = client.get(reverse("admin:submissions_submission_changelist")).content.decode()
    assert north.submission.reference in page
    assert south.submission.reference not in page
    # Not even the other team's appeal appears as a filter choice.
    assert south.appeal.headline not in page


@pytest.mark.parametrize(
    "url_name",
    [
        "admin:submissions_submission_change",
        "admin:incidents_incident_change",
        "admin:appeals_appeal_change",
        "admin:submissions_mediafile_change",
    ],
)
def test_an_officer_cannot_open_another_teams_material_by_url(client, north, south, url_name):
    target = {
        "admin:submissions_submission_change": south.submission,
        "admin:incidents_incident_change": south.incident,
        "admin:appeals_appeal_change": south.appeal,
        "admin:submissions_mediafile_change": south.media_file,
    }[url_name]
    sign_in(client, north.officer)
    response = client.get(reverse(url_name, args=[target.pk]), follow=True)
    assert south.submission.account not in response.content.decode()
    assert response.redirect_chain and response.redirect_chain[-1][0] == reverse("admin:index")


def test_an_officer_cannot_play_or_see_another_teams_files(client, north, south):
    sign_in(client, north.officer)
    assert client.get(reverse("admin:evidence_derivative", args=[south.proxy.pk])).status_code == 404
    assert client.get(reverse("admin:evidence_derivative", args=[north.proxy.pk])).status_code == 200


def test_an_officer_cannot_download_another_teams_original(client, north, south):
    sign_in(client, north.officer)
    url = reverse("admin:evidence_original", args=[south.media_file.pk])
    assert client.get(url).status_code == 404
    assert client.post(url, {"reason": "Curiosity, by URL"}).status_code == 404
    assert not AuditEntry.objects.filter(media_file=south.media_file).exists()


def test_an_officer_cannot_export_another_teams_submission(client, north, south):
    sign_in(client, north.officer)
    assert client.post(reverse("admin:evidence_export_submission", args=[south.submission.pk])).status_code == 404
    # Nor through the list action, by slipping the other team's id into the selection.
    client.post(
        reverse("admin:submissions_submission_changelist"),
        {"action": "export_evidence", "_selected_action": [south.submission.pk]},
    )
    assert not EvidenceExport.objects.filter(submission=south.submission).exists()


def test_an_officer_cannot_download_another_teams_export(client, north, south, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        export = request_export(submission=south.submission, by=south.officer)
    sign_in(client, north.officer)
    assert client.get(reverse("admin:evidence_export_download", args=[export.pk])).status_code == 404
    assert client.get(reverse("admin:evidence_evidenceexport_change", args=[export.pk])).status_code == 302


def test_an_officer_sees_only_their_own_teams_audit_trail(client, north, south):
    sign_in(client, south.officer)
    client.get(south.submission.get_admin_url())
    sign_in(client, north.officer)
    page = client.get(reverse("admin:evidence_auditentry_changelist")).content.decode()
    assert south.submission.reference not in page


def test_a_supervisor_sees_every_team(client, north, south, supervisor):
    sign_in(client, supervisor)
    page = client.get(reverse("admin:submissions_submission_changelist")).content.decode()
    assert north.submission.reference in page
    assert south.submission.reference in page
    assert client.get(reverse("admin:evidence_derivative", args=[south.proxy.pk])).status_code == 200


def test_without_the_second_factor_there_is_no_way_in(client, north):
    client.force_login(north.officer)
    for url in [
        reverse("admin:index"),
        north.submission.get_admin_url(),
        reverse("admin:evidence_derivative", args=[north.proxy.pk]),
        reverse("admin:evidence_original", args=[north.media_file.pk]),
    ]:
        response = client.get(url)
        assert response.status_code == 302
        assert response.url.startswith(reverse("admin:login"))


def test_the_assignee_lookup_offers_only_colleagues(client, north, south):
    sign_in(client, north.officer)
    response = client.get(
        reverse("admin:autocomplete"),
        {"app_label": "submissions", "model_name": "submission", "field_name": "assignee", "term": "officer"},
    )
    assert response.status_code == 200
    names = [result["text"] for result in response.json()["results"]]
    assert north.officer.username in names
    assert south.officer.username not in names


def test_the_duplicate_lookup_offers_only_visible_submissions(client, north, south):
    sign_in(client, north.officer)
    response = client.get(
        reverse("admin:autocomplete"),
        {"app_label": "submissions", "model_name": "submission", "field_name": "duplicate_of", "term": ""},
    )
    names = [result["text"] for result in response.json()["results"]]
    assert names == [north.submission.reference]


def test_an_officer_sees_only_their_own_teams_in_the_team_list(client, north, south):
    sign_in(client, north.officer)
    page = client.get(reverse("admin:incidents_team_changelist")).content.decode()
    assert north.team.name in page
    assert south.team.name not in page


def test_a_quarantined_file_is_never_previewed_or_played(client, north):
    sign_in(client, north.officer)
    url = reverse("admin:evidence_derivative", args=[north.proxy.pk])
    assert client.get(url).status_code == 200

    MediaFile.objects.filter(pk=north.proxy.media_file_id).update(
        state=MediaFile.State.QUARANTINED, scan_state=MediaFile.ScanState.INFECTED
    )
    assert client.get(url).status_code == 404
    page = client.get(reverse("admin:submissions_submission_change", args=[north.submission.pk])).text
    assert url not in page
