"""Photos made safe to show: upright, fitted in a box, and nothing but the pixels."""

from PIL import Image, ImageOps


def clean_jpeg(source: Image.Image, box: tuple[int, int], output, **options) -> tuple[int, int]:
    """Save `source` to `output` as a JPEG with no EXIF, GPS, XMP, ICC profile or comments; returns its size.

    The camera's rotation is applied to the pixels before the orientation tag goes, and the picture is
    shrunk (never enlarged) to fit `box`. JPEGs are decoded at a reduced scale where that is enough.
    """
    source.draft("RGB", box)
    upright = ImageOps.exif_transpose(source).convert("RGB")
    upright.thumbnail(box)
    # A fresh image holds pixels only, so nothing from the source's info dictionary can follow it.
    clean = Image.new("RGB", upright.size)
    clean.paste(upright)
    clean.save(output, "JPEG", quality=85, **options)
    return clean.size
