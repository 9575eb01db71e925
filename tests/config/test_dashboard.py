"""The dashboard's static files: the page at /, its assets, revalidation, and refusals."""

from __future__ import annotations

import asyncio
from pathlib import Path

import httpx

from config.dashboard import ASSET_PREFIX, DashboardApp


def _get(app: DashboardApp, path: str, method: str = "GET", **headers: str) -> httpx.Response:
    async def call() -> httpx.Response:
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as client:
            sent = {name.replace("_", "-"): value for name, value in headers.items()}
            return await client.request(method, path, headers=sent)

    return asyncio.run(call())


def _built(tmp_path: Path) -> DashboardApp:
    (tmp_path / "assets").mkdir(exist_ok=True)
    (tmp_path / "index.html").write_text("<!doctype html><title>gridtwin</title>")
    (tmp_path / "assets" / "dashboard.js").write_text("console.log('hi')")
    return DashboardApp(tmp_path)


def test_the_page_is_served_at_the_root_and_its_assets_under_their_prefix(tmp_path: Path) -> None:
    app = _built(tmp_path)

    page = _get(app, "/")
    script = _get(app, f"{ASSET_PREFIX}assets/dashboard.js")

    assert page.status_code == 200 and page.text.startswith("<!doctype html>")
    assert page.headers["content-type"] == "text/html; charset=utf-8"
    assert "connect-src 'self'" in page.headers["content-security-policy"]
    assert script.status_code == 200 and script.text == "console.log('hi')"
    assert script.headers["content-type"] == "text/javascript; charset=utf-8"
    assert script.headers["cache-control"] == "no-cache"


def test_an_unchanged_file_revalidates_with_304_and_a_changed_build_does_not(
    tmp_path: Path,
) -> None:
    etag = _get(_built(tmp_path), "/").headers["etag"]

    assert _get(_built(tmp_path), "/", if_none_match=etag).status_code == 304
    (tmp_path / "index.html").write_text("<!doctype html><title>new</title>")
    assert _get(DashboardApp(tmp_path), "/", if_none_match=etag).status_code == 200


def test_unknown_paths_other_methods_and_a_missing_build_are_refused(tmp_path: Path) -> None:
    app = _built(tmp_path)

    assert _get(app, f"{ASSET_PREFIX}assets/../../secret").status_code == 404
    assert _get(app, f"{ASSET_PREFIX}nothing.js").status_code == 404
    assert _get(app, "/", method="POST").status_code == 405
    head = _get(app, "/", method="HEAD")
    assert head.status_code == 200 and head.content == b""
    missing = _get(DashboardApp(tmp_path / "absent"), "/")
    assert missing.status_code == 503 and "make web" in missing.text


def test_the_committed_build_is_what_the_server_serves() -> None:
    app = DashboardApp()

    page = _get(app, "/")

    assert page.status_code == 200
    assert f'src="{ASSET_PREFIX}assets/dashboard.js"' in page.text
    assert _get(app, f"{ASSET_PREFIX}assets/dashboard.js").status_code == 200
