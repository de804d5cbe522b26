import io

import pillow_heif
import pytest
from PIL import Image

from submissions.files import FileRefused, check_content_type, detect_content_type, sanitise_filename

pillow_heif.register_heif_opener()


@pytest.mark.parametrize(
    ("name", "shown"),
    [
        ("clip.mp4", "clip.mp4"),
        ("C:\\Users\\sam\\DCIM\\clip.mp4", "clip.mp4"),
        ("../../etc/passwd", "passwd"),
        ("evil\u202egpj.exe", "evilgpj.exe"),
        ("na\x00me\x07.jpg", "name.jpg"),
        ("  spaced   out .mov ", "spaced out .mov"),
        ("", "Unnamed file"),
        ("/", "Unnamed file"),
    ],
)
def test_filenames_are_made_safe_to_show(name, shown):
    assert sanitise_filename(name) == shown


def test_long_filenames_keep_their_extension():
    shown = sanitise_filename("a" * 400 + ".mp4")
    assert len(shown) == 255
    assert shown.endswith("….mp4")


def image_bytes(kind):
    buffer = io.BytesIO()
    Image.new("RGB", (32, 32), "red").save(buffer, kind)
    return buffer.getvalue()


@pytest.mark.parametrize(
    ("head", "content_type"),
    [
        (image_bytes("JPEG"), "image/jpeg"),
        (image_bytes("PNG"), "image/png"),
        (b"\x47" + b"\x00" * 187 + b"\x47" + b"\x00" * 187 + b"\x47" + b"\x00" * 187, "video/mp2t"),
        (b"\x00" * 4 + (b"\x47" + b"\x00" * 191) * 3, "video/mp2t"),
        (b"DHAV\xfd\x00\x00\x00" + b"\x00" * 100, "video/x-dahua-dav"),
        (b"DAHUA".ljust(1024, b"\x00") + b"DHAV\xfd\x00\x00\x00" + b"\x00" * 100, "video/x-dahua-dav"),
        (b"\x00\x00\x00\x01\x67\x64\x00\x1f" + b"\x00" * 100, "video/h264"),
        (b"\x00\x00\x00\x01\x40\x01\x0c\x01" + b"\x00" * 100, "video/h265"),
    ],
)
def test_footage_is_recognised_by_content(head, content_type):
    assert detect_content_type(head) == content_type
    assert check_content_type(head, "anything.bin") == content_type


def test_a_program_named_like_a_video_is_refused_with_an_offer_of_101():
    with pytest.raises(FileRefused) as refused:
        check_content_type(b"MZ\x90\x00" + b"\x00" * 200, "dashcam.mp4")
    assert "dashcam.mp4 is not a video or photo" in refused.value.message
    assert "call 101" in refused.value.message


def test_an_image_sequence_no_tool_here_can_make_is_refused_with_an_offer_of_101():
    photo = image_bytes("HEIF")
    sequence = photo[:8] + b"msf1" + photo[12:]
    with pytest.raises(FileRefused) as refused:
        check_content_type(sequence, "burst.heics")
    assert "burst.heics is not a video or photo we can accept" in refused.value.message
    assert "call 101" in refused.value.message
