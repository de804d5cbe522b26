"""Print a demo officer's current authenticator code, so a newcomer can sign in without a phone (DEBUG only)."""

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError
from django_otp.oath import TOTP
from django_otp.plugins.otp_totp.models import TOTPDevice


class Command(BaseCommand):
    help = "Print the current TOTP code of a demo officer's authenticator (only when DEBUG is on)."

    def add_arguments(self, parser):
        parser.add_argument("username")

    def handle(self, *args, username, **options):
        if not settings.DEBUG:
            raise CommandError("Only for local demos: DEBUG is off.")
        device = TOTPDevice.objects.filter(user__username=username, name="Demo authenticator").first()
        if device is None:
            raise CommandError(f"{username} has no demo authenticator; run `manage.py load_demo` first.")
        totp = TOTP(device.bin_key, device.step, device.t0, device.digits, device.drift)
        self.stdout.write(f"{totp.token():0{device.digits}d}")
