"""The ``watchdepth`` command: serve, token create, import (and the commands later issues add).

Input: argv and ``WATCHDEPTH_*`` variables. Output: a running server, or a command's
result on stdout and its progress on stderr. When ``serve`` holds the data dir, the
other commands go through its admin socket instead of opening the database file.
"""

from __future__ import annotations

import argparse
import importlib
import logging
import socket
import sys
import time
from collections.abc import Iterable, Iterator, Sequence
from pathlib import Path
from typing import Any
from urllib.parse import quote

import httpx
from tqdm import tqdm

from watchdepth import __version__, admin_client, config
from watchdepth.catalog.tokens import check_projects
from watchdepth.config import Settings
from watchdepth.errors import InvalidInput, WatchdepthError

#: Modules that add one subcommand each: ``add_parser(subparsers)`` and ``run(args, settings) -> int``.
COMMAND_MODULES = {
    "export": "watchdepth.export.command",
    "simulate": "watchdepth.demo.simulate",
    "migrate": "watchdepth.store.clickhouse.migrate",
    "copy": "watchdepth.store.copy",
}


def parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="watchdepth", description="Self-hostable video analytics.")
    p.add_argument("--version", action="version", version=f"watchdepth {__version__}")
    sub = p.add_subparsers(dest="command", required=True)

    serve = sub.add_parser("serve", help="serve the collector, the API and the dashboard")
    _data(serve)
    serve.add_argument("--host", help="address to listen on (default 127.0.0.1)")
    serve.add_argument("--port", type=int, help="port (default 8000)")
    serve.add_argument("--demo", action="store_true", help="seed a demo workspace with weeks of history")
    serve.add_argument("--trusted-proxies", help="comma-separated IPs/CIDRs whose X-Forwarded-For is trusted")
    serve.add_argument(
        "--geoip", help="a GeoLite2/GeoIP2/DB-IP Country or City .mmdb file (a City file also fills city)"
    )
    serve.add_argument("--cors-origins", help="comma-separated origins allowed to POST /collect ('*' for any)")
    serve.add_argument("--timezone", help="workspace time zone (IANA), default UTC")
    serve.add_argument("--base-url", help="public URL of this server, for links in e-mails")
    serve.add_argument("--store", help="store DSN: clickhouse://user:pass@host:8123/db (default: embedded DuckDB)")
    serve.add_argument(
        "--role",
        choices=("all", "collector", "api"),
        help="what this process serves (default all); see docs/scale-out.md",
    )
    serve.add_argument("--collectors", help="for --role api: comma-separated collector base URLs (watching now)")

    token = sub.add_parser("token", help="manage API tokens")
    tsub = token.add_subparsers(dest="token_command", required=True)
    create = tsub.add_parser("create", help="create a token; prints it alone on the last line")
    _data(create)
    create.add_argument("--name", default="cli", help="a label for the token")
    create.add_argument("--project", action="append", default=[], help="limit to this project (repeatable)")
    create.add_argument("--read-only", action="store_true", help="allow reading only")
    listing = tsub.add_parser("list", help="list the tokens (id, name, projects, read-only, created; never the secret)")
    _data(listing)
    revoke = tsub.add_parser("revoke", help="revoke a token: the API and dashboard sessions refuse it at once")
    _data(revoke)
    revoke.add_argument("id", help="the token's id (see 'token list')")

    imp = sub.add_parser("import", help="import NDJSON events (ts, ip, user_agent per event)")
    _data(imp)
    imp.add_argument("file", type=Path, help="the .ndjson file ('-' for standard input)")

    for module in COMMAND_MODULES.values():
        importlib.import_module(module).add_parser(sub)
    return p


def _data(p: argparse.ArgumentParser) -> None:
    p.add_argument("--data", dest="data_dir", help="data directory (default ./watchdepth-data)")


def main(argv: Sequence[str] | None = None) -> int:
    args = parser().parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    logging.getLogger("httpx").setLevel(logging.WARNING)  # not a line per admin-socket request
    flags = {k: v for k, v in vars(args).items() if k in Settings.__dataclass_fields__}
    try:
        settings = config.load(**flags)
        if args.command == "serve":
            return _serve(settings, demo=args.demo)
        if args.command == "token":
            if args.token_command == "list":
                return _token_list(settings)
            if args.token_command == "revoke":
                return _token_revoke(settings, args.id)
            return _token_create(settings, args.name, args.project, args.read_only)
        if args.command == "import":
            return _import(settings, args.file)
        if args.command in COMMAND_MODULES:
            return int(importlib.import_module(COMMAND_MODULES[args.command]).run(args, settings))
    except InvalidInput as exc:
        print(f"error: {exc.message}", file=sys.stderr)
        for p in exc.invalid_params[:20]:
            where = f"line {p.index + 1}: " if p.index is not None else ""
            print(f"  {where}{p.name}: {p.message}", file=sys.stderr)
        return 2
    except WatchdepthError as exc:
        print(f"error: {exc.message}", file=sys.stderr)
        return 1
    except httpx.HTTPError as exc:
        print(
            f"error: the running server did not answer on its admin socket ({exc.__class__.__name__}); "
            "is it overloaded? try again",
            file=sys.stderr,
        )
        return 1
    return 2


# -- serve --------------------------------------------------------------------------------


def _serve(settings: Settings, *, demo: bool) -> int:
    from watchdepth.serve import services as svc
    from watchdepth.serve.server import run as run_server

    if admin_client.connect(settings) is not None:
        print(f"error: a server is already running on {settings.data_dir}", file=sys.stderr)
        return 1
    taken = _port_taken(settings.host, settings.port)
    if taken:
        print(
            f"error: cannot listen on {settings.host}:{settings.port} ({taken}); "
            f"choose another port with --port N (or WATCHDEPTH_PORT=N)",
            file=sys.stderr,
        )
        return 1
    services = svc.build(settings)
    try:
        if demo:
            _seed_demo(services)
        print(f"watchdepth {__version__} serving on {settings.public_url} (data: {settings.data_dir})", file=sys.stderr)
        run_server(services, extra_routes=_extra_routes(services))
    finally:
        services.close()
    return 0


def _port_taken(host: str, port: int) -> str | None:
    """Why ``host:port`` cannot be listened on (e.g. "address already in use"), or None.

    Bound and released at once, with SO_REUSEADDR as uvicorn binds, so a port in TIME_WAIT
    is free. Checked before the demo is seeded, not to announce a server that then dies.
    """
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    with socket.socket(family, socket.SOCK_STREAM) as sock:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            sock.bind((host, port))
        except OSError as exc:
            return exc.strerror.lower() if exc.strerror else str(exc)
    return None


def _extra_routes(services: Any) -> list[Any]:
    """Routes of the tracker, dashboard and exports."""
    from watchdepth.serve.app import feature_routes

    return feature_routes(services)


def _seed_demo(services: Any) -> None:
    from watchdepth.demo import workspace as demo

    cat = services.catalog
    if not cat.projects:
        for entity, rows in (
            ("projects", demo.PROJECTS),
            ("folders", demo.FOLDERS),
            ("videos", demo.VIDEOS),
            ("streams", demo.STREAMS),
        ):
            for row in rows:
                cat.create(entity, dict(row))
        for row in demo.EVENTS:
            stream = cat.get("streams", row["stream_id"])
            cat.create("events", {**row, "project_id": stream["project_id"]})
        lines = list(demo.history(int(time.time() * 1000)))
        _apply_lines(services, lines, label="demo history")
    secret, _ = services.tokens.create("demo", (), False)
    path = demo.write_token(services.settings.data_dir, secret)
    print(f"demo token (also for the dashboard): {secret} (saved in {path})", file=sys.stderr)


# -- token create | list | revoke ------------------------------------------------------------


def _token_create(settings: Settings, name: str, projects: list[str], read_only: bool) -> int:
    client = admin_client.connect(settings)
    if client is not None:
        r = client.post("/admin/tokens", json={"name": name, "projects": projects, "read_only": read_only})
        admin_client.raise_for(r)
        secret = r.json()["token"]
    else:
        from watchdepth.serve import services as svc

        services = svc.build(settings)
        try:
            check_projects(services.catalog.projects, projects)
            secret, _ = services.tokens.create(name, projects, read_only)
        finally:
            services.close()
    print(
        f"created token {name!r}"
        + (f" for projects {', '.join(projects)}" if projects else "")
        + (" (read-only)" if read_only else "")
    )
    print(secret)
    return 0


def _token_list(settings: Settings) -> int:
    client = admin_client.connect(settings)
    if client is not None:
        r = client.get("/admin/tokens")
        admin_client.raise_for(r)
        rows = r.json()["data"]
    else:
        from watchdepth.serve import services as svc

        services = svc.build(settings)
        try:
            rows = services.tokens.list_all()
        finally:
            services.close()
    print(f"{'ID':<14}{'NAME':<20}{'PROJECTS':<24}{'READ-ONLY':<11}CREATED")
    for t in rows:
        projects = ",".join(t["projects"]) or "(all)"
        print(f"{t['id']:<14}{t['name']:<20}{projects:<24}{'yes' if t['read_only'] else 'no':<11}{t['created_at']}")
    return 0


def _token_revoke(settings: Settings, token_id: str) -> int:
    client = admin_client.connect(settings)
    if client is not None:
        r = client.delete("/admin/tokens/" + quote(token_id, safe=""))
        admin_client.raise_for(r)
        name = r.json()["data"]["name"]
    else:
        from watchdepth.serve import services as svc

        services = svc.build(settings)
        try:
            name = services.tokens.revoke(token_id).name
        finally:
            services.close()
    print(f"revoked token {token_id} ({name!r})")
    return 0


# -- import -------------------------------------------------------------------------------


def _import(settings: Settings, path: Path) -> int:
    data = sys.stdin.buffer.read() if str(path) == "-" else _read(path)
    client = admin_client.connect(settings)
    if client is not None:
        with tqdm(total=len(data), unit="B", unit_scale=True, desc="sending", file=sys.stderr) as bar:
            r = client.post("/admin/import", content=_chunks(data, bar), timeout=None)
        admin_client.raise_for(r)
        result = r.json()
    else:
        from watchdepth.serve import services as svc

        services = svc.build(settings)
        try:
            result = _apply_lines(services, data.splitlines(), label=path.name)
        finally:
            services.close()
    print(f"accepted {result['accepted']} events, {result['duplicates']} duplicates")
    return 0


def _read(path: Path) -> bytes:
    try:
        return path.read_bytes()
    except OSError as exc:
        raise InvalidInput(f"cannot read {path}: {exc.strerror}") from None


def _chunks(data: bytes, bar: Any, size: int = 1 << 20) -> Iterator[bytes]:
    for i in range(0, len(data), size):
        yield data[i : i + size]
        bar.update(min(size, len(data) - i))


def _apply_lines(services: Any, lines: Iterable[bytes], *, label: str) -> dict[str, int]:
    """Validate every line (with progress), then apply them through the import path."""
    from watchdepth.collect.wire import decode_import_lines

    lines = list(lines)
    wire: list[Any] = []
    step = 50_000
    with tqdm(total=len(lines), unit="ev", desc=f"checking {label}", file=sys.stderr) as bar:
        for start in range(0, len(lines), step):
            wire += decode_import_lines(lines[start : start + step], start)
            bar.update(min(step, len(lines) - start))
    events = services.collector.from_import(wire, received_at=int(time.time() * 1000))
    print(f"applying {len(events)} events…", file=sys.stderr)
    result = services.ingest.run_sync(events, "import")
    services.store.maintain()
    return {"accepted": result.accepted, "duplicates": result.duplicates}


if __name__ == "__main__":
    raise SystemExit(main())
