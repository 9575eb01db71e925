from django.urls import path

from devices.ingest import http

urlpatterns = [
    path("telemetry", http.telemetry, name="telemetry"),
    path("commands", http.commands, name="commands"),
    path("commands/<str:command_id>/ack", http.command_ack, name="command-ack"),
]
