from django.contrib import admin
from django.urls import include, path

from graphql_api.views import graphql_view

urlpatterns = [
    path("admin/", admin.site.urls),
    path("graphql/", graphql_view, name="graphql"),
    path("api/v1/", include("devices.ingest.urls")),
]
