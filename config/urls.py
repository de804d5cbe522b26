from django.contrib import admin
from django.urls import include, path

from config.csp import csp_report
from config.health import healthz

urlpatterns = [
    path("admin/", admin.site.urls),
    path("healthz", healthz, name="healthz"),
    path("csp-report/", csp_report, name="csp_report"),
    path("", include("submissions.urls")),
    path("", include("appeals.urls")),
]

# Renders without the database, and answers 503 when the database is what failed.
handler500 = "appeals.views.server_error"
