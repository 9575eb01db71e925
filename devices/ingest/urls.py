"""Django's device endpoints; ``POST /api/v1/telemetry`` is served ahead of Django
(:mod:`devices.ingest.asgi`)."""

from django.urls import path, re_path

from devices.ingest import http, openapi

urlpatterns = [
    path("commands", http.commands, name="commands"),
    path("commands/<str:command_id>/ack", http.command_ack, name="command-ack"),
    path("openapi.json", openapi.openapi, name="openapi"),
    re_path(r"", http.unknown, name="unknown"),  # last: everything else under the API
]
