"""``python manage.py mqtt_bridge``: MQTT device topics into live state and PostgreSQL.

Runs until SIGINT/SIGTERM. Without a broker it keeps retrying quietly with backoff (it never
exits on its own, so a process manager such as honcho is not brought down by it). An empty
``MQTT_URL`` disables it: the process then idles.
"""

import contextlib
import logging
import signal
import threading
import time
from typing import Any

from django.conf import settings
from django.core.management.base import BaseCommand

logger = logging.getLogger("devices.ingest.mqtt")


class Command(BaseCommand):
    help = "Bridge MQTT device topics (telemetry, acks, status) into gridtwin."

    def add_arguments(self, parser: Any) -> None:
        parser.add_argument("--url", default=None, help="Broker URL (default: MQTT_URL).")
        parser.add_argument("--prefix", default=None, help="Topic prefix (MQTT_TOPIC_PREFIX).")
        parser.add_argument("--flush-rows", type=int, default=1000)
        parser.add_argument(
            "--client-id",
            default=None,
            help="MQTT client id (default: MQTT_BRIDGE_CLIENT_ID, else gridtwin-bridge:PREFIX); "
            "the broker keeps this bridge's session, and the QoS 1 messages sent while it is "
            "away, under it.",
        )

    def handle(self, *args: Any, **options: Any) -> None:
        stop = threading.Event()

        def on_signal(signum: int, _frame: Any) -> None:
            stop.set()

        signal.signal(signal.SIGTERM, on_signal)
        signal.signal(signal.SIGINT, on_signal)
        url = options["url"] if options["url"] is not None else settings.MQTT_URL
        if not url:
            logger.info("mqtt bridge: MQTT_URL is empty; the bridge is disabled")
            stop.wait()
            return
        delay = 1.0
        while not stop.is_set():
            from devices.ingest.mqtt import Bridge

            bridge = None
            try:
                bridge = Bridge(
                    url=url,
                    prefix=options["prefix"],
                    flush_rows=options["flush_rows"],
                    client_id=options["client_id"]
                    or settings.MQTT_BRIDGE_CLIENT_ID
                    or f"gridtwin-bridge:{options['prefix'] or settings.MQTT_TOPIC_PREFIX}",
                )
                bridge.start()
                watcher = threading.Thread(
                    target=lambda b=bridge: (stop.wait(), b.stop()), daemon=True
                )
                watcher.start()
                bridge.run()
                bridge.close()
                return
            except Exception:
                logger.exception("mqtt bridge: crashed; restarting in %.0f s", delay)
                if bridge is not None:
                    with contextlib.suppress(Exception):
                        bridge.client.loop_stop()
                stop.wait(delay)
                delay = min(delay * 2, 60.0)
            time.sleep(0)
