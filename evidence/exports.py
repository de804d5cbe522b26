"""Evidence exports: a submission's files, manifest and audit trail in one zip, and checking one later."""

import hashlib
import json
import tempfile
import zipfile

from django.core.exceptions import SuspiciousFileOperation
from django.utils import timezone
from django.utils.text import get_valid_filename

from evidence.models import EvidenceExport
from submissions.models import Submission
from submissions.storage import FinishedFile, sha256_of, stream_stored

MANIFEST_FORMAT = "witness-appeals-evidence-export/1"
CHUNK = 1024 * 1024


def _copy_hashing(chunks, target) -> tuple[str, int]:
    digest = hashlib.sha256()
    size = 0
    for chunk in chunks:
        digest.update(chunk)
        size += len(chunk)
        target.write(chunk)
    return digest.hexdigest(), size


def _add_stored_file(archive: zipfile.ZipFile, arcname: str, field_file) -> tuple[str, int]:
    # Video and JPEG are already compressed: store them, and stream so a gigabyte never sits in memory.
    info = zipfile.ZipInfo(arcname, date_time=timezone.localtime().timetuple()[:6])
    info.compress_type = zipfile.ZIP_STORED
    with archive.open(info, "w", force_zip64=True) as target:
        return _copy_hashing(stream_stored(field_file), target)


class ExportError(Exception):
    pass


def _safe_name(witness_filename: str) -> str:
    # The witness's filename is data: never let it name a path inside the zip.
    try:
        return get_valid_filename(witness_filename)
    except SuspiciousFileOperation:
        return "file"


def build_export_zip(export: EvidenceExport, path) -> None:
    """Write the export's zip to `path`: every original and derivative, re-hashed as it is copied."""
    submission = Submission.objects.select_related("appeal__incident", "assignee", "decided_by", "duplicate_of").get(
        pk=export.submission_id
    )
    media_files = list(submission.media_files.prefetch_related("derivatives"))
    files = []
    with zipfile.ZipFile(path, "w", allowZip64=True) as archive:
        for media_file in media_files:
            arcname = f"originals/{media_file.pk}-{_safe_name(media_file.original_filename)}"
            sha256, size = _add_stored_file(archive, arcname, media_file.original)
            if (sha256, size) != (media_file.sha256, media_file.size):
                raise ExportError(f"{arcname} no longer matches the SHA-256 and size recorded on arrival")
            files.append(
                {
                    "path": arcname,
                    "sha256": sha256,
                    "size": size,
                    "origin": "original, as received from the witness",
                    "original_filename": media_file.original_filename,
                    "content_type": media_file.content_type,
                    "received_at": media_file.received_at.isoformat(),
                    "state": media_file.state,
                    "scan_state": media_file.scan_state,
                    "scan_detail": media_file.scan_detail,
                    "metadata": media_file.metadata,
                }
            )
            for derivative in media_file.derivatives.all():
                derived_name = f"derivatives/{media_file.pk}/{derivative.kind}{derivative.extension()}"
                sha256, size = _add_stored_file(archive, derived_name, derivative.file)
                if (sha256, size) != (derivative.sha256, derivative.size):
                    raise ExportError(f"{derived_name} no longer matches the SHA-256 and size recorded when made")
                files.append(
                    {
                        "path": derived_name,
                        "sha256": sha256,
                        "size": size,
                        "origin": f"{derivative.get_kind_display()} derived from {arcname}",
                        "derived_from": arcname,
                        "content_type": derivative.content_type,
                        "tool": derivative.tool,
                        "tool_version": derivative.tool_version,
                        "arguments": derivative.arguments,
                        "created_at": derivative.created_at.isoformat(),
                    }
                )
        manifest = {
            "format": MANIFEST_FORMAT,
            "export": {
                "id": export.pk,
                "requested_by": export.requested_by.get_username(),
                "requested_at": export.requested_at.isoformat(),
                "built_at": timezone.now().isoformat(),
            },
            "submission": _describe_submission(submission),
            "files": files,
            "audit_trail": [
                {
                    "at": entry.created_at.isoformat(),
                    "who": entry.actor.get_username(),
                    "action": entry.action,
                    "description": entry.get_action_display(),
                    "file": entry.media_file_id,
                    "reason": entry.reason,
                    "detail": entry.detail,
                }
                for entry in submission.audit_entries.select_related("actor")
            ],
        }
        archive.writestr("manifest.json", json.dumps(manifest, indent=2, ensure_ascii=False), zipfile.ZIP_DEFLATED)


def _describe_submission(submission: Submission) -> dict:
    incident = submission.appeal.incident
    return {
        "reference": submission.reference,
        "incident": incident.reference,
        "appeal": submission.appeal.headline,
        "received_at": submission.created_at.isoformat(),
        "account": submission.account,
        "seen_on": submission.seen_on.isoformat() if submission.seen_on else None,
        "seen_at_time": submission.seen_at_time.isoformat() if submission.seen_at_time else None,
        "seen_where": submission.seen_where,
        "relationship": submission.get_relationship_display() if submission.relationship else "",
        "anonymous": submission.is_anonymous,
        "contact": None
        if submission.is_anonymous
        else {
            "name": submission.contact_name,
            "email": submission.contact_email,
            "phone": submission.contact_phone,
        },
        "state": submission.state,
        "priority": submission.get_priority_display(),
        "decision_reason": submission.decision_reason,
        "decided_at": submission.decided_at.isoformat() if submission.decided_at else None,
        "decided_by": submission.decided_by.get_username() if submission.decided_by else None,
        "duplicate_of": submission.duplicate_of.reference if submission.duplicate_of else None,
        "notes": [
            {"at": note.created_at.isoformat(), "by": note.author.get_username(), "text": note.text}
            for note in submission.notes.select_related("author")
        ],
    }


def build_export(export: EvidenceExport) -> None:
    """Build the zip in a temporary file, store it in evidence storage and record its SHA-256."""
    with tempfile.TemporaryDirectory(prefix="export-") as workdir:
        path = f"{workdir}/export.zip"
        build_export_zip(export, path)
        with open(path, "rb") as built:
            sha256 = sha256_of(built)
            size = built.tell()
            built.seek(0)
            export.file.save(export.filename(), FinishedFile(built), save=False)
    export.sha256 = sha256
    export.size = size
    export.state = EvidenceExport.State.READY
    export.finished_at = timezone.now()
    export.save(update_fields=["file", "sha256", "size", "state", "finished_at"])


def verify_export_file(path) -> tuple[list[str], dict]:
    """Re-hash every file in an export against its manifest. Returns (problems, manifest)."""
    problems = []
    with zipfile.ZipFile(path) as archive:
        try:
            manifest = json.loads(archive.read("manifest.json"))
        except KeyError:
            return ["There is no manifest.json in the zip."], {}
        listed = set()
        for entry in manifest.get("files", []):
            listed.add(entry["path"])
            try:
                with archive.open(entry["path"]) as member:
                    sha256, size = _copy_hashing(iter(lambda: member.read(CHUNK), b""), _Discard())
            except KeyError:
                problems.append(f"{entry['path']}: listed in the manifest but missing from the zip")
                continue
            if sha256 != entry["sha256"]:
                problems.append(f"{entry['path']}: SHA-256 is {sha256}, the manifest says {entry['sha256']}")
            if size != entry["size"]:
                problems.append(f"{entry['path']}: {size} bytes, the manifest says {entry['size']}")
        for name in archive.namelist():
            if name != "manifest.json" and name not in listed:
                problems.append(f"{name}: in the zip but not listed in the manifest")
    return problems, manifest


class _Discard:
    def write(self, data):
        return len(data)
