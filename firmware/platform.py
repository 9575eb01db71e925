"""The only module that knows whether it runs on a MicroPython board or on CPython.

Board: ``machine.UART``, ``network``, ``urequests``/``requests``, ``umqtt.simple``, ``time``
with ``ticks_ms``. CPython: a serial-ish UART stand-in, ``urllib.request``, paho-mqtt (when
installed) behind the ``umqtt.simple`` interface, and ``time``. Everything else in
``firmware`` talks to these functions, never to the board modules directly.
"""

import sys
import time

try:
    import json
except ImportError:  # old MicroPython builds only have the u-prefixed name
    import ujson as json  # type: ignore[import-not-found, import-untyped, no-redef, unused-ignore]

try:
    import random
except ImportError:
    import urandom as random  # type: ignore[import-not-found, no-redef, unused-ignore]

try:
    from typing import Any
except ImportError:
    pass

IS_MICROPYTHON = sys.implementation.name == "micropython"

# Board-only modules; absent on CPython.
try:
    import machine  # type: ignore[import-not-found, unused-ignore]
except ImportError:
    machine = None

try:
    import network  # type: ignore[import-not-found, unused-ignore]
except ImportError:
    network = None

# CPython-only modules; absent on the board.
try:
    import http.client as _http_client
    import logging as _logging
    import urllib.error as _urllib_error
    import urllib.request as _urllib_request

    HAVE_CPYTHON_LIBS = True
except ImportError:
    HAVE_CPYTHON_LIBS = False

__all__ = [
    "IS_MICROPYTHON",
    "FakeUART",
    "HttpResponse",
    "epoch_s",
    "http_request",
    "iso_utc",
    "json",
    "log",
    "monotonic_s",
    "mqtt_client",
    "open_uart",
    "rand",
    "reset",
    "sleep_ms",
    "sync_time",
    "unique_id",
    "wifi_connect",
]

# ---------------------------------------------------------------------------------------------
# Clocks
# ---------------------------------------------------------------------------------------------

_ticks_ms = getattr(time, "ticks_ms", None)
_ticks_diff = getattr(time, "ticks_diff", None)
_mono_last_ms = None
_mono_total_ms = 0

# MicroPython ports before 1.22 count from 2000-01-01; CPython from 1970-01-01.
EPOCH_OFFSET_S = 946684800 if time.gmtime(0)[0] == 2000 else 0
CLOCK_VALID_AFTER_S = 1704067200  # 2024-01-01T00:00:00Z; earlier means "never synced"


def monotonic_s() -> float:
    """Seconds from an arbitrary start; never goes back (board ticks wrap after days)."""
    global _mono_last_ms, _mono_total_ms
    if _ticks_ms is None:
        return time.monotonic()
    now = _ticks_ms()
    if _mono_last_ms is not None:
        _mono_total_ms += _ticks_diff(now, _mono_last_ms)
    _mono_last_ms = now
    return _mono_total_ms / 1000.0


def epoch_s() -> float:
    """Unix time in seconds (1970 epoch on every port)."""
    return time.time() + EPOCH_OFFSET_S


def iso_utc(at_epoch_s: float) -> str:
    """ISO-8601 UTC with a ``Z`` suffix and whole seconds, e.g. ``2026-11-23T13:00:00Z``."""
    t = time.gmtime(int(at_epoch_s) - EPOCH_OFFSET_S)
    return "%04d-%02d-%02dT%02d:%02d:%02dZ" % (t[0], t[1], t[2], t[3], t[4], t[5])


def clock_is_set() -> bool:
    """True when the wall clock has plausibly been synchronised."""
    return epoch_s() >= CLOCK_VALID_AFTER_S


def sleep_ms(ms: int) -> None:
    """Block for ``ms`` milliseconds."""
    if ms <= 0:
        return
    board_sleep = getattr(time, "sleep_ms", None)
    if board_sleep is not None:
        board_sleep(int(ms))
    else:
        time.sleep(ms / 1000.0)


def sync_time(host: str = "pool.ntp.org") -> bool:
    """Set the board clock from NTP; a no-op on CPython whose OS keeps time."""
    if not IS_MICROPYTHON:
        return True
    try:
        import ntptime  # type: ignore[import-not-found, unused-ignore]
    except ImportError:
        return clock_is_set()
    try:
        ntptime.host = host
        ntptime.settime()
    except (OSError, OverflowError, IndexError) as exc:
        log("warning", "ntp sync failed: %r" % (exc,))
        return False
    return True


def rand() -> float:
    """A pseudo-random float in [0, 1) (jitter only, not for secrets)."""
    return random.getrandbits(24) / 16777216.0


# ---------------------------------------------------------------------------------------------
# Logging
# ---------------------------------------------------------------------------------------------

_LEVELS = {"debug": 10, "info": 20, "warning": 30, "error": 40}
_log_threshold = 20


def set_log_level(level: str) -> None:
    """Only messages at ``level`` or above are printed on the board."""
    global _log_threshold
    _log_threshold = _LEVELS.get(level, 20)


def log(level: str, msg: str) -> None:
    """Log through :mod:`logging` on CPython, ``print`` on the board."""
    if HAVE_CPYTHON_LIBS:
        _logging.getLogger("firmware").log(_LEVELS.get(level, 20), msg)
    elif _LEVELS.get(level, 20) >= _log_threshold:
        print("[%s] %s" % (level, msg))


# ---------------------------------------------------------------------------------------------
# Board identity and lifecycle
# ---------------------------------------------------------------------------------------------


def unique_id() -> str:
    """A stable hex id of this board (the process on CPython)."""
    if machine is not None:
        raw = machine.unique_id()
        return "".join("%02x" % b for b in raw)
    import os

    return "cpython-%d" % os.getpid()


def reset() -> None:
    """Hard-reset the board; on CPython raise ``SystemExit`` (callers restart instead)."""
    if machine is not None:
        machine.reset()
    raise SystemExit("reboot requested")


def wifi_connect(ssid: str, password: str, timeout_s: float = 20.0) -> str | None:
    """Join a Wi-Fi network and return the IP address, or None on timeout.

    On CPython the host is already online: returns ``"127.0.0.1"``.
    """
    if network is None:
        return "127.0.0.1"
    wlan = network.WLAN(network.STA_IF)
    wlan.active(True)
    if not wlan.isconnected():
        wlan.connect(ssid, password)
        deadline = monotonic_s() + timeout_s
        while not wlan.isconnected():
            if monotonic_s() > deadline:
                return None
            sleep_ms(200)
    return str(wlan.ifconfig()[0])


def wifi_is_connected() -> bool:
    """True while the station interface has an IP (always on CPython)."""
    if network is None:
        return True
    return bool(network.WLAN(network.STA_IF).isconnected())


# ---------------------------------------------------------------------------------------------
# UART
# ---------------------------------------------------------------------------------------------


class FakeUART:
    """A serial-ish stand-in for ``machine.UART`` on CPython.

    ``responder(frame) -> bytes | None`` plays the far end: every ``write`` hands it the
    bytes written, and whatever it returns becomes readable with ``read``.
    """

    def __init__(self, responder: Any = None) -> None:
        self.responder = responder
        self.rx = b""
        self.written: list[bytes] = []

    def write(self, data: bytes) -> int:
        data = bytes(data)
        self.written.append(data)
        if self.responder is not None:
            reply = self.responder(data)
            if reply:
                self.rx += bytes(reply)
        return len(data)

    def read(self, n: int = -1) -> bytes | None:
        if not self.rx:
            return None
        if n is None or n < 0:
            n = len(self.rx)
        out, self.rx = self.rx[:n], self.rx[n:]
        return out

    def any(self) -> int:
        return len(self.rx)

    def feed(self, data: bytes) -> None:
        """Make ``data`` readable as if it had arrived on the wire."""
        self.rx += bytes(data)


class _SerialUART:
    """``machine.UART``-like wrapper around a pyserial port (CPython + USB-TTL adapter)."""

    def __init__(self, port: str, baudrate: int, timeout_ms: int) -> None:
        try:
            import serial  # type: ignore[import-not-found, import-untyped, unused-ignore]
        except ImportError as exc:
            raise ImportError(
                "a serial port on CPython needs pyserial: pip install pyserial"
            ) from exc

        self._port = serial.Serial(port, baudrate=baudrate, timeout=timeout_ms / 1000.0)

    def write(self, data: bytes) -> int:
        return int(self._port.write(data))

    def read(self, n: int = -1) -> bytes | None:
        if n is None or n < 0:
            n = max(1, self._port.in_waiting)
        data = self._port.read(n)
        return bytes(data) if data else None

    def any(self) -> int:
        return int(self._port.in_waiting)


def open_uart(
    uart_id: Any, baudrate: int = 9600, tx: int = -1, rx: int = -1, timeout_ms: int = 100
) -> Any:
    """Open the UART wired to the meter: ``machine.UART`` on the board.

    On CPython ``uart_id`` names a serial port (``/dev/ttyUSB0``) opened with pyserial.
    """
    if machine is not None:
        kwargs = {"baudrate": baudrate, "bits": 8, "parity": None, "stop": 1}
        kwargs["timeout"] = timeout_ms
        if tx >= 0 and rx >= 0:
            kwargs["tx"] = tx
            kwargs["rx"] = rx
        return machine.UART(uart_id, **kwargs)
    return _SerialUART(str(uart_id), baudrate, timeout_ms)


# ---------------------------------------------------------------------------------------------
# HTTP
# ---------------------------------------------------------------------------------------------


class HttpResponse:
    """Status, lower-cased headers and body of one HTTP exchange."""

    def __init__(self, status: int, headers: dict, body: bytes) -> None:
        self.status = status
        self.headers = headers
        self.body = body

    def json(self) -> Any:
        return json.loads(self.body) if self.body else None


def http_request(
    method: str,
    url: str,
    headers: dict | None = None,
    body: Any = None,
    timeout_s: float = 10.0,
) -> HttpResponse:
    """One HTTP request; ``body`` (if not bytes) is sent as JSON.

    Any HTTP status is returned, not raised. Network failures raise ``OSError``.
    """
    headers = dict(headers or {})
    data = None
    if body is not None:
        data = body if isinstance(body, bytes) else json.dumps(body).encode()
        headers.setdefault("Content-Type", "application/json")
    if not HAVE_CPYTHON_LIBS:
        return _board_http_request(method, url, headers, data, timeout_s)
    return _cpython_http_request(method, url, headers, data, timeout_s)


def _board_http_request(
    method: str, url: str, headers: dict, data: bytes | None, timeout_s: float
) -> HttpResponse:
    try:
        import requests  # type: ignore[import-untyped, unused-ignore]
    except ImportError:
        import urequests as requests  # type: ignore[import-not-found, no-redef, unused-ignore]
    try:
        resp = requests.request(method, url, data=data, headers=headers, timeout=timeout_s)
    except TypeError:  # old urequests without the timeout argument
        resp = requests.request(method, url, data=data, headers=headers)
    try:
        raw_headers = getattr(resp, "headers", None) or {}
        lowered = {}
        for k in raw_headers:
            lowered[str(k).lower()] = raw_headers[k]
        return HttpResponse(resp.status_code, lowered, resp.content or b"")
    finally:
        resp.close()


def _cpython_http_request(
    method: str, url: str, headers: dict, data: bytes | None, timeout_s: float
) -> HttpResponse:
    req = _urllib_request.Request(url, data=data, headers=headers, method=method)
    try:
        with _urllib_request.urlopen(req, timeout=timeout_s) as resp:
            hdrs = {k.lower(): v for k, v in resp.headers.items()}
            return HttpResponse(resp.status, hdrs, resp.read())
    except _urllib_error.HTTPError as err:
        hdrs = {k.lower(): v for k, v in (err.headers or {}).items()}
        try:
            payload = err.read()
        except (OSError, _http_client.HTTPException):
            payload = b""
        return HttpResponse(err.code, hdrs, payload)
    except _http_client.HTTPException as exc:  # e.g. IncompleteRead is not an OSError
        raise OSError("http error: %r" % (exc,)) from exc


# ---------------------------------------------------------------------------------------------
# MQTT
# ---------------------------------------------------------------------------------------------


class PahoClient:
    """paho-mqtt 2.x behind the ``umqtt.simple.MQTTClient`` interface (CPython only).

    Not threaded: ``check_msg`` drives paho's network loop, so whoever calls it owns the
    client, exactly like on the board.
    """

    def __init__(
        self,
        client_id: str,
        server: str,
        port: int = 1883,
        user: str | None = None,
        password: str | None = None,
        keepalive: int = 60,
    ) -> None:
        try:
            import paho.mqtt.client as paho
        except ImportError as exc:
            raise ImportError("MQTT on CPython needs paho-mqtt: pip install paho-mqtt") from exc
        self._paho = paho
        self.server = server
        self.port = port
        self.keepalive = keepalive
        self._cb: Any = None
        self._connected = False
        self._client = paho.Client(
            callback_api_version=paho.CallbackAPIVersion.VERSION2,
            client_id=client_id,
            protocol=paho.MQTTv311,
        )
        if user:
            self._client.username_pw_set(user, password)
        self._client.on_connect = self._on_connect
        self._client.on_disconnect = self._on_disconnect
        self._client.on_message = self._on_message

    def _on_connect(self, client: Any, userdata: Any, flags: Any, rc: Any, props: Any) -> None:
        self._connected = not rc.is_failure

    def _on_disconnect(self, client: Any, userdata: Any, flags: Any, rc: Any, props: Any) -> None:
        self._connected = False

    def _on_message(self, client: Any, userdata: Any, message: Any) -> None:
        if self._cb is not None:
            self._cb(message.topic.encode(), bytes(message.payload))

    def set_callback(self, cb: Any) -> None:
        self._cb = cb

    def set_last_will(self, topic: str, msg: Any, retain: bool = False, qos: int = 0) -> None:
        self._client.will_set(topic, msg, qos=qos, retain=retain)

    def connect(self, clean_session: bool = True, timeout_s: float = 10.0) -> int:
        try:
            self._client.connect(self.server, self.port, keepalive=self.keepalive)
        except (OSError, ValueError) as exc:
            raise OSError(
                "mqtt connect to %s:%d failed: %r" % (self.server, self.port, exc)
            ) from exc
        deadline = time.monotonic() + timeout_s
        while not self._connected:
            if time.monotonic() > deadline:
                self._client.disconnect()
                raise OSError("mqtt: no CONNACK from %s:%d" % (self.server, self.port))
            self._loop(0.05)
        return 0

    def _loop(self, timeout: float) -> None:
        rc = self._client.loop(timeout=timeout)
        if rc != self._paho.MQTT_ERR_SUCCESS:
            self._connected = False
            raise OSError("mqtt connection lost (rc=%s)" % (rc,))

    def publish(
        self, topic: str, msg: Any, retain: bool = False, qos: int = 0, timeout_s: float = 10.0
    ) -> None:
        """Like umqtt.simple: with ``qos=1``, return only once the broker acknowledged the
        message; ``OSError`` when it did not (the connection failed or no PUBACK in time)."""
        info = self._client.publish(topic, msg, qos=qos, retain=retain)
        if info.rc != self._paho.MQTT_ERR_SUCCESS:
            self._connected = False
            raise OSError("mqtt publish failed (rc=%s)" % (info.rc,))
        if qos == 0:
            return
        deadline = time.monotonic() + timeout_s
        while not info.is_published():
            if time.monotonic() > deadline:
                self._connected = False
                raise OSError("mqtt: no PUBACK from %s:%d" % (self.server, self.port))
            self._loop(0.05)

    def subscribe(self, topic: str, qos: int = 0) -> None:
        result, _mid = self._client.subscribe(topic, qos=qos)
        if result != self._paho.MQTT_ERR_SUCCESS:
            raise OSError("mqtt subscribe failed (rc=%s)" % (result,))

    def check_msg(self) -> None:
        self._loop(0.0)
        if not self._connected:
            raise OSError("mqtt disconnected")

    def ping(self) -> None:
        """paho sends keepalive pings itself from ``loop``."""

    def disconnect(self) -> None:
        try:
            self._client.disconnect()
            self._client.loop(timeout=0.05)
        except (OSError, ValueError):
            pass
        self._connected = False


def mqtt_client(
    client_id: str,
    server: str,
    port: int = 1883,
    user: str | None = None,
    password: str | None = None,
    keepalive: int = 60,
) -> Any:
    """An ``umqtt.simple.MQTTClient`` on the board, a :class:`PahoClient` on CPython."""
    if IS_MICROPYTHON:
        from umqtt.simple import MQTTClient  # type: ignore[import-not-found, unused-ignore]

        return MQTTClient(
            client_id, server, port=port, user=user, password=password, keepalive=keepalive
        )
    return PahoClient(client_id, server, port, user, password, keepalive)
