"""The first hour of a new user (issue 15 §3), on the real ``watchdepth`` command and server.

A taken port is refused before anything is announced, with the flag that picks another;
``token create`` beside a running server prints no HTTP log lines; a headless browser's
plays are acknowledged with how many were taken as a bot's; the demo's token is saved
where the README's curl reads it.
"""

from __future__ import annotations

import socket
import stat
import subprocess
import sys
import time
from pathlib import Path

from tests.conftest import DESKTOP_UA, Server, cli
from watchdepth import config
from watchdepth.api.intake import encode_answer
from watchdepth.demo import workspace as demo
from watchdepth.export.service import mailer
from watchdepth.serve.ingest import Accepted

HEADLESS_UA = (
    "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) HeadlessChrome/124.0.0.0 Safari/537.36"
)


def test_serve_on_a_taken_port_says_which_flag_picks_another(tmp_path: Path) -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        started = time.monotonic()
        r = subprocess.run(
            [sys.executable, "-m", "watchdepth.cli", "serve", "--port", str(port), "--data", str(tmp_path)],
            capture_output=True,
            text=True,
            timeout=60,
            check=False,
        )
    assert r.returncode == 1 and time.monotonic() - started < 30
    assert r.stderr.strip().splitlines() == [
        (
            f"error: cannot listen on 127.0.0.1:{port} (address already in use); "
            "choose another port with --port N (or WATCHDEPTH_PORT=N)"
        )
    ]
    assert "serving on" not in r.stderr and "Traceback" not in r.stderr


def test_collect_says_how_many_events_were_a_bots(catalog: Server) -> None:
    event = {"type": "load", "video_id": "v1", "session_id": "s-bot", "load_id": "l-bot", "seq": 0}
    r = catalog.collect([event], **{"user-agent": HEADLESS_UA})
    assert r.status_code == 202 and r.json() == {"accepted": 1, "duplicates": 0, "bots": 1}
    person = {**event, "session_id": "s-person", "load_id": "l-person"}
    r = catalog.collect([person], **{"user-agent": DESKTOP_UA})
    assert r.status_code == 202 and r.json() == {"accepted": 1, "duplicates": 0}  # no bots: no key


def test_the_slow_path_answers_the_same() -> None:
    assert encode_answer(Accepted(3, 1), 2) == b'{"accepted":3,"duplicates":1,"bots":2}'
    assert encode_answer(Accepted(3, 1)) == b'{"accepted":3,"duplicates":1}'


def test_token_create_beside_a_running_server_prints_no_http_log(server: Server) -> None:
    r = cli("token", "create", "--name", "quiet", data=server.data)
    assert "HTTP Request" not in r.stderr and "INFO" not in r.stderr, r.stderr
    assert r.stdout.strip().splitlines()[-1].startswith("wd_")


def test_the_demo_token_is_saved_for_the_readme(tmp_path: Path) -> None:
    path = demo.write_token(tmp_path, "wd_secret")
    assert path == tmp_path / "demo-token" and path.read_text() == "wd_secret\n"
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    path.chmod(0o644)
    demo.write_token(tmp_path, "wd_other")  # a second demo start replaces it, owner-only again
    assert path.read_text() == "wd_other\n" and stat.S_IMODE(path.stat().st_mode) == 0o600


def test_without_mail_settings_an_export_is_a_link_and_an_address_is_refused_at_once(server: Server) -> None:
    assert mailer(config.load()) is None and mailer(config.load(smtp_host="127.0.0.1")) is not None
    r = server.api("POST", "/v1/analytics/exports", json={"period": "today", "email": "ops@example.com"})
    assert r.status_code == 400, r.text
    assert [(p["name"], p["reason"]) for p in r.json()["error"]["invalid_params"]] == [("email", "unsupported")]
    job = server.ok("POST", "/v1/analytics/exports", json={"period": "today"})["data"]
    deadline = time.monotonic() + 30
    while job["status"] not in ("done", "failed") and time.monotonic() < deadline:
        time.sleep(0.05)
        job = server.ok("GET", f"/v1/analytics/exports/{job['id']}")["data"]
    assert (job["status"], job["mail"]) == ("done", "none") and job["download_url"]
    assert server.client.get(job["download_url"]).status_code == 200
