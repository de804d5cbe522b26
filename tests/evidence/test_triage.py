"""Triage: allowed transitions, decisions with reasons, notes, actions, the list and the index."""

from datetime import datetime

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from evidence.admin import describe_metadata
from evidence.models import AuditEntry
from evidence.triage import TriageError, change_state
from submissions.models import Derivative, MediaFile, Submission, SubmissionNote
from tests.factories import LONDON, make_appeal, make_submission
from tests.officers import add_derivative, sign_in, store_media_file

pytestmark = pytest.mark.django_db
State = Submission.State
WebCopy = MediaFile.ProxyState


def test_a_new_submission_cannot_jump_to_actioned(north):
    with pytest.raises(TriageError, match="cannot become actioned"):
        change_state(submission=north.submission, to=State.ACTIONED, by=north.officer, reason="Looks useful")


def test_a_decision_needs_a_reason(north):
    change_state(submission=north.submission, to=State.IN_REVIEW, by=north.officer)
    with pytest.raises(TriageError, match="Give a reason"):
        change_state(submission=north.submission, to=State.ACTIONED, by=north.officer, reason="  ")
    change_state(submission=north.submission, to=State.ACTIONED, by=north.officer, reason="Shows the car's plate")
    north.submission.refresh_from_db()
    assert north.submission.state == State.ACTIONED
    assert north.submission.decided_by == north.officer
    entries = list(AuditEntry.objects.filter(action=AuditEntry.Action.CHANGED_STATE).values_list("detail", "reason"))
    assert AuditEntry.objects.last().change_summary() == "In review → Actioned"
    assert entries == [
        ({"from": "new", "to": "in_review"}, ""),
        ({"from": "in_review", "to": "actioned"}, "Shows the car's plate"),
    ]


def test_a_decided_submission_can_only_be_reopened(north):
    change_state(submission=north.submission, to=State.NO_FURTHER_ACTION, by=north.officer, reason="Wrong day")
    assert north.submission.next_states() == [State.IN_REVIEW]
    change_state(submission=north.submission, to=State.IN_REVIEW, by=north.officer)
    north.submission.refresh_from_db()
    assert (north.submission.decision_reason, north.submission.decided_at) == ("", None)


def test_a_duplicate_names_the_submission_it_repeats(north):
    original = make_submission(north.appeal)
    with pytest.raises(TriageError, match="which submission"):
        change_state(submission=north.submission, to=State.DUPLICATE, by=north.officer, reason="Sent twice")
    change_state(
        submission=north.submission, to=State.DUPLICATE, by=north.officer, reason="Sent twice", duplicate_of=original
    )
    assert Submission.objects.get(pk=north.submission.pk).duplicate_of == original


def test_two_officers_cannot_decide_the_same_submission_at_once(north):
    stale = Submission.objects.get(pk=north.submission.pk)
    change_state(submission=north.submission, to=State.IN_REVIEW, by=north.officer)
    with pytest.raises(TriageError, match="Someone else"):
        change_state(submission=stale, to=State.NO_FURTHER_ACTION, by=north.officer, reason="Nothing useful")


def change_form_data(submission, **changes):
    data = {
        "state": submission.state,
        "priority": submission.priority,
        "assignee": submission.assignee_id or "",
        "decision_reason": submission.decision_reason,
        "duplicate_of": submission.duplicate_of_id or "",
        "notes-TOTAL_FORMS": "1",
        "notes-INITIAL_FORMS": "0",
        "notes-MIN_NUM_FORMS": "0",
        "notes-MAX_NUM_FORMS": "1000",
        "notes-0-text": "",
    }
    return data | changes


def test_the_change_form_offers_only_allowed_states_and_refuses_a_decision_without_reason(client, north):
    sign_in(client, north.officer)
    url = north.submission.get_admin_url()
    page = client.get(url).content.decode()
    assert 'value="actioned"' not in page
    response = client.post(url, change_form_data(north.submission, state=State.NO_FURTHER_ACTION))
    assert response.status_code == 200
    assert "Give a reason" in response.content.decode()
    assert Submission.objects.get(pk=north.submission.pk).state == State.NEW


def test_an_officer_records_a_decision_assigns_and_adds_a_note(client, north):
    sign_in(client, north.officer)
    data = change_form_data(
        north.submission,
        state=State.NO_FURTHER_ACTION,
        decision_reason="Filmed on a different evening",
        assignee=north.officer.pk,
        priority=Submission.Priority.HIGH,
        **{"notes-0-text": "Checked the timestamp against the CAD log."},
    )
    response = client.post(north.submission.get_admin_url(), data)
    assert response.status_code == 302, response.content.decode()
    submission = Submission.objects.get(pk=north.submission.pk)
    assert (submission.state, submission.assignee, submission.priority) == (
        State.NO_FURTHER_ACTION,
        north.officer,
        Submission.Priority.HIGH,
    )
    note = submission.notes.get()
    assert (note.author, note.text) == (north.officer, "Checked the timestamp against the CAD log.")
    actions = set(submission.audit_entries.values_list("action", flat=True))
    assert {"changed_state", "assigned", "changed_priority", "added_note"} <= actions


def test_notes_cannot_be_edited_or_deleted(client, north):
    note = SubmissionNote.objects.create(submission=north.submission, author=north.officer, text="First thoughts")
    note.text = "Rewritten"
    with pytest.raises(Exception, match="cannot be changed"):
        note.save()
    with pytest.raises(Exception, match="cannot be deleted"):
        note.delete()
    with pytest.raises(Exception, match="cannot be changed"):
        SubmissionNote.objects.update(text="Rewritten")
    # Posting an edit through the admin does nothing either: existing notes are read-only there.
    sign_in(client, north.officer)
    data = change_form_data(north.submission) | {
        "notes-TOTAL_FORMS": "1",
        "notes-INITIAL_FORMS": "1",
        "notes-0-id": note.pk,
        "notes-0-submission": north.submission.pk,
        "notes-0-text": "Rewritten",
    }
    client.post(north.submission.get_admin_url(), data)
    assert SubmissionNote.objects.get().text == "First thoughts"


def test_the_list_actions_assign_mark_in_review_and_record_no_further_action(client, north):
    sign_in(client, north.officer)
    url = reverse("admin:submissions_submission_changelist")
    selected = {"_selected_action": [north.submission.pk]}
    client.post(url, {"action": "assign_to_me", **selected})
    client.post(url, {"action": "mark_in_review", **selected})
    submission = Submission.objects.get(pk=north.submission.pk)
    assert (submission.assignee, submission.state) == (north.officer, State.IN_REVIEW)

    asked = client.post(url, {"action": "record_no_further_action", "index": "0", **selected})
    assert "Why is no further action needed?" in asked.content.decode()
    client.post(url, {"action": "record_no_further_action", "reason": "Nothing relevant in view", **selected})
    submission.refresh_from_db()
    assert (submission.state, submission.decision_reason) == (State.NO_FURTHER_ACTION, "Nothing relevant in view")


def test_the_account_is_shown_escaped_and_the_view_is_audited(client, north):
    north.submission.account = 'He shouted <script>alert("x")</script>\nThen ran.'
    north.submission.save(update_fields=["account"])
    sign_in(client, north.officer)
    page = client.get(north.submission.get_admin_url()).content.decode()
    assert "&lt;script&gt;alert(&quot;x&quot;)&lt;/script&gt;" in page
    assert '<script>alert("x")' not in page
    assert AuditEntry.objects.filter(action=AuditEntry.Action.VIEWED_SUBMISSION, actor=north.officer).count() == 1


def test_the_change_page_shows_file_metadata_without_links(client, north):
    north.media_file.metadata = {
        "duration": 74.4,
        "width": 1920,
        "height": 1080,
        "video_codec": "h264",
        "audio_codec": "aac",
        "frame_rate": 29.97,
        "creation_time": "2021-03-18T19:09:30+00:00",
        "gps": {"latitude": 51.5979, "longitude": -0.2472},
        "make": "Nextbase",
        "model": "622GW",
    }
    north.media_file.state = MediaFile.State.READY
    north.media_file.save(update_fields=["metadata", "state"])
    sign_in(client, north.officer)
    page = client.get(north.submission.get_admin_url()).content.decode()
    for text in [
        "0:01:14",
        "1920 by 1080 pixels",
        "29.97 frames a second",
        "h264, sound aac",
        '<time datetime="2021-03-18T19:09:30+00:00">18 March 2021 at 7:09pm</time>',
        "51.597900, -0.247200",
        "Nextbase 622GW",
        north.media_file.sha256,
    ]:
        assert text in page
    assert "maps" not in page
    assert f'src="{reverse("admin:evidence_derivative", args=[north.proxy.pk])}"' in page


@pytest.mark.parametrize(
    ("recorded", "shown"),
    [
        ("2021-03-18T19:09:30.000000Z", '<time datetime="2021-03-18T19:09:30+00:00">18 March 2021 at 7:09pm</time>'),
        # Summer: the UTC a video records is shown in UK time.
        ("2021-07-01T11:00:00+0000", '<time datetime="2021-07-01T12:00:00+01:00">1 July 2021 at midday</time>'),
        # EXIF: the camera's own clock, no time zone, shown as it reads.
        ("2021:03:18 07:05:09", '<time datetime="2021-03-18T07:05:09">18 March 2021 at 7:05am</time>'),
        ("sometime", "sometime"),
    ],
)
def test_capture_times_read_the_govuk_way(recorded, shown):
    facts = dict(describe_metadata({"captured_at": recorded}))
    assert str(facts["Capture time (as the device recorded it)"]) == shown


def test_the_list_and_the_page_say_when_it_was_received_the_govuk_way(client, north):
    received = datetime(2021, 3, 18, 19, 42, tzinfo=LONDON)
    Submission.objects.filter(pk=north.submission.pk).update(created_at=received)
    sign_in(client, north.officer)
    listing = client.get(reverse("admin:submissions_submission_changelist")).content.decode()
    assert "18 March 2021 at 7:42pm" in listing
    page = client.get(north.submission.get_admin_url()).content.decode()
    assert "18 March 2021 at 7:42pm" in page


def test_many_files_make_a_compact_list_with_one_player_for_the_chosen_file(client, north):
    MediaFile.objects.filter(pk=north.media_file.pk).update(state=MediaFile.State.READY, metadata={"kind": "video"})
    others = [
        store_media_file(
            north.submission,
            content=f"clip {number}".encode(),
            original_filename=f"CAM{number:02d}.MP4",
            state=MediaFile.State.READY,
            metadata={"kind": "video", "duration": 65.2},
        )
        for number in range(10)
    ]
    proxies = {media_file.pk: add_derivative(media_file, Derivative.Kind.PROXY, b"proxy") for media_file in others}
    sign_in(client, north.officer)
    page = client.get(north.submission.get_admin_url()).content.decode()
    assert page.count("<video") == 1
    assert f'src="{reverse("admin:evidence_derivative", args=[north.proxy.pk])}"' in page
    for media_file in others:
        assert f'<a href="?file={media_file.pk}#selected-file">{media_file.original_filename}</a>' in page
    assert "0:01:05" in page
    assert f'<code title="{others[3].sha256}">{others[3].sha256[:12]}…</code>' in page

    chosen = client.get(north.submission.get_admin_url(), {"file": others[3].pk}).content.decode()
    assert chosen.count("<video") == 1
    assert f'src="{reverse("admin:evidence_derivative", args=[proxies[others[3].pk].pk])}"' in chosen
    assert f'aria-current="true">{others[3].original_filename}</a>' in chosen
    # An id that is not one of this submission's files shows the first playable file.
    unknown = client.get(north.submission.get_admin_url(), {"file": "999999"}).content.decode()
    assert f'src="{reverse("admin:evidence_derivative", args=[north.proxy.pk])}"' in unknown


def test_the_page_names_the_other_submissions_that_sent_the_same_file(client, north, south):
    # A clip shared on social media, sent again by two witnesses to this appeal and by one to another team's.
    clip = b"the clip everyone shared"
    shared = store_media_file(north.submission, content=clip, original_filename="shared.mp4")
    copies = [store_media_file(make_submission(north.appeal), content=clip) for _ in range(2)]
    elsewhere = store_media_file(south.submission, content=clip)
    disposed = store_media_file(
        make_submission(north.appeal, disposed_at=datetime(2026, 1, 1, tzinfo=LONDON)), content=clip
    )
    sign_in(client, north.officer)

    page = client.get(north.submission.get_admin_url(), {"file": shared.pk}).content.decode()

    assert "also in 2 other submissions" in page
    assert "2 other submissions, the same bytes:" in page
    for copy in copies:
        link = (
            f"{reverse('admin:submissions_submission_change', args=[copy.submission.pk])}?file={copy.pk}#selected-file"
        )
        assert f'<a href="{link}">{copy.submission.reference}</a>' in page
    assert elsewhere.submission.reference not in page, "another team's submission is not named"
    assert disposed.submission.reference not in page
    alone = client.get(north.submission.get_admin_url(), {"file": north.media_file.pk}).content.decode()
    assert "No other submission that you can see" in alone

    listed = client.get(reverse("admin:submissions_submission_changelist"), {"has_files": "shared"})
    shown = {submission.reference for submission in listed.context["cl"].result_list}
    assert shown == {north.submission.reference, *(copy.submission.reference for copy in copies)}
    everything = client.get(reverse("admin:submissions_submission_changelist")).content.decode()
    assert "A file others sent too (3)" in everything


def list_queries(client):
    with CaptureQueriesContext(connection) as queries:
        response = client.get(reverse("admin:submissions_submission_changelist"))
    assert response.status_code == 200
    return len(queries)


def test_the_list_takes_the_same_number_of_queries_whatever_the_number_of_rows(client, north):
    # Same filters on show before and after (an assignee filter appears once someone is assigned).
    make_submission(north.appeal, assignee=north.officer)
    sign_in(client, north.officer)
    list_queries(client)  # warm the session and content-type caches
    few = list_queries(client)
    for number in range(12):
        submission = make_submission(north.appeal, assignee=north.officer)
        store_media_file(submission, content=f"file {number}".encode())
    assert list_queries(client) == few


def test_the_filters_show_facet_counts_and_assigned_to_me(client, north):
    make_submission(north.appeal, assignee=north.officer)
    sign_in(client, north.officer)
    url = reverse("admin:submissions_submission_changelist")
    page = client.get(url).content.decode()
    assert "Assigned to me (1)" in page
    assert "New (2)" in page
    mine = client.get(url, {"mine": "yes"}).content.decode()
    assert "1 submission" in mine


def test_the_index_counts_each_open_appeals_submissions_and_files_with_links(client, north):
    make_submission(north.appeal)
    # Most of the footage plays; one file could not be processed. The playable files still count.
    footage = make_submission(north.appeal)
    for number in range(3):
        store_media_file(footage, content=f"clip {number}".encode(), state=MediaFile.State.READY)
    store_media_file(footage, content=b"dvr export", state=MediaFile.State.UNPROCESSABLE)
    quarantined = make_submission(north.appeal, state=State.IN_REVIEW)
    store_media_file(quarantined, content=b"bad", state=MediaFile.State.QUARANTINED)
    sign_in(client, north.officer)
    response = client.get(reverse("admin:index"))
    appeal = response.context["open_appeals"][0]
    assert (appeal.new_count, appeal.in_review_count, appeal.ready_files, appeal.problem_files) == (3, 1, 3, 2)
    page = response.content.decode()
    assert "3 files ready to watch in CAD101/01JAN" in page
    ready = f"?appeal__id__exact={north.appeal.pk}&amp;media=ready"
    problem = f"?appeal__id__exact={north.appeal.pk}&amp;media=problem"
    assert ready in page and problem in page
    changelist = reverse("admin:submissions_submission_changelist")
    listed = client.get(changelist + ready.replace("&amp;", "&"))
    assert list(listed.context["cl"].result_list) == [footage]
    listed = client.get(changelist + problem.replace("&amp;", "&"))
    assert set(listed.context["cl"].result_list) == {footage, quarantined}


def test_videos_whose_web_copy_is_being_made_are_counted_apart_from_those_ready_to_watch(client, north):
    # Each had its first look; the player is still waiting for three web copies.
    videos = make_submission(north.appeal)
    for number, web_copy in enumerate([WebCopy.WAITING, WebCopy.MAKING, WebCopy.MADE, WebCopy.FAILED]):
        store_media_file(videos, content=f"clip {number}".encode(), state=MediaFile.State.READY, proxy_state=web_copy)
    doorbell = make_submission(north.appeal)
    store_media_file(doorbell, content=b"doorbell", state=MediaFile.State.READY, proxy_state=WebCopy.WAITING)
    sign_in(client, north.officer)
    response = client.get(reverse("admin:index"))
    appeal = response.context["open_appeals"][0]
    # A failed web copy leaves the poster, the contact sheet and the original, and nothing more is coming.
    assert (appeal.ready_files, appeal.web_copy_pending_files, appeal.problem_files) == (2, 3, 0)
    page = response.content.decode()
    assert "2 files ready to watch in CAD101/01JAN" in page
    assert "3 files with a web copy being made in CAD101/01JAN" in page
    web_copy = f"?appeal__id__exact={north.appeal.pk}&amp;media=web_copy"
    assert web_copy in page
    changelist = reverse("admin:submissions_submission_changelist")
    listed = client.get(changelist + web_copy.replace("&amp;", "&"))
    assert set(listed.context["cl"].result_list) == {videos, doorbell}
    assert "0 of 1 ready, 1 web copy being made" in listed.content.decode()
    listed = client.get(changelist, {"appeal__id__exact": north.appeal.pk, "media": "ready"})
    assert list(listed.context["cl"].result_list) == [videos]
    assert "2 of 4 ready, 2 web copy being made" in listed.content.decode()


def index_queries(client):
    with CaptureQueriesContext(connection) as queries:
        response = client.get(reverse("admin:index"))
    assert response.status_code == 200
    return len(queries)


def test_the_index_takes_the_same_number_of_queries_whatever_the_number_of_appeals_and_files(client, north):
    sign_in(client, north.officer)
    index_queries(client)  # warm the session and content-type caches
    few = index_queries(client)
    for number in range(3):
        submission = make_submission(make_appeal(north.incident, headline=f"Second appeal {number}"))
        for web_copy in [WebCopy.WAITING, WebCopy.MADE]:
            content = f"{web_copy} clip {number}".encode()
            store_media_file(submission, content=content, state=MediaFile.State.READY, proxy_state=web_copy)
    assert index_queries(client) == few
