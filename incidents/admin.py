from django.contrib import admin

from incidents.access import colleagues_of, is_supervisor
from incidents.models import Incident, Team


@admin.register(Team)
class TeamAdmin(admin.ModelAdmin):
    list_display = ["name"]
    search_fields = ["name"]
    filter_horizontal = ["members"]

    def get_queryset(self, request):
        # Officers see the teams they belong to; supervisors (who run the teams) see all.
        if is_supervisor(request.user):
            return super().get_queryset(request)
        return super().get_queryset(request).filter(members=request.user)


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
        if db_field.name == "team" and not is_supervisor(request.user):
            kwargs["queryset"] = request.user.teams.all()
        if db_field.name == "officer_in_charge":
            kwargs["queryset"] = colleagues_of(request.user)
        return super().formfield_for_foreignkey(db_field, request, **kwargs)
