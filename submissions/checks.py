from django.conf import settings
from django.core.checks import Tags, Warning, register


@register(Tags.security, deploy=True)
def check_virus_scanner(app_configs, **kwargs):
    if settings.CLAMD_ADDRESS:
        return []
    return [
        Warning(
            "CLAMD_ADDRESS is not set: witnesses' files are processed without a virus scan.",
            hint="Run clamd and set CLAMD_ADDRESS to its socket path or host:port.",
            id="submissions.W001",
        )
    ]
