"""An officer's triage in a real browser: TOTP sign-in, filter, open, play and seek, assign, decide, export."""

import io
import json
import zipfile

import pytest
from PIL import Image
from playwright.sync_api import expect

from evidence.models import AuditEntry, EvidenceExport
from submissions.models import Derivative, MediaFile, Submission
from tests.browser.conftest import assert_accessible, open_page
from tests.factories import make_submission
from tests.officers import add_derivative, authenticator, current_code, team_with_submission, tiny_mp4

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


@pytest.fixture
def desk_page(browser, live_server):
    """Officers triage at a desk: a laptop-sized page."""
    with open_page(browser, live_server, 1280, 900) as page:
        yield page


def jpeg():
    buffer = io.BytesIO()
    Image.new("RGB", (160, 120), "navy").save(buffer, "JPEG")
    return buffer.getvalue()


def test_an_officer_triages_a_submission_with_footage(desk_page):
    page = desk_page
    north = team_with_submission(
        "North team", "101", account="A red car sped off towards the estate.", proxy=tiny_mp4()
    )
    MediaFile.objects.filter(pk=north.media_file.pk).update(
        state=MediaFile.State.READY, metadata={"duration": 4.0, "width": 160, "height": 120, "codec": "h264"}
    )
    proxy = north.proxy
    add_derivative(north.media_file, Derivative.Kind.POSTER, jpeg())
    make_submission(north.appeal, state=Submission.State.IN_REVIEW, assignee=north.officer)
    device = authenticator(north.officer)

    console_errors = []
    page.on(
        "console",
        lambda m: console_errors.append(f"{m.text} {m.location['url']}") if m.type == "error" else None,
    )
    page.on("response", lambda r: console_errors.append(f"{r.status} {r.url}") if r.status >= 400 else None)
    page.goto("/admin/")
    assert_accessible(page)
    page.get_by_label("Username").fill(north.officer.username)
    page.get_by_label("Password").fill("officer-password")
    page.get_by_label("Authentication code").fill(current_code(device))
    page.get_by_role("button", name="Sign in").click()
    expect(page.get_by_role("table", name="Open appeals: submissions to triage")).to_be_visible()
    assert_accessible(page)

    page.locator("tr.model-submission").get_by_role("link", name="Submissions").click()
    page.locator("#changelist-filter").get_by_role("link", name="New (1)").click()
    expect(page.locator("#result_list tbody tr")).to_have_count(1)
    assert_accessible(page)

    statuses = []
    page.on("response", lambda r: statuses.append(r.status) if f"/evidence/derivative/{proxy.pk}/" in r.url else None)
    page.get_by_role("link", name=north.submission.reference).click()
    expect(page.get_by_text("A red car sped off towards the estate.")).to_be_visible()
    page.wait_for_load_state("load")  # the autocomplete's labels are fixed up on load
    assert_accessible(page)

    video = page.locator("video.evidence-player")
    video.evaluate("v => { v.muted = true; return v.play(); }")
    seeked_to = video.evaluate(
        """v => new Promise((resolve, reject) => {
            v.addEventListener("seeked", () => resolve(v.currentTime), {once: true});
            v.addEventListener("error", () => reject(new Error("media error " + v.error.code)), {once: true});
            v.currentTime = 3;
        })"""
    )
    assert seeked_to == pytest.approx(3, abs=0.2)
    assert 206 in statuses
    assert AuditEntry.objects.filter(action=AuditEntry.Action.PLAYED_FILE, actor=north.officer).count() == 1

    page.get_by_role("link", name="Download the original of DASH0001.MP4").click()
    assert_accessible(page)
    page.get_by_label("Why do you need the original file?").fill("Sent to the digital forensics unit")
    with page.expect_download() as original:
        page.get_by_role("button", name="Download the original").click()
    assert original.value.suggested_filename == "DASH0001.MP4"
    page.go_back()

    page.locator("#select2-id_assignee-container").click()
    page.locator(".select2-search__field").fill(north.officer.username[:7])
    page.locator(".select2-results__option", has_text=north.officer.username).click()
    page.get_by_label("State").select_option(label="In review")
    page.get_by_role("button", name="Save and continue editing").click()
    expect(page.locator(".messagelist")).to_contain_text("was changed successfully")

    page.get_by_label("State").select_option(label="Actioned")
    page.get_by_label("Decision reason").fill("Shows the car's registration: passed to the investigation team.")
    page.get_by_role("button", name="Save and continue editing").click()
    expect(page.locator(".messagelist")).to_contain_text("was changed successfully")
    submission = Submission.objects.get(pk=north.submission.pk)
    assert (submission.state, submission.assignee) == (Submission.State.ACTIONED, north.officer)

    page.get_by_role("button", name="Export evidence").click()
    expect(page.locator(".messagelist")).to_contain_text("is being built")
    export = EvidenceExport.objects.get(submission=submission)
    with page.expect_download() as download:
        page.get_by_role("link", name=f"Download export {export.pk}").click()
    with zipfile.ZipFile(download.value.path()) as archive:
        manifest = json.loads(archive.read("manifest.json"))
    assert manifest["submission"]["state"] == "actioned"
    # The admin runs under the site's strict CSP: no script is blocked and nothing fails to load. (Select2
    # builds a few elements with style attributes, which the CSP drops without visible effect.)
    # (axe-core itself fetches the admin's CSS @import relative to the page, and gets 404s: not ours.)
    problems = [
        error
        for error in console_errors
        if not error.startswith("Applying inline style violates") and not error.endswith("/widgets.css")
    ]
    assert problems == [], "\n".join(problems)
    assert {"played_file", "changed_state", "assigned", "requested_export"} <= {
        entry["action"] for entry in manifest["audit_trail"]
    }
