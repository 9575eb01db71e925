"""The production shape stays complete and configured by the environment."""

import shutil
import subprocess
from pathlib import Path

import yaml

from config.db_url import psycopg_conninfo
from config.redis_url import redis_url_with_db

ROOT = Path(__file__).resolve().parents[2]


def test_compose_has_every_role_configured_by_environment() -> None:
    compose = yaml.safe_load((ROOT / "docker-compose.yml").read_text())
    assert set(compose["services"]) == {"postgres", "redis", "mosquitto", "web", "worker", "beat"}
    for role in ("web", "worker", "beat"):
        env = compose["services"][role]["environment"]
        assert env["DJANGO_SETTINGS_MODULE"] == "config.settings.production"
        assert env["SECRET_KEY"].startswith("${SECRET_KEY:?")
        assert env["DATABASE_URL"].startswith("postgres://")
        assert env["REDIS_URL"].startswith("redis://")
    assert "noeviction" in compose["services"]["redis"]["command"]


def test_compose_file_is_accepted_by_docker_compose() -> None:
    """Checked with whichever compose CLI the machine has (Debian's docker-compose in CI)."""
    if shutil.which("docker-compose"):
        command = ["docker-compose"]
    else:
        probe = subprocess.run(["docker", "compose", "version"], capture_output=True, check=False)
        assert probe.returncode == 0, "install docker-compose (or the docker compose plugin)"
        command = ["docker", "compose"]
    env = {"SECRET_KEY": "x" * 40, "PATH": "/usr/bin:/bin:/usr/local/bin"}
    done = subprocess.run(
        [*command, "-f", str(ROOT / "docker-compose.yml"), "config", "-q"],
        capture_output=True, text=True, env=env, check=False,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    missing_secret = subprocess.run(
        [*command, "-f", str(ROOT / "docker-compose.yml"), "config", "-q"],
        capture_output=True, text=True, env={"PATH": env["PATH"]}, check=False,
    )  # fmt: skip
    assert missing_secret.returncode != 0 and "SECRET_KEY" in missing_secret.stderr


def test_redis_url_helpers() -> None:
    assert redis_url_with_db("redis://h:6380/0", 1) == "redis://h:6380/1"
    assert redis_url_with_db("redis://h:6380", 3) == "redis://h:6380/3"
    assert redis_url_with_db("rediss://:pw@h:6380/2?ssl=1", 5) == "rediss://:pw@h:6380/5?ssl=1"


def test_database_url_to_conninfo() -> None:
    info = psycopg_conninfo("postgres://u:p%40ss@db.example:6543/grid")
    assert info == "host=db.example port=6543 user=u dbname=grid password=p@ss"
