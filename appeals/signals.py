"""Anything a public page shows has changed: make the cached public pages stale."""

from django.db.models.signals import post_delete, post_save
from django.dispatch import receiver

from appeals.caching import invalidate_public_pages
from appeals.models import Appeal, AppealImage, AppealUpdate
from incidents.models import Incident


@receiver([post_save, post_delete], sender=Appeal)
@receiver([post_save, post_delete], sender=AppealUpdate)
@receiver([post_save, post_delete], sender=AppealImage)
@receiver([post_save, post_delete], sender=Incident)
def public_content_changed(sender, **kwargs):
    invalidate_public_pages()
