from django.urls import path

from submissions import tus, views

app_name = "submissions"
urlpatterns = [
    path("appeals/<slug:slug>/give-information/", views.question, name="give_information"),
    path("appeals/<slug:slug>/give-information/check/", views.check_answers, name="check"),
    path("appeals/<slug:slug>/give-information/done/", views.confirmation, name="confirmation"),
    path("appeals/<slug:slug>/give-information/not-saved/", views.not_saved, name="not_saved"),
    path("appeals/<slug:slug>/give-information/<slug:step>/", views.question, name="step"),
    path("footage/<str:token>/", views.footage, name="footage"),
    path("footage/<str:token>/upload/", views.upload_files, name="upload_files"),
    # The tus endpoint (see the README): no trailing slash, as tus clients build these addresses themselves.
    path("uploads", tus.create_upload, name="uploads"),
    path("uploads/<uuid:upload_id>", tus.existing_upload, name="upload"),
]
