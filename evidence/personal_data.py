"""A data-protection officer's work on one person's data: find it, export it, redact their contact details.

DPO work is force-wide: these look at every submission, not only the officer's teams'. Each search, export
and redaction is audited. The audit trail outlives the data (disposal and redaction keep it), so it never
holds the term searched for: only a keyed hash of its normalised form, which confirms "was this address
searched for?" for someone holding SECRET_KEY, and which nobody can reverse by trying every phone number.
"""

import json
from dataclasses import dataclass

from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.serializers.json import DjangoJSONEncoder
from django.core.validators import validate_email
from django.db import transaction
from django.template.loader import render_to_string
from django.utils import timezone
from django.utils.crypto import salted_hmac

from evidence.audit import record
from evidence.models import AuditEntry
from submissions.fields import parse_phone_number, written_phone_number
from submissions.models import Submission

CONTACT_FIELDS = ["contact_name", "contact_email", "contact_phone"]


@dataclass(frozen=True)
class Term:
    """An email address or phone number in the form submissions store it."""

    kind: str  # "email" or "phone"
    value: str

    @classmethod
    def read(cls, text: str) -> "Term":
        """Raises ValidationError if `text` is neither an email address nor a phone number."""
        text = text.strip()
        if "@" in text:
            validate_email(text)
            return cls("email", text.lower())
        # Read as the journey reads it, without its check that the number is in an allocated range: a stored
        # number that the check refuses now (one of Ofcom's drama numbers, or from a range withdrawn since) is
        # found too.
        number = parse_phone_number(text)
        if number is None:
            raise ValidationError("Enter an email address or a phone number.")
        return cls("phone", written_phone_number(number))

    def digest(self) -> str:
        return salted_hmac("personal-data-search", f"{self.kind}:{self.value}", algorithm="sha256").hexdigest()

    def audit_detail(self) -> dict:
        return {"kind": self.kind, "term_hmac": self.digest()}


def matching(term: Term):
    """Every submission, in any incident, that carries the email address or phone number."""
    lookup = {"contact_email__iexact": term.value} if term.kind == "email" else {"contact_phone": term.value}
    return (
        Submission.objects.filter(**lookup)
        .select_related("appeal__incident")
        .prefetch_related("media_files", "notes")
        .order_by("created_at", "pk")
    )


def search(*, term: Term, by) -> list[Submission]:
    """The submissions that carry `term`, with the search audited (also when nothing is found)."""
    found = list(matching(term))
    record(
        actor=by,
        action=AuditEntry.Action.SEARCHED_PERSONAL_DATA,
        submission=None,
        detail={**term.audit_detail(), "found": [submission.reference for submission in found]},
    )
    return found


def held_about(submission: Submission) -> dict:
    """What a subject access request is owed about one submission: what the witness told us, and when."""
    return {
        "reference": submission.reference,
        "incident": submission.appeal.incident.reference,
        "appeal": submission.appeal.headline,
        "received_at": submission.created_at,
        "contact_details": {
            "name": submission.contact_name,
            "email": submission.contact_email,
            "phone": submission.contact_phone,
        },
        "what_they_told_us": {
            "account": submission.account,
            "date_seen": submission.seen_on,
            "time_seen": submission.seen_at_time,
            "where": submission.seen_where,
            "relationship": submission.get_relationship_display(),
        },
        "state": submission.get_state_display(),
        "decision_reason": submission.decision_reason,
        # Officers' notes may fall under an exemption: the data protection officer decides what to disclose.
        "officers_notes": [{"written_at": note.created_at, "text": note.text} for note in submission.notes.all()],
        "files": [
            {
                "name": media_file.original_filename,
                "size_bytes": media_file.size,
                "sha256": media_file.sha256,
                "type": media_file.content_type,
                "received_at": media_file.received_at,
            }
            for media_file in submission.media_files.all()
        ],
    }


def export(*, term: Term, by) -> bytes:
    """A JSON file of what is held on every submission carrying `term`, each export audited on its submission."""
    return json.dumps(held_on(term=term, by=by), cls=DjangoJSONEncoder, indent=2, ensure_ascii=False).encode()


def export_readable(*, term: Term, by) -> bytes:
    """The same as a web page for the person it is about to read, or to print."""
    context = {**held_on(term=term, by=by), "FORCE_NAME": settings.FORCE_NAME}
    return render_to_string("admin/personal_data/export.html", context).encode()


def held_on(*, term: Term, by) -> dict:
    """What is held on every submission carrying `term`; the export is audited on each of them."""
    found = list(matching(term))
    with transaction.atomic():
        for submission in found:
            record(
                actor=by,
                action=AuditEntry.Action.EXPORTED_PERSONAL_DATA,
                submission=submission,
                detail=term.audit_detail(),
            )
        if not found:
            record(
                actor=by, action=AuditEntry.Action.EXPORTED_PERSONAL_DATA, submission=None, detail=term.audit_detail()
            )
    return {
        # The file goes to the person it is about, so it names what was searched for.
        "searched_for": {"kind": term.kind, "value": term.value},
        "exported_at": timezone.now(),
        "exported_by": by.get_username(),
        "submissions": [held_about(submission) for submission in found],
    }


def redact_contact_details(*, submission: Submission, by, reason: str) -> None:
    """Blank the witness's name, email and phone (and any receipt still owed to that email); keep the account.

    Without contact details a submission is, from then on, anonymous. The audit entry says which details were
    removed, never what they were.
    """
    reason = reason.strip()
    if not reason:
        raise ValueError("A redaction needs a reason.")
    removed = [field for field in CONTACT_FIELDS if getattr(submission, field)]
    changes = {field: "" for field in CONTACT_FIELDS} | {
        "is_anonymous": True,
        "receipt_token": "",
        "updated_at": timezone.now(),
    }
    with transaction.atomic():
        Submission.objects.filter(pk=submission.pk).update(**changes)
        record(
            actor=by,
            action=AuditEntry.Action.REDACTED_CONTACT_DETAILS,
            submission=submission,
            reason=reason,
            detail={"removed": removed},
        )
    for field, value in changes.items():
        setattr(submission, field, value)
