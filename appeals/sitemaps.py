from urllib.parse import urlsplit

from django.conf import settings
from django.contrib.sitemaps import Sitemap
from django.urls import reverse

from appeals.models import Appeal


class SiteUrlSitemap(Sitemap):
    """Absolute addresses on SITE_URL, whatever host the request came in on."""

    limit = 5000

    @property
    def protocol(self):
        return urlsplit(settings.SITE_URL).scheme

    def get_domain(self, site=None):
        return urlsplit(settings.SITE_URL).netloc


class AppealSitemap(SiteUrlSitemap):
    def items(self):
        return Appeal.objects.published().only("slug", "status", "updated_at").order_by("-published_at", "pk")

    def lastmod(self, appeal):
        return appeal.updated_at

    def changefreq(self, appeal):
        return "daily" if appeal.is_open() else "monthly"


class StaticPagesSitemap(SiteUrlSitemap):
    changefreq = "hourly"

    def items(self):
        return ["appeals:list"]

    def location(self, name):
        return reverse(name)


SITEMAPS = {"pages": StaticPagesSitemap, "appeals": AppealSitemap}
