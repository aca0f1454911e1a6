"""Operations endpoints: ``/healthz``, ``/metrics`` (Prometheus text), ``/openapi.json``, ``/docs``.

Input: the running services. Output: plain text or JSON for machines and a readable
API reference for people. It changes nothing.
"""

from __future__ import annotations

import html
from typing import Any

from starlette.requests import Request
from starlette.responses import HTMLResponse, JSONResponse, PlainTextResponse, Response
from starlette.routing import Route

from watchdepth.api import openapi as _openapi
from watchdepth.api.auth import authorize
from watchdepth.api.context import services as _services
from watchdepth.errors import InvalidInput
from watchdepth.serve.ingest import WRITE_BUCKETS

#: /healthz reasons: a class of trouble, never the engine's words or a path.
DISK_RESERVE = "disk reserve"  # free space under the reserve: the journal refuses writes
STORE = "store"  # the database does not take the journal (acknowledged events wait in it)


async def healthz(request: Request) -> Response:
    """200 ``{"status": "ok"}``; 503 ``{"status": "failing", "reason": <class>}`` while the disk
    is under its reserve (``disk reserve``) or the embedded store cannot load its journal
    (``store``). Internals (the database's message, backlog, quarantine) go in ``detail`` only
    for a request with a valid token: load balancers ask without one."""
    journal = _journal_stats(request)
    reasons = []
    if journal is not None and journal.disk_low:
        reasons.append(DISK_RESERVE)
    if journal is not None and journal.error:
        reasons.append(STORE)
    body: dict[str, Any] = {"status": "failing", "reason": ", ".join(reasons)} if reasons else {"status": "ok"}
    if journal is not None and _authenticated(request):
        body["detail"] = {
            "error": journal.error,
            "pending_events": journal.pending_events,
            "quarantined_batches": journal.quarantined,
            "disk_low": journal.disk_low,
        }
    return JSONResponse(body, status_code=503 if reasons else 200)


def _authenticated(request: Request) -> bool:
    if "authorization" not in request.headers:
        return False
    try:
        authorize(request)
    except InvalidInput:
        return False
    return True


def _journal_stats(request: Request) -> Any:
    stats = getattr(_services(request).store, "journal_stats", None)  # the embedded store's, only
    return stats() if stats is not None else None


async def metrics(request: Request) -> Response:
    """Counters and latencies in the Prometheus text format."""
    s = _services(request)
    st = s.ingest.stats
    lines = [
        "# HELP watchdepth_events_total Events received on /collect and imports, by outcome.",
        "# TYPE watchdepth_events_total counter",
    ]
    for outcome in ("applied", "duplicate", "late", "bot"):
        lines.append(f'watchdepth_events_total{{outcome="{outcome}"}} {st.status.get(outcome, 0)}')
    lines += [
        "# HELP watchdepth_batches_rejected_total Batches refused as invalid (400/413).",
        "# TYPE watchdepth_batches_rejected_total counter",
        f"watchdepth_batches_rejected_total {st.rejected}",
        "# HELP watchdepth_write_seconds Latency of one group commit to the store (on the embedded store: the journal).",
        "# TYPE watchdepth_write_seconds histogram",
    ]
    for le in WRITE_BUCKETS:
        label = "+Inf" if le == float("inf") else repr(le)
        lines.append(f'watchdepth_write_seconds_bucket{{le="{label}"}} {st.write_buckets.get(le, 0)}')
    lines += [f"watchdepth_write_seconds_sum {st.write_seconds:.6f}", f"watchdepth_write_seconds_count {st.batches}"]
    lines += [
        "# HELP watchdepth_collect_step_seconds Time spent in each named collect step.",
        "# TYPE watchdepth_collect_step_seconds counter",
    ]
    for step, stats in sorted(s.collector.step_seconds.items()):
        lines.append(f'watchdepth_collect_step_seconds{{step="{step}"}} {stats.seconds:.6f}')
    lines += [
        "# HELP watchdepth_active_sessions Sessions held by the sessionizer.",
        "# TYPE watchdepth_active_sessions gauge",
        f"watchdepth_active_sessions {len(s.ingest.sessionizer.sessions)}",
    ]
    journal = _journal_stats(request)
    if journal is not None:
        lines += [
            "# HELP watchdepth_journal_pending_events Acknowledged events not yet loaded into DuckDB.",
            "# TYPE watchdepth_journal_pending_events gauge",
            f"watchdepth_journal_pending_events {journal.pending_events}",
            "# HELP watchdepth_journal_load_seconds Time the loader spent moving the journal into DuckDB.",
            "# TYPE watchdepth_journal_load_seconds summary",
            f"watchdepth_journal_load_seconds_sum {journal.load_seconds:.6f}",
            f"watchdepth_journal_load_seconds_count {journal.loads}",
            "# HELP watchdepth_journal_load_failing 1 while loading the journal into DuckDB fails.",
            "# TYPE watchdepth_journal_load_failing gauge",
            f"watchdepth_journal_load_failing {int(bool(journal.error))}",
            "# HELP watchdepth_quarantined_batches_total Journal batches DuckDB refused rows of (moved to the quarantine file).",
            "# TYPE watchdepth_quarantined_batches_total counter",
            f"watchdepth_quarantined_batches_total {journal.quarantined}",
            "# HELP watchdepth_disk_reserve_low 1 while free space in the data dir is under the reserve (writes refused).",
            "# TYPE watchdepth_disk_reserve_low gauge",
            f"watchdepth_disk_reserve_low {int(journal.disk_low)}",
        ]
    return PlainTextResponse("\n".join(lines) + "\n", media_type="text/plain; version=0.0.4")


async def openapi(request: Request) -> Response:
    """The OpenAPI 3.1 description of every route this server answers."""
    return JSONResponse(spec_of(request))


def spec_of(request: Request) -> dict[str, Any]:
    """The app's document, built from its route table once (``api.openapi``)."""
    state = request.app.state
    doc: dict[str, Any] | None = getattr(state, "openapi", None)
    if doc is None:
        doc = _openapi.spec(request.app.routes)
        state.openapi = doc
    return doc


async def docs(request: Request) -> Response:
    """The routes as a page for people: method, path and summary of each."""
    doc = spec_of(request)
    rows = []
    for path, ops in doc["paths"].items():
        for method, op in ops.items():
            rows.append(
                f"<tr><td><code>{method.upper()}</code></td><td><code>{html.escape(path)}</code></td>"
                f"<td>{html.escape(op.get('summary', ''))}</td></tr>"
            )
    page = (
        "<!doctype html><html lang=en><head><meta charset=utf-8><title>watchdepth API</title>"
        "<style>body{font-family:system-ui,sans-serif;max-width:60rem;margin:2rem auto;padding:0 1rem}"
        "td{padding:.3rem .6rem;border-bottom:1px solid #ddd}code{font-size:.95em}</style></head><body>"
        f"<h1>watchdepth API {html.escape(doc['info']['version'])}</h1>"
        "<p>The machine-readable description is at <a href=/openapi.json>/openapi.json</a>. "
        "Every <code>/v1</code> call takes <code>Authorization: Bearer &lt;token&gt;</code>.</p>"
        f"<table>{''.join(rows)}</table></body></html>"
    )
    return HTMLResponse(page)


def routes() -> list[Route]:
    return [
        Route("/healthz", healthz, methods=["GET"]),
        Route("/metrics", metrics, methods=["GET"]),
        Route("/openapi.json", openapi, methods=["GET"]),
        Route("/docs", docs, methods=["GET"]),
    ]
