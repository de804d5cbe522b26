"""Small images built in memory for tests, and the admin form that edits them."""

from io import BytesIO

from django.core.files.uploadedfile import SimpleUploadedFile
from PIL import Image

from appeals.models import AppealImage
from tests.officers import sign_in


def jpeg_with_location(width=40, height=20, orientation=1):
    """A JPEG carrying GPS, camera and orientation EXIF, as a phone or CCTV export might."""
    image = Image.new("RGB", (width, height), "red")
    image.paste(Image.new("RGB", (width // 2, height), "blue"), (width // 2, 0))
    exif = Image.Exif()
    exif[0x010F] = "CameraMaker"  # Make
    exif[0x0110] = "SecretCam 3000"  # Model
    exif[0x0112] = orientation
    exif[0x8825] = {1: "N", 2: (51.0, 35.0, 52.0), 3: "W", 4: (0.0, 14.0, 50.0)}  # GPS
    buffer = BytesIO()
    image.save(buffer, format="JPEG", exif=exif, comment=b"taken at 12 Secret Road")
    return SimpleUploadedFile("IMG_0001 at 12 Secret Road.jpg", buffer.getvalue(), content_type="image/jpeg")


def make_image(appeal, **fields):
    fields.setdefault("alt_text", "CCTV still of a person in a grey hooded top")
    original = fields.pop("original", None) or jpeg_with_location()
    return AppealImage.objects.create(appeal=appeal, original=original, **fields)


def change_form_data(client, appeal, images):
    form = client.get(f"/admin/appeals/appeal/{appeal.pk}/change/").context["adminform"].form
    data = {name: value for name, value in form.initial.items() if value is not None}
    data.update(incident=appeal.incident.pk, footage_sought="[]")
    data.update({"images-TOTAL_FORMS": len(images), "images-INITIAL_FORMS": len(images)})
    data.update({"updates-TOTAL_FORMS": 0, "updates-INITIAL_FORMS": 0})
    for number, image in enumerate(images):
        data.update(
            {
                f"images-{number}-id": image.pk,
                f"images-{number}-appeal": appeal.pk,
                f"images-{number}-alt_text": image.alt_text,
                f"images-{number}-caption": image.caption,
                f"images-{number}-position": image.position,
            }
        )
    return data


def sign_in_to_edit(client, appeal):
    """Sign in the appeal's officer in charge, allowed to change appeals and their images."""
    officer = appeal.incident.officer_in_charge
    officer.is_superuser = True
    officer.save(update_fields=["is_superuser"])
    sign_in(client, officer)
    return officer
