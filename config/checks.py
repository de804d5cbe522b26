from django.conf import settings
from django.contrib.staticfiles.storage import ManifestFilesMixin, staticfiles_storage
from django.core.checks import Error, Warning, register


@register()
def check_static_files_collected(app_configs, **kwargs):
    """Without its manifest, every page that names a static file answers 500: refuse to start instead."""
    if not isinstance(staticfiles_storage, ManifestFilesMixin):
        return []
    if staticfiles_storage.exists(staticfiles_storage.manifest_name):
        return []
    return [
        Error(
            f"The static files have not been collected into {staticfiles_storage.location}.",
            hint="Run `manage.py collectstatic --noinput` (`make run` does it when DEBUG is off).",
            id="config.E001",
        )
    ]


@register(deploy=True)
def check_force_contact_details(app_configs, **kwargs):
    """The privacy notice and the accessibility statement must tell people how to reach the force."""
    examples = [
        name for name in ("FORCE_CONTACT_EMAIL", "FORCE_DPO_EMAIL") if getattr(settings, name).endswith("@example.org")
    ]
    if not examples:
        return []
    return [
        Warning(
            f"Still an example address: {', '.join(examples)}. The privacy notice and the accessibility "
            "statement give these to the public.",
            hint="Set them to the force's own mailboxes, and check FORCE_NAME, FORCE_CONTROLLER and FORCE_ADDRESS.",
            id="config.W001",
        )
    ]
