from pathlib import Path

from django.apps import AppConfig
from django.conf import settings


class SubmissionsConfig(AppConfig):
    name = "submissions"

    def ready(self):
        # Uploads stream into this folder from the first request on, whichever process serves it.
        Path(settings.UPLOAD_DIR).mkdir(parents=True, exist_ok=True)
        # Registers the deploy check for the virus scanner.
        from submissions import checks  # noqa: F401
