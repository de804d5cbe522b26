from django.contrib import admin
from django.urls import reverse
from django.utils.html import format_html

from config.admin import ReadOnlyAdmin
from evidence.models import AuditEntry, EvidenceExport


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
