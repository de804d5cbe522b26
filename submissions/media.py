"""The tools that look inside witnesses' files: clamd, ffprobe/ffmpeg and Pillow, each with limits.

Nothing here touches the database. Every function reads the original and writes only into the
output path it is given, so the original is never modified.
"""

import ctypes
import fcntl
import json
import logging
import os
import re
import resource
import shutil
import signal
import struct
import subprocess
import tempfile
import time
from contextlib import contextmanager
from dataclasses import dataclass, field
from fractions import Fraction
from functools import cache
from pathlib import Path

import PIL
import pillow_heif
from clamav_client.clamd import ClamdError, ClamdNetworkSocket, ClamdUnixSocket, CommunicationError
from django.conf import settings
from django.template.defaultfilters import filesizeformat
from PIL import ExifTags, Image

from appeals.images import clean_jpeg

log = logging.getLogger(__name__)
pillow_heif.register_heif_opener()

# Demuxers a witness's file may be read with. Playlists (hls, dash), concat lists, image sequences
# and anything that opens other files or URLs are left out, so an upload cannot make ffmpeg read
# anything but itself.
DEMUXERS = [
    "mov",  # also mp4, m4a, 3gp
    "matroska",  # also webm
    "avi",
    "mpegts",
    "mpeg",
    "flv",
    "asf",
    "h264",
    "hevc",
    "dhav",  # Dahua CCTV (.dav)
    "mjpeg",
    "ogg",
    "wav",
    "mp3",
    "aac",
    "m4v",
    "mpegvideo",
]
INPUT_OPTIONS = ["-protocol_whitelist", "file", "-format_whitelist", ",".join(DEMUXERS)]
# Pillow formats that are treated as photos; anything else goes to ffprobe.
IMAGE_FORMATS = ["JPEG", "PNG", "HEIF", "WEBP", "TIFF", "BMP", "GIF"]
POSTER_WIDTH = 1280
PREVIEW_SIZE = (1600, 1600)
SHEET_COLUMNS, SHEET_ROWS, SHEET_TILE_WIDTH = 4, 4, 320
PROXY_BOX = (1280, 720)
# Containers whose H.264 goes into an MP4 by stream copy (format_name's first part: mov is also mp4).
COPYABLE_CONTAINERS = ("mov", "matroska", "mpegts")
BROWSER_H264_PROFILES = ("Constrained Baseline", "Baseline", "Main", "High")


class Unprocessable(Exception):
    """The file itself is the problem (corrupt, hostile, unsupported): trying again will not help."""


class Transient(Exception):
    """Something around the file failed (scanner, storage): worth trying again later."""


@dataclass
class Product:
    """A file one tool made, with what is needed to make it again."""

    path: Path
    content_type: str
    tool: str
    tool_version: str
    arguments: list = field(default_factory=list)


# Tools -------------------------------------------------------------------------------------------

_libc = ctypes.CDLL(None, use_errno=True)
PR_SET_PDEATHSIG = 1


def _limit_child(cpu_seconds: int):
    def preexec():
        resource.setrlimit(resource.RLIMIT_CPU, (cpu_seconds, cpu_seconds + 5))
        memory = settings.MEDIA_TOOL_MEMORY_BYTES
        resource.setrlimit(resource.RLIMIT_AS, (memory, memory))
        resource.setrlimit(resource.RLIMIT_CORE, (0, 0))
        # Die with the worker: a killed worker must not leave an ffmpeg running.
        _libc.prctl(PR_SET_PDEATHSIG, signal.SIGKILL)

    return preexec


def run_tool(args: list[str], *, timeout: float, heartbeat=None) -> bytes:
    """Run ffmpeg or ffprobe with CPU, memory and wall-time limits; return its standard output.

    `heartbeat` is called every few seconds while the tool runs (the caller renews its hold on the file).
    """
    cpu_seconds = int(timeout * os.cpu_count()) + 10
    process = subprocess.Popen(
        args,
        stdin=subprocess.DEVNULL,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        preexec_fn=_limit_child(cpu_seconds),
        start_new_session=True,
        env={"PATH": os.environ.get("PATH", "/usr/bin:/bin"), "LC_ALL": "C"},
    )
    deadline = time.monotonic() + timeout
    interval = max(1.0, settings.MEDIA_LEASE_SECONDS / 4)
    try:
        while True:
            # No floor on the wait: a limit of a few milliseconds is enforced like any other.
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                raise Unprocessable(f"{Path(args[0]).name} took longer than {timeout:g} seconds")
            try:
                stdout, stderr = process.communicate(timeout=min(interval, remaining))
                break
            except subprocess.TimeoutExpired:
                if heartbeat:
                    heartbeat()
    finally:
        if process.poll() is None:
            os.killpg(process.pid, signal.SIGKILL)
            process.communicate()
    if process.returncode != 0:
        raise Unprocessable(_tool_failure(args[0], process.returncode, stderr))
    return stdout


def _tool_failure(program, returncode, stderr):
    name = Path(program).name
    if returncode == -signal.SIGXCPU or returncode == -signal.SIGKILL:
        return f"{name} went over its CPU limit"
    lines = [line for line in stderr.decode(errors="replace").splitlines() if line.strip()]
    detail = lines[-1].strip() if lines else f"exit status {returncode}"
    if "Cannot allocate memory" in detail:
        return f"{name} went over its memory limit"
    return f"{name} could not read the file: {detail}"


@cache
def tool_version(program: str) -> str:
    output = subprocess.run([program, "-version"], capture_output=True, check=True, text=True).stdout
    return output.splitlines()[0]


# Work folders ------------------------------------------------------------------------------------


@contextmanager
def work_folder():
    """A folder of one's own for a task's files, removed when the task ends. It is locked for as long as
    the process lives, so that when a worker is killed mid-task, remove_abandoned_work() knows it is free."""
    root = Path(settings.MEDIA_WORK_DIR)
    root.mkdir(parents=True, exist_ok=True)
    # Made and locked under the shared lock, so that a sweep never sees it unlocked.
    with _work_lock(root, fcntl.LOCK_SH):
        path = Path(tempfile.mkdtemp(prefix="media-", dir=root))
        held = os.open(path, os.O_RDONLY | os.O_DIRECTORY)
        fcntl.flock(held, fcntl.LOCK_EX)
    try:
        yield path
    finally:
        shutil.rmtree(path, ignore_errors=True)
        os.close(held)


def remove_abandoned_work() -> int:
    """Remove the work folders of processes that died (their lock went with them); return how many."""
    root = Path(settings.MEDIA_WORK_DIR)
    if not root.is_dir():
        return 0
    removed = 0
    with _work_lock(root, fcntl.LOCK_EX):
        for path in root.glob("media-*"):
            try:
                held = os.open(path, os.O_RDONLY | os.O_DIRECTORY)
            except FileNotFoundError:
                continue  # its task has just ended
            try:
                fcntl.flock(held, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except BlockingIOError:
                continue  # a live task's
            else:
                shutil.rmtree(path, ignore_errors=True)
                removed += 1
            finally:
                os.close(held)
    return removed


@contextmanager
def _work_lock(root: Path, mode: int):
    with open(root / ".lock", "a") as lock:
        fcntl.flock(lock, mode)
        yield


# Virus scan --------------------------------------------------------------------------------------


@dataclass
class ScanOutcome:
    verdict: str  # "clean", "infected" or "too_large"
    detail: str


# What clamd answers, and then closes the connection, when a stream goes over its StreamMaxLength.
SIZE_REFUSAL = "INSTREAM size limit exceeded. ERROR"


class _StreamScan:
    """clamav-client's INSTREAM with two changes: 1 MiB chunks (its 1 KiB chunks make a 50 MB scan take
    2 s instead of 0.2 s), and when clamd stops reading part-way its answer is read, not the broken pipe
    raised, for that answer is the size refusal."""

    def scan_stream(self, file) -> tuple[str, str | None]:
        """("OK", None), ("FOUND", signature), ("REFUSED", answer) when the stream was over clamd's
        StreamMaxLength, or ("CUT_OFF", None) when clamd stopped reading and its answer was lost."""
        self._init_socket()
        try:
            self._send_command("INSTREAM")
            try:
                while chunk := file.read(1024 * 1024):
                    self.clamd_socket.sendall(struct.pack("!L", len(chunk)) + chunk)
                self.clamd_socket.sendall(struct.pack("!L", 0))
            except (BrokenPipeError, ConnectionResetError):
                try:
                    answer = self._recv_response()
                except CommunicationError:
                    answer = ""  # over TCP, the reset can discard the answer
                if not answer:
                    return "CUT_OFF", None
            else:
                answer = self._recv_response()
        finally:
            self._close_socket()
        if answer == SIZE_REFUSAL:
            return "REFUSED", answer
        _, signature, status = self._parse_response(answer)
        return status, signature


class _UnixScanner(_StreamScan, ClamdUnixSocket):
    pass


class _NetworkScanner(_StreamScan, ClamdNetworkSocket):
    pass


def scan(path: Path, size: int) -> ScanOutcome:
    """Stream the file to clamd. Raises Transient when clamd cannot give an answer."""
    address = settings.CLAMD_ADDRESS
    if size > settings.CLAMD_MAX_BYTES:
        return ScanOutcome("too_large", f"Over the scanner's limit of {filesizeformat(settings.CLAMD_MAX_BYTES)}")
    if ":" in address and not address.startswith("/"):
        host, port = address.rsplit(":", 1)
        client = _NetworkScanner(host=host, port=int(port), timeout=settings.CLAMD_TIMEOUT)
    else:
        client = _UnixScanner(path=address, timeout=settings.CLAMD_TIMEOUT)
    try:
        version = client.version()
        with open(path, "rb") as original:
            status, signature = client.scan_stream(original)
        # Cut off by a clamd that is still there: it refused the size.
        if status == "CUT_OFF" and client.ping() == "PONG":
            status = "REFUSED"
    except (ClamdError, OSError) as error:
        raise Transient(f"The virus scanner did not answer: {error}") from error
    if status == "REFUSED":
        log.warning("clamd refused a file of %d bytes: its StreamMaxLength is below CLAMD_MAX_BYTES", size)
        return ScanOutcome("too_large", "Over the scanner's limit (its StreamMaxLength)")
    if status == "OK":
        return ScanOutcome("clean", version)
    if status == "FOUND" and signature.startswith("Heuristics.Limits.Exceeded"):
        return ScanOutcome("too_large", signature)
    if status == "FOUND":
        return ScanOutcome("infected", signature)
    raise Transient(f"The virus scanner answered {status}: {signature}")


# Describe ----------------------------------------------------------------------------------------


def open_image(path: Path):
    """Open a photo if the file is one Pillow reads; None if it is not an image. Only the header is read."""
    # Pillow refuses outright above twice this, before decoding anything.
    Image.MAX_IMAGE_PIXELS = settings.MEDIA_MAX_IMAGE_PIXELS
    try:
        image = Image.open(path, formats=IMAGE_FORMATS)
    except Image.DecompressionBombError as error:
        raise Unprocessable(f"The image has too many pixels: {error}") from error
    except (Image.UnidentifiedImageError, OSError, SyntaxError, ValueError):
        return None
    if image.width * image.height > settings.MEDIA_MAX_IMAGE_PIXELS:
        image.close()
        raise Unprocessable(
            f"The image has too many pixels: {image.width}x{image.height}, more than the limit of "
            f"{settings.MEDIA_MAX_IMAGE_PIXELS:,} pixels"
        )
    return image


def describe_image(image) -> dict:
    exif = image.getexif()
    ifd = exif.get_ifd(ExifTags.IFD.Exif)
    gps = exif.get_ifd(ExifTags.IFD.GPSInfo)
    description = {
        "kind": "image",
        "format": image.format,
        "width": image.width,
        "height": image.height,
        "orientation": exif.get(ExifTags.Base.Orientation),
        "make": _clean(exif.get(ExifTags.Base.Make)),
        "model": _clean(exif.get(ExifTags.Base.Model)),
        "captured_at": _clean(ifd.get(ExifTags.Base.DateTimeOriginal) or exif.get(ExifTags.Base.DateTime)),
        "gps": _gps_from_exif(gps),
    }
    return {key: value for key, value in description.items() if value not in (None, "")}


def _clean(value):
    return value.strip("\x00 ").strip() if isinstance(value, str) else value


def _gps_from_exif(gps) -> dict | None:
    try:
        latitude = _degrees(gps[ExifTags.GPS.GPSLatitude], gps[ExifTags.GPS.GPSLatitudeRef])
        longitude = _degrees(gps[ExifTags.GPS.GPSLongitude], gps[ExifTags.GPS.GPSLongitudeRef])
    except (KeyError, TypeError, ValueError, ZeroDivisionError):
        return None
    position = {"latitude": latitude, "longitude": longitude}
    if ExifTags.GPS.GPSAltitude in gps:
        position["altitude"] = float(gps[ExifTags.GPS.GPSAltitude])
    return position


def _degrees(dms, ref) -> float:
    degrees, minutes, seconds = (float(part) for part in dms)
    value = degrees + minutes / 60 + seconds / 3600
    return round(-value if ref in ("S", "W") else value, 7)


def probe(path: Path) -> dict:
    """ffprobe's JSON for the file; Unprocessable if no allowed demuxer can read it."""
    output = run_tool(
        [
            "ffprobe",
            "-v",
            "error",
            *INPUT_OPTIONS,
            "-print_format",
            "json",
            "-show_format",
            "-show_streams",
            f"file:{path}",
        ],
        timeout=settings.MEDIA_PROBE_TIMEOUT,
    )
    try:
        probed = json.loads(output)
    except ValueError as error:
        raise Unprocessable("ffprobe gave no description of the file") from error
    container = probed.setdefault("format", {})
    video = next((s for s in probed.get("streams", []) if s.get("codec_type") == "video"), None)
    if video and not (_float(container.get("duration")) or _float(video.get("duration"))):
        container["duration"] = _counted_duration(path, video)
    return probed


def _counted_duration(path: Path, video: dict) -> float | None:
    """The length of a stream that does not say (raw H.264/H.265 from a DVR has no timestamps at all):
    its frames counted over its frame rate."""
    rate = _rate(video.get("avg_frame_rate")) or _rate(video.get("r_frame_rate"))
    packets = count_packets(path, f"{video['index']}")
    return round(packets / rate, 3) if rate and packets else None


def count_packets(path: Path, stream: str) -> int | None:
    """How many packets (for video, frames) one stream has (`stream`: an index, or "v:0"), counted by
    reading the whole file, which decodes nothing."""
    output = run_tool(
        [
            "ffprobe",
            "-v",
            "error",
            *INPUT_OPTIONS,
            "-select_streams",
            stream,
            "-count_packets",
            "-show_entries",
            "stream=nb_read_packets",
            "-print_format",
            "json",
            f"file:{path}",
        ],
        timeout=settings.MEDIA_PROBE_TIMEOUT,
    )
    try:
        return int(json.loads(output)["streams"][0]["nb_read_packets"])
    except (ValueError, KeyError, IndexError, TypeError):
        return None


def describe_video(probed: dict) -> dict:
    """Container, codecs, duration, size, frame rate, creation time, GPS and device from ffprobe's JSON."""
    container = probed.get("format", {})
    streams = probed.get("streams", [])
    video = next((s for s in streams if s.get("codec_type") == "video" and not _is_cover_art(s)), None)
    audio = next((s for s in streams if s.get("codec_type") == "audio"), None)
    if video is None and audio is None:
        raise Unprocessable("The file has no video or sound in a format we can read")
    tags = {key.lower(): value for key, value in container.get("tags", {}).items()}
    if video is None:
        # A sound recording: described, and kept as it is (there is nothing to preview).
        return _without_blanks(
            {
                "kind": "audio",
                "container": container.get("format_name"),
                "duration": _float(container.get("duration")),
                "audio_codec": audio.get("codec_name"),
                "audio_channels": audio.get("channels"),
                "creation_time": tags.get("creation_time") or tags.get("com.apple.quicktime.creationdate"),
                "gps": _iso6709(tags.get("com.apple.quicktime.location.iso6709") or tags.get("location")),
            }
        )
    tags.update({f"video:{key.lower()}": value for key, value in video.get("tags", {}).items()})
    width, height = int(video.get("width") or 0), int(video.get("height") or 0)
    if not width or not height:
        raise Unprocessable("The video's picture size cannot be read")
    if width * height > settings.MEDIA_MAX_VIDEO_PIXELS:
        raise Unprocessable(f"The video is {width}x{height} pixels, more than the limit")
    rotation = _rotation(video)
    duration = _float(container.get("duration")) or _float(video.get("duration"))
    if duration and duration > settings.MEDIA_MAX_DURATION_SECONDS:
        raise Unprocessable(f"The video lasts {duration:.0f} seconds, more than the limit")
    description = {
        "kind": "video",
        "container": container.get("format_name"),
        "duration": duration,
        "bit_rate": _int(container.get("bit_rate")),
        "video_codec": video.get("codec_name"),
        "video_profile": video.get("profile"),
        "width": width,
        "height": height,
        "rotation": rotation,
        "display_width": height if rotation in (90, 270) else width,
        "display_height": width if rotation in (90, 270) else height,
        "frame_rate": _rate(video.get("avg_frame_rate")) or _rate(video.get("r_frame_rate")),
        # As the container's index says (MP4 and MOV do), so that a stream copy can be checked against it.
        "video_frames": _int(video.get("nb_frames")),
        "pixel_format": video.get("pix_fmt"),
        "audio_codec": audio.get("codec_name") if audio else None,
        "audio_channels": audio.get("channels") if audio else None,
        "creation_time": tags.get("creation_time") or tags.get("com.apple.quicktime.creationdate"),
        "gps": _iso6709(tags.get("com.apple.quicktime.location.iso6709") or tags.get("location")),
        "make": tags.get("com.apple.quicktime.make") or tags.get("make"),
        "model": tags.get("com.apple.quicktime.model") or tags.get("model"),
        "software": tags.get("com.apple.quicktime.software") or tags.get("encoder"),
    }
    return _without_blanks(description)


def _without_blanks(description):
    return {key: value for key, value in description.items() if value not in (None, "")}


def _is_cover_art(stream):
    return stream.get("disposition", {}).get("attached_pic") == 1


def _rotation(video) -> int:
    for side_data in video.get("side_data_list", []):
        if "rotation" in side_data:
            return int(-float(side_data["rotation"])) % 360
    return int(video.get("tags", {}).get("rotate", 0)) % 360


def _float(value):
    try:
        return round(float(value), 3)
    except (TypeError, ValueError):
        return None


def _int(value):
    try:
        return int(value)
    except (TypeError, ValueError):
        return None


def _rate(value):
    try:
        rate = Fraction(value)
    except (TypeError, ValueError, ZeroDivisionError):
        return None
    return round(float(rate), 3) if rate else None


def _iso6709(value) -> dict | None:
    """'+51.5855-000.2497+041.000/' as used by phones, to latitude, longitude and altitude."""
    match = value and re.match(r"^([+-]\d+(?:\.\d+)?)([+-]\d+(?:\.\d+)?)([+-]\d+(?:\.\d+)?)?", value)
    if not match:
        return None
    position = {"latitude": float(match[1]), "longitude": float(match[2])}
    if match[3]:
        position["altitude"] = float(match[3])
    return position


# Previews and proxy ------------------------------------------------------------------------------


def image_preview(image, output: Path) -> Product:
    """An upright JPEG of the photo with no metadata at all (no EXIF, no GPS)."""
    try:
        clean_jpeg(image, PREVIEW_SIZE, output)
    except (OSError, SyntaxError, ValueError, Image.DecompressionBombError) as error:
        raise Unprocessable(f"The image could not be decoded: {error}") from error
    arguments = ["exif_transpose", "thumbnail", list(PREVIEW_SIZE), "JPEG", "quality=85"]
    return Product(output, "image/jpeg", "Pillow", PIL.__version__, arguments)


def _ffmpeg(original: Path, output: Path, arguments: list[str], *, timeout: float, heartbeat=None) -> Product:
    args = ["ffmpeg", "-nostdin", "-hide_banner", "-loglevel", "error", "-y", *arguments]
    argv = [part.replace("{original}", f"file:{original}").replace("{output}", f"file:{output}") for part in args]
    run_tool(argv, timeout=timeout, heartbeat=heartbeat)
    if not output.exists() or output.stat().st_size == 0:
        raise Unprocessable("ffmpeg produced no picture from the file")
    content_type = "video/mp4" if output.suffix == ".mp4" else "image/jpeg"
    return Product(output, content_type, "ffmpeg", tool_version("ffmpeg"), args)


def poster(original: Path, output: Path, description: dict) -> Product:
    """One frame from a second in (or the middle of a shorter clip), at most POSTER_WIDTH wide."""
    at = min(1.0, (description.get("duration") or 0) / 2)
    # fmt: off
    arguments = [
        *INPUT_OPTIONS,
        "-i", "{original}",
        # Decoded up to that point rather than seeking in the input: transport streams, raw H.264 and
        # DVR formats cannot seek, or start at a time that is not zero, and a seek gives no frame.
        "-ss", f"{at:.3f}",
        "-map", "0:v:0",
        "-frames:v", "1",
        "-vf", f"scale='min({POSTER_WIDTH},iw)':-2",
        "-map_metadata", "-1",
        "-q:v", "3",
        "-update", "1",
        "-f", "image2",
        "{output}",
    ]
    # fmt: on
    return _ffmpeg(original, output, arguments, timeout=settings.MEDIA_FRAME_TIMEOUT)


def contact_sheet(original: Path, output: Path, description: dict) -> Product:
    """A grid of frames spread across the clip; long clips use keyframes only, so nothing else is decoded."""
    duration = description.get("duration") or 1
    tiles = SHEET_COLUMNS * SHEET_ROWS
    keyframes_only = ["-skip_frame", "nokey"] if duration > 30 else []
    # fmt: off
    arguments = [
        *INPUT_OPTIONS,
        *keyframes_only,
        "-i", "{original}",
        "-map", "0:v:0",
        "-an",
        "-vf", f"fps={tiles / duration:.6f},scale={SHEET_TILE_WIDTH}:-2,tile={SHEET_COLUMNS}x{SHEET_ROWS}:padding=4",
        "-frames:v", "1",
        "-fps_mode", "vfr",
        "-map_metadata", "-1",
        "-q:v", "4",
        "-update", "1",
        "-f", "image2",
        "{output}",
    ]
    # fmt: on
    return _ffmpeg(original, output, arguments, timeout=settings.MEDIA_FRAME_TIMEOUT)


def proxy_size(description: dict) -> tuple[int, int]:
    """Fit the upright picture in 1280x720 (720x1280 when portrait), never enlarged, even dimensions."""
    width, height = description["display_width"], description["display_height"]
    box_width, box_height = PROXY_BOX if width >= height else PROXY_BOX[::-1]
    scale = min(1, box_width / width, box_height / height)
    return max(2, int(width * scale) // 2 * 2), max(2, int(height * scale) // 2 * 2)


def plays_in_browsers(description: dict) -> bool:
    """H.264 that every browser decodes (8-bit 4:2:0, baseline to high profile), in a container ffmpeg can
    copy from with timestamps (raw streams and DVR formats have none worth keeping)."""
    container = description.get("container", "").split(",")[0]
    return (
        container in COPYABLE_CONTAINERS
        and description.get("video_codec") == "h264"
        and description.get("video_profile") in BROWSER_H264_PROFILES
        and description.get("pixel_format") in ("yuv420p", "yuvj420p")
    )


def copy_proxy(original: Path, output: Path, description: dict) -> Product:
    """A web proxy made by copying the picture as it is, for H.264 that browsers play (plays_in_browsers):
    the sound copied when it is AAC, made AAC when it is not. It takes about as long as reading the file.

    Unprocessable when ffmpeg cannot copy it or the copy fails its check: the caller transcodes instead.
    """
    audio = description.get("audio_codec")
    if audio is None:
        sound = ["-an"]
    elif audio == "aac":
        # A transport stream carries AAC in ADTS frames, which MP4 does not.
        sound = ["-c:a", "copy", *(["-bsf:a", "aac_adtstoasc"] if description["container"] == "mpegts" else [])]
    else:
        sound = ["-c:a", "aac", "-b:a", "128k", "-ac", "2"]
    # fmt: off
    arguments = [
        *INPUT_OPTIONS,
        "-i", "{original}",
        "-map", "0:v:0",
        "-map", "0:a:0?",
        "-c:v", "copy",
        *sound,
        "-map_metadata", "-1",
        "-map_chapters", "-1",
        "-movflags", "+faststart",
        "-f", "mp4",
        "{output}",
    ]
    # fmt: on
    product = _ffmpeg(original, output, arguments, timeout=settings.MEDIA_FRAME_TIMEOUT)
    check_copy(output, original, description)
    return product


def check_copy(path: Path, original: Path, description: dict):
    """Unprocessable unless the copy is H.264 holding every video frame of the original, as long as it, with
    sound if the original has sound, and its first keyframe decodes: one ffprobe.

    Nothing more is decoded: the picture is the original's own bitstream, whose start the poster decodes
    and whose keyframes the contact sheet decodes, from the original, while the copy is made.
    """
    output = run_tool(
        ["ffprobe", "-v", "error", *INPUT_OPTIONS, "-err_detect", "explode", "-select_streams", "v:0",
         "-show_format", "-show_streams", "-show_entries", "frame=key_frame", "-read_intervals", "%+#1",
         "-print_format", "json", f"file:{path}"],
        timeout=settings.MEDIA_PROBE_TIMEOUT,
    )  # fmt: skip
    try:
        probed = json.loads(output)
    except ValueError as error:
        raise Unprocessable("ffprobe gave no description of the proxy") from error
    video = next(iter(probed.get("streams", [])), {})
    if video.get("codec_name") != "h264":
        raise Unprocessable("The proxy has no H.264 video")
    container = probed.get("format", {})
    expected, duration = description.get("duration"), _float(container.get("duration"))
    if expected and not (duration and abs(duration - expected) <= max(0.5, expected * 0.02)):
        raise Unprocessable(f"The proxy lasts {duration} seconds, not {expected}")
    # The copy holds the picture and, when there is one, the sound: nothing else.
    if description.get("audio_codec") and _int(container.get("nb_streams")) != 2:
        raise Unprocessable("The proxy has no sound")
    # MP4's index counts the copy's frames; the original's are counted from its own index when it has one.
    frames, original_frames = _int(video.get("nb_frames")), description.get("video_frames")
    original_frames = original_frames or count_packets(original, "v:0")
    if frames != original_frames:
        raise Unprocessable(f"The proxy has {frames} video frames, not {original_frames}")
    if not any(frame.get("key_frame") == 1 for frame in probed.get("frames", [])):
        raise Unprocessable("The proxy's first keyframe does not decode")


def transcode_proxy(original: Path, output: Path, description: dict, heartbeat=None) -> Product:
    """A web proxy re-encoded to H.264/AAC of at most 720p, which keeps both cores busy for a good part of the
    footage's length."""
    width, height = proxy_size(description)
    duration = description.get("duration") or 60
    timeout = max(settings.MEDIA_FRAME_TIMEOUT, duration * settings.MEDIA_PROXY_TIME_FACTOR)
    # fmt: off
    arguments = [
        *INPUT_OPTIONS,
        "-i", "{original}",
        "-map", "0:v:0",
        "-map", "0:a:0?",
        "-vf", f"scale={width}:{height},format=yuv420p",
        "-c:v", "libx264",
        "-preset", settings.MEDIA_PROXY_PRESET,
        "-crf", "23",
        "-profile:v", "high",
        # A keyframe every two seconds keeps seeking in the browser quick.
        "-force_key_frames", "expr:gte(t,n_forced*2)",
        "-c:a", "aac",
        "-b:a", "128k",
        "-ac", "2",
        "-map_metadata", "-1",
        "-map_chapters", "-1",
        "-movflags", "+faststart",
        "-f", "mp4",
        "{output}",
    ]
    # fmt: on
    return _ffmpeg(original, output, arguments, timeout=timeout, heartbeat=heartbeat)
