from django.db import transaction

from appeals.models import Appeal
from submissions.models import Submission
from submissions.tasks import notify_new_submission


def create_submission(*, appeal: Appeal, submission: Submission) -> Submission:
    """Store a witness's account durably, then tell the officers once it is committed."""
    submission.appeal = appeal
    submission.full_clean(exclude=["reference"])
    with transaction.atomic():
        submission.save()
        # robust: a broker outage must not turn a stored account into an error page.
        transaction.on_commit(lambda: notify_new_submission.delay(submission.pk), robust=True)
    return submission
