import pytest
from django.conf import settings
from django.contrib.admin.models import LogEntry
from django.db import transaction

from appeals.models import Appeal
from tests.appeals.images import change_form_data, make_image, sign_in_to_edit
from tests.factories import make_appeal
from tests.officers import sign_in

pytestmark = pytest.mark.django_db


def share_tags(page):
    return [
        line.strip() for line in page.splitlines() if 'property="og:image"' in line or 'name="twitter:image"' in line
    ]


def test_a_withdrawn_image_is_gone_from_the_page_its_share_tags_and_its_address(
    client, django_capture_on_commit_callbacks
):
    appeal = make_appeal()
    first = make_image(appeal, alt_text="First still", position=0)
    second = make_image(appeal, alt_text="Second still", position=1)
    page = client.get(appeal.get_absolute_url()).text
    assert first.get_absolute_url() in page
    assert all(first.get_absolute_url() in tag for tag in share_tags(page))
    assert client.get(first.get_absolute_url()).status_code == 200

    with django_capture_on_commit_callbacks(execute=True):
        assert first.withdraw(by=appeal.incident.officer_in_charge)

    # The page was in the server's cache: that copy must not be served any more.
    page = client.get(appeal.get_absolute_url()).text
    assert first.get_absolute_url() not in page
    assert "First still" not in page
    assert 'alt="Second still"' in page
    tags = share_tags(page)
    assert len(tags) == 2
    assert all(f"{settings.SITE_URL}{second.get_absolute_url()}" in tag for tag in tags)
    response = client.get(first.get_absolute_url())
    assert response.status_code == 410
    assert not first.public.storage.exists(first.public.name)
    # The original stays in the private storage, as the record of what was released.
    assert first.original.storage.exists(first.original.name)
    assert client.get(second.get_absolute_url()).status_code == 200


def test_with_every_image_withdrawn_the_page_shares_the_site_image(client, django_capture_on_commit_callbacks):
    appeal = make_appeal()
    image = make_image(appeal)
    with django_capture_on_commit_callbacks(execute=True):
        image.withdraw()
    page = client.get(appeal.get_absolute_url()).text
    assert "Released images" not in page
    assert all("/static/images/share" in tag for tag in share_tags(page))
    assert image.get_absolute_url() not in page


def test_an_officer_previewing_the_page_no_longer_sees_a_withdrawn_image(client, django_capture_on_commit_callbacks):
    appeal = make_appeal(status=Appeal.Status.DRAFT)
    image = make_image(appeal)
    with django_capture_on_commit_callbacks(execute=True):
        image.withdraw()
    sign_in(client, appeal.incident.officer_in_charge)
    assert image.get_absolute_url() not in client.get(f"{appeal.get_absolute_url()}preview/").text
    assert client.get(image.get_absolute_url()).status_code == 410


def test_released_images_are_cached_no_longer_than_a_public_page(client, settings):
    settings.PUBLIC_PAGE_SHARED_MAX_AGE = 3
    appeal = make_appeal()
    image = make_image(appeal)
    expected = {"public", "max-age=0", "s-maxage=3", "stale-while-revalidate=3"}
    assert set(client.get(image.get_absolute_url())["Cache-Control"].split(", ")) == expected
    assert set(client.get(appeal.get_absolute_url())["Cache-Control"].split(", ")) == expected


def test_withdrawing_twice_changes_nothing(django_capture_on_commit_callbacks):
    appeal = make_appeal()
    image = make_image(appeal)
    with django_capture_on_commit_callbacks(execute=True):
        assert image.withdraw(by=appeal.incident.officer_in_charge)
    withdrawn_at = image.withdrawn_at
    assert not image.withdraw()
    image.refresh_from_db()
    assert image.withdrawn_at == withdrawn_at
    assert image.withdrawn_by == appeal.incident.officer_in_charge


def test_a_withdrawal_rolled_back_leaves_the_image_public(client, django_capture_on_commit_callbacks):
    image = make_image(make_appeal())
    with django_capture_on_commit_callbacks(execute=True), pytest.raises(RuntimeError), transaction.atomic():
        image.withdraw()
        raise RuntimeError("the officer's save failed")
    image.refresh_from_db()
    assert image.withdrawn_at is None
    assert image.public.storage.exists(image.public.name)
    assert client.get(image.get_absolute_url()).status_code == 200


def test_closing_an_appeal_withdraws_its_images_unless_kept_on_purpose(client, django_capture_on_commit_callbacks):
    appeal = make_appeal()
    suspect = make_image(appeal, alt_text="CCTV still of a man in a grey hooded top")
    property_ = make_image(appeal, alt_text="Photo of a stolen gold watch", keep_after_closing=True)
    client.get(appeal.get_absolute_url())

    with django_capture_on_commit_callbacks(execute=True):
        appeal.close()

    suspect.refresh_from_db()
    property_.refresh_from_db()
    assert suspect.withdrawn_at is not None
    assert property_.withdrawn_at is None
    page = client.get(appeal.get_absolute_url()).text
    assert "This appeal has closed" in page
    assert suspect.get_absolute_url() not in page
    assert property_.get_absolute_url() in page
    assert client.get(suspect.get_absolute_url()).status_code == 410
    assert client.get(property_.get_absolute_url()).status_code == 200


def test_an_officer_withdraws_an_image_in_the_admin(client, django_capture_on_commit_callbacks):
    appeal = make_appeal()
    kept, withdrawn = make_image(appeal, alt_text="Kept still"), make_image(appeal, alt_text="Withdrawn still")
    officer = sign_in_to_edit(client, appeal)
    data = change_form_data(client, appeal, [kept, withdrawn])
    data["images-1-withdraw"] = "on"

    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(f"/admin/appeals/appeal/{appeal.pk}/change/", data, follow=True)

    assert "Withdrawn: the image “Withdrawn still”." in response.text
    withdrawn.refresh_from_db()
    kept.refresh_from_db()
    assert withdrawn.withdrawn_by == officer
    assert kept.withdrawn_at is None
    entry = LogEntry.objects.get(object_id=str(appeal.pk), change_message="Withdrew the image “Withdrawn still”")
    assert entry.user == officer
    assert client.get(withdrawn.get_absolute_url()).status_code == 410
    form = client.get(f"/admin/appeals/appeal/{appeal.pk}/change/").text
    assert f"Withdrawn on {withdrawn.withdrawn_at:%A}" in form
    assert "no longer shown to the public" in form


def test_images_are_withdrawn_not_deleted_in_the_admin(client):
    appeal = make_appeal()
    image = make_image(appeal)
    sign_in_to_edit(client, appeal)
    data = change_form_data(client, appeal, [image])
    data["images-0-DELETE"] = "on"
    client.post(f"/admin/appeals/appeal/{appeal.pk}/change/", data)
    assert appeal.images.filter(pk=image.pk).exists()


def test_closing_an_appeal_in_the_admin_records_who_withdrew_its_images(client, django_capture_on_commit_callbacks):
    appeal = make_appeal()
    image = make_image(appeal)
    officer = sign_in_to_edit(client, appeal)
    with django_capture_on_commit_callbacks(execute=True):
        client.post(f"/admin/appeals/appeal/{appeal.pk}/close/")
    image.refresh_from_db()
    assert image.withdrawn_by == officer
    assert client.get(image.get_absolute_url()).status_code == 410
