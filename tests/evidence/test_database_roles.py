"""PostgreSQL itself keeps the site's and workers' role from rewriting evidence (evidence/privileges.py).

The whole suite runs as that role (tests/conftest.py), which shows the application still does all it needs.
"""

import os
import subprocess
import sys
from io import StringIO
from pathlib import Path

import pytest
from django.core.management import CommandError, call_command
from django.db import DatabaseError, connection, transaction

from evidence.audit import record
from evidence.models import AuditEntry
from evidence.personal_data import Term, redact_contact_details, search
from evidence.retention import approve_disposal
from evidence.triage import change_state
from submissions.models import Derivative, MediaFile, Submission, SubmissionNote
from tests.conftest import APP_ROLE, connected_as, require
from tests.factories import make_submission

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def as_app_role(db):
    require(connection.vendor == "postgresql", "PostgreSQL (DATABASE_URL)")
    with connection.cursor() as cursor:
        cursor.execute("SELECT current_user")
        require(cursor.fetchone()[0] == APP_ROLE, f"the database role {APP_ROLE} (TEST_DATABASE_APP_ROLE)")


def run(sql, params=()):
    with transaction.atomic(), connection.cursor() as cursor:
        cursor.execute(sql, params)


def assert_refused(sql, params=()):
    with pytest.raises(DatabaseError) as refused:
        run(sql, params)
    assert refused.value.__cause__.pgcode == "42501", refused.value  # insufficient_privilege


def test_the_role_is_no_superuser_owns_nothing_and_cannot_create_tables():
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT rolsuper, has_schema_privilege(current_schema(), 'CREATE') FROM pg_roles"
            " WHERE rolname = current_user"
        )
        assert cursor.fetchone() == (False, False)
        cursor.execute("SELECT count(*) FROM pg_class WHERE pg_has_role(current_user, relowner, 'MEMBER')")
        assert cursor.fetchone() == (0,)
    assert_refused("CREATE TABLE scratch (id int)")


@pytest.mark.parametrize(
    ("column", "value"),
    [("original_filename", "innocent.mp4"), ("original", "originals/elsewhere"), ("size", 1), ("sha256", "0" * 64)],
)
def test_a_stored_originals_name_size_and_hash_cannot_be_changed(north, column, value):
    assert_refused(f"UPDATE submissions_mediafile SET {column} = %s WHERE id = %s", [value, north.media_file.pk])
    with pytest.raises(DatabaseError), transaction.atomic():
        MediaFile.objects.filter(pk=north.media_file.pk).update(**{column: value})
    stored = MediaFile.objects.get(pk=north.media_file.pk)
    assert getattr(stored, column) == getattr(north.media_file, column)


def test_what_processing_records_about_a_file_can_still_change(north):
    north.media_file.finish(MediaFile.State.UNPROCESSABLE, "ffprobe could not read the file")
    MediaFile.objects.filter(pk=north.media_file.pk).update(
        scan_state=MediaFile.ScanState.CLEAN, scan_detail="OK", metadata={"kind": "video"}, attempts=2
    )
    stored = MediaFile.objects.get(pk=north.media_file.pk)
    assert (stored.state, stored.scan_state, stored.attempts) == (MediaFile.State.UNPROCESSABLE, "clean", 2)


def test_media_files_derivatives_and_notes_cannot_be_deleted_or_emptied(north):
    note = SubmissionNote.objects.create(submission=north.submission, author=north.officer, text="Seen the clip.")
    assert_refused("DELETE FROM submissions_mediafile WHERE id = %s", [north.media_file.pk])
    assert_refused("DELETE FROM submissions_derivative WHERE id = %s", [north.proxy.pk])
    assert_refused("UPDATE submissions_derivative SET sha256 = %s WHERE id = %s", ["0" * 64, north.proxy.pk])
    assert_refused("UPDATE submissions_submissionnote SET text = 'Rewritten' WHERE id = %s", [note.pk])
    for table in ["submissions_mediafile", "submissions_derivative", "submissions_submissionnote"]:
        assert_refused(f"TRUNCATE {table} CASCADE")
    assert MediaFile.objects.filter(pk=north.media_file.pk).exists()
    assert Derivative.objects.filter(pk=north.proxy.pk, sha256=north.proxy.sha256).exists()


def test_the_audit_trail_cannot_be_changed_deleted_emptied_or_its_trigger_turned_off(north):
    entry = record(actor=north.officer, action=AuditEntry.Action.VIEWED_SUBMISSION, submission=north.submission)
    assert_refused("UPDATE evidence_auditentry SET reason = 'Rewritten' WHERE id = %s", [entry.pk])
    assert_refused("DELETE FROM evidence_auditentry WHERE id = %s", [entry.pk])
    assert_refused("TRUNCATE evidence_auditentry")
    assert_refused("ALTER TABLE evidence_auditentry DISABLE TRIGGER evidence_auditentry_append_only")
    assert_refused("ALTER TABLE evidence_auditentry DISABLE TRIGGER ALL")
    assert_refused("DROP TRIGGER evidence_auditentry_append_only ON evidence_auditentry")
    assert_refused("DROP TABLE evidence_auditentry CASCADE")
    assert AuditEntry.objects.filter(pk=entry.pk, reason="").exists()


def test_a_data_protection_officer_can_redact_contact_details_and_audit_a_search(north):
    submission = make_submission(north.appeal, contact_name="Sam Witness", contact_email="sam@example.com")
    run(
        "UPDATE submissions_submission SET contact_name = '', contact_email = '', contact_phone = '',"
        " is_anonymous = true, receipt_token = '' WHERE id = %s",
        [submission.pk],
    )
    redact_contact_details(submission=north.submission, by=north.officer, reason="Erasure request")
    search(term=Term.read("sam@example.com"), by=north.officer)
    assert AuditEntry.objects.filter(action=AuditEntry.Action.SEARCHED_PERSONAL_DATA, submission=None).exists()
    assert Submission.objects.filter(pk=submission.pk, contact_email="", account=submission.account).exists()


@pytest.mark.django_db(transaction=True)
def test_a_new_table_is_only_readable_until_the_owner_grants_again(database_owner):
    with connected_as(**database_owner):
        run("CREATE TABLE scratch_added_by_a_migration (id int)")
    try:
        run("SELECT * FROM scratch_added_by_a_migration")
        assert_refused("INSERT INTO scratch_added_by_a_migration VALUES (1)")
        with connected_as(**database_owner):
            call_command("grant_app_role", APP_ROLE, stdout=StringIO())
            call_command("grant_app_role", APP_ROLE, stdout=StringIO())
        run("INSERT INTO scratch_added_by_a_migration VALUES (1)")
        assert_refused("UPDATE submissions_mediafile SET sha256 = %s", ["0" * 64])
    finally:
        with connected_as(**database_owner):
            run("DROP TABLE scratch_added_by_a_migration")


@pytest.mark.django_db(transaction=True)
def test_a_new_database_is_migrated_by_its_owner_while_the_site_connects_as_its_own_role(database_owner):
    """The deploy as the README gives it: `migrate --database owner` then `grant_app_role`, with DATABASE_URL
    naming the site's role. Every migration must write through the owner's connection: one that used
    DATABASE_URL's would wait for the owner's own lock on the table."""
    database = connection.settings_dict
    name = f"{database['NAME']}_deploy"
    address = f"{database['HOST']}:{database['PORT'] or 5432}/{name}"
    owner = f"{database_owner['user']}:{database_owner['password']}"
    with connected_as(**database_owner), connection.cursor() as cursor:
        cursor.execute(f'DROP DATABASE IF EXISTS "{name}"')
        cursor.execute(f'CREATE DATABASE "{name}"')
    environment = {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "config.settings",
        "DEBUG": "true",
        "DATABASE_URL": f"postgres://{APP_ROLE}@{address}",
        "DATABASE_OWNER_URL": f"postgres://{owner}@{address}",
        "CELERY_BROKER_URL": "",
        # A statement waiting for a lock fails instead of hanging the test.
        "PGOPTIONS": "-c lock_timeout=10s",
    }
    try:
        for command in (["migrate", "--database", "owner", "--noinput"], ["grant_app_role"]):
            done = subprocess.run(
                [sys.executable, "manage.py", *command],
                cwd=Path(__file__).resolve().parent.parent.parent,
                env=environment,
                capture_output=True,
                text=True,
                timeout=600,
            )
            assert done.returncode == 0, done.stderr[-3000:]
        assert f"{APP_ROLE} may now do what the application needs" in done.stdout
    finally:
        with connected_as(**database_owner), connection.cursor() as cursor:
            cursor.execute(f'DROP DATABASE IF EXISTS "{name}"')


@pytest.mark.django_db(transaction=True)
def test_grants_are_refused_to_the_owner_a_superuser_and_a_role_that_does_not_exist(database_owner):
    with connected_as(**database_owner):
        with pytest.raises(CommandError, match=r"owns the database, its schema or its tables|is a superuser"):
            call_command("grant_app_role", database_owner["user"])
        with connection.cursor() as cursor:
            cursor.execute("SELECT rolname FROM pg_roles WHERE rolsuper AND rolname <> current_user LIMIT 1")
            superuser = cursor.fetchone()
        require(superuser is not None, "a superuser other than the owner")
        with pytest.raises(CommandError, match="superuser"):
            call_command("grant_app_role", superuser[0])
        with pytest.raises(CommandError, match="There is no role"):
            call_command("grant_app_role", f"{APP_ROLE}_missing")


def test_disposal_needs_no_delete_and_its_erasure_record_cannot_be_rewritten_or_deleted(
    north, supervisor, django_capture_on_commit_callbacks
):
    change_state(submission=north.submission, to="no_further_action", by=north.officer, reason="Nothing in view")
    with django_capture_on_commit_callbacks(execute=True):
        disposal = approve_disposal(submission=north.submission, by=supervisor, reason="Reviewed")
    disposal.refresh_from_db()
    assert disposal.completed_at is not None
    assert_refused("UPDATE evidence_disposal SET reason = 'Rewritten' WHERE id = %s", [disposal.pk])
    assert_refused("UPDATE evidence_disposal SET approved_by_id = %s WHERE id = %s", [north.officer.pk, disposal.pk])
    assert_refused("DELETE FROM evidence_disposal WHERE id = %s", [disposal.pk])
    assert_refused("DELETE FROM submissions_submission WHERE id = %s", [north.submission.pk])
    # The tombstones stay, with what the trail and the erasure record point to.
    assert MediaFile.objects.filter(pk=north.media_file.pk, sha256=north.media_file.sha256).exists()
    assert AuditEntry.objects.filter(submission=north.submission, action=AuditEntry.Action.DISPOSED).exists()
