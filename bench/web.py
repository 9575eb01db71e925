"""
Benchmark: the dashboard in a real browser — bundle size, sign-in to first live value, and
what one tick costs the page.

Run with ``make bench-web`` (``python -m tests.with_servers -- python -m bench.web``; options:
``--logins``, ``--ticks``). A throwaway database gets the demo data; one uvicorn process serves
``config.asgi`` (the built dashboard at ``/`` and the API), a Celery worker and beat tick every
2 s. Debian's Chromium (headless, through Playwright) then:

- signs in ``--logins`` times through the form, timing from the form's submit event to the first
  live value in the homes overview (the total production, from ``energyStats``);
- follows the first demo home's page for ``--ticks`` ticks, reading Chromium's own counters
  (``Performance.getMetrics`` over CDP) before and after: layouts, style recalculations and
  their durations, script time, per tick; and checks that no layout was forced from script
  (the page never reads geometry while writing).

Prints the JavaScript and CSS sizes gzipped (level 9, as a server would send them).
"""

from __future__ import annotations

import argparse
import gzip
import os
import platform
import statistics
import subprocess
import sys
import time
from datetime import datetime
from pathlib import Path
from typing import Any

from playwright.sync_api import sync_playwright

from bench.common import ROOT, bench_env, fresh_database, manage, percentile, uvicorn_server
from config.local_servers import stop_process
from tests.web.browser import chromium_path

TICK_S = 2
DIST = ROOT / "web" / "dist"
FIRST_VALUE = """() => new Promise((resolve) => {
  const start = performance.now();
  const check = () => {
    const cell = document.querySelector('[data-total="production"]');
    if (cell && cell.textContent !== '—') { resolve(performance.now() - start); return true; }
    return false;
  };
  if (check()) return;
  new MutationObserver((_, observer) => { if (check()) observer.disconnect(); })
    .observe(document.body, { subtree: true, childList: true, characterData: true });
})"""
# Starts the clock at the form's submit event, in the page.
ARM = """() => { window.__submitted = null;
  document.querySelector('form').addEventListener('submit',
    () => { window.__submitted = performance.now(); }, { capture: true, once: true }); }"""
SINCE_SUBMIT = """() => new Promise((resolve) => {
  const done = () => {
    const cell = document.querySelector('[data-total="production"]');
    return cell && cell.textContent !== '—';
  };
  const finish = () => resolve(performance.now() - window.__submitted);
  if (done()) return finish();
  new MutationObserver((_, observer) => { if (done()) { observer.disconnect(); finish(); } })
    .observe(document.body, { subtree: true, childList: true, characterData: true });
})"""
# Counts forced synchronous layouts: geometry read by script after a write in the same task.
FORCED_LAYOUTS = """() => { window.__forced = 0;
  for (const name of ['offsetWidth', 'offsetHeight', 'offsetTop', 'offsetLeft', 'clientWidth',
                      'clientHeight', 'scrollTop', 'scrollHeight']) {
    const descriptor = Object.getOwnPropertyDescriptor(HTMLElement.prototype, name)
      || Object.getOwnPropertyDescriptor(Element.prototype, name);
    if (!descriptor || !descriptor.get) continue;
    const get = descriptor.get;
    Object.defineProperty(HTMLElement.prototype, name, { configurable: true,
      get() { window.__forced += 1; return get.call(this); } });
  }
  const rect = Element.prototype.getBoundingClientRect;
  Element.prototype.getBoundingClientRect = function () { window.__forced += 1;
    return rect.call(this); };
}"""


def gzipped(path: Path) -> int:
    return len(gzip.compress(path.read_bytes(), compresslevel=9, mtime=0))


def metrics(cdp: Any) -> dict[str, float]:
    return {m["name"]: m["value"] for m in cdp.send("Performance.getMetrics")["metrics"]}


def instant(page: Any) -> datetime:
    return datetime.fromisoformat(page.locator("figure.flow").get_attribute("data-timestamp"))


def follow(page: Any, cdp: Any, ticks: int) -> str:
    """Chromium's counters over ``ticks`` ticks (the page left alone: no polling from here)."""
    page.evaluate("() => { window.__forced = 0; }")
    first = instant(page)
    before = metrics(cdp)
    time.sleep(ticks * TICK_S)
    after = metrics(cdp)
    seen = round((instant(page) - first).total_seconds() / TICK_S)
    forced = page.evaluate("() => window.__forced")

    def per_tick(name: str, scale: float = 1.0) -> float:
        return (after[name] - before[name]) * scale / max(seen, 1)

    return (
        f"{seen} ticks; per tick {per_tick('LayoutCount'):.1f} layouts "
        f"({per_tick('LayoutDuration', 1000):.2f} ms), {per_tick('RecalcStyleCount'):.1f} style "
        f"recalcs ({per_tick('RecalcStyleDuration', 1000):.2f} ms), script "
        f"{per_tick('ScriptDuration', 1000):.2f} ms, main-thread tasks "
        f"{per_tick('TaskDuration', 1000):.1f} ms; layouts forced from script: {forced}"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--logins", type=int, default=10)
    parser.add_argument("--ticks", type=int, default=10)
    options = parser.parse_args()

    print(
        f"machine: {platform.machine()}, {os.cpu_count()} cores, Python {platform.python_version()}"
    )
    js = sorted(DIST.glob("assets/*.js"))
    css = sorted(DIST.glob("assets/*.css"))
    print(
        f"bundle: JavaScript {sum(p.stat().st_size for p in js) / 1024:.1f} KiB, "
        f"{sum(gzipped(p) for p in js) / 1024:.1f} KiB gzipped; CSS "
        f"{sum(gzipped(p) for p in css) / 1024:.1f} KiB gzipped"
    )

    env = bench_env(fresh_database("gridtwin_bench_web"), TICK_SECONDS=str(TICK_S))
    manage(env, "migrate", "-v", "0")
    manage(env, "seed_demo")
    manage(env, "setup_schedule")
    celery = [sys.executable, "-m", "celery", "-A", "celery_app"]
    worker = subprocess.Popen(
        [*celery, "worker", "--queues", "default,sim", "--concurrency", "1", "--pool", "solo",
         "--loglevel", "WARNING", "--without-heartbeat", "--without-mingle", "--without-gossip"],
        env=env, cwd=ROOT,
    )  # fmt: skip
    beat = subprocess.Popen(
        [*celery, "beat", "--loglevel", "WARNING", "--max-interval", "1",
         "--scheduler", "django_celery_beat.schedulers:DatabaseScheduler",
         "--pidfile", ""],
        env=env, cwd=ROOT,
    )  # fmt: skip
    try:
        with uvicorn_server(env) as url, sync_playwright() as playwright:
            browser = playwright.chromium.launch(executable_path=chromium_path())
            page = browser.new_page(viewport={"width": 1280, "height": 900})
            page.set_default_timeout(30_000)
            time.sleep(3 * TICK_S)  # the first ticks: live values exist
            login_ms = []
            mutation_ms: list[float] = []

            def timed(request: Any) -> None:
                if "loginUser" in (request.post_data or ""):
                    mutation_ms.append(request.timing["responseEnd"])

            page.on("requestfinished", timed)
            for _ in range(options.logins):
                page.goto(url + "/")
                page.get_by_label("Username").fill("demo")
                page.get_by_label("Password").fill("gridtwin-demo")
                page.evaluate(ARM)
                page.get_by_role("button", name="Sign in").click()
                login_ms.append(page.evaluate(SINCE_SUBMIT))
                page.get_by_role("button", name="Sign out").click()
                page.get_by_role("heading", name="Sign in").wait_for()
            print(
                f"sign-in submit -> first live value: n={len(login_ms)} "
                f"p50={percentile(login_ms, 50):.0f} ms max={max(login_ms):.0f} ms "
                f"mean={statistics.fmean(login_ms):.0f} ms; of which the loginUser request "
                f"p50={percentile(mutation_ms, 50):.0f} ms max={max(mutation_ms):.0f} ms"
            )
            page.remove_listener("requestfinished", timed)

            page.get_by_label("Username").fill("demo")
            page.get_by_label("Password").fill("gridtwin-demo")
            page.get_by_role("button", name="Sign in").click()
            page.locator(".cards a").first.click()
            page.locator('figure.flow[data-stale="false"]').wait_for()
            devices = page.locator("article[data-device]").count()
            page.evaluate(FORCED_LAYOUTS)
            cdp = page.context.new_cdp_session(page)
            cdp.send("Performance.enable")
            for motion, label in (("reduce", "arrows still"), ("no-preference", "arrows moving")):
                page.emulate_media(reduced_motion=motion)  # type: ignore[arg-type]
                print(f"home page, {devices} devices, {label}: " + follow(page, cdp, options.ticks))
            browser.close()
    finally:
        stop_process(beat)
        stop_process(worker)


if __name__ == "__main__":
    main()
