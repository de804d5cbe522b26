from django.contrib import admin

from appeals.models import Appeal, AppealUpdate


class AppealUpdateInline(admin.StackedInline):
    model = AppealUpdate
    extra = 0


@admin.register(Appeal)
class AppealAdmin(admin.ModelAdmin):
    list_display = ["headline", "incident", "status", "published_at"]
    list_filter = ["status"]
    list_select_related = ["incident"]
    search_fields = ["headline", "incident__reference", "slug"]
    prepopulated_fields = {"slug": ["headline"]}
    readonly_fields = ["published_at", "closed_at", "created_at", "updated_at"]
    inlines = [AppealUpdateInline]

    def get_queryset(self, request):
        return super().get_queryset(request).visible_to(request.user)

    def formfield_for_foreignkey(self, db_field, request, **kwargs):
        if db_field.name == "incident":
            kwargs["queryset"] = db_field.related_model.objects.visible_to(request.user)
        return super().formfield_for_foreignkey(db_field, request, **kwargs)
