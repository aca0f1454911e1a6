"""How long the dashboard's workspace page takes to be fully drawn, in Chromium, on a real server.

Input: a data dir (``--data``, e.g. one made by ``bench/datagen.py``; it is served as it
is, so stop any other ``serve`` on it first) or ``--demo`` (a temporary dir seeded with
``watchdepth serve --demo``). Output: printed figures: for each page, the median and
min/max over ``--runs`` loads of the time from navigation start until the page is drawn,
cold (a new browser profile: empty cache, new connection) and warm (a reload in the same
profile), split into the page's start (HTML, scripts, until its first API request), the
API's span (first request sent to last answer received) and the drawing after it. It changes no data and asserts nothing.

"Drawn" is: ``<html data-wd-state="ready">`` (every section fetched and rendered, see
web/static/js/app.js), every chart's canvas present with a non-zero size, then the next
animation frame (the paint). Measured in the page with ``performance.now()``, so
Playwright's own latency is not counted.

    python bench/dashboard_bench.py --data /work/benchdata/10M --runs 7
    python bench/dashboard_bench.py --demo
"""

from __future__ import annotations

import argparse
import os
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import httpx

CHROMIUM = os.environ.get("WD_CHROMIUM", "/usr/bin/chromium")
HUMAN_UA = "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/124.0.0.0 Safari/537.36"
DEFAULT_PAGES = ["#/overview?period=last_month", "#/overview?period=all_time"]

# Runs before the app's scripts: resolves window.__wdDrawn with the time the page was drawn.
DRAWN_PROBE = """
window.__wdDrawn = new Promise((resolve) => {
  const check = () => {
    if (document.documentElement.dataset.wdState !== "ready") return false;
    const charts = [...document.querySelectorAll(".chart")];
    const painted = charts.length > 0 && charts.every((c) => {
      const canvas = c.querySelector("canvas");
      return canvas && canvas.width > 0 && canvas.height > 0;
    });
    if (!painted) return false;
    requestAnimationFrame(() => resolve({
      drawn: performance.now(),
      charts: charts.length,
      api: performance.getEntriesByType("resource").filter((e) => e.name.includes("/v1/"))
        .map((e) => ({ url: e.name, start: e.startTime, end: e.responseEnd })),
    }));
    return true;
  };
  const observer = new MutationObserver(() => { if (check()) observer.disconnect(); });
  document.addEventListener("DOMContentLoaded", () => {
    if (!check()) observer.observe(document.documentElement, { attributes: true, subtree: true, childList: true });
  });
});
"""


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def cli(*args: str, data: Path) -> str:
    cmd = [sys.executable, "-m", "watchdepth.cli", *args, "--data", str(data)]
    return subprocess.run(cmd, capture_output=True, text=True, check=True, timeout=300).stdout


def stored_events(data: Path) -> int | None:
    """Events in the data dir's DuckDB file (read before serving: serve holds the file)."""
    path = data / "watchdepth.duckdb"
    if not path.exists():
        return None
    import duckdb

    con = duckdb.connect(str(path), read_only=True)
    try:
        return int(con.execute("SELECT count(*) FROM events").fetchone()[0])
    finally:
        con.close()


class Serve:
    """``watchdepth serve`` on a data dir, with a token made through its admin socket."""

    def __init__(self, data: Path, demo: bool) -> None:
        self.data, self.port = data, free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        cmd = [sys.executable, "-m", "watchdepth.cli", "serve", "--data", str(data), "--port", str(self.port)]
        self.log = open(data / "dashboard_bench.log", "ab")  # noqa: SIM115 - closed in stop()
        self.proc = subprocess.Popen(cmd + (["--demo"] if demo else []), stdout=self.log, stderr=self.log)
        deadline = time.time() + 600
        while time.time() < deadline:
            if self.proc.poll() is not None:
                raise SystemExit(f"serve exited; see {data / 'dashboard_bench.log'}")
            try:
                if httpx.get(self.url + "/healthz", timeout=1).status_code == 200:
                    break
            except httpx.HTTPError:
                time.sleep(0.2)
        else:
            raise SystemExit("serve did not start in 10 minutes")
        self.token = cli("token", "create", "--name", "dashboard-bench", data=data).strip().splitlines()[-1]

    def stop(self) -> None:
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            self.proc.wait(timeout=60)
        self.log.close()


def load_once(context: Any, url: str, timeout_ms: int) -> dict[str, Any]:
    page = context.new_page()
    try:
        page.goto(url)
        return page.evaluate("window.__wdDrawn") if timeout_ms else {}
    finally:
        page.close()


def new_context(browser: Any, server: Serve) -> Any:
    """A new browser profile with the sign-in cookie and the drawn-time probe."""
    ctx = browser.new_context(viewport={"width": 1280, "height": 900}, user_agent=HUMAN_UA, timezone_id="UTC")
    ctx.add_cookies(
        [{"name": "wd_token", "value": server.token, "url": server.url, "httpOnly": True, "sameSite": "Strict"}]
    )
    ctx.add_init_script(DRAWN_PROBE)
    return ctx


def measure(browser: Any, server: Serve, hash_: str, runs: int) -> dict[str, list[dict[str, Any]]]:
    """Cold loads (a new profile each) and warm ones (a reload in that profile)."""
    url = f"{server.url}/{hash_}"
    out: dict[str, list[dict[str, Any]]] = {"cold": [], "warm": []}
    for _ in range(runs):
        ctx = new_context(browser, server)
        try:
            out["cold"].append(load_once(ctx, url, 1))
            out["warm"].append(load_once(ctx, url, 1))
        finally:
            ctx.close()
    return out


def summary(samples: list[dict[str, Any]]) -> str:
    """Medians of: drawn; the page's start (until its first API request); the API's span; drawing after it."""
    med = statistics.median
    drawn = [x["drawn"] for x in samples]
    start = [min(a["start"] for a in x["api"]) for x in samples]
    end = [max(a["end"] for a in x["api"]) for x in samples]
    return (
        f"drawn {med(drawn):5.0f} ms (min {min(drawn):5.0f}, max {max(drawn):5.0f}) = start {med(start):4.0f}"
        f" + API {med([e - b for b, e in zip(start, end)]):4.0f} + drawing {med([d - e for d, e in zip(drawn, end)]):3.0f}"
    )


def one_at_a_time(server: Serve, api: list[dict[str, Any]], runs: int = 3) -> list[tuple[str, float]]:
    """Each API request of a load asked alone, median of ``runs``: the server's share without contention."""
    out = []
    with httpx.Client(headers={"Authorization": f"Bearer {server.token}"}, timeout=120) as client:
        for url in dict.fromkeys(a["url"] for a in api):
            times = []
            for _ in range(runs):
                t = time.perf_counter()
                client.get(url).raise_for_status()
                times.append((time.perf_counter() - t) * 1000)
            out.append((url.removeprefix(server.url), statistics.median(times)))
    return out


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    src = ap.add_mutually_exclusive_group(required=True)
    src.add_argument("--data", type=Path, help="a data dir to serve (nothing else may have it open)")
    src.add_argument("--demo", action="store_true", help="serve a temporary dir seeded with the demo workspace")
    ap.add_argument("--runs", type=int, default=7, help="loads per page and mode (default 7)")
    ap.add_argument("--page", action="append", help=f"a dashboard URL hash (default: {' and '.join(DEFAULT_PAGES)})")
    args = ap.parse_args(argv)
    pages = args.page or DEFAULT_PAGES

    tmp = Path(tempfile.mkdtemp(prefix="wd-dash-bench-")) if args.demo else None
    data = tmp or args.data
    events = stored_events(data)
    count = f"{events:,}" if events is not None else "none yet (seeded at start)"
    print(f"data: {'demo workspace (temporary)' if args.demo else data}; stored events: {count}")
    t = time.perf_counter()
    server = Serve(data, demo=args.demo)
    print(
        f"serve ready in {time.perf_counter() - t:.1f} s; load average {os.getloadavg()[0]:.2f} "
        f"on {os.cpu_count()} CPUs"
    )
    try:
        from playwright.sync_api import sync_playwright

        with sync_playwright() as pw:
            browser = pw.chromium.launch(
                executable_path=CHROMIUM,
                headless=True,
                args=["--no-sandbox", "--disable-gpu", "--disable-background-networking"],
            )
            try:
                # The first load after start also warms the store's caches: reported apart.
                first = measure(browser, server, pages[0], 1)["cold"][0]
                print(f"first load after start ({pages[0]}): {first['drawn']:.0f} ms")
                for hash_ in pages:
                    got = measure(browser, server, hash_, args.runs)
                    print(f"{hash_}")
                    print(f"  cold (new profile): {summary(got['cold'])}")
                    print(f"  warm (reload):      {summary(got['warm'])}")
                    for api_url, ms in one_at_a_time(server, got["warm"][-1]["api"]):
                        print(f"    {ms:5.0f} ms alone: {api_url}")
            finally:
                browser.close()
    finally:
        server.stop()
        if events is None and args.demo:
            print(f"stored events after the demo seed: {stored_events(data):,}")
        if tmp is not None:
            shutil.rmtree(tmp, ignore_errors=True)
    print(f"load average after: {os.getloadavg()[0]:.2f}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
