"""Evidence behind the officers' admin: every byte served here is access-checked and audited first."""

from django import forms
from django.contrib import admin, messages
from django.core.exceptions import PermissionDenied
from django.shortcuts import get_object_or_404, redirect, render
from django.views.decorators.http import require_POST

from evidence.models import AuditEntry, EvidenceExport
from evidence.responses import evidence_response
from evidence.services import record, record_access, request_export
from submissions.models import Derivative, MediaFile, Submission


def _visible(request, model, permission="submissions.view_submission"):
    """The records of `model` this officer may see, given the right to use this view at all."""
    if not request.user.has_perm(permission):
        raise PermissionDenied
    return model.objects.visible_to(request.user)


def serve_derivative(request, pk):
    """The web proxy for the player (with Range for seeking), or a poster, contact sheet or preview."""
    derivative = get_object_or_404(
        _visible(request, Derivative)
        .select_related("media_file__submission")
        .filter(media_file__in=MediaFile.objects.playable()),
        pk=pk,
    )
    action = (
        AuditEntry.Action.PLAYED_FILE if derivative.kind == Derivative.Kind.PROXY else AuditEntry.Action.VIEWED_IMAGE
    )
    record_access(actor=request.user, action=action, media_file=derivative.media_file, detail={"kind": derivative.kind})
    return evidence_response(
        request, derivative.file, derivative.size, derivative.content_type, filename=derivative.filename()
    )


class DownloadReasonForm(forms.Form):
    reason = forms.CharField(
        label="Why do you need the original file?",
        help_text="For example: “Sent to the digital forensics unit for enhancement”. This is kept in the audit trail.",
        widget=forms.Textarea(attrs={"rows": 3}),
        min_length=5,
        max_length=1000,
    )


def download_original(request, pk):
    """Ask why, record the reason in the audit trail, then send the witness's original file."""
    media_file = get_object_or_404(_visible(request, MediaFile).select_related("submission"), pk=pk)
    form = DownloadReasonForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        record(
            actor=request.user,
            action=AuditEntry.Action.DOWNLOADED_ORIGINAL,
            submission=media_file.submission,
            media_file=media_file,
            reason=form.cleaned_data["reason"],
        )
        return evidence_response(
            request,
            media_file.original,
            media_file.size,
            media_file.content_type or "application/octet-stream",
            filename=media_file.original_filename,
            as_attachment=True,
        )
    context = {
        **admin.site.each_context(request),
        "title": f"Download the original of {media_file.original_filename}",
        "media_file": media_file,
        "submission": media_file.submission,
        "form": form,
    }
    return render(request, "admin/evidence/download_original.html", context)


@require_POST
def export_submission(request, pk):
    submission = get_object_or_404(_visible(request, Submission, "evidence.add_evidenceexport"), pk=pk)
    request_export(submission=submission, by=request.user)
    messages.success(request, f"The evidence export of {submission.reference} is being built.")
    return redirect(submission.get_admin_url() + "#exports")


def download_export(request, pk):
    export = get_object_or_404(
        _visible(request, EvidenceExport, "evidence.view_evidenceexport")
        .select_related("submission")
        .filter(state=EvidenceExport.State.READY),
        pk=pk,
    )
    record(
        actor=request.user,
        action=AuditEntry.Action.DOWNLOADED_EXPORT,
        submission=export.submission,
        detail={"export": export.pk, "sha256": export.sha256},
    )
    return evidence_response(
        request, export.file, export.size, "application/zip", filename=export.filename(), as_attachment=True
    )
