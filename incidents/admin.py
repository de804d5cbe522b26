from django.contrib import admin

from incidents.models import Incident, Team


@admin.register(Team)
class TeamAdmin(admin.ModelAdmin):
    list_display = ["name"]
    search_fields = ["name"]
    filter_horizontal = ["members"]


@admin.register(Incident)
class IncidentAdmin(admin.ModelAdmin):
    list_display = ["reference", "title", "offence", "occurred_at", "area", "team", "status"]
    list_filter = ["status", "offence", "team"]
    list_select_related = ["team"]
    search_fields = ["reference", "title", "place", "area"]
    date_hierarchy = "occurred_at"
    autocomplete_fields = ["team"]
    raw_id_fields = ["officer_in_charge"]

    def get_queryset(self, request):
        return super().get_queryset(request).visible_to(request.user)
