"""The officers' admin site: TOTP second factor, per-appeal counts on the index, evidence views."""

from django.conf import settings
from django.contrib import admin
from django.contrib.admin.views.autocomplete import AutocompleteJsonView
from django.db.models import Count, Q
from django.shortcuts import render
from django.urls import path
from django_otp.admin import OTPAdminAuthenticationForm, OTPAdminSite
from django_otp.plugins.otp_totp.models import TOTPDevice

from appeals.models import Appeal
from evidence import personal_data_views
from evidence import views as evidence_views
from incidents.access import colleagues_of
from submissions.models import MediaFile, Submission


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


def locked_out(request, original_response, credentials):
    """django-axes' answer to a paused sign-in, as a page of the officers' site (AXES_LOCKOUT_CALLABLE)."""
    context = {**admin.site.each_context(request), "title": "Too many failed sign-in attempts"}
    return render(request, "admin/locked_out.html", context, status=429)


class OfficersAdminSite(OTPAdminSite):
    site_header = site_title = f"{settings.SITE_NAME}: officers"
    index_title = "Appeals and submissions"
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
            path(
                "personal-data/",
                self.admin_view(personal_data_views.search),
                name="personal_data_search",
            ),
            path(
                "personal-data/submission/<int:pk>/redact/",
                self.admin_view(personal_data_views.redact),
                name="personal_data_redact",
            ),
        ]
        return evidence + super().get_urls()

    def login(self, request, extra_context=None):
        return super().login(request, {"title": "Sign in", **(extra_context or {})})

    def index(self, request, extra_context=None):
        extra_context = {
            **(extra_context or {}),
            "open_appeals": self.open_appeal_counts(request),
            "media_backlog": MediaFile.objects.backlog(),
        }
        return super().index(request, extra_context)

    def open_appeal_counts(self, request):
        """Each open appeal of the officer's teams with its triage counts, in one query.

        Submissions are counted by state; files by what officers can do with them: watch now, watch once their
        web copy is made, or not.
        """
        if not request.user.has_perm("submissions.view_submission"):
            return []
        state = Submission.State
        files = "submissions__media_files"
        through = f"{files}__"
        ready = MediaFile.watchable_rule(through)
        web_copy_pending = MediaFile.web_copy_pending_rule(through)
        problem = MediaFile.problem_rule(through)
        return list(
            Appeal.objects.visible_to(request.user)
            .open()
            .select_related("incident")
            .annotate(
                new_count=Count("submissions", filter=Q(submissions__state=state.NEW), distinct=True),
                in_review_count=Count("submissions", filter=Q(submissions__state=state.IN_REVIEW), distinct=True),
                ready_files=Count(files, filter=ready, distinct=True),
                web_copy_pending_files=Count(files, filter=web_copy_pending, distinct=True),
                problem_files=Count(files, filter=problem, distinct=True),
            )
            .order_by("-published_at")
        )
