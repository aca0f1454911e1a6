"""A FAKE watchdepth API for the dashboard's browser tests (used by conftest.py).

A Starlette app that mounts the real ``watchdepth.web.routes`` and answers ``/v1/...``
with fixed, docs/api.md-shaped JSON whose numbers depend only on the request (period, video,
group), so a test can ask the same endpoint and compare with what the page shows. It is
not the real API and computes no real metric; the lead's tests run the dashboard
against the real server.
"""

from __future__ import annotations

import asyncio
import json
import time
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response, StreamingResponse
from starlette.routing import Route

from watchdepth.web.routes import routes

TOKEN = "wd-test-token-0123456789"
PERIOD_SEED = {
    "today": 1,
    "yesterday": 2,
    "last_24_hours": 3,
    "this_week": 4,
    "last_week": 5,
    "this_month": 6,
    "last_month": 7,
    "last_year": 8,
    "all_time": 9,
}
PREVIOUS_SEED = 5  # any request with RFC 3339 from/to: the dashboard's previous period
CUSTOM_SEED = 10  # from/to given as dates
BUCKETS = {"hour": (24, 3600), "day": (30, 86400), "week": (8, 7 * 86400), "month": (12, 30 * 86400)}
TIMELINE_START = 1709251200  # 2024-03-01T00:00:00Z

PROJECTS = [{"id": "p-academy", "name": "Academy"}, {"id": "p-marketing", "name": "Marketing"}]
FOLDERS = [
    {"id": "f-courses", "project_id": "p-academy", "parent_id": None, "name": "Courses"},
    {"id": "f-python", "project_id": "p-academy", "parent_id": "f-courses", "name": "Python"},
    {"id": "f-webinars", "project_id": "p-academy", "parent_id": None, "name": "Webinars"},
    {"id": "f-ads", "project_id": "p-marketing", "parent_id": None, "name": "Ads"},
]
TITLES = [
    "Welcome to the course",
    "Installing Python",
    "Variables and types",
    "Control flow",
    "Functions",
    "Modules and packages",
    "Working with files",
    "Error handling",
    "Classes",
    "Testing with pytest",
    "Async basics",
    "Typing",
    "Packaging",
    "Debugging",
    "Profiling",
    "Data classes",
    "Iterators",
    "Generators",
    "Decorators",
    "Context managers",
    "Regular expressions",
    "Dates and time zones",
    "HTTP clients",
    "Databases",
    "Deploying",
    "Q1 results webinar",
    "Product launch trailer",
    "Customer story: Acme",
    "Office hours #12",
    "Year in review",
]
VIDEOS = [
    {
        "id": f"vid-{i + 1:02d}",
        "title": t,
        "duration": 300 + 30 * i,
        "project_id": "p-marketing" if i >= 26 else "p-academy",
        "folder_id": "f-ads" if i >= 26 else "f-webinars" if i == 25 else "f-python" if i % 2 else "f-courses",
    }
    for i, t in enumerate(TITLES)
]
STREAMS = [{"id": "str-townhall", "project_id": "p-academy", "folder_id": None, "title": "Weekly town hall"}]
STREAM_EVENTS = [
    {"id": "evt-0312", "stream_id": "str-townhall", "title": "Town hall, 12 March"},
    {"id": "evt-0319", "stream_id": "str-townhall", "title": "Town hall, 19 March"},
]
COUNTRIES = [
    ("US", 9),
    ("DE", 7),
    ("GB", 5),
    ("IN", 5),
    ("BR", 4),
    ("FR", 3),
    ("JP", 3),
    ("CA", 2),
    ("NL", 2),
    ("PL", 1),
    ("AU", 1),
    (None, 1),
]
GROUPS = {
    "platform": [("desktop", 6), ("smartphone", 4), ("tablet", 2), ("tv", 1), ("other", 1)],
    "os": [("Windows", 5), ("macOS", 4), ("Android", 3), ("iOS", 3), ("Linux", 1), ("ChromeOS", 1)],
    "browser": [("Chrome", 7), ("Safari", 4), ("Firefox", 2), ("Edge", 2), ("Yandex Browser", 1)],
}
REFERRERS = [
    ("learn.example.com", ["/python/intro", "/python/functions", "/python/testing"]),
    ("blog.example.org", ["/2024/03/launch"]),
    ("partner.example.net", ["/embed/course", "/embed/webinar"]),
]
VIEWER = "student-42"
#: group_by=external_id: 40 viewers with an id (VIEWER among them), then the plays without one.
VIEWERS = [f"student-{i}" for i in range(3, 43)]


def half_up(x: float) -> int:
    return int(x + 0.5)


def derived(views: int, loads: int, watch_time: int, duration: int) -> dict[str, int]:
    return {
        "view_rate": half_up(views * 100 / loads) if loads else 0,
        "avg_watch_time": half_up(watch_time / views) if views else 0,
        "watch_depth": half_up(watch_time * 100 / duration) if views and duration else 0,
    }


def totals(seed: int, video: bool = False) -> dict[str, int]:
    views = 10 * seed + 3 if video else 100 * seed + 23
    loads = 4 * views + (1 if video else 11)
    watch_time = 360 * seed + 123 if video else 3600 * seed + 1234
    duration = views * 300
    return {
        "views": views,
        "unique_views": views + 17 * seed,
        "player_loads": loads,
        "watch_time": watch_time,
        "duration": duration,
        **derived(views, loads, watch_time, duration),
    }


def row_metrics(weight: int, seed: int) -> dict[str, int]:
    views = weight * (10 + seed)
    loads = views * 3 + weight
    watch_time = views * 97
    return {
        "views": views,
        "unique_views": views + weight,
        "player_loads": loads,
        "watch_time": watch_time,
        **derived(views, loads, watch_time, views * 300),
    }


@dataclass
class FakeState:
    empty: bool = False
    #: data in other periods only: every request with a period but all_time is empty
    empty_period: bool = False
    #: the export's e-mail: "ok", "no_smtp" (refused as unsupported) or "fail" (the job fails on the mail)
    mail: str = "ok"
    long_values: bool = False  # watch time 137h 54m
    sse: bool = True
    shift_periods: bool = False
    requests: list[tuple[str, dict[str, str]]] = field(default_factory=list)
    exports: list[dict[str, Any]] = field(default_factory=list)
    realtime_calls: int = 0
    export_polls: int = 0

    def reset(self) -> None:
        self.empty = False
        self.empty_period = False
        self.mail = "ok"
        self.long_values = False
        self.sse = True
        self.shift_periods = False
        self.requests.clear()
        self.exports.clear()
        self.realtime_calls = 0
        self.export_polls = 0


def seed_of(params: dict[str, str]) -> int:
    if "period" in params:
        return PERIOD_SEED.get(params["period"], 6)
    if "T" in params.get("from", ""):
        return PREVIOUS_SEED
    if "from" in params:
        return CUSTOM_SEED
    return PERIOD_SEED["this_month"]


def period_range(name: str, tz: str, now: datetime) -> tuple[datetime, datetime]:
    """The server's reading of a period name (calendar units in the zone; weeks from Monday)."""
    zone = ZoneInfo(tz)
    local = now.astimezone(zone)

    def day(offset: int) -> datetime:
        d = local.date() + timedelta(days=offset)
        return datetime(d.year, d.month, d.day, tzinfo=zone)

    def month(y: int, m: int) -> datetime:
        y, m = y + (m - 1) // 12, (m - 1) % 12 + 1
        return datetime(y, m, 1, tzinfo=zone)

    monday = -local.weekday()
    spans = {
        "today": (day(0), now),
        "yesterday": (day(-1), day(0)),
        "last_24_hours": (now - timedelta(days=1), now),
        "this_week": (day(monday), now),
        "last_week": (day(monday - 7), day(monday)),
        "this_month": (month(local.year, local.month), now),
        "last_month": (month(local.year, local.month - 1), month(local.year, local.month)),
        "last_year": (month(local.year - 1, 1), month(local.year, 1)),
        "all_time": (datetime(2023, 1, 1, tzinfo=UTC), now),
    }
    return spans[name]


def rfc3339(t: datetime) -> str:
    return t.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def meta_time(params: dict[str, str], shift: bool = False) -> dict[str, Any]:
    tz = params.get("timezone", "UTC")
    if "period" in params:
        start, end = period_range(params["period"], tz, datetime.now(UTC))
        if shift:  # a server that reads the period differently from the dashboard
            start -= timedelta(days=3)
        frm, to = rfc3339(start), rfc3339(end)
    elif "T" not in params.get("from", "T"):  # dates: whole days in the zone, `to` exclusive (docs/api.md)
        first = datetime.fromisoformat(params["from"]).replace(tzinfo=ZoneInfo(tz))
        last = datetime.fromisoformat(params["to"]).replace(tzinfo=ZoneInfo(tz))
        frm, to = rfc3339(first), rfc3339(last)
    else:
        frm, to = params.get("from", ""), params.get("to", "")
    return {"time": {"from": frm, "to": to, "timezone": tz}}


def listing(items: list[dict[str, Any]], params: dict[str, str]) -> dict[str, Any]:
    page = int(params.get("page", 1))
    per_page = int(params.get("per_page", 10))
    chunk = items[(page - 1) * per_page : page * per_page]
    return {"data": chunk, "meta": {"pagination": {"page": page, "per_page": per_page, "total": len(items)}}}


def build_app(state: FakeState) -> Starlette:
    def authed(request: Request) -> bool:
        bearer = request.headers.get("authorization", "")
        return request.cookies.get("wd_token") == TOKEN or bearer == f"Bearer {TOKEN}"

    def api(handler: Any) -> Any:
        async def endpoint(request: Request) -> Response:
            params = dict(request.query_params)
            state.requests.append((request.url.path, params))
            if not authed(request):
                return JSONResponse({"error": {"code": 100101, "message": "Unauthorized"}}, 401)
            result = await handler(request, params)
            return result if isinstance(result, Response) else JSONResponse(result)

        return endpoint

    def empty_for(p: dict[str, str]) -> bool:
        return state.empty or (state.empty_period and p.get("period") != "all_time")

    async def overview(request: Request, p: dict[str, str]) -> dict[str, Any]:
        seed = seed_of(p)
        empty = empty_for(p)
        total = totals(seed, video="video_id" in p)
        count, step = BUCKETS[p.get("group_time", "day")]
        start = TIMELINE_START
        if p.get("period") == "this_month":  # the whole month's buckets, the days to come included (docs/api.md)
            now = datetime.now(UTC)
            start = int(datetime(now.year, now.month, 1, tzinfo=UTC).timestamp())
            count = 31
        if p.get("period") == "all_time" and p.get("group_time") == "month":  # two months: a sparse series
            count = 2

        def bucket(i: int) -> str:
            if p.get("group_time") == "month":  # calendar months
                d = datetime.fromtimestamp(start, UTC)
                y, m = d.year + (d.month - 1 + i) // 12, (d.month - 1 + i) % 12 + 1
                return rfc3339(datetime(y, m, 1, tzinfo=UTC))
            return time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(start + i * step))

        timeline = []
        for i in range(count):
            views = 0 if empty else (i * 7 + seed * 3) % 50 + 5
            loads = 0 if empty else views * 3 + i % 4
            watch_time, duration = views * 97, views * 300
            timeline.append(
                {
                    "date": bucket(i),
                    "views": views,
                    "unique_views": views + 2,
                    "player_loads": loads,
                    "watch_time": watch_time,
                    "duration": duration,
                    **derived(views, loads, watch_time, duration),
                }
            )
        if state.long_values:
            total["watch_time"] = 137 * 3600 + 54 * 60
        if empty:
            total = dict.fromkeys(total, 0)
        total["online"] = 0 if state.empty else 3
        return {
            "meta": meta_time(p, state.shift_periods),
            "data": {
                "total": total,
                "timeline": timeline,
                "top": {"countries": [], "devices": [], "oses": [], "browsers": []},
            },
        }

    async def analytics(request: Request, p: dict[str, str]) -> dict[str, Any]:
        seed = seed_of(p)
        group = p.get("group_by", "")
        rows: list[dict[str, Any]] = []
        if empty_for(p):
            rows = []
        elif group == "external_id":
            rows = [{"external_id": e, **row_metrics(len(VIEWERS) - i, seed)} for i, e in enumerate(VIEWERS)]
            rows.insert(0, {"external_id": None, **row_metrics(100, seed)})
        elif group == "video_id":
            for i, v in enumerate(VIDEOS):
                rows.append(
                    {
                        "video_id": v["id"],
                        "title": v["title"],
                        "duration": v["duration"],
                        **row_metrics(len(VIDEOS) - i + seed, seed),
                    }
                )
        elif group == "country":
            rows = [{"country": c, **row_metrics(w, seed)} for c, w in COUNTRIES]
        elif group in GROUPS:
            rows = [{group: name, **row_metrics(w, seed)} for name, w in GROUPS[group]]
        elif group == "external_id,video_id" and p.get("external_id") == VIEWER:
            rows = [
                {
                    "external_id": VIEWER,
                    "video_id": v["id"],
                    "title": v["title"],
                    "duration": v["duration"],
                    **row_metrics(3 - i, seed),
                }
                for i, v in enumerate(VIDEOS[:3])
            ]
        if "video_id" in p:
            rows = rows[:4]
        if p.get("order", "").startswith("views.desc"):
            rows.sort(key=lambda r: -r["views"])
        return {"meta": {**meta_time(p), **listing(rows, p)["meta"]}, **{"data": listing(rows, p)["data"]}}

    def referrer_rows(p: dict[str, str]) -> list[dict[str, Any]]:
        seed = seed_of(p)
        out = []
        for domain, paths in REFERRERS:
            pages = [
                {
                    "url": domain + path,
                    **{
                        k: v for k, v in row_metrics(j + 1, seed).items() if k in ("views", "player_loads", "view_rate")
                    },
                }
                for j, path in enumerate(paths)
            ]
            views = sum(x["views"] for x in pages)
            loads = sum(x["player_loads"] for x in pages)
            out.append(
                {
                    "domain": domain,
                    "views": views,
                    "player_loads": loads,
                    "view_rate": half_up(views * 100 / loads),
                    "pages": pages,
                }
            )
        return [] if state.empty else sorted(out, key=lambda r: -r["views"])

    async def referrers(request: Request, p: dict[str, str]) -> dict[str, Any]:
        return {"meta": meta_time(p), **listing(referrer_rows(p), p)}

    async def referrers_csv(request: Request, p: dict[str, str]) -> Response:
        lines = ["domain,url,views,player_loads,view_rate"]
        for r in referrer_rows(p):
            lines += [f"{r['domain']},{x['url']},{x['views']},{x['player_loads']},{x['view_rate']}" for x in r["pages"]]
        return Response(
            "\n".join(lines) + "\n",
            media_type="text/csv",
            headers={"Content-Disposition": 'attachment; filename="referrers.csv"'},
        )

    async def retention(request: Request, p: dict[str, str]) -> dict[str, Any]:
        points = [
            {
                "second": s,
                "viewers": half_up(250 * (0.35 + 0.65 * (1 - s / 300) ** 2)),
                "share": round(0.35 + 0.65 * (1 - s / 300) ** 2, 4),
            }
            for s in range(301)
        ]
        return {"meta": meta_time(p), "data": {"duration": 300, "unique_views": 250, "points": points}}

    async def concurrency(request: Request, p: dict[str, str]) -> dict[str, Any]:
        base = 1710252000  # 2024-03-12T14:00:00Z
        points = [
            {
                "time": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(base + 60 * i)),
                "viewers": min(i * 3, 137) if i < 50 else max(0, 137 - (i - 50) * 2),
            }
            for i in range(120)
        ]
        peak_time = points[46]["time"]
        return {
            "meta": {**meta_time(p), "step": 60},
            "data": {"series": points, "peak_concurrent_viewers": 137, "peak_at": peak_time},
        }

    def realtime_payload() -> dict[str, Any]:
        state.realtime_calls += 1
        n = state.realtime_calls
        videos = [
            {"video_id": "vid-01", "title": TITLES[0], "online": 2 + n},
            {"video_id": "vid-05", "title": TITLES[4], "online": 1},
        ]
        return {"data": {"online": 3 + n, "videos": videos}}

    async def realtime(request: Request, p: dict[str, str]) -> dict[str, Any]:
        return realtime_payload()

    async def realtime_stream(request: Request, p: dict[str, str]) -> Response:
        if not state.sse:
            return JSONResponse({"error": {"code": 404404, "message": "Not found"}}, 404)

        async def events() -> Any:
            for _ in range(30):
                yield f"data: {json.dumps(realtime_payload())}\n\n"
                for _ in range(20):
                    await asyncio.sleep(0.1)
                    if await request.is_disconnected():
                        return

        return StreamingResponse(events(), media_type="text/event-stream", headers={"Cache-Control": "no-store"})

    async def projects(request: Request, p: dict[str, str]) -> dict[str, Any]:
        return listing(PROJECTS, p)

    async def folders(request: Request, p: dict[str, str]) -> dict[str, Any]:
        return listing([f for f in FOLDERS if f["project_id"] == p.get("project_id", f["project_id"])], p)

    async def videos(request: Request, p: dict[str, str]) -> dict[str, Any]:
        items = [
            v
            for v in VIDEOS
            if v["project_id"] == p.get("project_id", v["project_id"])
            and v["folder_id"] == p.get("folder_id", v["folder_id"])
        ]
        return listing(items, p)

    async def known(request: Request, p: dict[str, str], handler: Any) -> Any:
        """As the real API: a video_id that is no video, stream or broadcast is 404."""
        vid = p.get("video_id")
        if vid is not None and vid not in {v["id"] for v in VIDEOS} | {e["id"] for e in STREAM_EVENTS}:
            return JSONResponse({"error": {"code": 404404, "message": f"no video with id {vid!r}"}}, 404)
        return await handler(request, p)

    async def video(request: Request, p: dict[str, str]) -> Response:
        found = [v for v in VIDEOS if v["id"] == request.path_params["id"]]
        return JSONResponse({"data": found[0]}) if found else JSONResponse({"error": {"code": 404404}}, 404)

    async def streams(request: Request, p: dict[str, str]) -> dict[str, Any]:
        return listing([s for s in STREAMS if s["project_id"] == p.get("project_id", s["project_id"])], p)

    async def stream(request: Request, p: dict[str, str]) -> Response:
        found = [x for x in STREAMS if x["id"] == request.path_params["id"]]
        return JSONResponse({"data": found[0]}) if found else JSONResponse({"error": {"code": 404404}}, 404)

    async def stream_events(request: Request, p: dict[str, str]) -> dict[str, Any]:
        return listing(STREAM_EVENTS, p)

    async def create_export(request: Request, p: dict[str, str]) -> Response:
        body = json.loads(await request.body())
        if body.get("email") and state.mail == "no_smtp":  # as export/jobs.py submit() without SMTP settings
            return JSONResponse(
                {
                    "error": {
                        "code": 400400,
                        "message": "parameters did not validate",
                        "invalid_params": [
                            {
                                "name": "email",
                                "reason": "unsupported",
                                "message": "e-mail delivery is not configured on this server",
                            }
                        ],
                    }
                },
                400,
            )
        state.exports.append(body)
        return JSONResponse({"data": {"id": "exp-1", "status": "queued"}}, 202)

    async def export_status(request: Request, p: dict[str, str]) -> dict[str, Any]:
        state.export_polls += 1
        if state.export_polls < 2:
            return {"data": {"id": "exp-1", "status": "running"}}
        link = "/downloads/exp-1.csv?sig=abc"
        email = state.exports[-1].get("email") if state.exports else None
        if email and state.mail == "fail":  # the file is built, the mail failed: the link is offered
            return {
                "data": {
                    "id": "exp-1",
                    "status": "failed",
                    "mail": "failed",
                    "download_url": link,
                    "reason": f"could not send the e-mail to {email} through 127.0.0.1:25 after 4 attempts",
                }
            }
        mail = "sent" if email else "none"
        return {"data": {"id": "exp-1", "status": "done", "mail": mail, "download_url": link}}

    v1 = [
        Route("/v1/analytics/overview", api(lambda r, p: known(r, p, overview))),
        Route("/v1/analytics", api(lambda r, p: known(r, p, analytics))),
        Route("/v1/analytics/referrers", api(referrers)),
        Route("/v1/analytics/referrers.csv", api(referrers_csv)),
        Route("/v1/analytics/retention", api(lambda r, p: known(r, p, retention))),
        Route("/v1/analytics/concurrency", api(concurrency)),
        Route("/v1/analytics/realtime", api(realtime)),
        Route("/v1/analytics/realtime/stream", api(realtime_stream)),
        Route("/v1/analytics/exports", api(create_export), methods=["POST"]),
        Route("/v1/analytics/exports/{id}", api(export_status)),
        Route("/v1/projects", api(projects)),
        Route("/v1/folders", api(folders)),
        Route("/v1/videos", api(videos)),
        Route("/v1/videos/{id}", api(video)),
        Route("/v1/streams", api(streams)),
        Route("/v1/streams/{id}", api(stream)),
        Route("/v1/streams/{id}/events", api(stream_events)),
    ]
    return Starlette(routes=[*routes(lambda token: token == TOKEN), *v1])
