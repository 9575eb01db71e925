"""The production shape stays complete and configured by the environment."""

import os
import shutil
import subprocess
import sys
from pathlib import Path

import yaml

from config.db_url import psycopg_conninfo
from config.redis_url import redis_url_with_db
from tests.config import compose
from tests.web_process import procfile_command

ROOT = Path(__file__).resolve().parents[2]


APP_ROLES = ("migrate", "web", "worker", "planner", "beat", "mqtt")


def test_compose_has_every_role_configured_by_environment() -> None:
    services = compose.raw()["services"]
    assert set(services) == {"postgres", "redis", "mosquitto", *APP_ROLES}
    for role in APP_ROLES:
        env = services[role]["environment"]
        assert env["DJANGO_SETTINGS_MODULE"] == "config.settings.production"
        assert env["SECRET_KEY"].startswith("${SECRET_KEY:?")
        assert env["DATABASE_URL"].startswith("postgres://")
        assert env["REDIS_URL"].startswith("redis://")
        assert env["MQTT_URL"].startswith("mqtt://gridtwin:${MQTT_PASSWORD:?")
    assert "noeviction" in services["redis"]["command"]


def test_every_service_restarts_and_reports_its_health() -> None:
    services = compose.raw()["services"]
    for name, service in services.items():
        if name == "migrate":  # runs once per deployment; again only when it failed
            assert service["restart"] == "on-failure"
            assert service["healthcheck"] == {"disable": True}
        else:
            assert service["restart"] == "unless-stopped", name
            assert service["healthcheck"]["test"], name


def test_roles_start_after_migrations_and_healthy_servers() -> None:
    services = compose.raw()["services"]
    for role in ("web", "worker", "planner", "beat", "mqtt"):
        depends = services[role]["depends_on"]
        assert depends["migrate"] == {"condition": "service_completed_successfully"}
        for server in ("postgres", "redis", "mosquitto"):
            assert depends[server] == {"condition": "service_healthy"}, (role, server)
    migrate = " ".join(compose.command_args(services["migrate"]))
    for step in ("migrate --noinput", "setup_schedule", "setup_hardware_schedule"):
        assert f"python manage.py {step}" in migrate


def test_web_runs_uvicorn_as_the_procfile_does_with_workers_and_shared_metrics() -> None:
    web = compose.services({"SECRET_KEY": "x" * 40, "MQTT_PASSWORD": "p", "WEB_CONCURRENCY": "3"})[
        "web"
    ]
    args = compose.command_args(web)
    procfile = procfile_command("web")
    for flag in ("--forwarded-allow-ips", "--no-access-log", "--ws", "--ws-per-message-deflate"):
        assert flag in procfile and flag in args, flag
    words = procfile.split()
    assert args[args.index("--ws") + 1] == words[words.index("--ws") + 1] == "websockets-sansio"
    assert args[args.index("--workers") + 1] == "3"
    env = compose.environment(web)
    assert env["PROMETHEUS_MULTIPROC_DIR"] in web["tmpfs"]


def test_dockerfile_runs_production_settings_as_its_own_user() -> None:
    dockerfile = (ROOT / "Dockerfile").read_text()
    assert "DJANGO_SETTINGS_MODULE=config.settings.production" in dockerfile
    user = next(line.split()[1] for line in dockerfile.splitlines() if line.startswith("USER "))
    assert user not in ("root", "nobody", "0")
    # Dependencies are installed before the code is copied, so a code change reuses that layer.
    assert dockerfile.index("pip install") < dockerfile.index("COPY . .")
    for line in ("EXPOSE 8000", "HEALTHCHECK", "/healthz", "CMD "):
        assert line in dockerfile
    ignored = (ROOT / ".dockerignore").read_text().split()
    for entry in (".venv", "var/", "*.sqlite3*", ".git"):
        assert entry in ignored


def test_the_image_collects_static_files_with_production_settings(tmp_path: Path) -> None:
    """The Dockerfile's collectstatic step, run as written (with the image's settings)."""
    dockerfile = (ROOT / "Dockerfile").read_text()
    step = next(line for line in dockerfile.splitlines() if "collectstatic" in line)
    assert step.startswith("RUN ") and dockerfile.index(step) < dockerfile.index("USER ")
    env = {
        "PATH": os.pathsep.join([str(Path(sys.executable).parent), "/usr/bin", "/bin"]),
        "DJANGO_SETTINGS_MODULE": "config.settings.production",  # the image's ENV
        "STATIC_ROOT": str(tmp_path / "static"),
    }
    done = subprocess.run(
        ["sh", "-c", step.removeprefix("RUN ")], cwd=ROOT, env=env, capture_output=True,
        text=True, check=False,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    assert (tmp_path / "static" / "admin" / "css" / "base.css").exists()
    assert list((tmp_path / "static" / "graphiql").rglob("graphiql.min.js.gz"))


def _compose_cli() -> list[str]:
    """Whichever compose CLI the machine has (Debian's docker-compose in CI)."""
    if shutil.which("docker-compose"):
        return ["docker-compose"]
    probe = subprocess.run(["docker", "compose", "version"], capture_output=True, check=False)
    assert probe.returncode == 0, "install docker-compose (or the docker compose plugin)"
    return ["docker", "compose"]


def _compose_config(env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [*_compose_cli(), "-f", str(compose.COMPOSE_FILE), "config"],
        capture_output=True, text=True, env={"PATH": "/usr/bin:/bin:/usr/local/bin", **env},
        check=False,
    )  # fmt: skip


OPERATOR_ENV = {"SECRET_KEY": "x" * 40, "MQTT_PASSWORD": "p", "WEB_CONCURRENCY": "3"}


def test_compose_file_is_accepted_by_docker_compose() -> None:
    done = _compose_config(OPERATOR_ENV)
    assert done.returncode == 0, done.stderr
    for secret in ("SECRET_KEY", "MQTT_PASSWORD"):
        missing = _compose_config({**OPERATOR_ENV, secret: ""})
        assert missing.returncode != 0 and secret in missing.stderr


def test_compose_is_read_here_as_docker_compose_reads_it() -> None:
    """The commands and environments the stack test runs are the ones Compose resolves."""
    resolved = yaml.safe_load(_compose_config(OPERATOR_ENV).stdout)["services"]
    ours = compose.services(OPERATOR_ENV)
    for name in APP_ROLES:
        assert compose.command_args(resolved[name]) == compose.command_args(ours[name]), name
        assert compose.environment(resolved[name]) == compose.environment(ours[name]), name
        if name != "migrate":  # Compose writes $$ back as it was given
            theirs = [arg.replace("$$", "$") for arg in compose.healthcheck_args(resolved[name])]
            assert theirs == compose.healthcheck_args(ours[name]), name


def test_redis_url_helpers() -> None:
    assert redis_url_with_db("redis://h:6380/0", 1) == "redis://h:6380/1"
    assert redis_url_with_db("redis://h:6380", 3) == "redis://h:6380/3"
    assert redis_url_with_db("rediss://:pw@h:6380/2?ssl=1", 5) == "rediss://:pw@h:6380/5?ssl=1"


def test_database_url_to_conninfo() -> None:
    info = psycopg_conninfo("postgres://u:p%40ss@db.example:6543/grid")
    assert info == "host=db.example port=6543 user=u dbname=grid password=p@ss"
