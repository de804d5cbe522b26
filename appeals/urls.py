from django.urls import path

from appeals import views

app_name = "appeals"
urlpatterns = [
    path("", views.appeal_list, name="list"),
    path("appeals/<slug:slug>/", views.appeal_detail, name="detail"),
]
