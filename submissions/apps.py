from django.apps import AppConfig


class SubmissionsConfig(AppConfig):
    name = "submissions"

    def ready(self):
        # Registers the deploy check for the virus scanner.
        from submissions import checks  # noqa: F401
