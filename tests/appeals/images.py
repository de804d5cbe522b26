"""Small images built in memory for tests."""

from io import BytesIO

from django.core.files.uploadedfile import SimpleUploadedFile
from PIL import Image

from appeals.models import AppealImage


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
