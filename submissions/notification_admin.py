"""Officers choose here between an email per event and a daily digest (their own row only)."""

from django.contrib import admin

from submissions.models import NotificationPreference


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
