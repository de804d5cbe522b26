from io import BytesIO

import pytest
from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import IntegrityError
from PIL import Image

from appeals.models import Appeal, AppealImage
from tests.appeals.images import change_form_data, jpeg_with_location, make_image, sign_in_to_edit
from tests.factories import make_appeal, make_incident, make_officer
from tests.officers import sign_in


def open_public(image):
    with image.public.open("rb") as f:
        data = f.read()
    return data, Image.open(BytesIO(data))


@pytest.mark.django_db
def test_the_public_copy_of_a_released_image_carries_no_metadata():
    image = make_image(make_appeal())
    data, public = open_public(image)

    assert public.format == "JPEG"
    assert len(public.getexif()) == 0
    assert not {"exif", "icc_profile", "comment", "xmp"} & set(public.info)
    assert b"Secret" not in data
    assert b"GPS" not in data


@pytest.mark.django_db
def test_the_public_copy_keeps_the_camera_rotation_in_its_pixels():
    # Orientation 6: the camera was turned, so the picture is shown rotated 90 degrees clockwise.
    image = make_image(make_appeal(), original=jpeg_with_location(width=40, height=20, orientation=6))
    _data, public = open_public(image)
    assert (image.width, image.height) == public.size == (20, 40)


@pytest.mark.django_db
def test_large_images_are_scaled_down_for_phones():
    image = make_image(make_appeal(), original=jpeg_with_location(width=4000, height=1000))
    assert (image.width, image.height) == (1600, 400)


@pytest.mark.django_db
def test_the_original_is_kept_privately_under_a_generated_name():
    image = make_image(make_appeal())
    assert "Secret" not in image.original.name
    assert image.original.storage.location != image.public.storage.location


@pytest.mark.django_db
def test_a_released_image_needs_alt_text():
    appeal = make_appeal()
    with pytest.raises(ValidationError) as error:
        AppealImage(appeal=appeal, original=jpeg_with_location(), alt_text="  ").full_clean()
    assert "alt_text" in error.value.message_dict
    with pytest.raises(IntegrityError):
        make_image(appeal, alt_text="")


@pytest.mark.django_db
def test_released_images_are_served_for_published_appeals_only(client):
    published = make_image(make_appeal())
    draft = make_image(make_appeal(make_incident("CAD2/01JAN"), headline="Draft", status=Appeal.Status.DRAFT))

    response = client.get(published.get_absolute_url())
    assert response.status_code == 200
    assert response["Content-Type"] == "image/jpeg"
    assert "public" in response["Cache-Control"]
    assert b"".join(response.streaming_content)[:2] == b"\xff\xd8"
    assert not response.cookies

    again = client.get(published.get_absolute_url(), headers={"If-Modified-Since": response["Last-Modified"]})
    assert again.status_code == 304

    assert client.get(draft.get_absolute_url()).status_code == 404
    assert client.get(f"/appeals/{draft.appeal.slug}/images/{published.pk}.jpg").status_code == 404


@pytest.mark.django_db
def test_officers_previewing_a_draft_see_its_images(client):
    image = make_image(make_appeal(status=Appeal.Status.DRAFT))
    sign_in(client, image.appeal.incident.officer_in_charge)
    response = client.get(image.get_absolute_url())
    assert response.status_code == 200
    assert response["Cache-Control"] == "private, no-store"

    sign_in(client, make_officer("other-team"))
    assert client.get(image.get_absolute_url()).status_code == 404


@pytest.mark.django_db
def test_the_appeal_page_shows_released_images_with_their_alt_text_and_shares_the_first(client):
    appeal = make_appeal()
    first = make_image(appeal, alt_text="First still", position=0)
    make_image(appeal, alt_text="Second still", position=1)

    page = client.get(appeal.get_absolute_url()).text
    assert 'alt="First still"' in page
    assert 'alt="Second still"' in page
    assert f'<meta property="og:image" content="{settings.SITE_URL}{first.get_absolute_url()}">' in page


@pytest.mark.django_db
def test_an_officer_adds_a_released_image_in_the_admin(client):
    appeal = make_appeal()
    officer = appeal.incident.officer_in_charge
    officer.is_superuser = True
    officer.save()
    sign_in(client, officer)
    url = f"/admin/appeals/appeal/{appeal.pk}/change/"
    form = client.get(url).context["adminform"].form
    data = {name: value for name, value in form.initial.items() if value is not None}
    data.update(incident=appeal.incident.pk, footage_sought="[]", status=appeal.status)
    data.update(
        {
            "images-TOTAL_FORMS": 1,
            "images-INITIAL_FORMS": 0,
            "images-0-original": jpeg_with_location(),
            "images-0-caption": "Camera 2, 7:09pm",
            "images-0-position": 0,
            "updates-TOTAL_FORMS": 0,
            "updates-INITIAL_FORMS": 0,
        }
    )

    without_alt = client.post(url, data)
    assert without_alt.status_code == 200
    assert not appeal.images.exists()

    data["images-0-original"] = jpeg_with_location()
    data["images-0-alt_text"] = "CCTV still of two people by a bus stop"
    assert client.post(url, data).status_code == 302
    image = appeal.images.get()
    _data, public = open_public(image)
    assert len(public.getexif()) == 0
    assert image.caption == "Camera 2, 7:09pm"


@pytest.mark.django_db
def test_an_officer_changes_the_alt_text_of_an_image_already_released(client):
    appeal = make_appeal()
    image = make_image(appeal, alt_text="A still")
    sign_in_to_edit(client, appeal)
    data = change_form_data(client, appeal, [image])
    data["images-0-alt_text"] = "CCTV still of a man in a grey hooded top by the garages"

    assert client.post(f"/admin/appeals/appeal/{appeal.pk}/change/", data).status_code == 302
    image.refresh_from_db()
    assert image.alt_text == "CCTV still of a man in a grey hooded top by the garages"
