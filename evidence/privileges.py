"""What the site and workers may do in PostgreSQL, granted to their own role by the tables' owner.

Migrations run as the owner (DATABASE_OWNER_URL). The site and workers connect as another role (DATABASE_URL)
that owns nothing, so it can never ALTER, TRUNCATE or DROP a table or turn a trigger off, and whose grants let
it add evidence but not rewrite it: a stored original's name, size and hash, its derivatives, officers' notes
and the audit trail stay as they were written.
"""

from typing import NamedTuple

from django.contrib.auth.models import Permission
from django.contrib.contenttypes.models import ContentType
from django.core.exceptions import ImproperlyConfigured
from django.db import transaction
from django.db.migrations.recorder import MigrationRecorder

from evidence.models import AuditEntry, Disposal, EvidenceExport
from submissions.models import Derivative, MediaFile, Submission, SubmissionNote


class Rule(NamedTuple):
    privileges: tuple[str, ...]
    # Fields the application may change, on a table where UPDATE is not granted whole.
    updatable: tuple[str, ...] = ()


# Every other table: whatever the application does (sessions, uploads, appeals, officers and their logins).
ANYTHING = Rule(("SELECT", "INSERT", "UPDATE", "DELETE"))
RULES = {
    # Written by migrate only.
    MigrationRecorder.Migration: Rule(("SELECT",)),
    ContentType: Rule(("SELECT",)),
    Permission: Rule(("SELECT",)),
    # Evidence is added, never removed. Triage updates a submission, and a data protection officer's
    # redaction blanks its contact columns (contact_name, contact_email, contact_phone, is_anonymous).
    Submission: Rule(("SELECT", "INSERT", "UPDATE")),
    MediaFile: Rule(
        ("SELECT", "INSERT"),
        # What processing records; never the original itself, its name, size or SHA-256.
        updatable=(
            "content_type",
            "metadata",
            "state",
            "state_reason",
            "scan_state",
            "scan_detail",
            "attempts",
            "updated_at",
            "proxy_state",
            "proxy_reason",
            "proxy_attempts",
            "proxy_updated_at",
        ),
    ),
    Derivative: Rule(("SELECT", "INSERT")),
    SubmissionNote: Rule(("SELECT", "INSERT")),
    AuditEntry: Rule(("SELECT", "INSERT")),
    EvidenceExport: Rule(("SELECT", "INSERT", "UPDATE")),
    # The erasure record: approved, then withdrawn by a hold or completed with what was removed; never deleted.
    # Disposal itself needs no DELETE on evidence: rows stay as tombstones, their files go (evidence/retention.py).
    Disposal: Rule(
        ("SELECT", "INSERT"), updatable=("withdrawn_at", "completed_at", "file_count", "total_bytes", "removed")
    ),
}


def refusal(cursor, role: str) -> str | None:
    """Why `role` must not be the application's role, or None if it may."""
    cursor.execute(
        """
        SELECT rolsuper,
               pg_has_role(r.oid, current_user, 'MEMBER')
               OR pg_has_role(r.oid, n.nspowner, 'MEMBER')
               OR pg_has_role(r.oid, d.datdba, 'MEMBER')
               OR EXISTS (
                   SELECT FROM pg_class c WHERE c.relnamespace = n.oid AND pg_has_role(r.oid, c.relowner, 'MEMBER')
               )
        FROM pg_roles r, pg_namespace n, pg_database d
        WHERE r.rolname = %s AND n.nspname = current_schema() AND d.datname = current_database()
        """,
        [role],
    )
    row = cursor.fetchone()
    if row is None:
        return f"There is no role {role}: create it first (CREATE ROLE {role} LOGIN PASSWORD '...')."
    superuser, owner = row
    if superuser:
        return f"{role} is a superuser, which no privilege can hold back."
    if owner:
        return (
            f"{role} owns the database, its schema or its tables (or is a member of a role that does), and owners "
            f"can alter, truncate and drop tables and turn their triggers off. Migrate as another role; for tables "
            f"it already owns, run REASSIGN OWNED BY {role} TO <owner> as a superuser."
        )
    return None


def grant_app_role(connection, role: str) -> int:
    """Give `role` what RULES allow on every table, and nothing more; returns how many tables.

    Run as the tables' owner after each migrate: the grants are replaced, all at once. Tables created later
    by the owner are readable by `role` until this runs again.
    """
    with transaction.atomic(using=connection.alias), connection.cursor() as cursor:
        problem = refusal(cursor, role)
        if problem:
            raise ImproperlyConfigured(problem)
        cursor.execute("SELECT quote_ident(%s), quote_ident(current_schema())", [role])
        grantee, schema = cursor.fetchone()
        cursor.execute("SELECT tablename FROM pg_tables WHERE schemaname = current_schema()")
        tables = [name for (name,) in cursor.fetchall()]
        rules = {model._meta.db_table: (model, rule) for model, rule in RULES.items()}
        quote = connection.ops.quote_name

        cursor.execute(f"REVOKE ALL ON ALL TABLES IN SCHEMA {schema} FROM {grantee}")
        cursor.execute(f"REVOKE ALL ON ALL SEQUENCES IN SCHEMA {schema} FROM {grantee}")
        cursor.execute(f"GRANT USAGE ON SCHEMA {schema} TO {grantee}")
        for table in tables:
            model, rule = rules.get(table, (None, ANYTHING))
            cursor.execute(f"GRANT {', '.join(rule.privileges)} ON {quote(table)} TO {grantee}")
            if rule.updatable:
                columns = ", ".join(quote(model._meta.get_field(name).column) for name in rule.updatable)
                cursor.execute(f"GRANT UPDATE ({columns}) ON {quote(table)} TO {grantee}")
        cursor.execute(f"GRANT USAGE ON ALL SEQUENCES IN SCHEMA {schema} TO {grantee}")
        cursor.execute(f"ALTER DEFAULT PRIVILEGES IN SCHEMA {schema} GRANT SELECT ON TABLES TO {grantee}")
        cursor.execute(f"ALTER DEFAULT PRIVILEGES IN SCHEMA {schema} GRANT USAGE ON SEQUENCES TO {grantee}")
    return len(tables)
