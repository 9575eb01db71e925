"""Telemetry ingest adapters: HTTP views (``http``), the MQTT bridge (``mqtt``), validation."""
