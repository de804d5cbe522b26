from django.conf import settings
from django.contrib.syndication.views import Feed
from django.utils.feedgenerator import Atom1Feed

from appeals.models import Appeal, AppealUpdate

FEED_LENGTH = 30


class AppealsFeed(Feed):
    """New appeals and their updates, newest first, for newsrooms and community pages."""

    feed_type = Atom1Feed
    title_template = None

    def title(self):
        return f"{settings.SITE_NAME}: {settings.FORCE_NAME}"

    def link(self):
        return settings.SITE_URL + "/"

    def subtitle(self):
        return "New police appeals for witnesses and information, and updates on them."

    def items(self):
        appeals = Appeal.objects.published().select_related("incident")[:FEED_LENGTH]
        updates = AppealUpdate.objects.filter(appeal__in=Appeal.objects.published()).select_related("appeal")
        entries = [*appeals, *updates[:FEED_LENGTH]]
        return sorted(entries, key=self.item_pubdate, reverse=True)[:FEED_LENGTH]

    def item_title(self, item):
        if isinstance(item, AppealUpdate):
            return f"Update: {item.title} ({item.appeal.headline})"
        return item.headline

    def item_description(self, item):
        if isinstance(item, AppealUpdate):
            return item.body
        return f"{item.summary} Reference: {item.incident.reference}."

    def item_link(self, item):
        if isinstance(item, AppealUpdate):
            return f"{settings.SITE_URL}{item.appeal.get_absolute_url()}#update-{item.pk}"
        return settings.SITE_URL + item.get_absolute_url()

    def item_guid(self, item):
        return self.item_link(item)

    def item_pubdate(self, item):
        return item.posted_at if isinstance(item, AppealUpdate) else item.published_at

    def item_updateddate(self, item):
        return item.posted_at if isinstance(item, AppealUpdate) else item.updated_at

    def item_author_name(self, item):
        return settings.FORCE_NAME
