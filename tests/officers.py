"""Helpers for the officers' side: signed-in officers with a second factor, files and their derivatives."""

import hashlib
import shutil
import subprocess
import tempfile
from functools import cache
from pathlib import Path
from types import SimpleNamespace

from django.core.files.base import ContentFile
from django_otp import DEVICE_ID_SESSION_KEY
from django_otp.oath import TOTP
from django_otp.plugins.otp_totp.models import TOTPDevice

from incidents.models import Team
from incidents.roles import OFFICERS, SUPERVISORS, ensure_roles
from submissions.models import Derivative, MediaFile
from tests.conftest import require
from tests.factories import make_appeal, make_incident, make_officer, make_submission


def make_triage_officer(username, team=None, *, supervisor=False):
    officer = make_officer(username, team)
    officer.groups.add(ensure_roles()[SUPERVISORS if supervisor else OFFICERS])
    return officer


def authenticator(user):
    device, _ = TOTPDevice.objects.get_or_create(user=user, name="Test authenticator", defaults={"confirmed": True})
    return device


def current_code(device):
    device.refresh_from_db()
    return f"{TOTP(device.bin_key, device.step, device.t0, device.digits, device.drift).token():06d}"


def sign_in(client, user):
    """Log the officer in as if they had given their password and a valid code."""
    client.force_login(user)
    session = client.session
    session[DEVICE_ID_SESSION_KEY] = authenticator(user).persistent_id
    session.save()
    return client


def store_media_file(submission, content=b"dashcam bytes", **fields):
    media_file = MediaFile(
        submission=submission,
        original_filename=fields.pop("original_filename", "DASH0001.MP4"),
        size=len(content),
        sha256=hashlib.sha256(content).hexdigest(),
        content_type=fields.pop("content_type", "video/mp4"),
        **fields,
    )
    media_file.original.save("ignored", ContentFile(content), save=False)
    media_file.save()
    return media_file


def add_derivative(media_file, kind, content, **fields):
    derivative = Derivative(
        media_file=media_file,
        kind=kind,
        size=len(content),
        sha256=hashlib.sha256(content).hexdigest(),
        content_type=fields.pop("content_type", "video/mp4" if kind == Derivative.Kind.PROXY else "image/jpeg"),
        tool="ffmpeg",
        tool_version="5.1.9",
        arguments=["-i", "original", "-c:v", "libx264", "proxy.mp4"],
        **fields,
    )
    derivative.file.save("ignored", ContentFile(content), save=False)
    derivative.save()
    return derivative


@cache
def tiny_mp4() -> bytes:
    """A 4-second 160x120 H.264 clip with a keyframe every second, made by ffmpeg once per run."""
    ffmpeg = shutil.which("ffmpeg")
    require(ffmpeg is not None, "ffmpeg")
    with tempfile.TemporaryDirectory() as workdir:
        path = Path(workdir) / "clip.mp4"
        source = ["-f", "lavfi", "-i", "testsrc2=size=160x120:rate=10", "-t", "4"]
        encode = ["-c:v", "libx264", "-pix_fmt", "yuv420p", "-g", "10", "-movflags", "+faststart"]
        subprocess.run([ffmpeg, "-v", "error", *source, *encode, str(path)], check=True)
        return path.read_bytes()


def team_with_submission(name, reference, *, account="I saw a group of people running.", proxy=None):
    """A team, its officer, an incident with an open appeal, and one submission with a file and a proxy
    (placeholder bytes unless given)."""
    team = Team.objects.create(name=name)
    officer = make_triage_officer(f"officer-{reference.lower()}", team)
    incident = make_incident(reference=f"CAD{reference}/01JAN", team=team, officer=officer)
    appeal = make_appeal(incident, headline=f"Appeal {reference}")
    submission = make_submission(appeal, account=account)
    media_file = store_media_file(submission, content=f"original of {reference}".encode())
    proxy = add_derivative(media_file, Derivative.Kind.PROXY, proxy or f"proxy of {reference} ".encode() * 100)
    return SimpleNamespace(
        team=team,
        officer=officer,
        incident=incident,
        appeal=appeal,
        submission=submission,
        media_file=media_file,
        proxy=proxy,
    )
