from django.contrib.admin.apps import AdminConfig


class OfficersAdminConfig(AdminConfig):
    default_site = "config.admin.OfficersAdminSite"
