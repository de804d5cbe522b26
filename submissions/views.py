from django.shortcuts import get_object_or_404, redirect, render

from appeals.models import Appeal
from submissions.forms import GiveInformationForm
from submissions.models import Submission
from submissions.services import create_submission

SESSION_KEY = "submitted_reference"


def give_information(request, slug):
    appeal = get_object_or_404(Appeal.objects.open().select_related("incident"), slug=slug)
    form = GiveInformationForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        submission = create_submission(appeal=appeal, submission=form.save(commit=False))
        request.session[SESSION_KEY] = submission.reference
        # Post/redirect/get: going back or reloading never sends the account twice.
        return redirect("submissions:confirmation", slug=appeal.slug)
    return render(request, "submissions/give_information.html", {"appeal": appeal, "form": form})


def confirmation(request, slug):
    appeal = get_object_or_404(Appeal.objects.published().select_related("incident"), slug=slug)
    submission = get_object_or_404(Submission, appeal=appeal, reference=request.session.get(SESSION_KEY, ""))
    return render(request, "submissions/confirmation.html", {"appeal": appeal, "submission": submission})
