"""The officers' side of the admin: triage of submissions and their files, the audit trail, exports."""

import re
from collections import defaultdict
from datetime import datetime

from django import forms
from django.conf import settings
from django.contrib import admin, messages
from django.contrib.admin.views.main import ChangeList
from django.contrib.admin.widgets import AutocompleteSelect
from django.db.models import Count, Q
from django.template.defaultfilters import filesizeformat
from django.template.response import TemplateResponse
from django.urls import reverse
from django.utils import timezone
from django.utils.html import format_html, format_html_join

from appeals.templatetags.govuk import govuk_date, govuk_datetime, govuk_time
from evidence.audit import record
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
from evidence.triage import TriageError, add_note, assign, change_state, revoke_footage_link, set_priority
from incidents.access import colleagues_of, is_supervisor
from submissions.models import Derivative, MediaFile, NotificationPreference, Submission, SubmissionNote

NOT_ALLOWED = "their state does not allow it (each submission's page lists the allowed next steps)."
EVIDENCE_FIELDS = ["original_filename", "size", "sha256", "content_type", "received_at"]


EXIF_DATETIME = re.compile(r"^(\d{4}):(\d{2}):(\d{2}) (\d{2}):(\d{2}):(\d{2})")


class ReadOnlyAdmin(admin.ModelAdmin):
    """Records officers may look at but never add, change or delete here."""

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False


def format_duration(metadata: dict) -> str:
    duration = metadata.get("duration")
    if duration is None:
        return ""
    seconds = round(float(duration))
    return f"{seconds // 3600}:{seconds // 60 % 60:02d}:{seconds % 60:02d}"


def format_capture_time(value) -> str:
    """A device's capture time the GOV.UK way ("18 March 2021 at 7:09pm"), exact in the <time> element.

    EXIF times ("2021:03:18 19:09:30") carry no time zone and are shown as the camera's clock read; video
    times (ISO 8601, normally UTC) are shown in UK time. Anything else is shown as it came.
    """
    text = str(value)
    if match := EXIF_DATETIME.match(text):
        moment = datetime(*map(int, match.groups()))  # noqa: DTZ001 (the camera's own clock, zone unknown)
    else:
        try:
            moment = datetime.fromisoformat(text)
        except ValueError:
            return text
    if timezone.is_aware(moment):
        moment = timezone.localtime(moment)
    shown = f"{govuk_date(moment.date(), with_weekday=False)} at {govuk_time(moment.time())}"
    return format_html('<time datetime="{}">{}</time>', moment.isoformat(), shown)


def file_kind(media_file) -> str:
    kind = media_file.metadata.get("kind") or media_file.content_type.partition("/")[0]
    return {"video": "Video", "image": "Photo"}.get(kind, "Not yet known")


def describe_metadata(metadata: dict) -> list[tuple[str, str]]:
    """The probed facts an officer triages on, as (label, text) pairs; coordinates stay plain text, not links."""
    facts = []
    if duration := format_duration(metadata):
        facts.append(("Duration", duration))
    width = metadata.get("display_width") or metadata.get("width")
    height = metadata.get("display_height") or metadata.get("height")
    if width and height:
        facts.append(("Resolution", f"{width} by {height} pixels"))
    if frame_rate := metadata.get("frame_rate"):
        facts.append(("Frame rate", f"{float(frame_rate):g} frames a second"))
    if codec := metadata.get("video_codec") or metadata.get("codec"):
        facts.append(
            ("Codec", str(codec) + (f", sound {metadata['audio_codec']}" if metadata.get("audio_codec") else ""))
        )
    if captured := metadata.get("captured_at") or metadata.get("creation_time"):
        facts.append(("Capture time (as the device recorded it)", format_capture_time(captured)))
    gps = metadata.get("gps") or {}
    if gps.get("latitude") is not None and gps.get("longitude") is not None:
        facts.append(
            ("GPS (as the device recorded it)", f"{float(gps['latitude']):.6f}, {float(gps['longitude']):.6f}")
        )
    if device := " ".join(str(metadata[key]) for key in ("make", "model") if metadata.get(key)):
        facts.append(("Device", device))
    return facts


class PlaceholderAutocompleteSelect(AutocompleteSelect):
    """Django blanks select2's placeholder; officers get a hint of what to type instead.

    The empty choice says what it means (an empty <option> is invalid HTML); select2 shows the hint over it.
    """

    def __init__(self, field, admin_site, *, placeholder, empty_label):
        super().__init__(field, admin_site)
        self.placeholder = placeholder
        self.empty_label = empty_label

    def build_attrs(self, base_attrs, extra_attrs=None):
        return super().build_attrs(base_attrs, extra_attrs) | {"data-placeholder": self.placeholder}

    def create_option(self, name, value, label, selected, index, subindex=None, attrs=None):
        label = label if value != "" else self.empty_label
        return super().create_option(name, value, label, selected, index, subindex, attrs)


class AssignedToMeFilter(admin.SimpleListFilter):
    title = "assigned to me"
    parameter_name = "mine"

    def lookups(self, request, model_admin):
        return [("yes", "Assigned to me")]

    def queryset(self, request, queryset):
        if self.value() == "yes":
            return queryset.filter(assignee=request.user)
        return queryset


class HasFilesFilter(admin.SimpleListFilter):
    title = "files"
    parameter_name = "has_files"

    def lookups(self, request, model_admin):
        return [("yes", "With files"), ("no", "Account only"), ("shared", "A file others sent too")]

    def queryset(self, request, queryset):
        with_files = Q(pk__in=MediaFile.objects.values("submission"))
        match self.value():
            case "yes":
                return queryset.filter(with_files)
            case "no":
                return queryset.exclude(with_files)
            case "shared":
                visible = MediaFile.objects.visible_to(request.user)
                return queryset.filter(pk__in=visible.also_sent_elsewhere(among=visible).values("submission"))
        return queryset


class ProcessingFilter(admin.SimpleListFilter):
    title = "processing"
    parameter_name = "media"

    def lookups(self, request, model_admin):
        return [
            ("ready", "Files ready to watch"),
            ("web_copy", "Web copy being made"),
            ("processing", "Still processing"),
            ("problem", "Quarantined or failed"),
        ]

    def queryset(self, request, queryset):
        match self.value():
            case "ready":
                return queryset.media_ready()
            case "web_copy":
                return queryset.media_web_copy_pending()
            case "processing":
                return queryset.media_processing()
            case "problem":
                return queryset.media_problem()
        return queryset


class ScanFilter(admin.SimpleListFilter):
    title = "virus scan"
    parameter_name = "scan"

    def lookups(self, request, model_admin):
        return MediaFile.ScanState.choices

    def queryset(self, request, queryset):
        if self.value() in MediaFile.ScanState.values:
            return queryset.filter(pk__in=MediaFile.objects.filter(scan_state=self.value()).values("submission"))
        return queryset


class RetentionFilter(admin.SimpleListFilter):
    title = "retention"
    parameter_name = "retention"

    def lookups(self, request, model_admin):
        return [("due", "Due for review"), ("held", "On legal hold"), ("disposed", "Disposed of")]

    def queryset(self, request, queryset):
        match self.value():
            case "due":
                return due_for_review(queryset)
            case "held":
                return queryset.filter(held_at__isnull=False)
            case "disposed":
                return queryset.filter(disposed_at__isnull=False)
        return queryset


class SubmissionTriageForm(forms.ModelForm):
    """State limited to the allowed next steps; a decision needs its reason (and a duplicate its original)."""

    class Meta:
        model = Submission
        fields = ["state", "priority", "assignee", "decision_reason", "duplicate_of"]

    def __init__(self, *args, request=None, **kwargs):
        super().__init__(*args, **kwargs)
        stored = self.instance.State(self.instance.state)
        allowed = [stored, *self.instance.next_states()]
        self.fields["state"].choices = [(state.value, state.label) for state in allowed]
        self.fields["state"].help_text = "Only the next steps allowed from the current state are offered."
        self.fields[
            "decision_reason"
        ].help_text = "Required for a decision (actioned, no further action, duplicate). Kept in the audit trail."
        if request is not None:
            self.fields["assignee"].queryset = colleagues_of(request.user)
            self.fields["duplicate_of"].queryset = Submission.objects.visible_to(request.user).exclude(
                pk=self.instance.pk
            )

    def clean(self):
        cleaned = super().clean()
        stored = Submission.objects.get(pk=self.instance.pk)
        state = cleaned.get("state", stored.state)
        if state != stored.state:
            if stored.is_disposed() or Disposal.objects.filter(submission=stored).open().exists():
                raise forms.ValidationError("This submission has been disposed of, or its disposal is approved.")
            problem = stored.transition_problem(state, cleaned.get("decision_reason", ""), cleaned.get("duplicate_of"))
            if problem:
                raise forms.ValidationError(problem)
        else:
            for field in ["decision_reason", "duplicate_of"]:
                if field in self.changed_data:
                    self.add_error(field, "Change the state to record a new decision.")
        return cleaned


class NoteInline(admin.StackedInline):
    """Notes are added, never edited or deleted: existing ones are shown read-only."""

    model = SubmissionNote
    template = "admin/submissions/submission/note_inline.html"
    verbose_name = "note"
    verbose_name_plural = "Notes"
    extra = 1
    can_delete = False
    fields = ["text", "author", "written"]
    readonly_fields = ["author", "written"]

    @admin.display(description="Written")
    def written(self, obj):
        return govuk_datetime(obj.created_at, with_weekday=False)

    def has_change_permission(self, request, obj=None):
        return False

    def has_view_permission(self, request, obj=None):
        return request.user.has_perm("submissions.view_submission")


def _reason_field(label):
    return forms.CharField(
        label=label,
        help_text="Kept in the audit trail.",
        widget=forms.Textarea(attrs={"rows": 3}),
        max_length=2000,
    )


class RetainForm(forms.Form):
    reason = _reason_field("Why keep it?")
    review_on = forms.DateField(
        label="Next review date",
        help_text="For example 2027-03-31.",
        widget=forms.DateInput(attrs={"type": "date"}),
    )

    def clean_review_on(self):
        review_on = self.cleaned_data["review_on"]
        if review_on <= timezone.localdate():
            raise forms.ValidationError("The next review date must be in the future.")
        return review_on


class LegalHoldForm(forms.Form):
    reason = _reason_field("Why hold it? (for example the case, order or request)")


class LiftHoldForm(forms.Form):
    reason = _reason_field("Why lift the hold?")


class ApproveDisposalForm(forms.Form):
    reason = _reason_field("Why dispose of it?")


class RevokeFootageLinkForm(forms.Form):
    reason = forms.CharField(
        label="Why turn the witness's footage link off?", widget=forms.Textarea(attrs={"rows": 3}), max_length=2000
    )


class NoFurtherActionForm(forms.Form):
    reason = forms.CharField(
        label="Why is no further action needed?", widget=forms.Textarea(attrs={"rows": 3}), max_length=2000
    )


@admin.register(Submission)
class SubmissionAdmin(admin.ModelAdmin):
    form = SubmissionTriageForm
    list_display = [
        "reference",
        "appeal",
        "received",
        "state",
        "priority",
        "assignee",
        "file_count",
        "processing_summary",
        "contact",
        "review_due",
    ]
    list_filter = [
        "state",
        AssignedToMeFilter,
        ("assignee", admin.RelatedOnlyFieldListFilter),
        ("appeal", admin.RelatedOnlyFieldListFilter),
        "priority",
        HasFilesFilter,
        ProcessingFilter,
        ScanFilter,
        RetentionFilter,
    ]
    show_facets = admin.ShowFacets.ALWAYS
    list_select_related = ["appeal", "assignee"]
    search_fields = ["=reference", "account"]
    search_help_text = "Search by receipt reference (exact) or words in the account."
    date_hierarchy = "created_at"
    ordering = ["-created_at"]
    autocomplete_fields = ["assignee", "duplicate_of"]
    actions = [
        "assign_to_me",
        "mark_in_review",
        "record_no_further_action",
        "revoke_footage_link",
        "export_evidence",
        "retain_after_review",
        "put_on_legal_hold",
        "lift_hold",
        "approve_disposal",
    ]
    inlines = [NoteInline]

    account_fields = [
        "reference",
        "appeal",
        "received",
        "account_text",
        "date_seen",
        "time_seen",
        "seen_where",
        "relationship",
    ]
    witness_fields = ["is_anonymous", "contact_name", "contact_email", "contact_phone", "footage_link"]
    fieldsets = [
        ("What the witness told us", {"fields": account_fields}),
        ("Witness", {"fields": witness_fields}),
        (
            "Triage",
            {
                "fields": [
                    "state",
                    "priority",
                    "assignee",
                    "decision_reason",
                    "duplicate_of",
                    "decided",
                    "decided_by",
                ]
            },
        ),
        ("Retention", {"fields": ["review_due", "on_hold_since", "disposed"]}),
    ]
    readonly_fields = [
        *account_fields,
        *witness_fields,
        "decided",
        "decided_by",
        "review_due",
        "on_hold_since",
        "disposed",
    ]

    def get_queryset(self, request):
        return super().get_queryset(request).visible_to(request.user)

    def formfield_for_foreignkey(self, db_field, request, **kwargs):
        placeholders = {
            "assignee": ("Type an officer's name", "Not assigned"),
            "duplicate_of": ("Type a receipt reference", "Not a duplicate"),
        }
        if db_field.name in placeholders:
            placeholder, empty_label = placeholders[db_field.name]
            kwargs["widget"] = PlaceholderAutocompleteSelect(
                db_field, self.admin_site, placeholder=placeholder, empty_label=empty_label
            )
        return super().formfield_for_foreignkey(db_field, request, **kwargs)

    def get_changelist(self, request, **kwargs):
        return SubmissionChangeList

    def get_form(self, request, obj=None, change=False, **kwargs):
        form = super().get_form(request, obj, change=change, **kwargs)

        class RequestForm(form):
            def __init__(self, *args, **form_kwargs):
                super().__init__(*args, request=request, **form_kwargs)

        return RequestForm

    def has_add_permission(self, request):
        # Submissions come from witnesses only.
        return False

    def has_delete_permission(self, request, obj=None):
        return False

    def has_export_permission(self, request):
        return request.user.has_perm("evidence.add_evidenceexport")

    def has_supervise_permission(self, request):
        return is_supervisor(request.user)

    @admin.display(description="Account")
    def account_text(self, obj):
        # Escaped like every read-only field; line breaks kept so the account reads as the witness wrote it.
        return format_html_join("", "<p>{}</p>", ((paragraph,) for paragraph in obj.account.split("\n") if paragraph))

    @admin.display(description="Received", ordering="created_at")
    def received(self, obj):
        return govuk_datetime(obj.created_at, with_weekday=False)

    # Dates and times the GOV.UK way ("18 March 2021", "7:10pm"), not Django's "18 Mar 2021", "7:10 p.m.".
    @admin.display(description="Date seen")
    def date_seen(self, obj):
        return govuk_date(obj.seen_on, with_weekday=False) or "Not given"

    @admin.display(description="Time seen")
    def time_seen(self, obj):
        return govuk_time(obj.seen_at_time) or "Not given"

    @admin.display(description="Decided")
    def decided(self, obj):
        return govuk_datetime(obj.decided_at, with_weekday=False) or "Not yet"

    @admin.display(description="Review due", ordering="review_on")
    def review_due(self, obj):
        return govuk_date(obj.review_on, with_weekday=False) or None

    @admin.display(description="On legal hold since")
    def on_hold_since(self, obj):
        return govuk_datetime(obj.held_at, with_weekday=False) or "Not on hold"

    @admin.display(description="Disposed of")
    def disposed(self, obj):
        return govuk_datetime(obj.disposed_at, with_weekday=False) or "No"

    @admin.display(description="Files", ordering="file_total")
    def file_count(self, obj):
        return obj.file_total

    @admin.display(description="Processing and scan")
    def processing_summary(self, obj):
        if not obj.file_total:
            return "No files"
        parts = [f"{obj.file_ready} of {obj.file_total} ready"]
        if obj.file_pending:
            parts.append(f"{obj.file_pending} processing")
        if obj.file_web_copy_pending:
            parts.append(f"{obj.file_web_copy_pending} web copy being made")
        if obj.file_problem:
            parts.append(f"{obj.file_problem} quarantined or failed")
        if obj.file_infected:
            parts.append(f"{obj.file_infected} infected")
        if obj.file_scan_pending:
            parts.append(f"{obj.file_scan_pending} not yet scanned")
        return ", ".join(parts)

    @admin.display(description="Footage link")
    def footage_link(self, obj):
        if obj.footage_link_revoked_at:
            return f"Turned off on {govuk_datetime(obj.footage_link_revoked_at, with_weekday=False)}"
        open_until = obj.footage_link_open_until()
        if open_until is None:
            return f"Takes files until {settings.FOOTAGE_LINK_DAYS_AFTER_CLOSING} days after the appeal closes"
        verb = "Takes" if obj.accepts_footage() else "Took"
        return f"{verb} files until {govuk_datetime(open_until, with_weekday=False)}"

    @admin.display(description="Contact")
    def contact(self, obj):
        return "Anonymous" if obj.is_anonymous else "Contactable"

    def change_view(self, request, object_id, form_url="", extra_context=None):
        submission = self.get_object(request, object_id)
        if submission is not None and request.method == "GET":
            # Viewing the account is audited before anything is rendered.
            record(actor=request.user, action=AuditEntry.Action.VIEWED_SUBMISSION, submission=submission)
        if submission is not None:
            extra_context = {**(extra_context or {}), **self.evidence_context(request, submission)}
        return super().change_view(request, object_id, form_url, extra_context)

    def evidence_context(self, request, submission):
        # A disposed submission's files are gone; the erasure record says what they were.
        media_files = [] if submission.is_disposed() else list(submission.media_files.prefetch_related("derivatives"))
        copies = defaultdict(list)
        for copy in MediaFile.objects.visible_to(request.user).copies_of(media_files):
            copies[copy.sha256].append(copy)
        files = [self.describe_file(media_file, copies[media_file.sha256]) for media_file in media_files]
        # One player, for the file chosen in the list (?file=<id>), else the first that plays.
        chosen = request.GET.get("file", "")
        selected = next((file for file in files if str(file["media_file"].pk) == chosen), None) or next(
            (file for file in files if file["playable"]), files[0] if files else None
        )
        return {
            "evidence_files": files,
            "selected_file": selected,
            "audit_entries": submission.audit_entries.select_related("actor", "media_file"),
            "exports": submission.exports.select_related("requested_by"),
            "can_export": self.has_export_permission(request),
        }

    def describe_file(self, media_file, copies):
        derivatives = {derivative.kind: derivative for derivative in media_file.derivatives.all()}
        if media_file.is_quarantined():
            derivatives = {}
        proxy = derivatives.get(Derivative.Kind.PROXY)
        return {
            "media_file": media_file,
            "kind": file_kind(media_file),
            "size": filesizeformat(media_file.size),
            "duration": format_duration(media_file.metadata),
            "facts": describe_metadata(media_file.metadata),
            "still": derivatives.get(Derivative.Kind.POSTER)
            or derivatives.get(Derivative.Kind.PREVIEW)
            or derivatives.get(Derivative.Kind.CONTACT_SHEET),
            "contact_sheet": derivatives.get(Derivative.Kind.CONTACT_SHEET),
            "proxy": proxy,
            "playable": proxy is not None and media_file.state == MediaFile.State.READY,
            # Ready to look at, the web copy still to come (or not to come) from its own queue.
            "proxy_pending": proxy is None and media_file.proxy_state in MediaFile.PROXY_PENDING_STATES,
            "proxy_failed": proxy is None and media_file.proxy_state == MediaFile.ProxyState.FAILED,
            # The same bytes in other submissions this officer may see.
            "copies": copies,
        }

    def save_model(self, request, obj, form, change):
        # Each triage change goes through its service, so it is validated, race-safe and audited.
        stored = Submission.objects.select_related("assignee").get(pk=obj.pk)
        if "state" in form.changed_data:
            change_state(
                submission=stored,
                to=obj.state,
                by=request.user,
                reason=obj.decision_reason,
                duplicate_of=obj.duplicate_of,
            )
        if "assignee" in form.changed_data:
            assign(submission=stored, to=obj.assignee, by=request.user)
        if "priority" in form.changed_data:
            set_priority(submission=stored, priority=obj.priority, by=request.user)

    def save_formset(self, request, form, formset, change):
        if formset.model is not SubmissionNote:
            return super().save_formset(request, form, formset, change)
        # Saved through the service (author stamped, audited); the admin's change message reads new_objects.
        formset.new_objects = [
            add_note(submission=form.instance, by=request.user, text=note.text) for note in formset.save(commit=False)
        ]

    @admin.action(description="Assign to me", permissions=["change"])
    def assign_to_me(self, request, queryset):
        count = 0
        for submission in queryset.select_related("assignee").exclude(assignee=request.user):
            assign(submission=submission, to=request.user, by=request.user)
            count += 1
        self.message_user(request, f"{count} submission(s) assigned to you.", messages.SUCCESS)

    @admin.action(description="Mark in review", permissions=["change"])
    def mark_in_review(self, request, queryset):
        moved, skipped = self._change_states(request, queryset, Submission.State.IN_REVIEW)
        self.message_user(request, f"{moved} submission(s) marked in review.", messages.SUCCESS)
        if skipped:
            self.message_user(request, f"{skipped} could not be: {NOT_ALLOWED}", messages.WARNING)

    @admin.action(description="Record no further action (with a reason)", permissions=["change"])
    def record_no_further_action(self, request, queryset):
        form = NoFurtherActionForm(request.POST if "reason" in request.POST else None)
        if form.is_valid():
            moved, skipped = self._change_states(
                request, queryset, Submission.State.NO_FURTHER_ACTION, reason=form.cleaned_data["reason"]
            )
            self.message_user(request, f"No further action recorded for {moved} submission(s).", messages.SUCCESS)
            if skipped:
                self.message_user(request, f"{skipped} could not be: {NOT_ALLOWED}", messages.WARNING)
            return None
        return self._ask_for_reason(
            request,
            queryset,
            form,
            "record_no_further_action",
            title="Record no further action",
            explanation="No further action will be recorded, with your reason, for:",
        )

    @admin.action(description="Turn off the witness's footage link (with a reason)", permissions=["change"])
    def revoke_footage_link(self, request, queryset):
        form = RevokeFootageLinkForm(request.POST if "reason" in request.POST else None)
        if form.is_valid():
            count = sum(
                revoke_footage_link(submission=submission, by=request.user, reason=form.cleaned_data["reason"])
                for submission in queryset
            )
            self.message_user(request, f"Footage link turned off for {count} submission(s).", messages.SUCCESS)
            return None
        return self._ask_for_reason(
            request,
            queryset,
            form,
            "revoke_footage_link",
            title="Turn off the footage link",
            explanation="The private “add more footage” link will stop taking files, for good, for:",
        )

    @admin.action(description="Export evidence", permissions=["export"])
    def export_evidence(self, request, queryset):
        count = 0
        for submission in queryset.filter(disposed_at__isnull=True):
            request_export(submission=submission, by=request.user)
            count += 1
        self.message_user(
            request, f"{count} evidence export(s) are being built; each appears on its submission's page."
        )

    @admin.action(description="Retain after review (with a reason and a new review date)", permissions=["supervise"])
    def retain_after_review(self, request, queryset):
        return self._retention_decision(
            request,
            queryset,
            RetainForm,
            "retain_after_review",
            title="Retain after review",
            explanation="These submissions will be kept until the new review date, with your reason:",
            decide=lambda submission, data: retain(
                submission=submission, by=request.user, reason=data["reason"], review_on=data["review_on"]
            ),
            done="{} submission(s) retained.",
        )

    @admin.action(description="Put on legal hold (never disposed of while held)", permissions=["supervise"])
    def put_on_legal_hold(self, request, queryset):
        return self._retention_decision(
            request,
            queryset,
            LegalHoldForm,
            "put_on_legal_hold",
            title="Put on legal hold",
            explanation="These submissions will not be disposed of until the hold is lifted; "
            "a disposal approved and not yet done is withdrawn:",
            decide=lambda submission, data: place_legal_hold(
                submission=submission, by=request.user, reason=data["reason"]
            ),
            done="{} submission(s) put on legal hold.",
        )

    @admin.action(description="Lift the legal hold", permissions=["supervise"])
    def lift_hold(self, request, queryset):
        return self._retention_decision(
            request,
            queryset,
            LiftHoldForm,
            "lift_hold",
            title="Lift the legal hold",
            explanation="The legal hold will be lifted from:",
            decide=lambda submission, data: lift_legal_hold(
                submission=submission, by=request.user, reason=data["reason"]
            ),
            done="Legal hold lifted from {} submission(s).",
        )

    @admin.action(description="Approve disposal (with a reason)", permissions=["supervise"])
    def approve_disposal(self, request, queryset):
        return self._retention_decision(
            request,
            queryset,
            ApproveDisposalForm,
            "approve_disposal",
            title="Approve disposal",
            explanation="The account, contact details and every copy of every file of these submissions will be "
            "deleted for good. The audit trail and a record of what was removed are kept:",
            decide=lambda submission, data: approve_disposal(
                submission=submission, by=request.user, reason=data["reason"]
            ),
            done="Disposal approved for {} submission(s); their files are being deleted.",
        )

    def _retention_decision(self, request, queryset, form_class, action, *, title, explanation, decide, done):
        """Ask for the reason (and date), then apply `decide` to each submission; say which could not be."""
        form = form_class(request.POST if "confirm" in request.POST else None)
        if form.is_valid():
            count = 0
            for submission in queryset:
                try:
                    decide(submission, form.cleaned_data)
                    count += 1
                except RetentionError as error:
                    self.message_user(request, str(error), messages.WARNING)
            self.message_user(request, done.format(count), messages.SUCCESS)
            return None
        return self._ask_for_reason(request, queryset, form, action, title=title, explanation=explanation)

    def _ask_for_reason(self, request, queryset, form, action, *, title, explanation):
        """The page an action with a reason shows first, and again with the form's errors."""
        context = {
            **self.admin_site.each_context(request),
            "title": title,
            "explanation": explanation,
            "opts": self.model._meta,
            "queryset": queryset,
            "form": form,
            "action": action,
            "action_checkbox_name": admin.helpers.ACTION_CHECKBOX_NAME,
        }
        return TemplateResponse(request, "admin/submissions/submission/action_with_reason.html", context)

    def _change_states(self, request, queryset, to, reason=""):
        moved = skipped = 0
        for submission in queryset:
            try:
                change_state(submission=submission, to=to, by=request.user, reason=reason)
                moved += 1
            except TriageError:
                skipped += 1
        return moved, skipped


class SubmissionChangeList(ChangeList):
    """The list's file and processing columns come from one aggregate, so queries do not grow with rows."""

    def get_queryset(self, request, exclude_parameters=None):
        files = "media_files"
        return (
            super()
            .get_queryset(request, exclude_parameters)
            .annotate(
                file_total=Count(files, distinct=True),
                file_ready=Count(files, filter=MediaFile.watchable_rule("media_files__"), distinct=True),
                file_web_copy_pending=Count(
                    files, filter=MediaFile.web_copy_pending_rule("media_files__"), distinct=True
                ),
                file_pending=Count(files, filter=Q(media_files__state__in=MediaFile.PENDING_STATES), distinct=True),
                file_problem=Count(files, filter=Q(media_files__state__in=MediaFile.PROBLEM_STATES), distinct=True),
                file_infected=Count(
                    files, filter=Q(media_files__scan_state=MediaFile.ScanState.INFECTED), distinct=True
                ),
                file_scan_pending=Count(
                    files, filter=Q(media_files__scan_state=MediaFile.ScanState.PENDING), distinct=True
                ),
            )
        )


@admin.register(MediaFile)
class MediaFileAdmin(ReadOnlyAdmin):
    list_display = ["original_filename", "submission", "size", "content_type", "state", "scan_state", "received_at"]
    list_filter = ["state", "scan_state"]
    list_select_related = ["submission"]
    search_fields = ["=submission__reference", "=sha256"]
    readonly_fields = [
        "submission",
        *EVIDENCE_FIELDS,
        "state",
        "state_reason",
        "scan_state",
        "scan_detail",
        "metadata",
        "updated_at",
        "download_original",
    ]
    exclude = ["original"]

    def get_queryset(self, request):
        return super().get_queryset(request).visible_to(request.user)

    @admin.display(description="Original")
    def download_original(self, obj):
        return format_html(
            '<a href="{}">Download the original</a> (you will be asked why)',
            reverse("admin:evidence_original", args=[obj.pk]),
        )


# Officers choose here between an email per event and a daily digest (their own row only).


@admin.register(NotificationPreference)
class NotificationPreferenceAdmin(admin.ModelAdmin):
    list_display = ["officer", "delivery"]
    fields = ["delivery"]

    def get_queryset(self, request):
        queryset = super().get_queryset(request).select_related("officer")
        return queryset if request.user.is_superuser else queryset.filter(officer=request.user)

    def has_module_permission(self, request):
        return request.user.is_active and request.user.is_staff

    def has_view_permission(self, request, obj=None):
        mine = obj is None or obj.officer == request.user or request.user.is_superuser
        return self.has_module_permission(request) and mine

    def has_change_permission(self, request, obj=None):
        return self.has_view_permission(request, obj)

    def has_add_permission(self, request):
        return (
            self.has_module_permission(request)
            and not NotificationPreference.objects.filter(officer=request.user).exists()
        )

    def has_delete_permission(self, request, obj=None):
        return False

    def save_model(self, request, obj, form, change):
        if not change:
            obj.officer = request.user
        super().save_model(request, obj, form, change)


@admin.register(AuditEntry)
class AuditEntryAdmin(ReadOnlyAdmin):
    """The audit trail can be read and searched, never changed: no add, change or delete, here or anywhere."""

    list_display = ["created_at", "actor", "action", "submission", "media_file", "reason"]
    list_filter = ["action"]
    list_select_related = ["actor", "submission", "media_file__submission"]
    search_fields = ["=submission__reference", "actor__username"]
    date_hierarchy = "created_at"
    actions = None

    def get_queryset(self, request):
        return super().get_queryset(request).visible_to(request.user)


@admin.register(EvidenceExport)
class EvidenceExportAdmin(ReadOnlyAdmin):
    list_display = ["pk", "submission", "requested_by", "requested_at", "state", "size", "sha256", "download"]
    list_filter = ["state"]
    list_select_related = ["submission", "requested_by"]
    search_fields = ["=submission__reference", "=sha256"]
    exclude = ["file"]
    actions = None

    def get_queryset(self, request):
        return super().get_queryset(request).visible_to(request.user)

    @admin.display(description="Download")
    def download(self, obj):
        if obj.state != EvidenceExport.State.READY:
            return obj.get_state_display()
        url = reverse("admin:evidence_export_download", args=[obj.pk])
        return format_html('<a href="{}">Download export {}</a>', url, obj.pk)


@admin.register(Disposal)
class DisposalAdmin(ReadOnlyAdmin):
    """The erasure records: what was removed (sizes and SHA-256s, never the content), when, who approved, why."""

    list_display = ["reference", "approved_by", "approved_at", "reason", "completed_at", "withdrawn_at", "file_count"]
    list_select_related = ["approved_by"]
    search_fields = ["=reference"]
    actions = None

    def has_module_permission(self, request):
        return is_supervisor(request.user)

    def has_view_permission(self, request, obj=None):
        return is_supervisor(request.user)
