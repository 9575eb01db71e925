"""On-device modules must import and use only what MicroPython offers.

Parsed with ``ast``, never imported: a module may import anything inside a ``try`` whose
``except`` catches ``ImportError`` (the CPython half of the platform layer, ``typing``), but
every unguarded import must be a MicroPython module or one of the firmware's own.
"""

import ast
from pathlib import Path

import pytest

FIRMWARE = Path(__file__).resolve().parents[2] / "firmware"
CPYTHON_ONLY = {"emulate.py"}
ON_DEVICE = sorted(p.name for p in FIRMWARE.glob("*.py") if p.name not in CPYTHON_ONLY)

MICROPYTHON_MODULES = {
    # built into MicroPython (ESP8266 / ESP32 ports), with their u-prefixed aliases
    "array",
    "binascii",
    "builtins",
    "cmath",
    "collections",
    "errno",
    "gc",
    "hashlib",
    "heapq",
    "io",
    "json",
    "math",
    "os",
    "random",
    "re",
    "select",
    "socket",
    "ssl",
    "struct",
    "sys",
    "time",
    "uctypes",
    "zlib",
    "_thread",
    "asyncio",
    "machine",
    "micropython",
    "network",
    "esp",
    "esp32",
    "ntptime",
    "framebuf",
    "neopixel",
    "onewire",
    "dht",
    "webrepl",
    "ubinascii",
    "ucollections",
    "uerrno",
    "uhashlib",
    "uio",
    "ujson",
    "uos",
    "urandom",
    "ure",
    "uselect",
    "usocket",
    "ussl",
    "ustruct",
    "utime",
    "uzlib",
    "uasyncio",
    # micropython-lib packages installed with mip (see firmware/README.md)
    "requests",
    "urequests",
    "umqtt.simple",
    "umqtt.robust",
}
# Methods CPython has and MicroPython builds commonly lack.
MISSING_METHODS = {"hex", "from_bytes", "to_bytes", "removeprefix", "removesuffix", "casefold",
                   "isascii", "format_map", "fromhex"}  # fmt: skip


def _parents(tree: ast.AST) -> dict[ast.AST, ast.AST]:
    return {child: node for node in ast.walk(tree) for child in ast.iter_child_nodes(node)}


def _catches_import_error(handler: ast.ExceptHandler) -> bool:
    if handler.type is None:
        return True
    names = handler.type.elts if isinstance(handler.type, ast.Tuple) else [handler.type]
    return any(isinstance(n, ast.Name) and n.id in ("ImportError", "Exception") for n in names)


def _guarded(node: ast.AST, parents: dict[ast.AST, ast.AST]) -> bool:
    child, parent = node, parents.get(node)
    while parent is not None:
        if (
            isinstance(parent, ast.Try)
            and child in parent.body
            and any(_catches_import_error(h) for h in parent.handlers)
        ):
            return True
        child, parent = parent, parents.get(parent)
    return False


def _imported(node: ast.Import | ast.ImportFrom) -> list[str]:
    if isinstance(node, ast.Import):
        return [alias.name for alias in node.names]
    assert node.level == 0, "relative imports: MicroPython packages need absolute ones"
    module = node.module or ""
    if module.startswith("umqtt"):
        return [module]
    return [module] + [f"{module}.{a.name}" for a in node.names if module == "firmware"]


def _allowed(name: str) -> bool:
    return name in MICROPYTHON_MODULES or name == "firmware" or name.startswith("firmware.")


@pytest.mark.parametrize("name", ON_DEVICE)
def test_on_device_module_imports_only_micropython_modules(name: str) -> None:
    tree = ast.parse((FIRMWARE / name).read_text(), filename=name)
    parents = _parents(tree)
    bad = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Import | ast.ImportFrom) and not _guarded(node, parents):
            bad += [f"line {node.lineno}: {m}" for m in _imported(node) if not _allowed(m)]
    assert bad == [], f"{name} imports modules MicroPython lacks: {bad}"


@pytest.mark.parametrize("name", ON_DEVICE)
def test_on_device_module_avoids_syntax_micropython_lacks(name: str) -> None:
    tree = ast.parse((FIRMWARE / name).read_text(), filename=name)
    problems = []
    for node in ast.walk(tree):
        line = getattr(node, "lineno", "?")
        if isinstance(node, ast.Match):
            problems.append(f"line {line}: match statement")
        elif isinstance(node, ast.JoinedStr):
            problems.append(f"line {line}: f-string (optional in MicroPython builds)")
        elif isinstance(node, ast.ImportFrom) and node.module == "__future__":
            problems.append(f"line {line}: __future__ import")
        elif isinstance(node, ast.ClassDef) and node.decorator_list:
            problems.append(f"line {line}: class decorator (dataclass?)")
        elif isinstance(node, ast.Attribute) and node.attr in MISSING_METHODS:
            problems.append(f"line {line}: .{node.attr}()")
    assert problems == [], f"{name}: {problems}"


def test_guard_detection_itself() -> None:
    src = (
        "import time\n"
        "try:\n    import urllib.request\nexcept ImportError:\n    pass\n"
        "def f():\n    import dataclasses\n"
    )
    tree = ast.parse(src)
    parents = _parents(tree)
    verdict = {
        _imported(n)[0]: _guarded(n, parents)
        for n in ast.walk(tree)
        if isinstance(n, ast.Import | ast.ImportFrom)
    }
    assert verdict == {"time": False, "urllib.request": True, "dataclasses": False}


def test_all_on_device_modules_are_checked() -> None:
    assert {"platform.py", "pzem.py", "sampler.py", "uploader.py", "commands.py", "config.py",
            "main.py", "__init__.py"} <= set(ON_DEVICE)  # fmt: skip
