"""The audit trail: every view, play, download and change is recorded, and nothing can rewrite it."""

import pytest
from django.db import DatabaseError, connection, transaction
from django.urls import reverse

from evidence.audit import record
from evidence.models import AuditEntry, AuditTrailIsAppendOnly
from tests.conftest import connected_as, require
from tests.officers import sign_in

pytestmark = pytest.mark.django_db


@pytest.fixture
def entry(north):
    return record(actor=north.officer, action=AuditEntry.Action.VIEWED_SUBMISSION, submission=north.submission)


def test_an_audit_entry_cannot_be_changed_or_deleted_by_the_application(entry):
    entry.reason = "Rewritten"
    with pytest.raises(AuditTrailIsAppendOnly):
        entry.save()
    with pytest.raises(AuditTrailIsAppendOnly):
        entry.delete()
    with pytest.raises(AuditTrailIsAppendOnly):
        AuditEntry.objects.filter(pk=entry.pk).update(reason="Rewritten")
    with pytest.raises(AuditTrailIsAppendOnly):
        AuditEntry.objects.all().delete()
    assert AuditEntry.objects.get().reason == ""


@pytest.mark.django_db(transaction=True)
def test_the_database_refuses_to_rewrite_the_audit_trail_even_for_the_tables_owner(entry, database_owner):
    # The application's role may not even try (tests/evidence/test_database_roles.py); the trigger stops the owner.
    require(connection.vendor == "postgresql", "PostgreSQL (the append-only trigger)")
    with connected_as(**database_owner):
        for sql in ["UPDATE evidence_auditentry SET reason = 'x'", "DELETE FROM evidence_auditentry"]:
            with pytest.raises(DatabaseError, match="append-only"), transaction.atomic(), connection.cursor() as cursor:
                cursor.execute(sql)
    assert AuditEntry.objects.filter(pk=entry.pk, reason="").exists()


def test_the_admin_offers_no_way_to_add_change_or_delete_audit_entries(client, entry, supervisor):
    sign_in(client, supervisor)
    change_url = reverse("admin:evidence_auditentry_change", args=[entry.pk])
    page = client.get(change_url).content.decode()
    assert 'name="_save"' not in page
    assert client.post(change_url, {"reason": "Rewritten"}).status_code == 403
    assert client.post(reverse("admin:evidence_auditentry_delete", args=[entry.pk]), {"post": "yes"}).status_code == 403
    assert client.get(reverse("admin:evidence_auditentry_add")).status_code == 403
    assert AuditEntry.objects.get().reason == ""


def test_viewing_playing_and_downloading_are_each_audited(client, north):
    sign_in(client, north.officer)
    client.get(north.submission.get_admin_url())
    play_url = reverse("admin:evidence_derivative", args=[north.proxy.pk])
    # One entry covers the player's many range requests while it seeks.
    for byte_range in ["bytes=0-", "bytes=100-", "bytes=500-799"]:
        client.get(play_url, headers={"range": byte_range})
    original_url = reverse("admin:evidence_original", args=[north.media_file.pk])
    client.post(original_url, {"reason": "For the forensic video unit"})
    entries = list(AuditEntry.objects.values_list("actor", "action", "media_file", "reason"))
    assert entries == [
        (north.officer.pk, "viewed_submission", None, ""),
        (north.officer.pk, "played_file", north.media_file.pk, ""),
        (north.officer.pk, "downloaded_original", north.media_file.pk, "For the forensic video unit"),
    ]
    page = client.get(north.submission.get_admin_url()).content.decode()
    assert "For the forensic video unit" in page


def test_downloading_an_original_asks_for_a_reason_first(client, north):
    sign_in(client, north.officer)
    url = reverse("admin:evidence_original", args=[north.media_file.pk])
    asked = client.get(url)
    assert "Why do you need the original file?" in asked.content.decode()
    refused = client.post(url, {"reason": ""})
    assert refused.status_code == 200
    assert "Content-Disposition" not in refused.headers
    assert not AuditEntry.objects.exists()
    response = client.post(url, {"reason": "Disclosure to the CPS"})
    assert response["Content-Disposition"] == "attachment; filename=\"DASH0001.MP4\"; filename*=UTF-8''DASH0001.MP4"
    assert b"".join(response.streaming_content) == north.media_file.original.open("rb").read()


def test_the_proxy_is_served_in_ranges_so_the_player_can_seek(client, north):
    sign_in(client, north.officer)
    url = reverse("admin:evidence_derivative", args=[north.proxy.pk])
    whole = client.get(url)
    body = b"".join(whole.streaming_content)
    assert (whole.status_code, whole["Accept-Ranges"]) == (200, "bytes")
    part = client.get(url, headers={"range": "bytes=100-199"})
    assert part.status_code == 206
    assert part["Content-Range"] == f"bytes 100-199/{len(body)}"
    assert b"".join(part.streaming_content) == body[100:200]
    tail = client.get(url, headers={"range": "bytes=-10"})
    assert b"".join(tail.streaming_content) == body[-10:]
    beyond = client.get(url, headers={"range": f"bytes={len(body)}-"})
    assert (beyond.status_code, beyond["Content-Range"]) == (416, f"bytes */{len(body)}")


def test_in_production_nginx_serves_the_bytes_after_the_check(client, north, settings):
    settings.EVIDENCE_ACCEL_REDIRECT_PREFIX = "/protected-evidence/"
    sign_in(client, north.officer)
    response = client.get(reverse("admin:evidence_derivative", args=[north.proxy.pk]), headers={"range": "bytes=0-"})
    assert response.status_code == 200
    assert response["X-Accel-Redirect"] == f"/protected-evidence/{north.proxy.file.name}"
    assert response.content == b""
    assert AuditEntry.objects.filter(action=AuditEntry.Action.PLAYED_FILE).count() == 1


def test_a_file_is_not_served_when_its_audit_entry_cannot_be_written(client, north, monkeypatch):
    def broken_save(*args, **kwargs):
        raise DatabaseError("disk full")

    monkeypatch.setattr(AuditEntry, "save", broken_save)
    sign_in(client, north.officer)
    with pytest.raises(DatabaseError):
        client.post(reverse("admin:evidence_original", args=[north.media_file.pk]), {"reason": "Disclosure"})
    with pytest.raises(DatabaseError):
        client.get(reverse("admin:evidence_derivative", args=[north.proxy.pk]))
