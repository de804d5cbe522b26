import io
import shutil
import subprocess

import pytest
from PIL import Image

from submissions.files import FileRefused, check_content_type, detect_content_type, sanitise_filename
from tests.conftest import require


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
        (b"\x00\x00\x00\x01\x67\x64\x00\x1f" + b"\x00" * 100, "video/h264"),
        (b"\x00\x00\x00\x01\x40\x01\x0c\x01" + b"\x00" * 100, "video/h265"),
    ],
)
def test_footage_is_recognised_by_content(head, content_type):
    assert detect_content_type(head) == content_type
    assert check_content_type(head, "anything.bin") == content_type


@pytest.mark.parametrize("extension", ["mp4", "mov", "mkv", "avi", "webm", "3gp", "wmv", "ts"])
def test_video_containers_made_by_ffmpeg_are_accepted(tmp_path, extension):
    require(shutil.which("ffmpeg") is not None, "ffmpeg")
    path = tmp_path / f"clip.{extension}"
    codec = {
        "webm": ["-c:v", "libvpx"],
        "wmv": ["-c:v", "wmv2"],
        "avi": ["-c:v", "mpeg4"],
        "3gp": ["-c:v", "h263", "-s", "176x144"],
    }
    subprocess.run(
        [
            "ffmpeg",
            "-v",
            "error",
            "-f",
            "lavfi",
            "-i",
            "testsrc2=size=160x120:rate=5",
            "-t",
            "1",
            *codec.get(extension, []),
            str(path),
        ],
        check=True,
    )
    assert check_content_type(path.read_bytes()[:65536], path.name).startswith("video/")


def test_a_program_named_like_a_video_is_refused_with_an_offer_of_101():
    with pytest.raises(FileRefused) as refused:
        check_content_type(b"MZ\x90\x00" + b"\x00" * 200, "dashcam.mp4")
    assert "dashcam.mp4 is not a video or photo" in refused.value.message
    assert "call 101" in refused.value.message
