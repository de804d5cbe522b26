from django.contrib import admin

from submissions.models import MediaFile, Submission

EVIDENCE_FIELDS = ["original_filename", "size", "sha256", "content_type", "received_at"]


class MediaFileInline(admin.TabularInline):
    model = MediaFile
    extra = 0
    can_delete = False
    show_change_link = True
    fields = [*EVIDENCE_FIELDS, "state", "state_reason"]
    readonly_fields = fields

    def has_add_permission(self, request, obj=None):
        return False


@admin.register(Submission)
class SubmissionAdmin(admin.ModelAdmin):
    list_display = ["reference", "appeal", "created_at", "state", "assignee", "is_anonymous"]
    list_filter = ["state", "appeal"]
    list_select_related = ["appeal", "assignee"]
    search_fields = ["reference"]
    date_hierarchy = "created_at"
    readonly_fields = [
        "reference",
        "appeal",
        "account",
        "seen_on",
        "seen_at_time",
        "seen_where",
        "relationship",
        "is_anonymous",
        "contact_name",
        "contact_email",
        "contact_phone",
        "created_at",
        "updated_at",
    ]
    fields = [*readonly_fields, "state", "assignee"]
    raw_id_fields = ["assignee"]
    inlines = [MediaFileInline]

    def get_queryset(self, request):
        return super().get_queryset(request).visible_to(request.user)

    def has_add_permission(self, request):
        # Submissions come from witnesses only.
        return False

    def has_delete_permission(self, request, obj=None):
        return False


@admin.register(MediaFile)
class MediaFileAdmin(admin.ModelAdmin):
    list_display = ["original_filename", "submission", "size", "content_type", "state", "received_at"]
    list_filter = ["state"]
    list_select_related = ["submission"]
    search_fields = ["submission__reference", "sha256"]
    readonly_fields = ["submission", *EVIDENCE_FIELDS, "state", "state_reason", "metadata", "updated_at"]
    exclude = ["original"]

    def get_queryset(self, request):
        return super().get_queryset(request).filter(submission__in=Submission.objects.visible_to(request.user))

    def has_add_permission(self, request):
        return False

    def has_delete_permission(self, request, obj=None):
        return False
