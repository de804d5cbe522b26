"""Media pipeline against ffmpeg alone: time to playable, and CPU seconds per minute of footage.

1. A 60 s 1080p30 H.264 clip (as a phone records it: 8-bit 4:2:0, which browsers play, so it is stream-copied
   in the first look): the time from the file stored (task enqueued) to the first look (ready, with a poster)
   and to the web proxy playable, best and median of RUNS runs, beside the same ffmpeg commands run directly
   on the same file in the same run. Target: playable within 3 s. Each run gets a copy of the clip that
   differs in one metadata tag, as clamd remembers files it found clean and would scan a repeat in no time.
2. A 10 s HEVC clip, transcoded by the second phase: first look, then the web proxy, beside bare ffmpeg.
3. CPU seconds per minute of footage for a mixed corpus (a clip of every video kind the upload accepts,
   submissions/files.py KINDS, made as tests/submissions/test_corpus.py makes them but longer and larger):
   the first look's tools and the web proxy, before (every file transcoded) and after (stream copy where
   the original already plays in browsers). Process CPU time of the tools (getrusage of the children),
   which a busy machine does not change much; the virus scan is left out, being the same for both.

The pipeline runs in a worker thread of this process on a fresh SQLite database, tasks in-process (the
second phase runs as soon as the first has committed), with a local clamd when ClamAV is installed.
Clips are made once with ffmpeg's test source and kept in var/bench/.
"""

import hashlib
import os
import resource
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

BASE_DIR = Path(__file__).resolve().parent.parent
CACHE = BASE_DIR / "var" / "bench"
RUNS = 5
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
# The mixed corpus: 10 s of 720p30 colour bars with a tone, in each kind's usual codecs.
SOURCE = "-f lavfi -i testsrc2=size=1280x720:rate=30 -f lavfi -i sine=frequency=440 -t 10"
PICTURE_ONLY = "-f lavfi -i testsrc2=size=1280x720:rate=30 -t 10"
H264 = "-c:v libx264 -preset veryfast -pix_fmt yuv420p"
HEVC = "-c:v libx265 -preset ultrafast -x265-params log-level=error"
CORPUS = {
    "MP4 H.264": ("video/mp4", "VID_0001.mp4", f"{SOURCE} {H264} -c:a aac"),
    "MP4 H.264 without sound": ("video/mp4", "VID_0002.mp4", f"{PICTURE_ONLY} {H264}"),
    "M4V H.264": ("video/x-m4v", "clip.m4v", f"{SOURCE} {H264} -c:a aac -f ipod"),
    "MOV HEVC (iPhone)": ("video/quicktime", "IMG_0001.MOV", f"{SOURCE} {HEVC} -tag:v hvc1 -c:a aac"),
    "3GP H.263": ("video/3gpp", "VID_0001.3gp", f"{SOURCE} -c:v h263 -s 352x288 -c:a aac -ar 8000 -ac 1"),
    "3G2 H.263": ("video/3gpp2", "VID_0001.3g2", f"{SOURCE} -c:v h263 -s 352x288 -c:a aac -ar 8000 -ac 1"),
    "MKV H.264": ("video/x-matroska", "clip.mkv", f"{SOURCE} {H264} -c:a libvorbis"),
    "WebM VP8": ("video/webm", "vp8.webm", f"{SOURCE} -c:v libvpx -deadline realtime -cpu-used 8 -c:a libvorbis"),
    "WebM VP9": ("video/webm", "vp9.webm", f"{SOURCE} -c:v libvpx-vp9 -deadline realtime -cpu-used 8 -c:a libopus"),
    "AVI MJPEG (CCTV)": ("video/x-msvideo", "CH01.avi", f"{SOURCE} -c:v mjpeg -q:v 5 -c:a pcm_s16le"),
    "WMV": ("video/x-ms-asf", "clip.wmv", f"{SOURCE} -c:v wmv2 -c:a wmav2"),
    "MPEG-TS H.264 (DVR)": ("video/mp2t", "CH02.ts", f"{SOURCE} {H264} -c:a aac"),
    "M2TS H.264 (camcorder)": ("video/mp2t", "00001.m2ts", f"{SOURCE} {H264} -c:a ac3 -f mpegts -mpegts_m2ts_mode 1"),
    "MPEG-2 program stream (DVD)": ("video/mpeg", "VTS_01_1.VOB", f"{SOURCE} -f vob"),
    "Raw H.264 (DVR)": ("video/h264", "CH03.264", f"{PICTURE_ONLY} {H264} -f h264"),
    "Raw H.265 (DVR)": ("video/h265", "CH04.265", f"{PICTURE_ONLY} {HEVC} -f hevc"),
}


def make_clip(name, arguments=None, folder=CACHE):
    path = folder / name
    if not path.exists():
        folder.mkdir(parents=True, exist_ok=True)
        print(f"making {name} (once; kept in {folder})", flush=True)
        partial = path.with_name(f"partial-{name}")
        command = ["ffmpeg", "-nostdin", "-loglevel", "error", "-y", *(arguments or CLIPS[name])]
        subprocess.run([*command, str(partial)], check=True)
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


def fresh_copy(path, work, run):
    """The clip with one metadata tag changed: the same footage, a file clamd has not seen."""
    copy = work / f"run{run}-{path.name}"
    subprocess.run(
        ["ffmpeg", "-nostdin", "-loglevel", "error", "-y", "-i", str(path), "-map", "0", "-c", "copy",
         "-metadata", f"comment=benchmark run {run}", str(copy)],
        check=True,
    )  # fmt: skip
    return copy


def run_pipeline(path):
    """Store the clip as an upload would, enqueue the task, and time the states it passes through."""
    from django.core.files import File
    from django.utils import timezone

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

    started, cpu_started = timezone.now(), cpu_seconds()
    # Both phases: with tasks in-process, the web proxy's task runs once the first look has committed.
    worker = threading.Thread(target=process_media_file.apply, args=[[media_file.pk]])
    worker.start()
    worker.join()
    pipeline_cpu = cpu_seconds() - cpu_started
    media_file.refresh_from_db()
    assert media_file.state == MediaFile.State.READY, (media_file.state, media_file.state_reason)
    assert media_file.proxy_state == MediaFile.ProxyState.MADE, media_file.proxy_status_line()
    # From the rows' own times, so that nothing polls beside the worker: the file is ready when the first look
    # marks it so (nothing touches updated_at after that), playable once ready with its proxy stored.
    ready_at = (media_file.updated_at - started).total_seconds()
    proxy = media_file.derivatives.get(kind=Derivative.Kind.PROXY)
    return media_file, ready_at, max(ready_at, (proxy.created_at - started).total_seconds()), pipeline_cpu


def cpu_seconds():
    """CPU used by this process, the tools it ran, and clamd: less disturbed by a busy machine than wall time."""
    own, children = resource.getrusage(resource.RUSAGE_SELF), resource.getrusage(resource.RUSAGE_CHILDREN)
    total = own.ru_utime + own.ru_stime + children.ru_utime + children.ru_stime
    clamd_pid = Path(os.environ.get("CLAMD_ADDRESS", "/nonexistent")).with_name("clamd.pid")
    if clamd_pid.exists():
        fields = Path(f"/proc/{clamd_pid.read_text().strip()}/stat").read_text().rsplit(")", 1)[1].split()
        total += (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")
    return total


def children_cpu():
    """CPU used by the tools this process ran (ended children only)."""
    children = resource.getrusage(resource.RUSAGE_CHILDREN)
    return children.ru_utime + children.ru_stime


def make_incident_for_bench():
    from incidents.models import Incident
    from tests.factories import make_incident

    return make_incident(reference=f"CAD{Incident.objects.count() + 1}/01JAN")


def run_direct(media_file, path, work):
    """The same ffprobe and ffmpeg commands the pipeline ran, run directly one after another: the floor."""
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
    return {
        "first look": probe + poster + sheet,
        "proxy": proxy,
        "all": probe + poster + sheet + proxy,
        "cpu": cpu_seconds() - cpu_started,
    }


def row(clip, measure, pipeline, direct, note=""):
    print(f"{clip:<24} {measure:<34} {pipeline:>9.2f} {direct:>9.2f} {pipeline / direct:>7.2f}  {note}", flush=True)


def report_time_to_playable(path, work):
    """RUNS runs of the H.264 clip, each beside the bare ffmpeg commands on the same file."""
    from submissions.models import Derivative

    runs = []
    for run in range(RUNS):
        copy = fresh_copy(path, work, run)
        media_file, ready_at, playable_at, cpu = run_pipeline(copy)
        runs.append((ready_at, playable_at, cpu, run_direct(media_file, copy, work), media_file))
        copy.unlink()
    copied = "copy" in runs[-1][4].derivatives.get(kind=Derivative.Kind.PROXY).arguments
    for measure, pipeline, direct in [
        ("first look: ready with poster (s)", [r[0] for r in runs], [r[3]["first look"] for r in runs]),
        # Beside bare ffmpeg making the same proxy (for this clip, the same stream copy).
        ("time to playable (s)", [r[1] for r in runs], [r[3]["proxy"] for r in runs]),
        ("CPU to playable (s)", [r[2] for r in runs], [r[3]["cpu"] for r in runs]),
    ]:
        note = f"best of {RUNS}; medians {statistics.median(pipeline):.2f} and {statistics.median(direct):.2f}"
        row(path.name, measure, min(pipeline), min(direct), note)
    best = min(r[1] for r in runs)
    print(
        f"{path.name:<24} time to playable within 3 s: {'yes' if best <= 3 else 'NO'} (best {best:.2f} s, "
        f"{'stream copy' if copied else 'TRANSCODED'}; load average {os.getloadavg()[0]:.1f})",
        flush=True,
    )


def report_transcoded(path, work):
    copy = fresh_copy(path, work, "hevc")
    media_file, ready_at, playable_at, cpu = run_pipeline(copy)
    direct = run_direct(media_file, copy, work)
    duration = media_file.metadata["duration"]
    row(path.name, "first look: ready with poster (s)", ready_at, direct["first look"])
    row(path.name, "time to playable (s)", playable_at, direct["all"], "transcoded in the second phase")
    row(path.name, "proxy encode (x real time)", duration / (playable_at - ready_at), duration / direct["proxy"])
    row(path.name, "CPU to playable (s)", cpu, direct["cpu"])
    print(
        f"{path.name:<24} overhead over direct ffmpeg: {playable_at / direct['all'] - 1:.0%} wall, "
        f"{cpu / direct['cpu'] - 1:.0%} CPU (load average {os.getloadavg()[0]:.1f})",
        flush=True,
    )


def corpus_clips():
    """One clip of every video kind the upload accepts (Dahua's .dav built as the tests build it)."""
    from submissions.files import KINDS
    from tests.submissions.conftest import Samples
    from tests.submissions.test_corpus import dahua_dav

    folder = CACHE / "corpus"
    clips = {label: make_clip(name, arguments.split(), folder) for label, (_, name, arguments) in CORPUS.items()}
    dav = folder / "CH05.dav"
    if not dav.exists():
        dav.write_bytes(dahua_dav(Samples(folder)))
    clips["Dahua DAV"] = dav
    covered = {content_type for content_type, _, _ in CORPUS.values()} | {"video/x-dahua-dav"}
    missing = [
        kind.name for kind in KINDS if kind.content_type.startswith("video/") and kind.content_type not in covered
    ]
    assert not missing, f"no benchmark clip of {missing}"
    return clips


def report_cpu_per_minute(work):
    """The first look's tools and the web proxy for each clip, transcoded (before) and as the pipeline does it."""
    from submissions import media

    def tools_cpu(make, *arguments):
        started = children_cpu()
        make(*arguments)
        return children_cpu() - started

    def look_at(path, description):
        media.describe_video(media.probe(path))
        media.poster(path, work / "poster.jpg", description)
        media.contact_sheet(path, work / "sheet.jpg", description)

    print(f"\n{'mixed corpus clip':<28} {'seconds':>7} {'first look':>10} {'transcode':>9} {'now':>9}  proxy now")
    minutes, first_look, before, after = 0.0, 0.0, 0.0, 0.0
    for label, path in corpus_clips().items():
        description = media.describe_video(media.probe(path))
        look = tools_cpu(look_at, path, description)
        transcoded = tools_cpu(media.transcode_proxy, path, work / "proxy.mp4", description)
        now, how = transcoded, "transcode"
        if media.plays_in_browsers(description):
            # As the pipeline does it: the copy and its check (a copy that failed it would be transcoded).
            now, how = tools_cpu(media.copy_proxy, path, work / "copy.mp4", description), "stream copy"
        print(f"{label:<28} {description['duration']:>7.1f} {look:>10.2f} {transcoded:>9.2f} {now:>9.2f}  {how}")
        minutes += description["duration"] / 60
        first_look, before, after = first_look + look, before + look + transcoded, after + look + now
    print(
        f"CPU seconds per minute of footage, first look and web proxy ({minutes:.1f} minutes, CPU of the tools): "
        f"before (all transcoded) {before / minutes:.1f}, after (copied where browsers play it) "
        f"{after / minutes:.1f}, ratio {after / before:.2f}; the web proxy alone {(before - first_look) / minutes:.1f} "
        f"and {(after - first_look) / minutes:.1f}, ratio {(after - first_look) / (before - first_look):.2f}",
        flush=True,
    )


def main():
    for tool in ("ffmpeg", "ffprobe"):
        if subprocess.run(["which", tool], capture_output=True).returncode:
            sys.exit(f"{tool} is not installed")
    h264, hevc = (make_clip(name) for name in CLIPS)
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
            print(f"{'clip':<24} {'measure':<34} {'pipeline':>9} {'ffmpeg':>9} {'ratio':>7}")
            report_time_to_playable(h264, work)
            report_transcoded(hevc, work)
            report_cpu_per_minute(work)
        finally:
            subprocess.run([BASE_DIR / "scripts" / "local-clamd.sh", "stop", work / "clamd"], check=False)


if __name__ == "__main__":
    main()
