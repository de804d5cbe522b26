"""Every kind of file the upload accepts, made here with ffmpeg and Pillow, sent through the plain upload and
the whole pipeline (real ffmpeg, real clamd): each must end ready, with a poster and a proxy that plays, or a
preview for a photo."""

import io
import json
import re
import struct
import subprocess
from dataclasses import dataclass

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import TestCase
from PIL import Image

from submissions import media
from submissions.files import KINDS
from submissions.models import Derivative, MediaFile
from tests.factories import make_appeal, make_submission
from tests.services import wait_for
from tests.submissions.conftest import photo_with_exif

pytestmark = pytest.mark.django_db
TOKEN = "a-private-token-for-the-corpus"
# One second of colour bars with a tone (or without, for formats that carry only video).
SOURCE = "-f lavfi -i testsrc2=size=320x240:rate=15 -f lavfi -i sine=frequency=440 -t 1"
PICTURE_ONLY = "-f lavfi -i testsrc2=size=320x240:rate=15 -t 1"
H264 = "-c:v libx264 -preset ultrafast -pix_fmt yuv420p"
HEVC = "-c:v libx265 -preset ultrafast -x265-params log-level=error"
DVR_PICTURE = "-f lavfi -i testsrc2=size=352x288:rate=15 -t 2"
DVR_SOUND = "-f lavfi -i sine=frequency=440:sample_rate=8000 -t 2"
PHONE = "-c:v h263 -s 176x144 -c:a aac -ar 8000 -ac 1"


@dataclass(frozen=True)
class Sample:
    label: str
    content_type: str
    filename: str
    make: object  # Samples -> bytes
    seconds: float = 1

    def __str__(self):
        return self.label


def ffmpeg_sample(label, content_type, filename, arguments):
    return Sample(label, content_type, filename, lambda samples: samples.ffmpeg(filename, *arguments.split()))


def image(format_name, **options):
    buffer = io.BytesIO()
    picture = Image.new("RGB", (64, 48), "green")
    picture.paste("blue", (0, 0, 32, 48))
    picture.save(buffer, format_name, **options)
    return buffer.getvalue()


def heif_with_brand(brand):
    """A HEIF photo whose major brand says what made it: "heic" from iPhones, "mif1" from other cameras."""
    content = image("HEIF")
    assert content[4:12] == b"ftypheic"
    return content[:8] + brand + content[12:]


def dahua_dav(samples, with_file_header=False):
    """A Dahua recorder's .dav: H.264 and G.711 frames, each in a "DHAV" header and a "dhav" trailer, as
    ffmpeg's dhav demuxer reads them (ffmpeg cannot write the format). Two seconds: its clock counts seconds."""
    video = samples.ffmpeg("dav.264", *f"{DVR_PICTURE} {H264} -g 15 -bsf:v h264_metadata=aud=insert -f h264".split())
    audio = samples.ffmpeg("dav.alaw", *f"{DVR_SOUND} -f alaw".split())
    delimiter = b"\x00\x00\x00\x01\x09"
    frames = [(n * 1000 // 15, "video", delimiter + unit) for n, unit in enumerate(video.split(delimiter)[1:])]
    frames += [(n * 40, "audio", audio[offset : offset + 320]) for n, offset in enumerate(range(0, len(audio), 320))]
    out = bytearray(b"DAHUA".ljust(1024, b"\x00") if with_file_header else b"")
    for number, (ms, kind, payload) in enumerate(sorted(frames, key=lambda frame: frame[0])):
        if kind == "audio":
            frame_type, extension = 0xF0, bytes([0x83, 1, 0x0E, 0])  # mono A-law at 8 kHz
        elif b"\x00\x01\x65" in payload:  # an IDR picture: its size, codec (H.264) and frame rate
            frame_type, extension = 0xFD, bytes([0x80, 0, 352 // 8, 288 // 8, 0x81, 0, 0x02, 15])
        else:
            frame_type, extension = 0xFC, b""
        length = 24 + len(extension) + len(payload) + 8
        # 2026-03-18 21:40, and the seconds, in the recorder's packed date.
        date = 26 << 26 | 3 << 22 | 18 << 17 | 21 << 12 | 40 << 6 | ms // 1000
        out += b"DHAV" + bytes([frame_type, 0, 0, 0]) + struct.pack("<III", number, length, date)
        out += struct.pack("<HBB", ms % 65536, len(extension), 0) + extension + payload
        out += b"dhav" + struct.pack("<I", length)
    return bytes(out)


CORPUS = [
    ffmpeg_sample("MP4 H.264", "video/mp4", "VID_0001.mp4", f"{SOURCE} {H264} -c:a aac"),
    ffmpeg_sample("MP4 H.264 without sound", "video/mp4", "VID_0002.mp4", f"{PICTURE_ONLY} {H264}"),
    ffmpeg_sample("M4V H.264", "video/x-m4v", "clip.m4v", f"{SOURCE} {H264} -c:a aac -f ipod"),
    ffmpeg_sample("MOV HEVC (iPhone)", "video/quicktime", "IMG_0001.MOV", f"{SOURCE} {HEVC} -tag:v hvc1 -c:a aac"),
    ffmpeg_sample("3GP H.263", "video/3gpp", "VID_0001.3gp", f"{SOURCE} {PHONE}"),
    ffmpeg_sample("3G2 H.263", "video/3gpp2", "VID_0001.3g2", f"{SOURCE} {PHONE}"),
    ffmpeg_sample("MKV H.264", "video/x-matroska", "clip.mkv", f"{SOURCE} {H264} -c:a libvorbis"),
    ffmpeg_sample("WebM VP8", "video/webm", "vp8.webm", f"{SOURCE} -c:v libvpx -c:a libvorbis"),
    ffmpeg_sample(
        "WebM VP9", "video/webm", "vp9.webm", f"{SOURCE} -c:v libvpx-vp9 -deadline realtime -cpu-used 8 -c:a libopus"
    ),
    ffmpeg_sample("AVI MJPEG (CCTV)", "video/x-msvideo", "CH01.avi", f"{SOURCE} -c:v mjpeg -q:v 5 -c:a pcm_s16le"),
    ffmpeg_sample("WMV", "video/x-ms-asf", "clip.wmv", f"{SOURCE} -c:v wmv2 -c:a wmav2"),
    ffmpeg_sample("ASF MPEG-4", "video/x-ms-asf", "clip.asf", f"{SOURCE} -c:v msmpeg4 -c:a wmav2"),
    ffmpeg_sample("MPEG-TS H.264 (DVR)", "video/mp2t", "CH02.ts", f"{SOURCE} {H264} -c:a aac"),
    ffmpeg_sample(
        "M2TS H.264 (camcorder)", "video/mp2t", "00001.m2ts", f"{SOURCE} {H264} -c:a ac3 -f mpegts -mpegts_m2ts_mode 1"
    ),
    ffmpeg_sample("MPEG-2 program stream (DVD)", "video/mpeg", "VTS_01_1.VOB", f"{SOURCE} -f vob"),
    ffmpeg_sample("Raw H.264 (DVR)", "video/h264", "CH03.264", f"{PICTURE_ONLY} {H264} -f h264"),
    ffmpeg_sample("Raw H.265 (DVR)", "video/h265", "CH04.265", f"{PICTURE_ONLY} {HEVC} -f hevc"),
    Sample("Dahua DAV", "video/x-dahua-dav", "CH05.dav", dahua_dav, seconds=2),
    Sample("Dahua DAV with file header", "video/x-dahua-dav", "CH06.dav", lambda s: dahua_dav(s, True), seconds=2),
    Sample("JPEG", "image/jpeg", "PXL_0001.jpg", lambda samples: photo_with_exif()),
    Sample("PNG", "image/png", "Screenshot.png", lambda samples: image("PNG")),
    Sample("HEIC (iPhone)", "image/heic", "IMG_0002.HEIC", lambda samples: heif_with_brand(b"heic")),
    Sample("HEIF", "image/heif", "photo.heif", lambda samples: heif_with_brand(b"mif1")),
]


@pytest.fixture(scope="session")
def corpus(samples):
    """Each sample made once for the whole run."""
    return {sample.label: sample.make(samples) for sample in CORPUS}


@pytest.fixture
def submission():
    submission = make_submission(make_appeal(), upload_token=TOKEN)
    return submission


def upload(client, sample, content):
    response = client.post(f"/footage/{TOKEN}/upload/", {"files": [SimpleUploadedFile(sample.filename, content)]})
    assert response.status_code == 302, response.text
    return MediaFile.objects.get(original_filename=sample.filename)


def test_every_kind_the_upload_accepts_has_a_sample_in_the_corpus():
    sampled = {sample.content_type for sample in CORPUS}
    assert [kind.name for kind in KINDS if kind.content_type not in sampled] == []


def test_the_file_picker_offers_the_extensions_of_every_accepted_kind(client, submission):
    page = client.get(f"/footage/{TOKEN}/").text
    offered = re.search(r'accept="([^"]+)"', page)[1].split(",")
    assert offered[:2] == ["video/*", "image/*"]
    assert {f".{extension}" for kind in KINDS for extension in kind.extensions} == set(offered[2:])


@pytest.mark.parametrize("sample", CORPUS, ids=str)
def test_each_accepted_kind_ends_ready_to_view(client, clamd, corpus, submission, sample):
    with TestCase.captureOnCommitCallbacks(execute=True):
        media_file = upload(client, sample, corpus[sample.label])
    media_file.refresh_from_db()
    assert_ready_to_view(media_file, sample)


@pytest.mark.worker
@pytest.mark.parametrize("label", ["MPEG-TS H.264 (DVR)", "Raw H.264 (DVR)", "HEIC (iPhone)"])
def test_a_real_worker_makes_dvr_footage_and_photos_ready_to_view(
    client, celery_worker_on_redis, clamd, corpus, submission, label
):
    sample = next(sample for sample in CORPUS if sample.label == label)
    media_file = upload(client, sample, corpus[label])
    # Both phases: the first look, then (for the raw H.264, which has no timestamps to copy) the transcode.
    wait_for(
        lambda: (
            MediaFile.objects.filter(pk=media_file.pk)
            .exclude(state__in=MediaFile.PENDING_STATES)
            .exclude(proxy_state__in=MediaFile.PROXY_PENDING_STATES)
            .exists()
        ),
        timeout=60,
    )
    media_file.refresh_from_db()
    assert_ready_to_view(media_file, sample)


def assert_ready_to_view(media_file, sample):
    assert (media_file.state, media_file.state_reason) == (MediaFile.State.READY, "")
    assert media_file.scan_state == MediaFile.ScanState.CLEAN
    assert media_file.content_type == sample.content_type
    derivatives = {derivative.kind: derivative for derivative in media_file.derivatives.all()}
    if sample.content_type.startswith("image/"):
        assert set(derivatives) == {Derivative.Kind.PREVIEW}
        with Image.open(derivatives[Derivative.Kind.PREVIEW].file.path) as preview:
            assert preview.format == "JPEG"
            assert preview.getpixel((0, 0)) != preview.getpixel((preview.width - 1, preview.height - 1))
        return
    assert set(derivatives) == {Derivative.Kind.POSTER, Derivative.Kind.CONTACT_SHEET, Derivative.Kind.PROXY}
    assert media_file.proxy_state == MediaFile.ProxyState.MADE
    for still in (Derivative.Kind.POSTER, Derivative.Kind.CONTACT_SHEET):
        with Image.open(derivatives[still].file.path) as picture:
            assert picture.format == "JPEG" and picture.width >= 176
    assert_plays(derivatives[Derivative.Kind.PROXY].file.path, sample.seconds)


def assert_plays(path, duration):
    """H.264 in an MP4 with its index first, which decodes from start to end without an error."""
    probed = json.loads(
        subprocess.run(
            ["ffprobe", "-v", "error", "-print_format", "json", "-show_format", "-show_streams", path],
            capture_output=True,
            check=True,
        ).stdout
    )
    assert probed["format"]["format_name"].startswith("mov,mp4")
    video = probed["streams"][0]
    assert (video["codec_name"], video["pix_fmt"]) == ("h264", "yuv420p")
    assert float(probed["format"]["duration"]) == pytest.approx(duration, abs=0.5)
    with open(path, "rb") as proxy:
        head = proxy.read()
    assert head.index(b"moov") < head.index(b"mdat"), "the index is at the front (+faststart)"
    decoded = subprocess.run(
        ["ffmpeg", "-nostdin", "-v", "error", "-xerror", "-i", path, "-f", "null", "-"], capture_output=True, text=True
    )
    assert (decoded.returncode, decoded.stderr) == (0, "")


@pytest.mark.parametrize(
    ("label", "video", "sound"),
    [
        ("MP4 H.264", "copy", "copy"),
        ("MP4 H.264 without sound", "copy", None),
        ("MPEG-TS H.264 (DVR)", "copy", "copy"),
        ("MKV H.264", "copy", "aac"),  # Vorbis sound made AAC, the picture copied
        ("M2TS H.264 (camcorder)", "copy", "aac"),
        ("MOV HEVC (iPhone)", "libx264", "aac"),
        ("Raw H.264 (DVR)", "libx264", "aac"),  # no timestamps to copy
    ],
)
def test_h264_that_browsers_play_is_copied_and_the_rest_transcoded(
    client, clamd, corpus, submission, label, video, sound
):
    sample = next(sample for sample in CORPUS if sample.label == label)
    with TestCase.captureOnCommitCallbacks(execute=True):
        media_file = upload(client, sample, corpus[label])
    proxy = media_file.derivatives.get(kind=Derivative.Kind.PROXY)
    arguments = proxy.arguments
    made_sound = arguments[arguments.index("-c:a") + 1] if "-c:a" in arguments else None
    assert (arguments[arguments.index("-c:v") + 1], made_sound) == (video, sound)
    copied = decoded_picture(proxy.file.path) == decoded_picture(media_file.original.path)
    assert copied == (video == "copy")
    assert_plays(proxy.file.path, sample.seconds)


def test_a_copy_that_fails_its_check_is_transcoded_once_the_file_is_ready(
    client, clamd, corpus, submission, monkeypatch
):
    checked, transcoded = [], []
    transcode_proxy = media.transcode_proxy

    def failing_check(path, original, description):
        checked.append(path)
        raise media.Unprocessable("The proxy has no H.264 video")

    def watched_transcode(original, *args, **kwargs):
        transcoded.append(MediaFile.objects.get().state)
        return transcode_proxy(original, *args, **kwargs)

    monkeypatch.setattr(media, "check_copy", failing_check)
    monkeypatch.setattr(media, "transcode_proxy", watched_transcode)
    sample = CORPUS[0]
    with TestCase.captureOnCommitCallbacks(execute=True):
        media_file = upload(client, sample, corpus[sample.label])
    media_file.refresh_from_db()
    proxy = media_file.derivatives.get(kind=Derivative.Kind.PROXY)
    assert len(checked) == 1 and "libx264" in proxy.arguments
    assert transcoded == [MediaFile.State.READY], "transcoded by the second phase, never the first"
    assert media_file.proxy_state == MediaFile.ProxyState.MADE
    assert_ready_to_view(media_file, sample)


def decoded_picture(path):
    """A hash of every decoded frame: the same for a stream copy, never for a transcode."""
    return subprocess.run(
        ["ffmpeg", "-nostdin", "-v", "error", "-i", path, "-map", "0:v:0", "-f", "hash", "-hash", "sha256", "-"],
        capture_output=True,
        check=True,
        text=True,
    ).stdout
