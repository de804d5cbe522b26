"""Small sample files built at test time with ffmpeg and Pillow, so no media is committed."""

import hashlib
import io
import shutil
import struct
import subprocess
import zlib

import pytest
from django.core.files.base import ContentFile
from PIL import Image

from submissions.models import MediaFile
from tests.conftest import require

TEST_SOURCE = ["-f", "lavfi", "-i", "testsrc2=size=320x240:rate=15", "-f", "lavfi", "-i", "sine=frequency=440"]
EICAR = b"X5O!P%@AP[4\\PZX54(P^)7CC)7}$" + b"EICAR-STANDARD-ANTIVIRUS-TEST-FILE!$H+H*"


class Samples:
    def __init__(self, directory):
        self.directory = directory

    def ffmpeg(self, name, *arguments):
        path = self.directory / name
        if not path.exists():
            subprocess.run(
                ["ffmpeg", "-nostdin", "-hide_banner", "-loglevel", "error", "-y", *arguments, str(path)], check=True
            )
        return path.read_bytes()

    def h264_mp4(self, seconds=2, size="320x240", pixel_format="yuv420p"):
        """H.264 as phones record it; with pixel_format="yuv444p", H.264 that browsers do not play."""
        source = [*TEST_SOURCE]
        source[3] = f"testsrc2=size={size}:rate=15"
        return self.ffmpeg(
            f"clip-{seconds}-{size}-{pixel_format}.mp4", *source, "-t", str(seconds), "-c:v", "libx264",
            "-preset", "ultrafast", "-pix_fmt", pixel_format, "-c:a", "aac",
        )  # fmt: skip

    def truncated_mp4(self):
        # Without +faststart the index (moov) is at the end: cutting the file loses it.
        whole = self.h264_mp4()
        return whole[: len(whole) // 2]

    def hevc_mov_with_gps(self):
        return self.ffmpeg(
            "iphone.mov", *TEST_SOURCE, "-t", "1", "-c:v", "libx265", "-x265-params", "log-level=error",
            "-tag:v", "hvc1", "-c:a", "aac",
            "-metadata", "com.apple.quicktime.location.ISO6709=+51.5855-000.2497+041.000/",
            "-metadata", "com.apple.quicktime.make=Apple", "-metadata", "com.apple.quicktime.model=iPhone 15",
            "-metadata", "creation_time=2026-03-18T21:40:00Z", "-movflags", "use_metadata_tags",
        )  # fmt: skip

    def mjpeg_avi(self):
        return self.ffmpeg("cctv.avi", *TEST_SOURCE, "-t", "1", "-c:v", "mjpeg", "-q:v", "5", "-c:a", "pcm_s16le")


def huge_png(width=30000, height=30000):
    """A valid, all-black 1-bit PNG of the given size: 100 KB on disk, 900 megapixels decoded."""
    row = b"\0" * (1 + (width + 7) // 8)
    compressor = zlib.compressobj(9)
    data = b"".join(compressor.compress(row) for _ in range(height)) + compressor.flush()

    def chunk(kind, body):
        return struct.pack(">I", len(body)) + kind + body + struct.pack(">I", zlib.crc32(kind + body))

    header = struct.pack(">IIBBBBB", width, height, 1, 0, 0, 0, 0)
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", data) + chunk(b"IEND", b"")


def photo_with_exif():
    """A 64x32 JPEG, taken sideways (orientation 6), with make, model, time and GPS in its EXIF."""
    image = Image.new("RGB", (64, 32), "red")
    image.paste("blue", (0, 0, 32, 32))
    exif = Image.Exif()
    exif[0x010F] = "Google"
    exif[0x0110] = "Pixel 8"
    exif[0x0112] = 6
    exif.get_ifd(0x8769)[0x9003] = "2026:03:18 21:40:00"
    exif.get_ifd(0x8825).update({1: "N", 2: (51.0, 35.0, 7.8), 3: "W", 4: (0.0, 14.0, 58.92)})
    buffer = io.BytesIO()
    image.save(buffer, "JPEG", exif=exif)
    return buffer.getvalue()


@pytest.fixture(scope="session")
def samples(tmp_path_factory):
    require(shutil.which("ffmpeg") and shutil.which("ffprobe"), "ffmpeg and ffprobe")
    return Samples(tmp_path_factory.mktemp("samples"))


def store_media_file(submission, content, filename="DASH0001.MP4", recorded_sha256=None):
    """A media file as the upload leaves it: the original stored, its size and hash recorded."""
    media_file = MediaFile(
        submission=submission,
        original_filename=filename,
        size=len(content),
        sha256=recorded_sha256 or hashlib.sha256(content).hexdigest(),
    )
    media_file.original.save("ignored-name", ContentFile(content), save=False)
    media_file.save()
    return media_file
