"""Django's URLs: the admin and the device ingest. ``/graphql/`` is served ahead of Django
(:mod:`config.asgi`)."""

from django.contrib import admin
from django.urls import include, path

urlpatterns = [
    path("admin/", admin.site.urls),
    path("api/v1/", include("devices.ingest.urls")),
]
