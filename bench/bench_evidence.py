"""Evidence export, its verification and proxy range serving, against in-run baselines.

Baselines, measured in the same run on the same files: one Python pass that reads, hashes (SHA-256) and
writes (what an export must at least do), and one that reads and hashes (what verification must do).
"""

import hashlib
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

ORIGINAL_MB = 256
PROXY_MB = 32
RANGE_REQUESTS = 300

workdir = Path(tempfile.mkdtemp(prefix="bench-evidence-"))
os.environ.update(DEBUG="true", VAR_DIR=str(workdir), EVIDENCE_ROOT=str(workdir / "evidence"))
os.environ.pop("DATABASE_URL", None)
os.environ.pop("CELERY_BROKER_URL", None)
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import django  # noqa: E402

django.setup()

from django.core.management import call_command  # noqa: E402
from django.test import Client  # noqa: E402
from django.urls import reverse  # noqa: E402

from evidence.exports import build_export, verify_export_file  # noqa: E402
from evidence.models import EvidenceExport  # noqa: E402
from tests.officers import add_derivative, sign_in, store_media_file, team_with_submission  # noqa: E402


def random_bytes(megabytes):
    return b"".join(os.urandom(1024 * 1024) for _ in range(megabytes))


def copy_and_hash(source, target):
    # A new file each time, as an export writes one.
    target.unlink(missing_ok=True)
    digest = hashlib.sha256()
    with open(source, "rb") as f, open(target, "wb") as out:
        while chunk := f.read(1024 * 1024):
            digest.update(chunk)
            out.write(chunk)


def read_and_hash(path):
    with open(path, "rb") as f:
        hashlib.file_digest(f, "sha256")


def timed(function, *args):
    start = time.perf_counter()
    function(*args)
    return time.perf_counter() - start


def main():
    call_command("migrate", verbosity=0)
    team = team_with_submission("Bench team", "999")
    media_file = store_media_file(team.submission, content=random_bytes(ORIGINAL_MB), original_filename="big.mp4")
    from submissions.models import Derivative

    proxy = add_derivative(media_file, Derivative.Kind.PROXY, random_bytes(PROXY_MB))
    total_mb = ORIGINAL_MB + PROXY_MB + len(team.proxy.file.read()) / 1e6 + team.media_file.size / 1e6

    baseline_copy = min(timed(copy_and_hash, media_file.original.path, workdir / "copy.bin") for _ in range(3))
    copy_rate = ORIGINAL_MB / baseline_copy
    export_times = []
    for _ in range(3):
        export = EvidenceExport.objects.create(submission=team.submission, requested_by=team.officer)
        export_times.append(timed(build_export, export))
    export_rate = total_mb / min(export_times)
    print(
        f"export build: {export_rate:.0f} MB/s ({total_mb:.0f} MB, best of 3); "
        f"baseline read+hash+write {copy_rate:.0f} MB/s; ratio {export_rate / copy_rate:.2f}"
    )

    zip_path = export.file.path
    verify_rate = total_mb / min(timed(verify_export_file, zip_path) for _ in range(3))
    hash_rate = total_mb / min(timed(read_and_hash, zip_path) for _ in range(3))
    print(
        f"verify_export: {verify_rate:.0f} MB/s; baseline read+hash {hash_rate:.0f} MB/s; "
        f"ratio {verify_rate / hash_rate:.2f}"
    )

    client = sign_in(Client(HTTP_HOST="127.0.0.1"), team.officer)
    url = reverse("admin:evidence_derivative", args=[proxy.pk])
    size = proxy.size
    latencies = []
    for number in range(RANGE_REQUESTS):
        start = (number * 7919 * 4096) % (size - 1024 * 1024)
        began = time.perf_counter()
        response = client.get(url, headers={"range": f"bytes={start}-{start + 1024 * 1024 - 1}"})
        body = b"".join(response.streaming_content)
        latencies.append(time.perf_counter() - began)
        assert response.status_code == 206 and len(body) == 1024 * 1024
    p50 = statistics.median(latencies) * 1000
    p99 = sorted(latencies)[int(len(latencies) * 0.99) - 1] * 1000
    print(
        f"proxy seek (1 MiB range, in-process client, audited): p50 {p50:.1f} ms, p99 {p99:.1f} ms, "
        f"{RANGE_REQUESTS / sum(latencies):.0f} req/s"
    )


if __name__ == "__main__":
    main()
