from django.contrib import admin

from config.admin import colleagues_of
from incidents.models import Incident, Team


@admin.register(Team)
class TeamAdmin(admin.ModelAdmin):
    list_display = ["name"]
    search_fields = ["name"]
    filter_horizontal = ["members"]


@admin.register(Incident)
class IncidentAdmin(admin.ModelAdmin):
    list_display = ["reference", "title", "offence", "occurred_at", "area", "team", "status"]
    list_filter = ["status", "offence", ("team", admin.RelatedOnlyFieldListFilter)]
    list_select_related = ["team"]
    search_fields = ["reference", "title", "place", "area"]
    date_hierarchy = "occurred_at"

    def get_queryset(self, request):
        return super().get_queryset(request).visible_to(request.user)

    def formfield_for_foreignkey(self, db_field, request, **kwargs):
        # An officer files incidents for their own teams, in charge of one of their colleagues.
        supervisor = request.user.is_superuser or request.user.has_perm("incidents.view_all_incidents")
        if db_field.name == "team" and not supervisor:
            kwargs["queryset"] = request.user.teams.all()
        if db_field.name == "officer_in_charge":
            kwargs["queryset"] = colleagues_of(request.user)
        return super().formfield_for_foreignkey(db_field, request, **kwargs)
