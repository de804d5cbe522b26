"""The officers' triage of a submission: its state, assignee, priority and notes, each change audited."""

from django.db import transaction
from django.utils import timezone

from evidence.models import AuditEntry
from evidence.services import record
from submissions.models import Submission, SubmissionNote


class TriageError(Exception):
    pass


def change_state(*, submission: Submission, to: str, by, reason: str = "", duplicate_of=None) -> None:
    """Move a submission along an allowed transition, audited; a decision needs a reason.

    The UPDATE is conditional on the state it was read in, so two officers cannot decide at once.
    """
    old = submission.state
    if problem := submission.transition_problem(to, reason, duplicate_of):
        raise TriageError(problem)
    target = Submission.State(to)
    reason = reason.strip()
    decided = target in Submission.DECISIONS
    now = timezone.now()
    changes = {
        "state": target,
        "decision_reason": reason if decided else "",
        "decided_at": now if decided else None,
        "decided_by": by if decided else None,
        "duplicate_of": duplicate_of if target == Submission.State.DUPLICATE else None,
        "updated_at": now,
    }
    with transaction.atomic():
        if not Submission.objects.filter(pk=submission.pk, state=old).update(**changes):
            raise TriageError("Someone else changed this submission's state; reload it and try again.")
        record(
            actor=by,
            action=AuditEntry.Action.CHANGED_STATE,
            submission=submission,
            reason=reason,
            detail={"from": old, "to": target.value}
            | ({"duplicate_of": duplicate_of.reference} if target == Submission.State.DUPLICATE else {}),
        )
    for field, value in changes.items():
        setattr(submission, field, value)


def assign(*, submission: Submission, to, by) -> None:
    with transaction.atomic():
        Submission.objects.filter(pk=submission.pk).update(assignee=to, updated_at=timezone.now())
        record(
            actor=by,
            action=AuditEntry.Action.ASSIGNED,
            submission=submission,
            detail={
                "from": submission.assignee.get_username() if submission.assignee else None,
                "to": to.get_username() if to else None,
            },
        )
    submission.assignee = to


def set_priority(*, submission: Submission, priority: int, by) -> None:
    with transaction.atomic():
        Submission.objects.filter(pk=submission.pk).update(priority=priority, updated_at=timezone.now())
        record(
            actor=by,
            action=AuditEntry.Action.CHANGED_PRIORITY,
            submission=submission,
            detail={"from": submission.priority, "to": priority},
        )
    submission.priority = priority


def add_note(*, submission: Submission, by, text: str) -> SubmissionNote:
    note = SubmissionNote(submission=submission, author=by, text=text.strip())
    note.full_clean()
    with transaction.atomic():
        note.save()
        record(actor=by, action=AuditEntry.Action.ADDED_NOTE, submission=submission, detail={"note": note.pk})
    return note


def revoke_footage_link(*, submission: Submission, by, reason: str) -> bool:
    """Turn the witness's private link off for good, audited with the officer's reason; False if it was off."""
    reason = reason.strip()
    if not reason:
        raise TriageError("Give a reason for turning the footage link off.")
    now = timezone.now()
    with transaction.atomic():
        # Conditional, so two officers turning it off at once leave one entry in the trail.
        if not Submission.objects.filter(pk=submission.pk, footage_link_revoked_at__isnull=True).update(
            footage_link_revoked_at=now, updated_at=now
        ):
            return False
        record(actor=by, action=AuditEntry.Action.REVOKED_FOOTAGE_LINK, submission=submission, reason=reason)
    submission.footage_link_revoked_at = now
    return True
