"""What witnesses may send, decided by content, and how their filenames are kept safe for display."""

import os
import unicodedata

import magic
from django.conf import settings

# How much of the start of a file is read to tell what it is.
SNIFF_BYTES = 64 * 1024
MAX_FILENAME_LENGTH = 255

ACCEPTED_TYPES = {
    "video/mp4",
    "video/quicktime",
    "video/x-m4v",
    "video/x-msvideo",
    "video/avi",
    "video/x-matroska",
    "video/webm",
    "video/mp2t",
    "video/3gpp",
    "video/3gpp2",
    "video/x-ms-asf",
    "video/x-ms-wmv",
    "video/x-dahua-dav",
    "video/h264",
    "video/h265",
    "image/jpeg",
    "image/png",
    "image/heic",
    "image/heif",
    "image/heic-sequence",
    "image/heif-sequence",
}


class FileRefused(Exception):
    """A file we will not keep, with a message for the witness."""

    def __init__(self, message: str, status: int = 422):
        super().__init__(message)
        self.message = message
        self.status = status


REFUSED_TYPE_MESSAGE = (
    "{name} is not a video or photo we can accept. Send video or photos only (for example MP4, MOV, AVI, "
    "JPG or HEIC), not programs, zip files or documents. If your camera system only exports a player "
    "program, or you cannot send the footage here, call 101 and an officer will arrange to collect it."
)


def too_many_files_message() -> str:
    return f"You can add up to {settings.UPLOAD_MAX_FILES} files. To send more, call 101 and quote your reference."


def detect_content_type(head: bytes) -> str:
    """The type of a file from its first bytes: libmagic first, then formats libmagic does not know."""
    detected = magic.from_buffer(head, mime=True)
    if detected != "application/octet-stream":
        return detected
    # MPEG transport streams (.ts, .mts, .m2ts): a sync byte every 188 bytes, after a 4-byte prefix in m2ts.
    for prefix in (0, 4):
        packet = 188 + prefix
        if len(head) >= prefix + 3 * packet and all(head[prefix + i * packet] == 0x47 for i in range(3)):
            return "video/mp2t"
    # Dahua CCTV recorders' .dav files.
    if head.startswith(b"DHAV"):
        return "video/x-dahua-dav"
    # Raw H.264/H.265 (.264, .h264, .h265) from DVRs: an Annex B start code, then a parameter set or delimiter.
    for start_code in (b"\x00\x00\x00\x01", b"\x00\x00\x01"):
        if head.startswith(start_code) and len(head) > len(start_code):
            nal = head[len(start_code)]
            if nal & 0x1F in (6, 7, 9) and not nal & 0x80:
                return "video/h264"
            if (nal >> 1) & 0x3F in (32, 33, 35, 39):
                return "video/h265"
    return detected


def check_content_type(head: bytes, filename: str) -> str:
    content_type = detect_content_type(head)
    if content_type not in ACCEPTED_TYPES:
        raise FileRefused(REFUSED_TYPE_MESSAGE.format(name=filename))
    return content_type


def sanitise_filename(name: str) -> str:
    """A witness's filename made safe to show: no folders, control or bidi characters, a sane length."""
    name = unicodedata.normalize("NFC", name or "")
    name = name.replace("\\", "/").rsplit("/", 1)[-1]
    # Cc: control characters including NUL; Cf: formatting, including the bidi overrides that disguise
    # "evil\u202egpj.exe" as "evilexe.jpg".
    name = "".join(char for char in name if unicodedata.category(char) not in ("Cc", "Cf", "Zl", "Zp"))
    name = " ".join(name.split()).strip(" .")
    if len(name) > MAX_FILENAME_LENGTH:
        stem, extension = os.path.splitext(name)
        extension = extension[:16]
        name = stem[: MAX_FILENAME_LENGTH - len(extension) - 1] + "…" + extension
    return name or "Unnamed file"
