"""Who may see what: the access rule, and the officers one may hand work to."""

from django.contrib.auth import get_user_model


def is_supervisor(user):
    return user.is_superuser or user.has_perm("incidents.view_all_incidents")


def colleagues_of(user):
    """The officers `user` may assign work to: members of their teams, or every officer for a supervisor."""
    officers = get_user_model().objects.filter(is_active=True, is_staff=True)
    if is_supervisor(user):
        return officers
    return officers.filter(teams__in=user.teams.all()).distinct()
