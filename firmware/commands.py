"""Executes server commands once and acknowledges every delivery.

A command is ``{"id": "<uuid>", "command": "<name>", "args": {...}}``; the ack is
``{"id": ..., "status": "acknowledged" | "failed", "result": {...}}``. The server re-sends
a command until it sees the ack, so a repeated id gets the first ack again and is not
executed a second time.

Over MQTT the ack goes out on ``.../acks`` (see :class:`firmware.uploader.MqttLink`);
HTTP-only devices poll ``GET /api/v1/commands`` with :class:`HttpCommandPoller`.
"""

from firmware import platform
from firmware.pzem import PzemError
from firmware.sampler import validate_interval

try:
    from typing import Any
except ImportError:
    pass

ACKNOWLEDGED = "acknowledged"
FAILED = "failed"
COMMANDS_PATH = "/api/v1/commands"
SUPPORTED = ("ping", "reset_energy", "set_interval", "reboot")


class CommandHandler:
    """Runs ``ping``, ``reset_energy``, ``set_interval`` and ``reboot``.

    ``meter`` needs ``reset_energy()``, ``sampler`` needs ``set_interval(seconds)``.
    ``reboot`` only sets ``reboot_requested``: the caller sends the ack first and then
    restarts (``machine.reset()`` on the board, a fresh loop in the emulator).
    """

    def __init__(
        self,
        *,
        meter: Any = None,
        sampler: Any = None,
        clock: Any = None,
        memory: int = 64,
        status: Any = None,
    ) -> None:
        self.meter = meter
        self.sampler = sampler
        self.clock = clock if clock is not None else platform.monotonic_s
        self.started_at = self.clock()
        self.memory = memory
        self.status = status  # optional callable -> dict merged into the ping result
        self.reboot_requested = False
        self.executed = 0
        self.duplicates = 0
        self.failed = 0
        self._recent: dict = {}  # id -> ack, for re-sent commands
        self._order: list = []

    def handle(self, message: Any) -> dict:
        """Execute ``message`` unless its id was seen recently; always return its ack."""
        cmd_id = message.get("id") if isinstance(message, dict) else None
        if cmd_id is not None and cmd_id in self._recent:
            self.duplicates += 1
            return self._recent[cmd_id]
        if not isinstance(message, dict) or cmd_id is None:
            self.failed += 1
            return ack(cmd_id, FAILED, {"reason": "command without an id"})
        name = message.get("command")
        args = message.get("args")
        if args is None:
            args = {}
        try:
            if not isinstance(args, dict):
                raise ValueError("args must be an object")
            result = self._execute(name, args)
            response = ack(cmd_id, ACKNOWLEDGED, result)
            self.executed += 1
        except (ValueError, PzemError, OSError) as exc:
            self.failed += 1
            response = ack(cmd_id, FAILED, {"reason": "%s: %s" % (type(exc).__name__, exc)})
            platform.log("warning", "command %s (%r) failed: %s" % (cmd_id, name, exc))
        self._remember(cmd_id, response)
        return response

    def _remember(self, cmd_id: Any, response: dict) -> None:
        self._recent[cmd_id] = response
        self._order.append(cmd_id)
        while len(self._order) > self.memory:
            del self._recent[self._order.pop(0)]

    def _execute(self, name: Any, args: dict) -> dict:
        if name == "ping":
            result = {"pong": True, "uptime_s": int(self.clock() - self.started_at)}
            if self.status is not None:
                result.update(self.status())
            return result
        if name == "reset_energy":
            if self.meter is None:
                raise ValueError("no meter attached")
            self.meter.reset_energy()
            return {"energy_reset": True}
        if name == "set_interval":
            seconds = validate_interval(args.get("seconds"))
            if self.sampler is None:
                raise ValueError("no sampler attached")
            return {"interval_s": self.sampler.set_interval(seconds)}
        if name == "reboot":
            self.reboot_requested = True
            return {"rebooting": True}
        raise ValueError("unknown command %r (supported: %s)" % (name, ", ".join(SUPPORTED)))


def ack(cmd_id: Any, status: str, result: dict) -> dict:
    return {"id": cmd_id, "status": status, "result": result}


class HttpCommandPoller:
    """Commands for HTTP-only devices: poll, execute, ``POST .../commands/{id}/ack``.

    Acks that could not be delivered are retried on the next poll.
    """

    def __init__(
        self,
        *,
        server: str,
        api_key: str,
        handler: CommandHandler,
        poll_interval_s: float = 15.0,
        request: Any = None,
        clock: Any = None,
        timeout_s: float = 10.0,
    ) -> None:
        self.base = server.rstrip("/") + COMMANDS_PATH
        self.api_key = api_key
        self.handler = handler
        self.poll_interval_s = poll_interval_s
        self.request = request if request is not None else platform.http_request
        self.clock = clock if clock is not None else platform.monotonic_s
        self.timeout_s = timeout_s
        self.next_poll_at = 0.0
        self.pending: list = []  # acks not yet delivered
        self.unauthorized = False
        self.errors = 0
        self.acked = 0
        self.after_ack: Any = None

    def _headers(self) -> dict:
        return {"X-API-Key": self.api_key}

    def poll(self, now: float | None = None) -> int:
        """Fetch and answer commands when due; returns how many commands were handled."""
        if now is None:
            now = self.clock()
        if self.unauthorized or now < self.next_poll_at:
            return 0
        self.next_poll_at = now + self.poll_interval_s
        self._deliver_pending()
        try:
            resp = self.request("GET", self.base, headers=self._headers(), timeout_s=self.timeout_s)
        except OSError as exc:
            self.errors += 1
            platform.log("warning", "command poll failed: %r" % (exc,))
            return 0
        if resp.status in (401, 403):
            self.unauthorized = True
            platform.log("error", "command poll refused the device key (%d)" % resp.status)
            return 0
        if resp.status != 200:
            self.errors += 1
            return 0
        try:
            commands = (resp.json() or {}).get("commands") or []
        except (ValueError, AttributeError):
            self.errors += 1
            return 0
        handled = 0
        for message in commands:
            response = self.handler.handle(message)
            handled += 1
            if response.get("id") is not None:
                self.pending.append(response)
        self._deliver_pending()
        return handled

    def _deliver_pending(self) -> None:
        still = []
        for response in self.pending:
            url = "%s/%s/ack" % (self.base, response["id"])
            body = {"status": response["status"], "result": response["result"]}
            try:
                resp = self.request(
                    "POST", url, headers=self._headers(), body=body, timeout_s=self.timeout_s
                )
                status = resp.status
            except OSError:
                status = None
            if status is not None and (200 <= status < 300 or status in (404, 409, 410)):
                # 404/409/410: the server no longer waits for this ack; stop resending it.
                self.acked += 1
                if self.after_ack is not None:
                    self.after_ack(response)
            else:
                self.errors += 1
                still.append(response)
        self.pending = still[-32:]
