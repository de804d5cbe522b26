"""The officers' roles, as groups of permissions. What each officer sees is still `visible_to(user)`.

Data protection officers are a role of their own, added to an officer's others: their searches reach every
incident, so few people should hold it.
"""

from django.contrib.auth.models import Group, Permission

OFFICER_PERMISSIONS = [
    "incidents.view_team",
    "incidents.view_incident",
    "incidents.add_incident",
    "incidents.change_incident",
    "appeals.view_appeal",
    "appeals.add_appeal",
    "appeals.change_appeal",
    "appeals.view_appealupdate",
    "appeals.add_appealupdate",
    "appeals.change_appealupdate",
    "submissions.view_submission",
    "submissions.change_submission",
    "submissions.view_mediafile",
    "submissions.view_submissionnote",
    "submissions.add_submissionnote",
    "evidence.view_auditentry",
    "evidence.view_evidenceexport",
    "evidence.add_evidenceexport",
]
SUPERVISOR_PERMISSIONS = [*OFFICER_PERMISSIONS, "incidents.view_all_incidents"]
DATA_PROTECTION_PERMISSIONS = ["evidence.search_personal_data"]
OFFICERS = "Officers"
SUPERVISORS = "Supervisors"
DATA_PROTECTION_OFFICERS = "Data protection officers"


def ensure_roles() -> dict[str, Group]:
    """Create or refresh the Officers, Supervisors and Data protection officers groups (idempotent)."""
    groups = {}
    for name, codenames in [
        (OFFICERS, OFFICER_PERMISSIONS),
        (SUPERVISORS, SUPERVISOR_PERMISSIONS),
        (DATA_PROTECTION_OFFICERS, DATA_PROTECTION_PERMISSIONS),
    ]:
        group, _ = Group.objects.get_or_create(name=name)
        permissions = []
        for dotted in codenames:
            app_label, codename = dotted.split(".")
            permissions.append(Permission.objects.get(content_type__app_label=app_label, codename=codename))
        group.permissions.set(permissions)
        groups[name] = group
    return groups
