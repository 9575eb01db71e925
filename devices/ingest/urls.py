"""Django's device endpoints; ``POST /api/v1/telemetry`` is served ahead of Django
(:mod:`devices.ingest.asgi`)."""

from django.urls import path

from devices.ingest import http

urlpatterns = [
    path("commands", http.commands, name="commands"),
    path("commands/<str:command_id>/ack", http.command_ack, name="command-ack"),
]
