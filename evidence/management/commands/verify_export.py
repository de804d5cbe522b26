"""Re-hash an evidence export against its manifest, and say whether its SHA-256 matches a recorded export."""

import zipfile

from django.core.management.base import BaseCommand, CommandError

from evidence.exports import verify_export_file
from evidence.models import EvidenceExport
from submissions.storage import sha256_of_path


class Command(BaseCommand):
    help = "Check every file in an evidence export zip against the SHA-256 and size in its manifest."

    def add_arguments(self, parser):
        parser.add_argument("file", help="The export zip")

    def handle(self, *args, file, **options):
        try:
            problems, manifest = verify_export_file(file)
        except (OSError, zipfile.BadZipFile) as error:
            raise CommandError(f"Cannot read {file}: {error}") from error
        sha256 = sha256_of_path(file)
        self.stdout.write(f"SHA-256 of {file}: {sha256}")
        recorded = EvidenceExport.objects.select_related("submission").filter(sha256=sha256).first()
        if recorded:
            self.stdout.write(
                f"It is export {recorded.pk} of submission {recorded.submission.reference}, "
                f"recorded on {recorded.finished_at:%Y-%m-%d %H:%M %Z}."
            )
        else:
            self.stdout.write("No export with this SHA-256 is recorded here (it may come from another system).")
        if problems:
            for problem in problems:
                self.stderr.write(problem)
            raise CommandError(f"{len(problems)} problem(s): the export does not match its manifest.")
        count = len(manifest.get("files", []))
        self.stdout.write(self.style.SUCCESS(f"All {count} files match the SHA-256 and size in the manifest."))
