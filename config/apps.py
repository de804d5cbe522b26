from django.apps import AppConfig
from django.contrib.admin.apps import AdminConfig


class ProjectConfig(AppConfig):
    name = "config"
    verbose_name = "Project"

    def ready(self):
        from config import checks  # noqa: F401


class OfficersAdminConfig(AdminConfig):
    default_site = "config.admin.OfficersAdminSite"
