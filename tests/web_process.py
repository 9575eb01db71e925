"""The web process exactly as the Procfile starts it, for tests over real HTTP.

The command line is read from the Procfile, so a test through it checks the flags `make run`
(and so the deployment) gives uvicorn. It serves the test database: use it from tests with
``transactional_db`` so that their rows are visible to it.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from django.conf import settings

from config.local_servers import free_port, port_open

ROOT = Path(__file__).resolve().parents[1]


def procfile_command(role: str) -> str:
    for line in (ROOT / "Procfile").read_text().splitlines():
        name, _, command = line.partition(":")
        if name.strip() == role:
            return command.strip()
    raise LookupError(f"no {role!r} process in the Procfile")


@contextmanager
def procfile_web(**env: str) -> Iterator[str]:
    """Run the Procfile's ``web`` process with ``env`` on a free port; yield its base URL."""
    with procfile_web_group(**env) as (url, _group):
        yield url


@contextmanager
def procfile_web_group(**env: str) -> Iterator[tuple[str, int]]:
    """:func:`procfile_web`, yielding the process group of its processes too."""
    db = settings.DATABASES["default"]
    port = free_port()
    environment = dict(os.environ)
    environment.pop("FORWARDED_ALLOW_IPS", None)
    environment.update(
        DJANGO_SETTINGS_MODULE="config.settings.test",
        DATABASE_URL=f"postgres://{db['USER']}@{db['HOST']}:{db['PORT']}/{db['NAME']}",
        HOST="127.0.0.1",
        WEB_PORT=str(port),
        PATH=os.pathsep.join([str(Path(sys.executable).parent), os.environ.get("PATH", "")]),
    )
    environment.update(env)
    process = subprocess.Popen(
        ["sh", "-c", procfile_command("web")], env=environment, cwd=ROOT, start_new_session=True
    )
    try:
        deadline = time.monotonic() + 30
        while not port_open("127.0.0.1", port, 0.2):
            assert process.poll() is None, "the web process exited"
            assert time.monotonic() < deadline, "the web process did not start"
            time.sleep(0.1)
        yield f"http://127.0.0.1:{port}", process.pid  # its own session: group id = its pid
    finally:
        _stop_group(process)


def _stop_group(process: subprocess.Popen[bytes], timeout_s: float = 10.0) -> None:
    """Stop the shell and its uvicorn (one process group), and wait until both are gone."""
    os.killpg(process.pid, signal.SIGTERM)
    process.wait(timeout=timeout_s)
    deadline = time.monotonic() + timeout_s
    while True:
        try:
            os.killpg(process.pid, 0)  # anyone left in the group?
        except ProcessLookupError:
            return
        if time.monotonic() > deadline:
            os.killpg(process.pid, signal.SIGKILL)
            deadline = time.monotonic() + timeout_s
        time.sleep(0.05)
