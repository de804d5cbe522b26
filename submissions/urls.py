from django.urls import path

from submissions import views

app_name = "submissions"
urlpatterns = [
    path("appeals/<slug:slug>/give-information/", views.give_information, name="give_information"),
    path("appeals/<slug:slug>/give-information/done/", views.confirmation, name="confirmation"),
]
