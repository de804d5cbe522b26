from django.apps import AppConfig


class SubmissionsConfig(AppConfig):
    name = "submissions"

    def ready(self):
        # Registered beside admin.py, which holds the triage screens.
        from submissions import checks, notification_admin  # noqa: F401
