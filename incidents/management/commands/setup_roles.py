from django.core.management.base import BaseCommand

from incidents.roles import ensure_roles


class Command(BaseCommand):
    help = "Create or refresh the officers' permission groups, data protection officers' too (idempotent)."

    def handle(self, *args, **options):
        for name, group in ensure_roles().items():
            self.stdout.write(f"{name}: {group.permissions.count()} permissions")
