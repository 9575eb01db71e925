"""Device configuration: defaults, overridden by ``config.json`` on the board's filesystem.

Example ``config.json`` (see README.md for every key)::

    {"wifi_ssid": "home", "wifi_password": "secret",
     "server": "https://gridtwin.example.org", "device_id": "42", "api_key": "gt_...",
     "transport": "mqtt", "mqtt_host": "gridtwin.example.org"}
"""

from firmware.platform import json

CONFIG_PATH = "config.json"

DEFAULTS = {
    "wifi_ssid": "",
    "wifi_password": "",
    "server": "",  # base URL, e.g. https://gridtwin.example.org (no trailing /api)
    "device_id": "",  # the server's id of this energy meter
    "api_key": "",  # the device key (rotateDeviceApiKey)
    "transport": "http",  # "http" or "mqtt" (telemetry + commands)
    "mqtt_host": "",
    "mqtt_port": 1883,
    "mqtt_user": None,  # broker login (Mosquitto >= 2 allows no anonymous clients)
    "mqtt_password": None,
    "mqtt_client_id": None,  # default: gridtwin-<device_id>
    "mqtt_keepalive_s": 60,
    "uart_id": 2,  # ESP32: UART2 on GPIO17 (TX) / GPIO16 (RX); ESP8266: 0
    "uart_tx": 17,
    "uart_rx": 16,
    "pzem_address": 0xF8,
    "pzem_timeout_ms": 500,
    "sample_interval_s": 10,
    "upload_interval_s": 10,
    "command_poll_s": 15,  # HTTP transport only
    "buffer_capacity": 360,  # readings kept while offline (1 h at 10 s)
    "max_batch": 30,
    "backoff_cap_s": 300,
    "http_timeout_s": 10,
    "ntp_host": "pool.ntp.org",
    "seq_path": "seq.dat",
    "log_level": "info",
}


class ConfigError(ValueError):
    """The configuration cannot work; the message lists every problem."""


def merged(overrides: dict | None) -> dict:
    """Defaults with ``overrides`` applied; unknown keys are kept (and reported by validate)."""
    cfg = dict(DEFAULTS)
    if overrides:
        cfg.update(overrides)
    return cfg


def load(path: str = CONFIG_PATH) -> dict:
    """Read ``path`` (JSON object), merge it over the defaults and validate."""
    try:
        with open(path) as fh:
            data = json.loads(fh.read())
    except OSError as exc:
        raise ConfigError("cannot read %s: %r" % (path, exc)) from exc
    except ValueError as exc:
        raise ConfigError("%s is not valid JSON: %s" % (path, exc)) from exc
    if not isinstance(data, dict):
        raise ConfigError("%s must hold a JSON object" % path)
    cfg = merged(data)
    validate(cfg)
    return cfg


def problems(cfg: dict) -> list[str]:
    """Everything wrong with ``cfg``, as human-readable lines (empty when valid)."""
    errors = []
    for key in cfg:
        if key not in DEFAULTS:
            errors.append("unknown key %r" % key)
    server = cfg.get("server") or ""
    if not (server.startswith("http://") or server.startswith("https://")):
        errors.append("server must be an http:// or https:// URL")
    if not cfg.get("api_key"):
        errors.append("api_key is required")
    transport = cfg.get("transport")
    if transport not in ("http", "mqtt"):
        errors.append("transport must be 'http' or 'mqtt'")
    if transport == "mqtt":
        if not cfg.get("mqtt_host"):
            errors.append("mqtt_host is required for the mqtt transport")
        if cfg.get("device_id") in (None, ""):
            errors.append("device_id is required for the mqtt transport")
    ranges = (
        ("sample_interval_s", 1, 3600),
        ("upload_interval_s", 1, 3600),
        ("command_poll_s", 1, 3600),
        ("buffer_capacity", 1, 100000),
        ("max_batch", 1, 1000),
        ("backoff_cap_s", 1, 86400),
        ("mqtt_port", 1, 65535),
        ("pzem_timeout_ms", 50, 5000),
    )
    for key, low, high in ranges:
        value = cfg.get(key)
        if isinstance(value, bool) or not isinstance(value, int) or not low <= value <= high:
            errors.append("%s must be an integer in %d..%d, got %r" % (key, low, high, value))
    address = cfg.get("pzem_address")
    if isinstance(address, bool) or not isinstance(address, int) or not 1 <= address <= 0xF8:
        errors.append("pzem_address must be 1..247 or 248 (0xF8), got %r" % (address,))
    return errors


def validate(cfg: dict) -> None:
    """Raise :class:`ConfigError` listing every problem, or return quietly."""
    errors = problems(cfg)
    if errors:
        raise ConfigError("invalid configuration: " + "; ".join(errors))
