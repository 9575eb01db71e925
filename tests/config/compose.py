"""Reading docker-compose.yml as Compose does, so tests run exactly what it says; holds no tests.

Compose's interpolation (``${VAR}``, ``${VAR:-default}``, ``${VAR-default}``, ``${VAR:?error}``,
``$$``) is applied to every string; YAML merge keys (``<<: *app``) are resolved by the loader.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import yaml

ROOT = Path(__file__).resolve().parents[2]
COMPOSE_FILE = ROOT / "docker-compose.yml"

_VARIABLE = re.compile(
    r"\$(?:(?P<escaped>\$)|\{(?P<name>[A-Za-z_][A-Za-z0-9_]*)(?:(?P<op>:?[-?])(?P<arg>[^}]*))?\}"
    r"|(?P<bare>[A-Za-z_][A-Za-z0-9_]*))"
)


class MissingVariable(LookupError):
    """A ``${VAR:?message}`` (or ``${VAR?message}``) whose variable is not given."""


def interpolate(text: str, variables: Mapping[str, str]) -> str:
    """``text`` with Compose's variable substitution applied."""

    def substitute(match: re.Match[str]) -> str:
        if match["escaped"]:
            return "$"
        name = match["name"] or match["bare"]
        op, arg = match["op"], match["arg"] or ""
        value = variables.get(name)
        unset = value is None or (op is not None and op.startswith(":") and value == "")
        if op in (":-", "-"):
            return arg if unset else str(value)
        if op in (":?", "?"):
            if unset:
                raise MissingVariable(f"{name}: {arg}")
            return str(value)
        return "" if value is None else value

    return _VARIABLE.sub(substitute, text)


def _interpolated(value: Any, variables: Mapping[str, str]) -> Any:
    if isinstance(value, str):
        return interpolate(value, variables)
    if isinstance(value, list):
        return [_interpolated(item, variables) for item in value]
    if isinstance(value, dict):
        return {key: _interpolated(item, variables) for key, item in value.items()}
    return value


def raw() -> dict[str, Any]:
    """The compose file as YAML, before interpolation."""
    loaded: dict[str, Any] = yaml.safe_load(COMPOSE_FILE.read_text())
    return loaded


def services(variables: Mapping[str, str]) -> dict[str, dict[str, Any]]:
    """Every service, interpolated with ``variables`` (the environment Compose would see)."""
    result: dict[str, dict[str, Any]] = _interpolated(raw()["services"], variables)
    return result


def command_args(service: Mapping[str, Any]) -> list[str]:
    """A service's command as an argument list (a string command is split as Compose does)."""
    command = service["command"]
    if isinstance(command, str):
        import shlex

        return shlex.split(command)
    return [str(arg) for arg in command]


def healthcheck_args(service: Mapping[str, Any]) -> list[str]:
    """A service's health check as an argument list (``CMD-SHELL`` runs under ``sh -c``)."""
    test = service["healthcheck"]["test"]
    if isinstance(test, str):
        return ["sh", "-c", test]
    kind, *rest = test
    if kind == "CMD-SHELL":
        return ["sh", "-c", " ".join(rest)]
    assert kind == "CMD", f"unknown health check form {kind!r}"
    return [str(arg) for arg in rest]


def environment(service: Mapping[str, Any]) -> dict[str, str]:
    """A service's environment (a mapping or a list of ``NAME=value``) as strings."""
    env = service.get("environment") or {}
    if isinstance(env, list):
        return dict(item.split("=", 1) for item in env)
    return {name: "" if value is None else str(value) for name, value in env.items()}
