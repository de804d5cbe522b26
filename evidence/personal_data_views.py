"""The data protection officers' pages: find a person's submissions, export what is held, redact contact details.

The term searched for travels in POST bodies only, never in a URL, so no access log or browser history keeps it.
"""

from django import forms
from django.contrib import admin, messages
from django.core.exceptions import PermissionDenied
from django.http import HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.utils import timezone

from evidence import personal_data
from submissions.models import Submission

PERMISSION = "evidence.search_personal_data"


class SearchForm(forms.Form):
    term = forms.CharField(
        label="Email address or phone number",
        help_text="Any format: capitals in an email address and spaces in a phone number do not matter.",
        max_length=254,
    )

    def clean_term(self):
        try:
            return personal_data.Term.read(self.cleaned_data["term"])
        except forms.ValidationError:
            raise forms.ValidationError(
                "Enter an email address, like name@example.com, or a phone number, like 020 7946 0018"
            ) from None


class RedactionForm(forms.Form):
    reason = forms.CharField(
        label="Why are these contact details being removed?",
        help_text="For example: “Erasure request from the witness, DPO case 2026/114”. Kept in the audit trail.",
        widget=forms.Textarea(attrs={"rows": 3}),
        min_length=5,
        max_length=1000,
    )


def _allowed(request):
    if not request.user.has_perm(PERMISSION):
        raise PermissionDenied


def search(request):
    """Search by email address or phone number; the results offer the export and each redaction."""
    _allowed(request)
    form = SearchForm(request.POST or None)
    found = None
    if request.method == "POST" and form.is_valid():
        term = form.cleaned_data["term"]
        if "export_readable" in request.POST:
            return download(personal_data.export_readable(term=term, by=request.user), "text/html", "html")
        if "export" in request.POST:
            return download(personal_data.export(term=term, by=request.user), "application/json", "json")
        found = personal_data.search(term=term, by=request.user)
    context = {
        **admin.site.each_context(request),
        "title": "Find a person's data",
        "form": form,
        "found": found,
    }
    return render(request, "admin/personal_data/search.html", context)


def download(content, content_type, extension):
    response = HttpResponse(content, content_type=f"{content_type}; charset=utf-8")
    stamp = timezone.now().strftime("%Y%m%d-%H%M%S")
    response["Content-Disposition"] = f'attachment; filename="personal-data-{stamp}.{extension}"'
    return response


def redact(request, pk):
    """Ask why, then blank the submission's contact details; the account stays for the investigation."""
    _allowed(request)
    submission = get_object_or_404(Submission.objects.select_related("appeal__incident"), pk=pk)
    form = RedactionForm(request.POST or None)
    if request.method == "POST" and not submission.is_anonymous and form.is_valid():
        personal_data.redact_contact_details(submission=submission, by=request.user, reason=form.cleaned_data["reason"])
        messages.success(request, f"The contact details on {submission.reference} have been removed.")
        return redirect("admin:personal_data_search")
    context = {
        **admin.site.each_context(request),
        "title": f"Remove the contact details on {submission.reference}",
        "submission": submission,
        "form": form,
    }
    return render(request, "admin/personal_data/redact.html", context)
