"""Media pipeline against ffmpeg alone, on a 60 s 1080p30 H.264 clip and a 10 s HEVC clip.

For each clip: the time from upload completion (MediaFile stored, task enqueued) to "described with
a poster" and to "ready with proxy", and the proxy's encode speed, each beside the same ffmpeg and
ffprobe commands run directly on the same file in the same run (the floor). The pipeline runs in a
worker thread of this process on a fresh SQLite database, with a local clamd when ClamAV is installed.
Targets: poster and metadata within 5 s; overhead over the direct ffmpeg time under 20%; the H.264
clip (as a phone records it: 8-bit 4:2:0, which browsers play) playable, by a stream copy, within 3 s.
CPU seconds are reported too: on a shared machine they move less than wall times.
Clips are made once with ffmpeg's test source and kept in var/bench/.
"""

import hashlib
import os
import resource
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

BASE_DIR = Path(__file__).resolve().parent.parent
CACHE = BASE_DIR / "var" / "bench"
CLIPS = {
    "h264-1080p30-60s.mp4": [
        "-f", "lavfi", "-i", "testsrc2=size=1920x1080:rate=30", "-f", "lavfi", "-i", "sine=frequency=440",
        "-t", "60", "-c:v", "libx264", "-preset", "medium", "-crf", "23", "-pix_fmt", "yuv420p", "-c:a", "aac",
    ],
    "hevc-1080p30-10s.mp4": [
        "-f", "lavfi", "-i", "testsrc2=size=1920x1080:rate=30", "-f", "lavfi", "-i", "sine=frequency=440",
        "-t", "10", "-c:v", "libx265", "-preset", "medium", "-crf", "28", "-x265-params", "log-level=error",
        "-tag:v", "hvc1", "-c:a", "aac",
    ],
}  # fmt: skip


def make_clip(name):
    path = CACHE / name
    if not path.exists():
        CACHE.mkdir(parents=True, exist_ok=True)
        print(f"making {name} (once; kept in {CACHE})", flush=True)
        partial = path.with_suffix(".partial.mp4")
        subprocess.run(["ffmpeg", "-nostdin", "-loglevel", "error", "-y", *CLIPS[name], str(partial)], check=True)
        partial.rename(path)
    return path


def setup_django(work):
    os.environ.update(
        {
            "DJANGO_SETTINGS_MODULE": "config.settings",
            "DEBUG": "true",
            "VAR_DIR": str(work),
            "LOG_LEVEL": "WARNING",
            "EMAIL_URL": "consolemail://",
        }
    )
    for name in ("DATABASE_URL", "CELERY_BROKER_URL"):
        os.environ.pop(name, None)
    sys.path.insert(0, str(BASE_DIR))
    import django

    django.setup()
    from django.conf import settings
    from django.core.management import call_command

    socket = subprocess.run(
        [BASE_DIR / "scripts" / "local-clamd.sh", "start", work / "clamd", str(settings.CLAMD_MAX_BYTES)],
        capture_output=True,
        text=True,
    )
    if socket.returncode == 0:
        os.environ["CLAMD_ADDRESS"] = settings.CLAMD_ADDRESS = socket.stdout.strip()

    call_command("migrate", verbosity=0)
    return socket.returncode == 0


def run_pipeline(path):
    """Store the clip as an upload would, enqueue the task, and time the states it passes through."""
    from django.core.files import File

    from submissions.models import Derivative, MediaFile
    from submissions.pipeline import process_media_file
    from tests.factories import make_appeal, make_submission

    appeal = make_appeal(make_incident_for_bench())
    with path.open("rb") as clip:
        sha256 = hashlib.file_digest(clip, "sha256").hexdigest()
        media_file = MediaFile(
            submission=make_submission(appeal), original_filename=path.name, size=path.stat().st_size, sha256=sha256
        )
        media_file.original.save(path.name, File(clip), save=False)
    media_file.save()

    started, cpu_started = time.monotonic(), cpu_seconds()
    worker = threading.Thread(target=process_media_file.apply, args=[[media_file.pk]])
    worker.start()
    poster_at = None
    while worker.is_alive():
        if poster_at is None and media_file_described(media_file.pk):
            poster_at = time.monotonic() - started
        time.sleep(0.02)
    ready_at = time.monotonic() - started
    pipeline_cpu = cpu_seconds() - cpu_started
    media_file.refresh_from_db()
    assert media_file.state == MediaFile.State.READY, (media_file.state, media_file.state_reason)
    derivatives = {d.kind: d for d in media_file.derivatives.all()}
    proxy_seconds = (
        derivatives[Derivative.Kind.PROXY].created_at - derivatives[Derivative.Kind.CONTACT_SHEET].created_at
    ).total_seconds()
    return media_file, poster_at or ready_at, ready_at, proxy_seconds, pipeline_cpu


def cpu_seconds():
    """CPU used by this process, the tools it ran, and clamd: less disturbed by a busy machine than wall time."""
    own, children = resource.getrusage(resource.RUSAGE_SELF), resource.getrusage(resource.RUSAGE_CHILDREN)
    total = own.ru_utime + own.ru_stime + children.ru_utime + children.ru_stime
    clamd_pid = Path(os.environ.get("CLAMD_ADDRESS", "/nonexistent")).with_name("clamd.pid")
    if clamd_pid.exists():
        fields = Path(f"/proc/{clamd_pid.read_text().strip()}/stat").read_text().rsplit(")", 1)[1].split()
        total += (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")
    return total


def make_incident_for_bench():
    from incidents.models import Incident
    from tests.factories import make_incident

    return make_incident(reference=f"CAD{Incident.objects.count() + 1}/01JAN")


def media_file_described(pk):
    from submissions.models import Derivative, MediaFile

    return (
        MediaFile.objects.filter(pk=pk).exclude(metadata={}).exists()
        and Derivative.objects.filter(media_file_id=pk, kind=Derivative.Kind.POSTER).exists()
    )


def run_direct(media_file, path, work):
    """The same ffprobe and ffmpeg commands the pipeline ran, run directly: the floor."""
    from submissions import media
    from submissions.models import Derivative

    def timed(args):
        started = time.monotonic()
        subprocess.run(args, check=True, capture_output=True)
        return time.monotonic() - started

    def command(kind):
        arguments = media_file.derivatives.get(kind=kind).arguments
        output = work / f"direct-{kind}{Derivative.EXTENSIONS[kind]}"
        return [a.replace("{original}", f"file:{path}").replace("{output}", f"file:{output}") for a in arguments]

    cpu_started = cpu_seconds()
    probe = timed(["ffprobe", "-v", "error", *media.INPUT_OPTIONS, "-print_format", "json", "-show_format",
                   "-show_streams", f"file:{path}"])  # fmt: skip
    poster = timed(command(Derivative.Kind.POSTER))
    sheet = timed(command(Derivative.Kind.CONTACT_SHEET))
    proxy = timed(command(Derivative.Kind.PROXY))
    return probe + poster, probe + poster + sheet + proxy, proxy, cpu_seconds() - cpu_started


def main():
    for tool in ("ffmpeg", "ffprobe"):
        if subprocess.run(["which", tool], capture_output=True).returncode:
            sys.exit(f"{tool} is not installed")
    clips = [make_clip(name) for name in CLIPS]
    with tempfile.TemporaryDirectory(prefix="bench-media-") as work:
        work = Path(work)
        scanning = setup_django(work)
        try:
            print(f"virus scan: {'local clamd' if scanning else 'none (ClamAV not installed)'}")
            # A worker in production is warm: clamd has scanned before, the tools' libraries are loaded.
            warm_up = work / "warm-up.mp4"
            subprocess.run(["ffmpeg", "-nostdin", "-loglevel", "error", "-f", "lavfi", "-i", "testsrc2=size=320x240",
                            "-t", "1", str(warm_up)], check=True)  # fmt: skip
            run_pipeline(warm_up)
            print(f"{'clip':<24} {'measure':<30} {'pipeline':>9} {'ffmpeg':>9} {'ratio':>7}")
            for path in clips:
                report(path, work)
        finally:
            subprocess.run([BASE_DIR / "scripts" / "local-clamd.sh", "stop", work / "clamd"], check=False)


def report(path, work):
    from submissions.models import Derivative

    media_file, poster_at, ready_at, proxy_seconds, pipeline_cpu = run_pipeline(path)
    direct_poster, direct_ready, direct_proxy, direct_cpu = run_direct(media_file, path, work)
    duration = media_file.metadata["duration"]
    rows = [
        ("described with a poster (s)", poster_at, direct_poster),
        ("ready with proxy (s)", ready_at, direct_ready),
        # Beside bare ffmpeg making the same proxy (for H.264, the same stream copy).
        ("time to playable (s)", ready_at, direct_proxy),
        ("proxy encode (x real time)", duration / proxy_seconds, duration / direct_proxy),
        ("CPU to ready (s)", pipeline_cpu, direct_cpu),
    ]
    for measure, pipeline, direct in rows:
        print(f"{path.name:<24} {measure:<30} {pipeline:>9.2f} {direct:>9.2f} {pipeline / direct:>7.2f}")
    overhead, cpu_overhead = ready_at / direct_ready - 1, pipeline_cpu / direct_cpu - 1
    print(
        f"{path.name:<24} poster+metadata within 5 s: {'yes' if poster_at <= 5 else 'NO'} ({poster_at:.2f} s); "
        f"overhead over direct ffmpeg: {overhead:.0%} wall, {cpu_overhead:.0%} CPU "
        f"(target < 20%: {'yes' if overhead < 0.2 else 'NO'}; load average {os.getloadavg()[0]:.1f})",
        flush=True,
    )
    proxy = media_file.derivatives.get(kind=Derivative.Kind.PROXY)
    if media_file.metadata.get("video_codec") == "h264":
        copied = "copy" in proxy.arguments
        print(
            f"{path.name:<24} time to playable within 3 s: {'yes' if ready_at <= 3 else 'NO'} ({ready_at:.2f} s, "
            f"{'stream copy' if copied else 'TRANSCODED'})",
            flush=True,
        )


if __name__ == "__main__":
    main()
