"""Review and retain, legal hold and disposal: what a supervisor decides, and what disposal leaves behind."""

from datetime import date, datetime, timedelta
from pathlib import Path

import pytest
from dateutil.relativedelta import relativedelta
from django.conf import settings
from django.core.exceptions import PermissionDenied
from django.urls import reverse
from django.utils import timezone

from evidence.disposal import dispose
from evidence.models import AuditEntry, Disposal, EvidenceExport
from evidence.retention import (
    RetentionError,
    approve_disposal,
    due_for_review,
    lift_legal_hold,
    place_legal_hold,
    retain,
)
from evidence.services import request_export
from evidence.tasks import dispose_submission, sweep_stuck_disposals
from evidence.triage import TriageError, change_state
from submissions.models import Derivative, MediaFile, Submission, Upload
from tests.factories import make_submission
from tests.officers import add_derivative, make_triage_officer, sign_in, store_media_file, team_with_submission
from tests.services import wait_for

pytestmark = pytest.mark.django_db
State = Submission.State
ORIGINAL = b"\x00\x00\x00\x18ftypmp42 the witness's own footage " * 50
PROXY = b"proxy made from the witness's footage " * 50
PARTIAL = b"half of another clip the witness was still sending " * 20


def decide(case, to=State.NO_FURTHER_ACTION):
    if to == State.ACTIONED:
        change_state(submission=case.submission, to=State.IN_REVIEW, by=case.officer)
    change_state(submission=case.submission, to=to, by=case.officer, reason="Nothing of use in view")
    case.submission.refresh_from_db()


@pytest.fixture
def witness(north, django_capture_on_commit_callbacks):
    """North's submission from a contactable witness, with an original, its proxy, an export and a partial upload."""
    submission = make_submission(
        north.appeal,
        account="I saw the number plate: AB12 CDE.",
        seen_where="Outside 14 Station Road",
        contact_name="Alex Witness",
        contact_email="alex@example.org",
    )
    submission.set_upload_token("witness-upload-token")
    submission.save(update_fields=["upload_token_hash"])
    media_file = store_media_file(submission, content=ORIGINAL, metadata={"kind": "video", "gps": "51.5,-0.1"})
    add_derivative(media_file, Derivative.Kind.PROXY, PROXY)
    with django_capture_on_commit_callbacks(execute=True):
        request_export(submission=submission, by=north.officer)
    upload = Upload.objects.create(
        submission=submission, length=len(PARTIAL) * 2, offset=len(PARTIAL), filename="b.mp4"
    )
    upload.partial_path.write_bytes(PARTIAL)
    north.submission = submission
    north.media_file = media_file
    return north


def stored_files():
    """Every file under the folders where evidence, uploads, media and work files are kept."""
    roots = [settings.EVIDENCE_ROOT, settings.UPLOAD_DIR, settings.MEDIA_ROOT, settings.MEDIA_WORK_DIR]
    return [path for root in roots if Path(root).exists() for path in Path(root).rglob("*") if path.is_file()]


def holding(content: bytes) -> list[Path]:
    return [path for path in stored_files() if content in path.read_bytes()]


@pytest.mark.parametrize(
    ("decision", "later"),
    [
        (State.NO_FURTHER_ACTION, relativedelta(months=12)),
        (State.DUPLICATE, relativedelta(months=12)),
        (State.ACTIONED, relativedelta(years=6)),
    ],
)
def test_a_decision_sets_the_review_date_and_reopening_clears_it(north, south, decision, later):
    if decision == State.DUPLICATE:
        change_state(
            submission=north.submission, to=decision, by=north.officer, reason="Same", duplicate_of=south.submission
        )
        north.submission.refresh_from_db()
    else:
        decide(north, decision)
    assert north.submission.review_on == timezone.localdate(north.submission.decided_at) + later
    change_state(submission=north.submission, to=State.IN_REVIEW, by=north.officer)
    north.submission.refresh_from_db()
    assert north.submission.review_on is None


def test_the_review_periods_come_from_settings(settings):
    settings.SUBMISSION_REVIEW_MONTHS_NO_ACTION = 3
    settings.SUBMISSION_REVIEW_YEARS_ACTIONED = 10
    decided = datetime(2026, 11, 30, 12, tzinfo=timezone.get_current_timezone())
    assert Submission.review_date(State.NO_FURTHER_ACTION, decided) == date(2027, 2, 28)
    assert Submission.review_date(State.ACTIONED, decided) == date(2036, 11, 30)
    assert Submission.review_date(State.IN_REVIEW, decided) is None


def test_what_is_due_for_review(north, south, supervisor):
    decide(north)
    decide(south)
    Submission.objects.filter(pk=north.submission.pk).update(review_on=timezone.localdate())
    assert list(due_for_review(Submission.objects.all())) == [north.submission]
    place_legal_hold(submission=north.submission, by=supervisor, reason="Court order 123")
    assert not due_for_review(Submission.objects.all()).exists()


def test_only_a_supervisor_decides_and_always_with_a_reason(north, supervisor):
    decide(north)
    with pytest.raises(PermissionDenied):
        approve_disposal(submission=north.submission, by=north.officer, reason="Reviewed")
    with pytest.raises(PermissionDenied):
        place_legal_hold(submission=north.submission, by=north.officer, reason="Case")
    with pytest.raises(RetentionError):
        approve_disposal(submission=north.submission, by=supervisor, reason="  ")
    assert not Disposal.objects.exists()


def test_an_undecided_submission_cannot_be_disposed_of(north, supervisor):
    with pytest.raises(RetentionError):
        approve_disposal(submission=north.submission, by=supervisor, reason="Reviewed")


def test_retaining_sets_a_new_review_date_audited(north, supervisor):
    decide(north)
    next_review = timezone.localdate() + timedelta(days=400)
    retain(submission=north.submission, by=supervisor, reason="Linked to an open case", review_on=next_review)
    north.submission.refresh_from_db()
    assert north.submission.review_on == next_review
    entry = north.submission.audit_entries.get(action=AuditEntry.Action.RETAINED)
    assert (entry.actor, entry.reason, entry.detail["to"]) == (supervisor, "Linked to an open case", str(next_review))
    with pytest.raises(RetentionError):
        retain(submission=north.submission, by=supervisor, reason="Again", review_on=timezone.localdate())


def test_disposal_removes_every_copy_and_keeps_the_audit_trail_and_an_erasure_record(
    witness, supervisor, django_capture_on_commit_callbacks
):
    decide(witness)
    export = EvidenceExport.objects.get(submission=witness.submission)
    assert export.state == EvidenceExport.State.READY
    assert holding(ORIGINAL) and holding(PROXY) and holding(PARTIAL)
    entries_before = list(witness.submission.audit_entries.values_list("pk", flat=True))

    with django_capture_on_commit_callbacks(execute=True):
        disposal = approve_disposal(submission=witness.submission, by=supervisor, reason="Reviewed: no further use")

    assert holding(ORIGINAL) == holding(PROXY) == holding(PARTIAL) == []
    submission = Submission.objects.get(pk=witness.submission.pk)
    assert submission.disposed_at is not None
    assert (submission.account, submission.seen_where, submission.contact_name, submission.contact_email) == ("",) * 4
    assert submission.is_anonymous and submission.upload_token_hash is None
    assert not Upload.objects.filter(submission=submission).exists()
    assert MediaFile.objects.get(pk=witness.media_file.pk).metadata == {}
    # The audit trail keeps every entry, and says who approved and that it was done.
    entries = submission.audit_entries.all()
    assert set(entries_before) < {entry.pk for entry in entries}
    assert [entry.action for entry in entries][-2:] == [AuditEntry.Action.APPROVED_DISPOSAL, AuditEntry.Action.DISPOSED]
    # The erasure record: what, when, who and why, not the content.
    disposal.refresh_from_db()
    assert (disposal.reference, disposal.approved_by, disposal.reason) == (
        submission.reference,
        supervisor,
        "Reviewed: no further use",
    )
    assert disposal.completed_at is not None
    assert (disposal.file_count, disposal.total_bytes) == (1, len(ORIGINAL))
    assert {item["kind"] for item in disposal.removed} == {"original", "proxy", "export"}
    assert witness.media_file.sha256 in {item["sha256"] for item in disposal.removed}
    # Running it again changes nothing.
    assert dispose(disposal.pk) is False
    assert submission.audit_entries.filter(action=AuditEntry.Action.DISPOSED).count() == 1


def test_a_held_record_is_untouched_by_the_disposal_task(witness, supervisor):
    decide(witness)
    disposal = approve_disposal(submission=witness.submission, by=supervisor, reason="Reviewed")
    place_legal_hold(submission=witness.submission, by=supervisor, reason="Disclosure request from the CPS")
    dispose_submission.delay(disposal.pk)
    sweep_stuck_disposals.delay()
    # Even a disposal that somehow remained open does nothing while the submission is held.
    Disposal.objects.filter(pk=disposal.pk).update(withdrawn_at=None)
    assert dispose(disposal.pk) is False

    submission = Submission.objects.get(pk=witness.submission.pk)
    assert submission.disposed_at is None and submission.account == "I saw the number plate: AB12 CDE."
    assert submission.contact_email == "alex@example.org"
    assert holding(ORIGINAL) and holding(PROXY) and holding(PARTIAL)
    with pytest.raises(RetentionError):
        approve_disposal(submission=witness.submission, by=supervisor, reason="Reviewed again")
    lift_legal_hold(submission=witness.submission, by=supervisor, reason="Case concluded")
    actions = list(submission.audit_entries.values_list("action", flat=True))
    assert actions[-3:] == [
        AuditEntry.Action.PLACED_LEGAL_HOLD,
        AuditEntry.Action.WITHDREW_DISPOSAL,
        AuditEntry.Action.LIFTED_LEGAL_HOLD,
    ]


def test_nothing_is_disposed_of_without_approval(witness, monkeypatch, django_capture_on_commit_callbacks):
    decide(witness)
    Submission.objects.filter(pk=witness.submission.pk).update(review_on=timezone.localdate() - timedelta(days=30))
    monkeypatch.setattr("evidence.tasks.STUCK_AFTER", timedelta(0))
    with django_capture_on_commit_callbacks(execute=True):
        sweep_stuck_disposals.delay()
    dispose_submission.delay(12345)
    assert holding(ORIGINAL) and holding(PROXY) and holding(PARTIAL)
    assert Submission.objects.get(pk=witness.submission.pk).disposed_at is None


def test_the_sweep_carries_out_an_approved_disposal_the_broker_never_received(
    witness, supervisor, monkeypatch, django_capture_on_commit_callbacks
):
    decide(witness)
    approve_disposal(submission=witness.submission, by=supervisor, reason="Reviewed")  # on_commit never runs here
    assert holding(ORIGINAL)
    monkeypatch.setattr("evidence.tasks.STUCK_AFTER", timedelta(0))
    with django_capture_on_commit_callbacks(execute=True):
        sweep_stuck_disposals.delay()
    assert holding(ORIGINAL) == []
    assert Submission.objects.get(pk=witness.submission.pk).disposed_at is not None


def test_a_file_still_being_processed_puts_disposal_off(witness, supervisor):
    decide(witness)
    MediaFile.objects.filter(pk=witness.media_file.pk).update(state=MediaFile.State.PROCESSING)
    disposal = approve_disposal(submission=witness.submission, by=supervisor, reason="Reviewed")
    with pytest.raises(Exception, match="being processed"):
        dispose(disposal.pk)
    assert holding(ORIGINAL)


def test_a_web_proxy_being_made_puts_disposal_off_and_one_waiting_is_never_made(witness, supervisor):
    decide(witness)
    waiting = store_media_file(witness.submission, content=b"another clip", original_filename="DASH0002.MP4")
    ready = {"state": MediaFile.State.READY, "proxy_updated_at": timezone.now()}
    MediaFile.objects.filter(pk=witness.media_file.pk).update(**ready, proxy_state=MediaFile.ProxyState.MAKING)
    MediaFile.objects.filter(pk=waiting.pk).update(**ready, proxy_state=MediaFile.ProxyState.WAITING)
    disposal = approve_disposal(submission=witness.submission, by=supervisor, reason="Reviewed")
    with pytest.raises(Exception, match=r"web proxy of .* is being made"):
        dispose(disposal.pk)
    assert holding(ORIGINAL)

    MediaFile.objects.filter(pk=witness.media_file.pk).update(proxy_state=MediaFile.ProxyState.MADE)
    assert dispose(disposal.pk)
    waiting.refresh_from_db()
    assert (waiting.proxy_state, waiting.proxy_reason) == (MediaFile.ProxyState.FAILED, "Disposed of")
    assert MediaFile.objects.claim_proxy(waiting.pk) is None, "a queued transcode finds nothing to make"


def changelist_action(client, submission, action, **data):
    url = reverse("admin:submissions_submission_changelist")
    return client.post(url, {"action": action, "_selected_action": [submission.pk], **data})


def test_a_supervisor_sees_what_is_due_and_approves_disposal_in_the_admin(
    client, witness, supervisor, django_capture_on_commit_callbacks
):
    decide(witness)
    Submission.objects.filter(pk=witness.submission.pk).update(review_on=timezone.localdate())
    sign_in(client, supervisor)
    listing = client.get(reverse("admin:submissions_submission_changelist"), {"retention": "due"})
    assert listing.context["cl"].result_count == 1
    assert "Due for review" in listing.text and witness.submission.reference in listing.text

    asked = changelist_action(client, witness.submission, "approve_disposal")
    assert asked.status_code == 200 and "Why dispose of it?" in asked.text
    refused = changelist_action(client, witness.submission, "approve_disposal", confirm="Approve disposal", reason="")
    assert "This field is required" in refused.text
    with django_capture_on_commit_callbacks(execute=True):
        changelist_action(client, witness.submission, "approve_disposal", confirm="Approve disposal", reason="Reviewed")
    assert holding(ORIGINAL) == []
    assert Disposal.objects.get(submission=witness.submission).completed_at is not None
    erasure_records = client.get(reverse("admin:evidence_disposal_changelist"))
    assert witness.submission.reference in erasure_records.text
    page = client.get(witness.submission.get_admin_url())
    assert page.status_code == 200 and "AB12 CDE" not in page.text


def test_a_supervisor_retains_and_holds_in_the_admin(client, north, supervisor):
    decide(north)
    sign_in(client, supervisor)
    next_review = timezone.localdate() + timedelta(days=90)
    data = {"confirm": "Retain after review", "reason": "Still needed", "review_on": next_review.isoformat()}
    changelist_action(client, north.submission, "retain_after_review", **data)
    changelist_action(client, north.submission, "put_on_legal_hold", confirm="Put on legal hold", reason="Court order")
    north.submission.refresh_from_db()
    assert north.submission.review_on == next_review and north.submission.held_at is not None
    held = client.get(reverse("admin:submissions_submission_changelist"), {"retention": "held"})
    assert held.context["cl"].result_count == 1


def test_an_officer_who_is_no_supervisor_cannot_retain_hold_or_dispose(client, witness):
    decide(witness)
    sign_in(client, witness.officer)
    listing = client.get(reverse("admin:submissions_submission_changelist"))
    assert "approve_disposal" not in listing.text and "put_on_legal_hold" not in listing.text
    data = {"confirm": "Approve disposal", "reason": "Reviewed"}
    changelist_action(client, witness.submission, "approve_disposal", **data)
    changelist_action(client, witness.submission, "put_on_legal_hold", **data)
    assert not Disposal.objects.exists()
    assert Submission.objects.get(pk=witness.submission.pk).held_at is None
    assert holding(ORIGINAL)
    assert client.get(reverse("admin:evidence_disposal_changelist")).status_code == 403


def test_an_officer_can_no_longer_play_or_download_a_disposed_submissions_files(
    client, witness, supervisor, django_capture_on_commit_callbacks
):
    decide(witness)
    proxy = Derivative.objects.get(media_file=witness.media_file)
    with django_capture_on_commit_callbacks(execute=True):
        approve_disposal(submission=witness.submission, by=supervisor, reason="Reviewed")
    sign_in(client, supervisor)
    assert client.get(reverse("admin:evidence_derivative", args=[proxy.pk])).status_code == 404


def test_the_privacy_notice_states_the_review_period_that_decisions_set(client, north, settings):
    settings.SUBMISSION_REVIEW_MONTHS_NO_ACTION = 18
    page = " ".join(client.get("/privacy/").text.split())
    assert "reviewed 18 months after that decision and deleted, unless there is a reason to keep it" in page
    assert "we keep only a record that it existed" in page
    decide(north)
    assert north.submission.review_on == timezone.localdate(north.submission.decided_at) + relativedelta(months=18)


@pytest.mark.worker
def test_a_real_worker_disposes_of_an_approved_submission(celery_worker_on_redis):
    case = team_with_submission("Worker team", "303")
    decide(case)
    supervisor = make_triage_officer("worker-supervisor", supervisor=True)
    disposal = approve_disposal(submission=case.submission, by=supervisor, reason="Reviewed")
    wait_for(lambda: Disposal.objects.filter(pk=disposal.pk, completed_at__isnull=False).exists())
    assert holding(b"original of 303") == []


def test_a_file_or_export_still_waiting_is_never_made_after_disposal(witness, supervisor):
    from evidence.tasks import build_evidence_export
    from submissions.pipeline import process_media_file

    decide(witness)
    waiting = EvidenceExport.objects.create(submission=witness.submission, requested_by=witness.officer)
    assert MediaFile.objects.get(pk=witness.media_file.pk).state == MediaFile.State.RECEIVED
    dispose(approve_disposal(submission=witness.submission, by=supervisor, reason="Reviewed").pk)

    build_evidence_export(waiting.pk)
    process_media_file(witness.media_file.pk)
    waiting.refresh_from_db()
    assert (waiting.state, waiting.failure_reason, waiting.file.name) == (
        EvidenceExport.State.FAILED,
        "Disposed of",
        "",
    )
    media_file = MediaFile.objects.get(pk=witness.media_file.pk)
    assert (media_file.state, media_file.state_reason) == (MediaFile.State.FAILED, "Disposed of")
    assert media_file.derivatives.count() == 1
    assert holding(ORIGINAL) == []


def test_a_submission_approved_for_disposal_cannot_be_reopened(north, supervisor):
    decide(north)
    approve_disposal(submission=north.submission, by=supervisor, reason="Reviewed")
    with pytest.raises(TriageError):
        change_state(submission=north.submission, to=State.IN_REVIEW, by=north.officer)


def test_the_change_form_refuses_to_reopen_a_submission_approved_for_disposal(client, north, supervisor):
    from tests.evidence.test_triage import change_form_data

    decide(north)
    approve_disposal(submission=north.submission, by=supervisor, reason="Reviewed")
    sign_in(client, supervisor)
    response = client.post(north.submission.get_admin_url(), change_form_data(north.submission, state=State.IN_REVIEW))
    assert response.status_code == 200
    assert "its disposal is approved" in response.text
    assert Submission.objects.get(pk=north.submission.pk).state == State.NO_FURTHER_ACTION
