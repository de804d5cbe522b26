import functools

from django.conf import settings
from django.contrib import messages
from django.core.files.uploadhandler import TemporaryFileUploadHandler
from django.forms.models import construct_instance
from django.http import Http404
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils import timezone
from django.views.decorators.cache import never_cache
from django.views.decorators.csrf import csrf_exempt, csrf_protect

from appeals.caching import public_object
from appeals.models import Appeal
from appeals.templatetags.govuk import govuk_date, govuk_time
from submissions.files import SNIFF_BYTES, FileRefused, accept_attribute, check_content_type, sanitise_filename
from submissions.forms import (
    AccountForm,
    ContactChoiceForm,
    ContactDetailsForm,
    RelationshipForm,
    WhenForm,
    WhereForm,
)
from submissions.models import FootageLinkEnded, MediaFile, Submission
from submissions.ratelimits import retry_after, wait_in_words
from submissions.services import add_media_file, create_submission
from submissions.storage import has_room_for, sha256_of

# The reference this browser sent, never the upload token: the private link carries that.
SESSION_KEY = "submitted_reference"
# The journey's pages in order; "" is the first page's own address (the appeal's "Give information" link).
STEPS = {
    "": AccountForm,
    "when": WhenForm,
    "where": WhereForm,
    "connection": RelationshipForm,
    "contact": ContactChoiceForm,
    "contact-details": ContactDetailsForm,
}


def journey_key(appeal):
    return f"give-information:{appeal.pk}"


def saved_answers(request, appeal):
    """This witness's answers so far, kept in their session until they send them."""
    return request.session.get(journey_key(appeal), {})


def has_answers(answers):
    return any(step in answers for step in STEPS)


def steps_needed(answers):
    anonymous = answers.get("contact", {}).get("contact_choice") == ContactChoiceForm.ANONYMOUS
    return [step for step in STEPS if not (step == "contact-details" and anonymous)]


def step_url(appeal, step):
    if step == "":
        return reverse("submissions:give_information", args=[appeal.slug])
    return reverse("submissions:step", args=[appeal.slug, step])


def check_url(appeal):
    return reverse("submissions:check", args=[appeal.slug])


def published_appeal(slug):
    """The published appeal with its incident, from the cache until an officer changes anything public."""
    return public_object(
        f"published-appeal:{slug}",
        lambda: get_object_or_404(Appeal.objects.published().select_related("incident"), slug=slug),
    )


def for_open_appeal(view):
    """Give the view its appeal. Every page of a closed appeal's journey says that it has closed."""

    @functools.wraps(view)
    def wrapper(request, slug, **kwargs):
        appeal = published_appeal(slug)
        if not appeal.is_open():
            context = {"appeal": appeal, "had_answers": has_answers(saved_answers(request, appeal))}
            # 410: the page existed and has gone for good.
            return render(request, "submissions/closed.html", context, status=410)
        return view(request, appeal, **kwargs)

    return wrapper


@never_cache
@for_open_appeal
def question(request, appeal, step=""):
    if step not in STEPS:
        raise Http404("No such question")
    answers = saved_answers(request, appeal)
    if step != "" and not has_answers(answers):
        # A later question with nothing before it: the session expired, or the cookies were cleared.
        return redirect("submissions:not_saved", slug=appeal.slug)
    form_class = STEPS[step]
    if request.method == "POST":
        form = form_class(request.POST)
        if form.is_valid():
            answers[step] = form.data_to_keep()
            answers.pop("rejected", None)
            if step == "contact" and form.is_anonymous:
                # Contact details typed before choosing to stay anonymous are not kept.
                answers.pop("contact-details", None)
            request.session[journey_key(appeal)] = answers
            # Post/redirect/get: Back and reload never send an answer twice.
            return redirect(next_url(appeal, step, answers))
        # The same on errors: the page is shown by a GET, so Back never asks to send the form again.
        answers["rejected"] = {"step": step, "data": form.data_to_keep()}
        request.session[journey_key(appeal)] = answers
        return redirect(request.path)
    rejected = answers.get("rejected", {})
    if rejected.get("step") == step:
        form = form_class(rejected["data"])
    else:
        form = form_class(answers[step]) if step in answers else form_class()
    needed = steps_needed(answers)
    position = needed.index(step) if step in needed else 0
    back_url = step_url(appeal, needed[position - 1]) if position else appeal.get_absolute_url()
    return render(
        request,
        "submissions/question.html",
        {"appeal": appeal, "form": form, "step": step, "back_url": back_url, "title": form.title},
    )


def next_url(appeal, step, answers):
    needed = steps_needed(answers)
    following = needed[needed.index(step) + 1 :]
    if answers.get("checking"):
        # Changing an answer from "check your answers" goes back there, unless it opened a new question.
        following = [later for later in following if later not in answers]
    return step_url(appeal, following[0]) if following else check_url(appeal)


def answered_forms(answers):
    """Every needed page's form bound to its stored answers; the first missing or invalid page, if any."""
    forms = {}
    for step in steps_needed(answers):
        if step not in answers:
            return forms, step
        form = STEPS[step](answers[step])
        if not form.is_valid():
            return forms, step
        forms[step] = form
    return forms, None


def outside_window(appeal, seen_on):
    if not seen_on:
        return False
    starts = appeal.window_starts_at or appeal.incident.occurred_at
    ends = appeal.window_ends_at or appeal.incident.occurred_at
    return not timezone.localtime(starts).date() <= seen_on <= timezone.localtime(ends).date()


@never_cache
@for_open_appeal
def check_answers(request, appeal):
    answers = saved_answers(request, appeal)
    forms, missing = answered_forms(answers)
    if missing is not None:
        if not has_answers(answers):
            if request.session.get(SESSION_KEY):
                # Back from the confirmation page: the information has been sent already.
                return redirect("submissions:confirmation", slug=appeal.slug)
            return redirect("submissions:not_saved", slug=appeal.slug)
        return redirect(step_url(appeal, missing))
    submission = Submission(appeal=appeal, is_anonymous=forms["contact"].is_anonymous)
    for step, form in forms.items():
        if step != "contact-details" or not submission.is_anonymous:
            construct_instance(form, submission)
    if request.method == "POST":
        if wait := retry_after(request, group="submissions", rate=settings.SUBMISSIONS_RATE_LIMIT):
            # The answers stay in the session, so the witness can send them once the wait is over.
            return too_many_attempts(request, appeal, wait=wait, sending=True, back_url=check_url(appeal))
        submission, token = create_submission(appeal=appeal, submission=submission)
        del request.session[journey_key(appeal)]
        request.session[SESSION_KEY] = submission.reference
        # The next page's address is the private link, so a reload or a bookmark keeps it.
        return redirect("submissions:footage", token=token)
    if not answers.get("checking"):
        answers["checking"] = True
        request.session[journey_key(appeal)] = answers
    return render(
        request,
        "submissions/check_answers.html",
        {
            "appeal": appeal,
            "submission": submission,
            "outside_window": outside_window(appeal, submission.seen_on),
            "when": " at ".join(filter(None, [govuk_date(submission.seen_on), govuk_time(submission.seen_at_time)])),
            "change": {(step or "account").replace("-", "_"): step_url(appeal, step) for step in STEPS},
        },
    )


def too_many_attempts(request, appeal, *, wait, sending, back_url):
    response = render(
        request,
        "submissions/too_many_attempts.html",
        {"appeal": appeal, "wait": wait_in_words(wait), "sending": sending, "back_url": back_url},
        status=429,
    )
    response["Retry-After"] = str(wait)
    return response


@never_cache
@for_open_appeal
def not_saved(request, appeal):
    """Said when a witness's answers are no longer in their session, rather than an empty first question."""
    if has_answers(saved_answers(request, appeal)):
        return redirect(check_url(appeal))
    return render(
        request,
        "submissions/not_saved.html",
        {"appeal": appeal, "kept_for_hours": settings.SESSION_COOKIE_AGE // 3600, "start_url": step_url(appeal, "")},
    )


@never_cache
def confirmation(request, slug):
    """Back from the private link's page: the information is sent, and the link is not ours to show again."""
    appeal = published_appeal(slug)
    submission = get_object_or_404(Submission, appeal=appeal, reference=request.session.get(SESSION_KEY, ""))
    return render(request, "submissions/confirmation.html", {"appeal": appeal, "submission": submission})


def upload_limits():
    return {
        "UPLOAD_CHUNK_SIZE": settings.UPLOAD_CHUNK_SIZE,
        "UPLOAD_MAX_SIZE": settings.UPLOAD_MAX_SIZE,
        "UPLOAD_MAX_FILES": settings.UPLOAD_MAX_FILES,
        "UPLOAD_NOJS_MAX_SIZE": settings.UPLOAD_NOJS_MAX_SIZE,
        "UPLOAD_ACCEPT": accept_attribute(),
    }


def keep_private(response):
    # The address is the capability: keep it out of caches and other sites' logs. Not "no-referrer":
    # browsers then send "Origin: null" with the upload form, and the CSRF check refuses it.
    response["Cache-Control"] = "no-store"
    response["Referrer-Policy"] = "same-origin"
    return response


def for_footage_link(view):
    """Give the view the private link's submission. Every page the link opens says when it no longer takes files."""

    @functools.wraps(view)
    def wrapper(request, token, **kwargs):
        try:
            submission = Submission.objects.for_footage_link(token)
        except Submission.DoesNotExist:
            raise Http404("No such footage link") from None
        except FootageLinkEnded as ended:
            context = {"appeal": ended.submission.appeal, "submission": ended.submission}
            # 410, before any of the request's body is read: the link existed and has gone for good.
            return keep_private(render(request, "submissions/footage_link_ended.html", context, status=410))
        return view(request, submission, token, **kwargs)

    return wrapper


def render_footage(request, submission, token, errors=(), received=0, status=200):
    response = render(
        request,
        "submissions/footage.html",
        {
            "appeal": submission.appeal,
            "submission": submission,
            "token": token,
            "footage_url": request.build_absolute_uri(reverse("submissions:footage", args=[token])),
            # This browser has just sent the account: the page is its receipt too.
            "just_sent": request.session.get(SESSION_KEY) == submission.reference,
            "media_files": submission.media_files.all(),
            # Received into object storage, their SHA-256 still being taken.
            "uploads_received": submission.uploads.awaiting_hash(),
            "backlog": MediaFile.objects.backlog().is_busy(),
            "errors": errors,
            "received": received,
            **upload_limits(),
        },
        status=status,
    )
    return keep_private(response)


@for_footage_link
def footage(request, submission, token):
    return render_footage(request, submission, token)


@csrf_exempt  # Checked below, once the upload handlers are set: the CSRF check reads the body.
@for_footage_link
def upload_files(request, submission, token):
    """The upload that works without JavaScript: a multipart POST, streamed to disk, for smaller files."""
    if request.method != "POST":
        return redirect("submissions:footage", token=token)
    if wait := retry_after(request, group="uploads", rate=settings.UPLOADS_RATE_LIMIT):
        back_url = reverse("submissions:footage", args=[token])
        # This page's address holds the private link, as the footage page's does.
        return keep_private(too_many_attempts(request, submission.appeal, wait=wait, sending=False, back_url=back_url))
    length = int(request.META.get("CONTENT_LENGTH") or 0)
    if length > settings.UPLOAD_NOJS_MAX_SIZE:
        limit = f"{settings.UPLOAD_NOJS_MAX_SIZE // 1024**2} MB"
        message = (
            f"The selected files must be smaller than {limit} in total on this page. Send fewer files at a time, "
            "or turn on JavaScript to send larger files."
        )
        return render_footage(request, submission, token, [message], status=413)
    if not has_room_for(length):
        response = render_footage(
            request, submission, token, ["We are short of space just now. Try again in a few minutes."], status=503
        )
        response["Retry-After"] = "300"
        return response
    request.upload_handlers = [TemporaryFileUploadHandler(request)]
    return receive_files(request, submission, token)


@csrf_protect
def receive_files(request, submission, token):
    files = request.FILES.getlist("files")
    if not files:
        return render_footage(request, submission, token, ["Select a video or photo to upload"], status=400)
    errors, added = [], 0
    for uploaded in files:
        name = sanitise_filename(uploaded.name)
        try:
            if uploaded.size == 0:
                raise FileRefused(f"{name} is empty.")
            content_type = check_content_type(uploaded.read(SNIFF_BYTES), name)
            uploaded.seek(0)
            sha256 = sha256_of(uploaded)
            uploaded.seek(0)
            add_media_file(
                submission=submission,
                content=uploaded,
                filename=name,
                size=uploaded.size,
                sha256=sha256,
                content_type=content_type,
            )
            added += 1
        except FileRefused as refused:
            errors.append(refused.message)
    if errors:
        # The files that were accepted are kept: say so beside the ones that were not.
        return render_footage(request, submission, token, errors, received=added, status=400)
    messages.success(request, received_message(added))
    return redirect("submissions:footage", token=token)


def received_message(count):
    return f"{count} file{'s' if count != 1 else ''} received. Thank you."
