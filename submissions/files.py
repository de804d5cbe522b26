"""What witnesses may send, decided by content, and how their filenames are kept safe for display."""

import os
import unicodedata
from dataclasses import dataclass

import magic
from django.conf import settings

# How much of the start of a file is read to tell what it is.
SNIFF_BYTES = 64 * 1024
MAX_FILENAME_LENGTH = 255


@dataclass(frozen=True)
class Kind:
    """A kind of file witnesses may send: its name for people, its type as detected from the content, and
    the extensions it usually has (offered by the file picker; the content decides, not the name)."""

    name: str
    content_type: str
    extensions: tuple[str, ...]


# Every kind here must end ready with a preview (and for video a poster and a web proxy): the test
# corpus in tests/submissions/test_corpus.py has a sample of each, run through the whole pipeline.
KINDS = [
    Kind("MP4 video", "video/mp4", ("mp4",)),
    Kind("M4V video", "video/x-m4v", ("m4v",)),
    Kind("QuickTime video (iPhone)", "video/quicktime", ("mov", "qt")),
    Kind("3GP phone video", "video/3gpp", ("3gp",)),
    Kind("3G2 phone video", "video/3gpp2", ("3g2",)),
    Kind("Matroska video", "video/x-matroska", ("mkv",)),
    Kind("WebM video", "video/webm", ("webm",)),
    Kind("AVI video", "video/x-msvideo", ("avi",)),
    Kind("Windows Media video", "video/x-ms-asf", ("wmv", "asf")),
    Kind("MPEG transport stream (DVR, camcorder)", "video/mp2t", ("ts", "mts", "m2ts")),
    Kind("MPEG video (DVD recorder, older camcorder)", "video/mpeg", ("mpg", "mpeg", "vob")),
    Kind("Raw H.264 video (DVR)", "video/h264", ("264", "h264")),
    Kind("Raw H.265 video (DVR)", "video/h265", ("265", "h265", "hevc")),
    Kind("Dahua CCTV video", "video/x-dahua-dav", ("dav",)),
    Kind("JPEG photo", "image/jpeg", ("jpg", "jpeg")),
    Kind("PNG image", "image/png", ("png",)),
    Kind("HEIC photo (iPhone)", "image/heic", ("heic",)),
    Kind("HEIF photo", "image/heif", ("heif", "hif")),
]
KINDS_BY_TYPE = {kind.content_type: kind for kind in KINDS}


def accept_attribute() -> str:
    """The file input's accept list: any video or image (so phones offer their galleries) and our extensions."""
    return ",".join(["video/*", "image/*", *(f".{extension}" for kind in KINDS for extension in kind.extensions)])


class FileRefused(Exception):
    """A file we will not keep, with a message for the witness."""

    def __init__(self, message: str, status: int = 422):
        super().__init__(message)
        self.message = message
        self.status = status


REFUSED_TYPE_MESSAGE = (
    "{name} is not a video or photo we can accept: send video or photos, like MP4, MOV, AVI, JPG or HEIC. "
    "If your camera system only exports a player program, call 101 and an officer will collect the footage."
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
    # Dahua CCTV recorders' .dav files: frames that start "DHAV", after a 1 KiB "DAHUA" header in some exports.
    if head.startswith((b"DHAV", b"DAHUA")):
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
    if content_type not in KINDS_BY_TYPE:
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
