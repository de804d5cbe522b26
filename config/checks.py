from django.contrib.staticfiles.storage import ManifestFilesMixin, staticfiles_storage
from django.core.checks import Error, register


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
