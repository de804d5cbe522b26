from django.apps import AppConfig


class AppealsConfig(AppConfig):
    name = "appeals"

    def ready(self):
        from appeals import signals  # noqa: F401  (connects the cache invalidation receivers)
