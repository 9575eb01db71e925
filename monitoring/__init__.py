"""Operating the platform: Prometheus metrics, health and readiness, logs with a request id.

:mod:`.metrics` (every metric, and its rendering) and :mod:`.logs` (request id, JSON lines)
import nothing of ours, so any layer may call them; :mod:`.health` and :mod:`.http` sit on top,
beside ``config``, and serve ``/healthz``, ``/readyz`` and ``/metrics`` on the web process.
"""
