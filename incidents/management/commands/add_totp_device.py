"""Give an officer an authenticator (TOTP) device, e.g. the first superuser, who cannot reach the admin without one."""

import sys

import segno
from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand, CommandError
from django_otp.plugins.otp_totp.models import TOTPDevice


class Command(BaseCommand):
    help = "Create a TOTP device for USERNAME and show its QR code and otpauth link to scan into an authenticator app."

    def add_arguments(self, parser):
        parser.add_argument("username")
        parser.add_argument("--name", default="Authenticator app", help="A name for the device")

    def handle(self, *args, username, name, **options):
        user = get_user_model().objects.filter(username=username).first()
        if user is None:
            raise CommandError(f"There is no user {username}.")
        device = TOTPDevice.objects.create(user=user, name=name, confirmed=True)
        self.stdout.write(f"Scan this into {username}'s authenticator app, or open the link on their phone:")
        if self.stdout.isatty():
            segno.make(device.config_url).terminal(out=sys.stdout, compact=True)
        self.stdout.write(device.config_url)
