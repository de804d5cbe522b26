"""Give the site's and workers' PostgreSQL role what the application needs, and no more (evidence/privileges.py)."""

from django.conf import settings
from django.core.exceptions import ImproperlyConfigured
from django.core.management.base import BaseCommand, CommandError
from django.db import DEFAULT_DB_ALIAS, connections

from evidence.privileges import grant_app_role


class Command(BaseCommand):
    help = "Grant the application's role its privileges on every table. Run as the tables' owner after each migrate."

    def add_arguments(self, parser):
        parser.add_argument("role", nargs="?", help="The role to grant to (default: the user in DATABASE_URL).")
        parser.add_argument(
            "--database",
            default="owner" if "owner" in settings.DATABASES else DEFAULT_DB_ALIAS,
            help="The owner's connection (default: DATABASE_OWNER_URL's, when it is set).",
        )

    def handle(self, *args, role, database, **options):
        connection = connections[database]
        if connection.vendor != "postgresql":
            raise CommandError("Roles and grants need PostgreSQL.")
        role = role or settings.DATABASES[DEFAULT_DB_ALIAS]["USER"]
        try:
            tables = grant_app_role(connection, role)
        except ImproperlyConfigured as error:
            raise CommandError(str(error)) from error
        self.stdout.write(self.style.SUCCESS(f"{role} may now do what the application needs on {tables} tables."))
