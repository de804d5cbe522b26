from django.contrib import admin
from django.contrib.sitemaps.views import sitemap
from django.urls import path

from appeals import views
from appeals.caching import public_page
from appeals.feeds import AppealsFeed
from appeals.sitemaps import SITEMAPS

app_name = "appeals"
urlpatterns = [
    path("", views.appeal_list, name="list"),
    path("appeals/<slug:slug>/", views.appeal_detail, name="detail"),
    path("appeals/<slug:slug>/print/", views.appeal_print, name="print"),
    path("appeals/<slug:slug>/preview/", admin.site.admin_view(views.appeal_preview), name="preview"),
    path("appeals/<slug:slug>/images/<int:pk>.jpg", views.appeal_image, name="image"),
    path("feed/", public_page(AppealsFeed()), name="feed"),
    path("sitemap.xml", public_page(sitemap, params=["p"]), {"sitemaps": SITEMAPS}, name="sitemap"),
    path("robots.txt", views.robots_txt, name="robots"),
    path("privacy/", views.privacy_notice, name="privacy"),
    path("accessibility-statement/", views.accessibility_statement, name="accessibility"),
    path("cookies/", views.cookies, name="cookies"),
]
