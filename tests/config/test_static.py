"""Static files come from the web process itself: the admin is styled and GraphiQL loads
without a single request leaving the machine."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import httpx
import pytest

from tests.web_process import ROOT, procfile_web

pytestmark = pytest.mark.django_db(transaction=True)

ADMIN_CSS = "/static/admin/css/base.css"
#: ``make run``'s settings with GraphiQL on, inside the test run's own Redis namespace.
PLAYGROUND_ENV = {
    "DJANGO_SETTINGS_MODULE": "config.settings.local",
    "DEBUG": "true",
    "GRAPHIQL": "true",
    "REDIS_KEY_PREFIX": "gridtwin-test:",
}


def collect_static(root: Path) -> Path:
    """``collectstatic`` into ``root``, as an image build runs it."""
    subprocess.run(
        [sys.executable, "manage.py", "collectstatic", "--noinput", "-v", "0"],
        cwd=ROOT,
        env={
            **os.environ,
            "DJANGO_SETTINGS_MODULE": "config.settings.test",
            "STATIC_ROOT": str(root),
        },
        check=True,
    )
    return root


def test_collected_static_files_are_served_with_debug_off(tmp_path: Path) -> None:
    """The production path: `collectstatic` at build, served compressed by the web process."""
    root = collect_static(tmp_path / "static")
    with procfile_web(STATIC_ROOT=str(root)) as base:
        css = httpx.get(base + ADMIN_CSS, headers={"Accept-Encoding": "gzip"})

    assert css.status_code == 200
    assert css.headers["content-type"].startswith("text/css")
    assert css.headers.get("content-encoding") == "gzip"
    assert "body" in css.text


def test_make_runs_settings_serve_static_files_without_collecting_them(tmp_path: Path) -> None:
    with procfile_web(**PLAYGROUND_ENV, STATIC_ROOT=str(tmp_path / "never-collected")) as base:
        css = httpx.get(base + ADMIN_CSS)

    assert css.status_code == 200
    assert css.headers["content-type"].startswith("text/css")


def test_graphiql_and_every_file_it_loads_come_from_this_server(tmp_path: Path) -> None:
    with procfile_web(**PLAYGROUND_ENV, STATIC_ROOT=str(tmp_path / "never-collected")) as base:
        page = httpx.get(base + "/graphql/", headers={"Accept": "text/html"})
        assets = re.findall(r'(?:src|href)="(/static/[^"]+)"', page.text)
        answers = {asset: httpx.get(base + asset) for asset in assets}

    assert page.status_code == 200
    assert "GraphiQL" in page.text
    assert len(assets) == 7  # React, ReactDOM, js-cookie, GraphiQL's JS and CSS, the explorer's
    assert {asset: answer.status_code for asset, answer in answers.items()} == dict.fromkeys(
        assets, 200
    )
