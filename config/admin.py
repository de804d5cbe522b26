"""The officers' admin site: TOTP second factor, per-appeal counts on the index, evidence views."""

from django.contrib import admin
from django.contrib.admin.views.autocomplete import AutocompleteJsonView
from django.contrib.auth import get_user_model
from django.db.models import Count, Q
from django.urls import path
from django_otp.admin import OTPAdminAuthenticationForm, OTPAdminSite
from django_otp.plugins.otp_totp.models import TOTPDevice

from appeals.models import Appeal
from evidence import views as evidence_views
from submissions.models import Submission


class ReadOnlyAdmin(admin.ModelAdmin):
    """Records officers may look at but never add, change or delete here."""

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False


def is_supervisor(user):
    return user.is_superuser or user.has_perm("incidents.view_all_incidents")


def colleagues_of(user):
    """The officers `user` may assign work to: members of their teams, or every officer for a supervisor."""
    officers = get_user_model().objects.filter(is_active=True, is_staff=True)
    if is_supervisor(user):
        return officers
    return officers.filter(teams__in=user.teams.all()).distinct()


class OfficersAutocompleteJsonView(AutocompleteJsonView):
    """Assignee look-ups search the officer's colleagues, without needing the right to browse all users."""

    def is_assignee_lookup(self):
        return self.source_field.model is Submission and self.source_field.name == "assignee"

    def has_perm(self, request, obj=None):
        if self.is_assignee_lookup():
            return request.user.has_perm("submissions.change_submission")
        return super().has_perm(request, obj)

    def get_queryset(self):
        if not self.is_assignee_lookup():
            return super().get_queryset()
        term = self.term.strip()
        return (
            colleagues_of(self.request.user)
            .filter(
                Q(username__icontains=term) | Q(first_name__icontains=term) | Q(last_name__icontains=term)
                if term
                else Q()
            )
            .order_by("username")
        )


class OfficerLoginForm(OTPAdminAuthenticationForm):
    """Password plus the code from the officer's authenticator app."""

    def _chosen_device(self, user):
        # django-otp asks which device to check; an officer has one authenticator app, so check that one.
        return super()._chosen_device(user) or TOTPDevice.objects.filter(user=user, confirmed=True).first()


class OfficersAdminSite(OTPAdminSite):
    login_form = OfficerLoginForm
    # The triage list needs the width more than a second copy of the index.
    enable_nav_sidebar = False
    login_template = "admin/otp_login.html"
    index_template = "admin/officers_index.html"

    def __init__(self, name="admin"):
        super().__init__(name)

    def autocomplete_view(self, request):
        return OfficersAutocompleteJsonView.as_view(admin_site=self)(request)

    def get_urls(self):
        evidence = [
            path(
                "evidence/derivative/<int:pk>/",
                self.admin_view(evidence_views.serve_derivative),
                name="evidence_derivative",
            ),
            path(
                "evidence/original/<int:pk>/",
                self.admin_view(evidence_views.download_original),
                name="evidence_original",
            ),
            path(
                "evidence/submission/<int:pk>/export/",
                self.admin_view(evidence_views.export_submission),
                name="evidence_export_submission",
            ),
            path(
                "evidence/export/<int:pk>/download/",
                self.admin_view(evidence_views.download_export),
                name="evidence_export_download",
            ),
        ]
        return evidence + super().get_urls()

    def index(self, request, extra_context=None):
        extra_context = {**(extra_context or {}), "open_appeals": self.open_appeal_counts(request)}
        return super().index(request, extra_context)

    def open_appeal_counts(self, request):
        """Each open appeal of the officer's teams with its triage counts, in one query."""
        if not request.user.has_perm("submissions.view_submission"):
            return []
        state = Submission.State
        return list(
            Appeal.objects.visible_to(request.user)
            .open()
            .select_related("incident")
            .annotate(
                new_count=Count("submissions", filter=Q(submissions__state=state.NEW)),
                in_review_count=Count("submissions", filter=Q(submissions__state=state.IN_REVIEW)),
                ready_count=Count("submissions", filter=Q(submissions__in=Submission.objects.media_ready())),
                problem_count=Count("submissions", filter=Q(submissions__in=Submission.objects.media_problem())),
            )
            .order_by("-published_at")
        )
