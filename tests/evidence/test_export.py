"""Evidence export: a zip of originals and derivatives with a manifest of hashes, verified by a command."""

import hashlib
import json
import zipfile
from datetime import timedelta
from io import StringIO

import pytest
from django.core.management import CommandError, call_command
from django.urls import reverse
from django.utils import timezone

from config.celery import app as celery_app
from evidence.models import AuditEntry, EvidenceExport
from evidence.services import request_export
from submissions.models import Derivative
from tests.officers import add_derivative, sign_in, team_with_submission
from tests.services import wait_for

pytestmark = pytest.mark.django_db


@pytest.fixture
def exported(client, north, django_capture_on_commit_callbacks):
    """North's submission, with a poster too, exported through the admin action."""
    add_derivative(north.media_file, Derivative.Kind.POSTER, b"\xff\xd8 poster \xff\xd9")
    sign_in(client, north.officer)
    with django_capture_on_commit_callbacks(execute=True):
        client.post(
            reverse("admin:submissions_submission_changelist"),
            {"action": "export_evidence", "_selected_action": [north.submission.pk]},
        )
    return EvidenceExport.objects.get(submission=north.submission)


def manifest_of(export):
    with export.file.open("rb") as f, zipfile.ZipFile(f) as archive:
        return json.loads(archive.read("manifest.json")), sorted(archive.namelist())


def test_an_export_holds_the_originals_derivatives_and_a_manifest_of_hashes(exported, north):
    assert exported.state == EvidenceExport.State.READY
    with exported.file.open("rb") as f:
        assert hashlib.sha256(f.read()).hexdigest() == exported.sha256
    manifest, names = manifest_of(exported)
    pk = north.media_file.pk
    assert names == [
        f"derivatives/{pk}/poster.jpg",
        f"derivatives/{pk}/proxy.mp4",
        "manifest.json",
        f"originals/{pk}-DASH0001.MP4",
    ]
    original = next(entry for entry in manifest["files"] if entry["path"].startswith("originals/"))
    assert (original["sha256"], original["size"]) == (north.media_file.sha256, north.media_file.size)
    assert original["origin"] == "original, as received from the witness"
    proxy = next(entry for entry in manifest["files"] if entry["path"].endswith("proxy.mp4"))
    assert (proxy["sha256"], proxy["tool"], proxy["tool_version"]) == (north.proxy.sha256, "ffmpeg", "5.1.9")
    assert proxy["derived_from"] == original["path"]
    assert manifest["submission"]["account"] == north.submission.account
    assert manifest["submission"]["reference"] == north.submission.reference
    assert [entry["action"] for entry in manifest["audit_trail"]] == ["requested_export"]


def test_verify_export_re_hashes_every_file_against_the_manifest(exported, tmp_path):
    path = tmp_path / "export.zip"
    with exported.file.open("rb") as f:
        path.write_bytes(f.read())
    out = StringIO()
    call_command("verify_export", str(path), stdout=out)
    assert f"It is export {exported.pk}" in out.getvalue()
    assert "All 3 files match" in out.getvalue()


def test_verify_export_finds_a_changed_file(exported, tmp_path):
    tampered = tmp_path / "tampered.zip"
    with exported.file.open("rb") as f, zipfile.ZipFile(f) as source, zipfile.ZipFile(tampered, "w") as target:
        for name in source.namelist():
            data = source.read(name)
            target.writestr(name, data.replace(b"proxy of", b"PROXY OF") if name.endswith(".mp4") else data)
        target.writestr("originals/slipped-in.mp4", b"not from the witness")
    err = StringIO()
    with pytest.raises(CommandError, match="does not match its manifest"):
        call_command("verify_export", str(tampered), stdout=StringIO(), stderr=err)
    assert "proxy.mp4: SHA-256 is" in err.getvalue()
    assert "originals/slipped-in.mp4: in the zip but not listed in the manifest" in err.getvalue()


def test_an_export_fails_with_a_reason_if_an_original_changed_since_arrival(north, django_capture_on_commit_callbacks):
    with open(north.media_file.original.path, "ab") as original:
        original.write(b" tampered")
    with django_capture_on_commit_callbacks(execute=True):
        export = request_export(submission=north.submission, by=north.officer)
    export.refresh_from_db()
    assert export.state == EvidenceExport.State.FAILED
    assert "no longer matches" in export.failure_reason


def test_downloading_an_export_is_audited(client, exported, north):
    response = client.get(reverse("admin:evidence_export_download", args=[exported.pk]))
    assert response.status_code == 200
    name = f"evidence-{north.submission.reference}-{exported.pk}.zip"
    assert response["Content-Disposition"] == f"attachment; filename=\"{name}\"; filename*=UTF-8''{name}"
    entry = AuditEntry.objects.get(action=AuditEntry.Action.DOWNLOADED_EXPORT)
    assert entry.detail == {"export": exported.pk, "sha256": exported.sha256}


def test_building_an_export_twice_changes_nothing(exported):
    from evidence.tasks import build_evidence_export

    before = EvidenceExport.objects.values().get(pk=exported.pk)
    build_evidence_export.apply(args=[exported.pk])
    assert EvidenceExport.objects.values().get(pk=exported.pk) == before


def test_exports_run_on_the_media_queue():
    route = celery_app.amqp.router.route({}, "evidence.tasks.build_evidence_export")
    assert route["queue"].name == "media"


@pytest.mark.worker
def test_a_real_worker_builds_the_export(celery_worker_on_redis):
    team = team_with_submission("Worker team", "303")
    export = request_export(submission=team.submission, by=team.officer)
    wait_for(lambda: EvidenceExport.objects.filter(pk=export.pk, state=EvidenceExport.State.READY).exists())


def test_an_export_abandoned_by_a_dead_worker_is_taken_over(north):
    from evidence.tasks import build_evidence_export

    export = EvidenceExport.objects.create(
        submission=north.submission,
        requested_by=north.officer,
        state=EvidenceExport.State.BUILDING,
        started_at=timezone.now() - timedelta(hours=2),
    )
    build_evidence_export.apply(args=[export.pk])
    export.refresh_from_db()
    assert export.state == EvidenceExport.State.READY


def test_the_sweep_builds_an_export_the_broker_never_received(north, django_capture_on_commit_callbacks):
    from evidence.tasks import sweep_stuck_exports

    export = EvidenceExport.objects.create(submission=north.submission, requested_by=north.officer)
    EvidenceExport.objects.filter(pk=export.pk).update(requested_at=timezone.now() - timedelta(minutes=6))
    fresh = EvidenceExport.objects.create(submission=north.submission, requested_by=north.officer)
    with django_capture_on_commit_callbacks(execute=True):
        sweep_stuck_exports.apply()
    assert EvidenceExport.objects.get(pk=export.pk).state == EvidenceExport.State.READY
    assert EvidenceExport.objects.get(pk=fresh.pk).state == EvidenceExport.State.PENDING


def test_a_witness_filename_never_names_a_path_inside_the_export(north, django_capture_on_commit_callbacks):
    from tests.officers import store_media_file

    store_media_file(north.submission, content=b"second file", original_filename="../../etc/passwd")
    store_media_file(north.submission, content=b"third file", original_filename="..")
    with django_capture_on_commit_callbacks(execute=True):
        export = request_export(submission=north.submission, by=north.officer)
    export.refresh_from_db()
    _, names = manifest_of(export)
    assert all(
        name.startswith(("originals/", "derivatives/", "manifest.json")) and ".." not in name.split("/")
        for name in names
    )
    assert len([name for name in names if name.startswith("originals/")]) == 3
