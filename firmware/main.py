"""Board entry point, and :class:`MeterNode`, the loop the emulator runs too.

On the board, ``/main.py`` holds two lines::

    import firmware.main
    firmware.main.main()
"""

import gc

from firmware import config, platform
from firmware.commands import CommandHandler, HttpCommandPoller
from firmware.pzem import PZEM
from firmware.sampler import Sampler, SeqCounter
from firmware.uploader import Backoff, HttpTransport, MqttLink, Uploader

try:
    from typing import Any
except ImportError:
    pass


class MeterNode:
    """One meter: sample on schedule, upload, answer commands. ``step`` never blocks long.

    After a ``reboot`` command has been acknowledged, ``reboot_pending`` turns True and the
    caller restarts (the board resets, the emulator builds a fresh node).
    """

    def __init__(
        self,
        *,
        device_id: Any,
        meter: Any,
        sampler: Sampler,
        uploader: Uploader,
        handler: CommandHandler,
        mqtt: MqttLink | None = None,
        poller: HttpCommandPoller | None = None,
        clock: Any = None,
    ) -> None:
        self.device_id = device_id
        self.meter = meter
        self.sampler = sampler
        self.uploader = uploader
        self.handler = handler
        self.mqtt = mqtt
        self.poller = poller
        self.clock = clock if clock is not None else platform.monotonic_s
        self.next_sample_at = 0.0
        self.last_sample_at: float | None = None
        self._interval_s = sampler.interval_s
        self.reboot_pending = False
        self._reported_unauthorized = False
        handler.status = self.status
        if mqtt is not None:
            mqtt.on_command = handler.handle
            mqtt.after_ack = self._after_ack
        if poller is not None:
            poller.after_ack = self._after_ack

    def _after_ack(self, ack: dict) -> None:
        if self.handler.reboot_requested:
            self.reboot_pending = True

    @property
    def unauthorized(self) -> bool:
        return self.uploader.unauthorized or (self.poller is not None and self.poller.unauthorized)

    def status(self) -> dict:
        return {
            "interval_s": self.sampler.interval_s,
            "buffered": len(self.uploader.buffer),
            "next_seq": self.sampler.seq.peek(),
            "meter_errors": self.sampler.errors,
        }

    def start(self) -> None:
        if self.mqtt is not None:
            self.mqtt.connect()

    def stop(self) -> None:
        """Send what is buffered (RAM does not survive a reset), then say goodbye."""
        up = self.uploader
        if len(up.buffer) and not up.unauthorized and up.backoff.attempts == 0:
            up.next_attempt_at = 0.0
            up.flush()
        if self.mqtt is not None:
            self.mqtt.close()

    def step(self, now: float | None = None) -> float:
        """Do whatever is due; returns how long the caller may sleep [s]."""
        if now is None:
            now = self.clock()
        if self.sampler.interval_s != self._interval_s:  # set_interval: reschedule at once
            self._interval_s = self.sampler.interval_s
            if self.last_sample_at is not None:
                self.next_sample_at = self.last_sample_at + self._interval_s
        if now >= self.next_sample_at:
            reading = self.sampler.sample()
            if reading is not None:
                self.uploader.enqueue(reading)
            self.last_sample_at = now
            self.next_sample_at += self._interval_s
            if self.next_sample_at <= now:  # fell behind (or first sample): realign
                self.next_sample_at = now + self._interval_s
        self.uploader.flush(now)
        if self.mqtt is not None:
            self.mqtt.poll(now)
        if self.poller is not None:
            self.poller.poll(now)
        if self.unauthorized and not self._reported_unauthorized:
            self._reported_unauthorized = True
            platform.log("error", "device %s: the server refused the API key" % (self.device_id,))
        wake_at = self.next_sample_at
        if len(self.uploader.buffer) and not self.uploader.unauthorized:
            wake_at = min(wake_at, self.uploader.next_attempt_at)
        if self.poller is not None:
            wake_at = min(wake_at, self.poller.next_poll_at)
        longest = 0.2 if self.mqtt is not None else 1.0  # MQTT: pick up commands promptly
        return max(0.0, min(wake_at - now, longest))


def build_node(
    cfg: dict,
    *,
    uart: Any = None,
    meter: Any = None,
    seq: SeqCounter | None = None,
    mqtt_client_factory: Any = None,
    request: Any = None,
    clock: Any = None,
    wall_clock: Any = None,
    rand: Any = None,
) -> MeterNode:
    """Wire a :class:`MeterNode` from a validated config (the emulator injects its parts)."""
    if meter is None:
        meter = PZEM(uart, address=cfg["pzem_address"], timeout_ms=cfg["pzem_timeout_ms"])
    if seq is None:
        seq = SeqCounter(cfg.get("seq_path"))
    sampler = Sampler(meter, seq=seq, interval_s=cfg["sample_interval_s"], clock=wall_clock)
    handler = CommandHandler(meter=meter, sampler=sampler, clock=clock)
    cap = cfg["backoff_cap_s"]
    mqtt = None
    poller = None
    if cfg["transport"] == "mqtt":
        if mqtt_client_factory is None:

            def mqtt_client_factory() -> Any:
                return platform.mqtt_client(
                    cfg.get("mqtt_client_id") or "gridtwin-%s" % cfg["device_id"],
                    cfg["mqtt_host"],
                    port=cfg["mqtt_port"],
                    user=cfg["mqtt_user"],
                    password=cfg["mqtt_password"],
                    keepalive=cfg["mqtt_keepalive_s"],
                )

        mqtt = MqttLink(
            client_factory=mqtt_client_factory,
            device_id=cfg["device_id"],
            api_key=cfg["api_key"],
            clock=clock,
            backoff=Backoff(cap_s=cap, rand=rand),
            ping_interval_s=max(5, cfg["mqtt_keepalive_s"] // 2),
        )
        transport: Any = mqtt
    else:
        transport = HttpTransport(
            cfg["server"], cfg["api_key"], timeout_s=cfg["http_timeout_s"], request=request
        )
        poller = HttpCommandPoller(
            server=cfg["server"],
            api_key=cfg["api_key"],
            handler=handler,
            poll_interval_s=cfg["command_poll_s"],
            request=request,
            clock=clock,
            timeout_s=cfg["http_timeout_s"],
        )
    uploader = Uploader(
        transport,
        capacity=cfg["buffer_capacity"],
        max_batch=cfg["max_batch"],
        upload_interval_s=cfg["upload_interval_s"],
        backoff=Backoff(cap_s=cap, rand=rand),
        clock=clock,
    )
    return MeterNode(
        device_id=cfg["device_id"],
        meter=meter,
        sampler=sampler,
        uploader=uploader,
        handler=handler,
        mqtt=mqtt,
        poller=poller,
        clock=clock,
    )


def _bring_up_network(cfg: dict) -> None:
    """Join Wi-Fi and set the clock; resets the board when either keeps failing."""
    for attempt in range(5):
        ip = platform.wifi_connect(cfg["wifi_ssid"], cfg["wifi_password"])
        if ip is not None:
            platform.log("info", "wifi up: %s" % ip)
            break
        platform.log("warning", "wifi connect failed (attempt %d)" % (attempt + 1))
        platform.sleep_ms(5000)
    else:
        platform.reset()
    for attempt in range(5):
        if platform.sync_time(cfg["ntp_host"]) and platform.clock_is_set():
            platform.log("info", "clock set: %s" % platform.iso_utc(platform.epoch_s()))
            return
        platform.log("warning", "ntp sync failed (attempt %d)" % (attempt + 1))
        platform.sleep_ms(3000)
    platform.reset()  # timestamps from an unset clock would be rejected anyway


def run_forever(node: MeterNode, cfg: dict) -> None:
    """The board loop: step, sleep, keep Wi-Fi up, reset after a reboot command."""
    node.start()
    failures = 0
    while True:
        try:
            wait_s = node.step()
            if node.reboot_pending:
                platform.log("info", "rebooting on command")
                node.stop()
                platform.sleep_ms(200)
                platform.reset()
            if not platform.wifi_is_connected():
                platform.wifi_connect(cfg["wifi_ssid"], cfg["wifi_password"])
            failures = 0
        except MemoryError:
            wait_s = 1.0
            gc.collect()
        except Exception as exc:  # keep the meter alive; reset after a run of failures
            failures += 1
            platform.log("error", "loop error %d: %r" % (failures, exc))
            if failures >= 20:
                platform.reset()
            wait_s = 1.0
        gc.collect()
        platform.sleep_ms(int(wait_s * 1000))


def main(config_path: str = config.CONFIG_PATH) -> None:
    """Board entry point: config, Wi-Fi, clock, UART, then loop forever."""
    try:
        cfg = config.load(config_path)
    except config.ConfigError as exc:
        # Leave the REPL usable so the config can be fixed with mpremote.
        platform.log("error", str(exc))
        return
    platform.set_log_level(cfg["log_level"])
    _bring_up_network(cfg)
    uart = platform.open_uart(cfg["uart_id"], 9600, cfg["uart_tx"], cfg["uart_rx"])
    node = build_node(cfg, uart=uart)
    platform.log("info", "meter %s up, transport %s" % (cfg["device_id"], cfg["transport"]))
    run_forever(node, cfg)
