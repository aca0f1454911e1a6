"""Report export through the real server: imported events, real SMTP, the mailed link, the API's numbers.

The catalog of ``tests/conftest.py`` (p1: folder a (fa) with v1 100 s, nested folder
a/b (fb) with v2 10.5 s) gains here: v4 in a/b (30 s, a formula-looking title, never
watched), stream s2 in a (title "-live") with its broadcast event e2 in a/b, and
folder c (fc, not under a) with v5. Events: the hand-worked scenario of
``tests/api/test_e2e.py`` (v1, v2 and p2's e1) plus two sessions on s2 worked below.
"""

from __future__ import annotations

import re
import signal
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.api.test_e2e import DAY1, DE, DESKTOP_UA, load_events, scenario
from tests.conftest import Server, cli
from watchdepth.export.source import EXPORT_FIELDS

from .helpers import SmtpServer, as_text, read_report, read_table

PERIOD = {"from": "2026-01-05", "to": "2026-01-07"}  # both days of the scenario, UTC
COLUMNS = list(EXPORT_FIELDS)


def live_events() -> list[dict[str, Any]]:
    """G watches stream s2 itself, H its event e2; both on day 1 at 10:00, overlapping."""
    t = DAY1 + 36_000_000
    who = {"ip": DE, "user_agent": DESKTOP_UA}
    # G: play at t+1 s (position 0), progress at t+11 s (position 10): 10 s continuous, a view.
    g = load_events({"stream_id": "s2"}, "G", "G1", t, [("play", 1, 0), ("progress", 11, 10)], **who)
    # H: play at t+6 s, progress at t+16 s: 10 s, a view; its run [t+6, t+16] overlaps G's [t+1, t+11].
    h = load_events(
        {"stream_id": "s2", "event_id": "e2"}, "H", "H1", t + 5000, [("play", 1, 0), ("progress", 11, 10)], **who
    )
    return g + h


#: The hand-worked rows of a report on folder a (nested a/b included), in row order:
#: folder path, then by video or stream id (an event sorts under its stream's id, after it).
#: Fields in EXPORT_FIELDS order.
EXPECTED = [
    # Quality (docs/metrics.md §7), after the peak: no startup, stall or error events here, so no startup
    # time, no rebuffering, no failure; every load that played never sent a startup: an exit before start.
    # s2 covers s2 and its event e2: loads G1 + H1 = 2, impressions 1 + 1, views 1 + 1, watch time 10 + 10;
    # average over the 2 impressions 20 / 2 = 10; no duration: depth 0; G and H overlap during [t+6, t+11]: peak 2.
    [
        "p1",
        "Project one",
        None,
        "s2",
        None,
        "-live",
        None,
        "a",
        "fa",
        2,
        2,
        2,
        20,
        10,
        0,
        2,
        None,
        None,
        0,
        0.0,
        0.0,
        0,
        0.0,
        2,
    ],
    # v1: loads A1, A2, B1 (the bot counts nowhere) = 3; impressions (A,v1), (B,v1) = 2; views: A = 1;
    # watch time 10 + 5 + 4.9 = 19.9 -> 20; the cohort (A,v1) (B,v1): average 19.9 / 2 = 9.95 -> 10,
    # depth 19.9 / (2 × 100) = 9.95 % -> 10.
    [
        "p1",
        "Project one",
        "v1",
        None,
        None,
        "One",
        100.0,
        "a",
        "fa",
        3,
        2,
        1,
        20,
        10,
        10,
        None,
        None,
        None,
        0,
        0.0,
        0.0,
        0,
        0.0,
        3,
    ],
    # e2: H alone: 10 s, average 10; peak 1.
    [
        "p1",
        "Project one",
        None,
        "s2",
        "e2",
        "Ep 2",
        None,
        "a/b",
        "fb",
        1,
        1,
        1,
        10,
        10,
        0,
        1,
        None,
        None,
        0,
        0.0,
        0.0,
        0,
        0.0,
        1,
    ],
    # v2: D1 only; 10.5 s clipped at the end: watch time and average 10.5 -> 11 (half up); depth 100.
    [
        "p1",
        "Project one",
        "v2",
        None,
        None,
        "Two",
        10.5,
        "a/b",
        "fb",
        1,
        1,
        1,
        11,
        11,
        100,
        None,
        None,
        None,
        0,
        0.0,
        0.0,
        0,
        0.0,
        1,
    ],
    # v4: never watched: a row of zeros.
    [
        "p1",
        "Project one",
        "v4",
        None,
        None,
        '=HYPERLINK("http://evil.example","x")',
        30.0,
        "a/b",
        "fb",
        0,
        0,
        0,
        0,
        0,
        0,
        None,
        None,
        None,
        0,
        0.0,
        0.0,
        0,
        0.0,
        0,
    ],
]
#: What the CSV holds for EXPECTED: text, numbers as written, injection neutralised with a leading quote.
CSV_EXPECTED = [[str(c) if c is not None else None for c in row] for row in EXPECTED]
for _row in CSV_EXPECTED:
    for _i, _cell in enumerate(_row):
        if _cell is not None and _cell[:1] in ("=", "-", "+", "@") and COLUMNS[_i] == "title":
            _row[_i] = "'" + _cell


def smtp_env(port: int, **more: str) -> dict[str, str]:
    return {
        "WATCHDEPTH_SMTP_HOST": "127.0.0.1",
        "WATCHDEPTH_SMTP_PORT": str(port),
        "WATCHDEPTH_SMTP_ATTEMPTS": "2",
        "WATCHDEPTH_SMTP_BACKOFF": "0.05",
        **more,
    }


@pytest.fixture
def smtp() -> Iterator[SmtpServer]:
    s = SmtpServer().start()
    yield s
    s.stop()


#: The workspace of these tests (as ``catalog.create`` takes it; ``fill`` posts it over HTTP).
CATALOG: list[tuple[str, dict[str, Any]]] = [
    ("projects", {"id": "p1", "name": "Project one"}),
    ("projects", {"id": "p2", "name": "Project two"}),
    ("folders", {"id": "fa", "project_id": "p1", "parent_id": None, "name": "a"}),
    ("folders", {"id": "fb", "project_id": "p1", "parent_id": "fa", "name": "b"}),
    ("folders", {"id": "fc", "project_id": "p1", "parent_id": None, "name": "c"}),
    ("videos", {"id": "v1", "project_id": "p1", "folder_id": "fa", "title": "One", "duration": 100}),
    ("videos", {"id": "v2", "project_id": "p1", "folder_id": "fb", "title": "Two", "duration": 10.5}),
    ("videos", {"id": "v3", "project_id": "p2", "title": "Three", "duration": 60}),
    (
        "videos",
        {
            "id": "v4",
            "project_id": "p1",
            "folder_id": "fb",
            "duration": 30,
            "title": '=HYPERLINK("http://evil.example","x")',
        },
    ),
    ("videos", {"id": "v5", "project_id": "p1", "folder_id": "fc", "title": "Five", "duration": 5}),
    ("streams", {"id": "s1", "project_id": "p2", "title": "Live"}),
    ("events", {"id": "e1", "stream_id": "s1", "project_id": "p2", "title": "Episode 1"}),
    ("streams", {"id": "s2", "project_id": "p1", "folder_id": "fa", "title": "-live"}),
    ("events", {"id": "e2", "stream_id": "s2", "project_id": "p1", "folder_id": "fb", "title": "Ep 2"}),
]


def start(tmp_path: Path, env: dict[str, str]) -> Server:
    s = Server(tmp_path, env)
    s.start()
    return s


def fill(s: Server) -> Server:
    """The conftest catalog, the additions above, and the events."""
    for entity, row in CATALOG:
        if entity == "events":  # POST /v1/streams/{id}/events; the project is the stream's
            body = {k: v for k, v in row.items() if k not in ("stream_id", "project_id")}
            s.ok("POST", f"/v1/streams/{row['stream_id']}/events", json=body)
        else:
            s.ok("POST", f"/v1/{entity}", json={k: v for k, v in row.items() if v is not None})
    events = scenario() + live_events()
    r = s.import_events(events)
    assert r.status_code == 202 and r.json() == {"accepted": len(events), "duplicates": 0}, r.text
    return s


@pytest.fixture(scope="module")
def module_smtp() -> Iterator[SmtpServer]:
    s = SmtpServer().start()
    yield s
    s.stop()


@pytest.fixture(scope="module")
def shared(tmp_path_factory: pytest.TempPathFactory, module_smtp: SmtpServer) -> Iterator[Server]:
    """One filled server for the tests that only read (each counts only its own mail)."""
    s = fill(start(tmp_path_factory.mktemp("shared"), smtp_env(module_smtp.port)))
    yield s
    s.stop()
    s.client.close()


@pytest.fixture
def own_server(tmp_path: Path) -> Iterator[Server]:
    s = fill(start(tmp_path, {}))
    yield s
    s.stop()
    s.client.close()


def submit(s: Server, token: str | None = None, **body: Any) -> httpx.Response:
    headers = {"Authorization": f"Bearer {token}"} if token else {}
    return s.api("POST", "/v1/analytics/exports", json=body, headers=headers)


def wait(s: Server, job_id: str, timeout: float = 30, until: Any = None) -> dict[str, Any]:
    deadline = time.monotonic() + timeout
    while True:
        job = s.ok("GET", f"/v1/analytics/exports/{job_id}")["data"]
        if (until(job) if until else job["status"] in ("done", "failed")) or time.monotonic() > deadline:
            return job
        time.sleep(0.05)


def export(s: Server, **body: Any) -> dict[str, Any]:
    r = submit(s, **body)
    assert r.status_code == 202, r.text
    job = wait(s, r.json()["data"]["id"])
    assert job["status"] == "done", job
    return job


def link_in(message: Any) -> str:
    text = message.get_body(("plain",)).get_content()
    found = re.search(r"http://\S+/exports/download/\S+", text)
    assert found, text
    return found.group(0)


def download(url: str) -> tuple[str, list[str], list[list[object]]]:
    r = httpx.get(url, timeout=30)  # no token: the signed link is the credential
    assert r.status_code == 200 and r.headers["content-type"] == "application/zip", r.text
    return read_report(r.content)


def api_rows(s: Server, **params: Any) -> dict[str, dict[str, Any]]:
    got = s.ok("GET", "/v1/analytics", params={**PERIOD, "group_by": "video_id", "per_page": 1000, **params})
    return {r["video_id"]: r for r in got["data"]}


def mail_to(smtp: SmtpServer, address: str) -> list[Any]:
    return [m for m in smtp.messages if m["To"] == address]


def test_the_mailed_report_has_the_apis_numbers_for_nested_folders(shared: Server, module_smtp: SmtpServer) -> None:
    s = shared
    job = export(s, **PERIOD, folder_ids=["fa"], email="nested@example.com")
    assert job["mail"] == "sent" and job["progress"] == {"rows_done": 5, "rows_total": 5}
    assert len(mail_to(module_smtp, "nested@example.com")) == 1
    link = link_in(mail_to(module_smtp, "nested@example.com")[0])
    assert link == job["download_url"] and link.startswith(s.url + "/exports/download/")

    name, header, rows = download(link)
    assert name == "watchdepth-2026-01-05_2026-01-07.csv"  # the request's from and (exclusive) to
    assert header == COLUMNS
    assert rows == CSV_EXPECTED  # hand-worked, injection neutralised, zero row for v4, v5 (folder c) absent

    # The same numbers as the API for the same period and folders (video and event rows by content id) …
    by_api = api_rows(s, folder_id="fa")
    col = COLUMNS.index
    for row in EXPECTED:
        cid = row[col("video_id")] or row[col("event_id")]
        if cid is None:
            continue
        a = by_api.get(
            cid,
            {"views": 0, "unique_views": 0, "player_loads": 0, "watch_time": 0, "avg_watch_time": 0, "watch_depth": 0},
        )
        assert [
            a["player_loads"],
            a["unique_views"],
            a["views"],
            a["watch_time"],
            a["avg_watch_time"],
            a["watch_depth"],
        ] == row[col("player_loads") : col("watch_depth") + 1], cid
    # … and a stream row as the API's stream_id scope, with the peak of the concurrency figure.
    total = s.ok("GET", "/v1/analytics/overview", params={**PERIOD, "stream_id": "s2"})["data"]["total"]
    s2 = EXPECTED[0]
    assert [total["player_loads"], total["unique_views"], total["views"], total["watch_time"]] == s2[
        col("player_loads") : col("total_watch_time") + 1
    ]

    # An absence (no second e-mail): nothing to wait for, so a short look. The one e-mail
    # was already there when the job said "sent" (asserted above).
    time.sleep(0.3)
    assert len(mail_to(module_smtp, "nested@example.com")) == 1, "one report, one e-mail"


def test_xlsx_reads_back_with_openpyxl_and_links_refuse_tampering(shared: Server) -> None:
    s = shared
    job = export(s, **PERIOD, folder_ids=["fa"], format="xlsx")
    assert job["mail"] == "none"
    name, header, rows = download(job["download_url"])
    assert name.endswith(".xlsx") and header == COLUMNS
    title = COLUMNS.index("title")
    expected = [[("'" + c if i == title and str(c)[:1] in "=-+@" else c) for i, c in enumerate(r)] for r in EXPECTED]
    assert rows == expected

    url = job["download_url"]
    token = url.rsplit("/", 1)[1]
    tampered = url[: -len(token)] + token[:-2] + ("AA" if token[-2:] != "AA" else "BB")
    r = httpx.get(tampered, timeout=10)
    assert r.status_code == 404 and r.json()["error"]["code"] == 404404


def test_tokens_scope_what_is_exported(shared: Server) -> None:
    s = shared
    read_only = cli("token", "create", "--read-only", data=s.data).stdout.strip().splitlines()[-1]
    only_p2 = cli("token", "create", "--project", "p2", data=s.data).stdout.strip().splitlines()[-1]

    r = submit(s, read_only, period="all_time")
    assert r.status_code == 403 and r.json()["error"]["code"] == 100103
    r = submit(s, only_p2, period="all_time", folder_ids=["fa"])
    assert r.status_code == 403 and r.json()["error"]["code"] == 100103
    r = submit(s, only_p2, period="all_time", folder_ids=["nope"])
    assert r.status_code == 404
    r = submit(s, only_p2, **PERIOD)
    assert r.status_code == 202
    mine = r.json()["data"]["id"]
    h = {"Authorization": f"Bearer {only_p2}"}
    deadline = time.monotonic() + 30
    while (job := s.ok("GET", f"/v1/analytics/exports/{mine}", headers=h)["data"])["status"] != "done":
        assert time.monotonic() < deadline and job["status"] != "failed", job
        time.sleep(0.05)
    _, _, rows = download(job["download_url"])
    col = COLUMNS.index
    # Only p2: v3 (never watched), s1 and e1 (E watched e1 for 30 s: one view, loads 1, peak 1).
    assert [
        (
            r[col("project_id")],
            r[col("video_id")],
            r[col("stream_id")],
            r[col("event_id")],
            r[col("views")],
            r[col("total_watch_time")],
            r[col("peak_concurrent_viewers")],
        )
        for r in rows
    ] == [
        ("p2", None, "s1", None, "1", "30", "1"),
        ("p2", None, "s1", "e1", "1", "30", "1"),
        ("p2", "v3", None, None, "0", "0", None),
    ]
    # A job of the whole workspace is no business of a p2 token.
    other = submit(s, period="all_time").json()["data"]["id"]
    assert s.api("GET", f"/v1/analytics/exports/{other}", headers=h).status_code == 404
    assert (
        s.api("GET", f"/v1/analytics/exports/{other}", headers={"Authorization": f"Bearer {read_only}"}).status_code
        == 200
    )


def test_referrers_files_hold_the_rows_of_the_json(shared: Server) -> None:
    s = shared
    params = {**PERIOD, "project_id": "p1"}
    data = s.ok("GET", "/v1/analytics/referrers", params={**params, "per_page": 1000})["data"]
    expected = []
    for d in data:
        expected.append([d["domain"], None, d["views"], d["player_loads"], d["view_rate"]])
        expected += [[d["domain"], p["url"], p["views"], p["player_loads"], p["view_rate"]] for p in d["pages"]]
    assert len(expected) >= 4  # www.example.com, blog.example.org, example.com and their pages
    for fmt in ("csv", "xlsx"):
        r = s.api("GET", f"/v1/analytics/referrers.{fmt}", params=params)
        assert r.status_code == 200, r.text
        assert r.headers["content-disposition"] == f'attachment; filename="referrers.{fmt}"'
        header, *rows = read_table(r.content, fmt)
        assert header == ["domain", "url", "views", "player_loads", "view_rate"]
        assert rows == (as_text(expected) if fmt == "csv" else expected)
    # per_page and page are the JSON's: the second domain alone, with its pages
    second = data[1]
    _, *rows = read_table(
        s.api("GET", "/v1/analytics/referrers.csv", params={**params, "per_page": 1, "page": 2}).content, "csv"
    )
    assert rows == as_text(expected[1 + len(data[0]["pages"]) :][: 1 + len(second["pages"])])
    assert httpx.get(s.url + "/v1/analytics/referrers.csv").status_code == 401


def test_a_job_killed_with_the_server_completes_after_restart_and_is_mailed_once(
    tmp_path: Path, smtp: SmtpServer
) -> None:
    s = fill(start(tmp_path, smtp_env(smtp.port, WATCHDEPTH_EXPORT_TEST_ROW_PAUSE="0.4")))
    try:
        job_id = submit(s, **PERIOD, folder_ids=["fa"], email="boss@example.com").json()["data"]["id"]
        job = wait(s, job_id, until=lambda j: j["progress"]["rows_done"] >= 2)
        assert job["status"] == "running" and job["progress"]["rows_done"] < 5, job
        s.stop(signal.SIGKILL)
        assert smtp.messages == []
        s.env.pop("WATCHDEPTH_EXPORT_TEST_ROW_PAUSE")
        s.start()
        job = wait(s, job_id)
        assert (job["status"], job["mail"], job["progress"]["rows_done"]) == ("done", "sent", 5)
        _, _, rows = download(link_in(smtp.messages[0]))
        assert rows == CSV_EXPECTED
        # An absence (the killed run mails nothing late): a short look, the one e-mail being
        # there already (read above). A further restart mails nothing: tests/export/test_restart.py.
        time.sleep(0.3)
        assert len(smtp.messages) == 1
    finally:
        s.stop()
        s.client.close()


def test_smtp_down_fails_with_a_reason_then_retry_mails_once_and_the_link_expires(tmp_path: Path) -> None:
    smtp = SmtpServer()  # its port refuses until started
    s = fill(start(tmp_path, smtp_env(smtp.port, WATCHDEPTH_EXPORT_TTL="2")))  # links live 2 s here
    try:
        job_id = submit(s, period="all_time", email="boss@example.com").json()["data"]["id"]
        job = wait(s, job_id)
        assert (job["status"], job["mail"]) == ("failed", "failed")
        assert job["reason"] == (
            f"could not send the e-mail to boss@example.com through 127.0.0.1:{smtp.port} after "
            "2 attempts: connection refused (is the SMTP server running, and are host and port right?)"
        )
        smtp.start()
        r = s.api("POST", f"/v1/analytics/exports/{job_id}/retry")
        assert r.status_code == 202, r.text
        job = wait(s, job_id)
        assert (job["status"], job["mail"]) == ("done", "sent") and len(smtp.messages) == 1
        assert s.api("POST", f"/v1/analytics/exports/{job_id}/retry").status_code == 400  # done: nothing to retry

        link = link_in(smtp.messages[0])  # valid for 2 s, then 410 with what to do
        deadline = time.monotonic() + 10
        while (r := httpx.get(link, timeout=10)).status_code == 200 and time.monotonic() < deadline:
            time.sleep(0.1)
        assert r.status_code == 410 and "generate the report again" in r.json()["error"]["message"].lower()
        assert "download_url" not in s.ok("GET", f"/v1/analytics/exports/{job_id}")["data"]
    finally:
        smtp.stop()
        s.stop()
        s.client.close()


def test_the_export_command_with_and_without_a_running_server(own_server: Server) -> None:
    s = own_server
    args = ("export", "--from", "2026-01-05", "--to", "2026-01-07", "--folder", "fa", "--quiet")
    online = cli(*args, data=s.data)  # through the admin socket: the server builds it
    path, url = online.stdout.strip().splitlines()
    assert url.startswith(s.url + "/exports/download/")
    assert read_report(Path(path).read_bytes())[2] == CSV_EXPECTED
    assert httpx.get(url, timeout=10).status_code == 200

    bad = cli("export", "--period", "someday", data=s.data, check=False)
    assert bad.returncode == 2 and "period: unknown period 'someday'" in bad.stderr
    bad = cli("export", "--period", "today", "--folder", "nope", data=s.data, check=False)
    assert bad.returncode == 2 and "folder_ids: no folder with id 'nope'" in bad.stderr

    s.stop()
    offline = cli(*args, "--format", "xlsx", data=s.data)  # no server: this process opens the data dir
    path = offline.stdout.strip().splitlines()[0]
    _, header, rows = read_report(Path(path).read_bytes())
    assert header == COLUMNS and len(rows) == len(EXPECTED)
    assert [r[COLUMNS.index("views")] for r in rows] == [r[COLUMNS.index("views")] for r in EXPECTED]
    assert cli("export", "--fields", "plays", data=s.data, check=False).returncode == 2
    bad = cli("export", "--period", "today", "--folder", "nope", data=s.data, check=False)
    assert bad.returncode == 2 and "folder_ids: no folder with id 'nope'" in bad.stderr
