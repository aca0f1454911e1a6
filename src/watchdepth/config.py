"""Settings: flags and ``WATCHDEPTH_*`` environment variables, one frozen object.

Input: CLI flags (highest), then the environment, then defaults. Output: ``Settings``.
It does not open files or sockets.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field, fields, replace
from pathlib import Path
from typing import Any

from watchdepth.errors import ValidationFailed

ENV_PREFIX = "WATCHDEPTH_"


@dataclass(frozen=True)
class Settings:
    data_dir: Path = Path("./watchdepth-data")
    host: str = "127.0.0.1"
    port: int = 8000
    #: Proxies (IPs or CIDR networks) whose X-Forwarded-For is trusted.
    trusted_proxies: tuple[str, ...] = ()
    #: A GeoLite2/GeoIP2 or DB-IP Country or City .mmdb; default: the shipped DB-IP Country Lite (no cities).
    geoip: str | None = None
    #: Origins allowed to POST /collect from a browser; "*" allows any.
    cors_origins: tuple[str, ...] = ("*",)
    #: The workspace time zone: where days begin unless a request names another.
    timezone: str = "UTC"
    #: Largest accepted request body, bytes (/collect); imports may be larger.
    max_body: int = 1_000_000
    max_import_body: int = 512_000_000
    #: The public base URL, for links in e-mails (default http://host:port).
    base_url: str | None = None
    #: The store DSN: empty for the embedded DuckDB file in data_dir.
    store: str = ""
    #: What ``serve`` runs: all (collector + API + dashboard), collector (intake only) or api.
    role: str = "all"
    #: For --role api: the collectors' base URLs, whose watching-now snapshots are summed.
    collectors: tuple[str, ...] = ()
    #: The SMTP server for report e-mails; unset: no e-mail (exports give a download link only).
    smtp_host: str | None = None
    smtp_port: int = 25
    smtp_security: str = "none"  # none | starttls | tls
    smtp_user: str | None = None
    smtp_password: str | None = None
    mail_from: str = "watchdepth@localhost"
    #: Tries in all to hand a report's mail to SMTP, and seconds before the second (doubling).
    smtp_attempts: int = 4
    smtp_backoff: float = 5.0
    #: Seconds a report's download link and its file live (default 7 days).
    export_ttl: int = 7 * 86_400
    #: Live analytics (SSE /v1/analytics/realtime/stream): push interval (ms) and most open streams.
    live_interval_ms: int = 2000
    live_max_subscribers: int = 100
    #: Limits (README "Limits"). Seconds from a connection (or a request's first byte) to the
    #: end of its headers; seconds without a byte while a body is read; idle keep-alive seconds.
    header_timeout: float = 10.0
    body_timeout: float = 30.0
    keep_alive_timeout: float = 75.0
    #: Most open connections (lowered to fit the process's file limit); past it, 503 + Retry-After.
    max_connections: int = 1000
    #: Requests per second and burst ("RATE:BURST", or "off"): per token on /v1, per client IP on /collect.
    rate_limit_api: str = "100:1000"
    rate_limit_collect: str = "off"
    #: Free space (MB) the journal leaves in the data dir: below it, writes get 503 until space is back.
    disk_reserve_mb: int = 64
    #: DuckDB's memory_limit ("2GB", "512MB"): its buffer cache and query memory, bounded (a
    #: query past it spills to the data dir or fails with 500). Empty: 1 GiB, or DuckDB's own
    #: default (80 % of RAM) where that is less.
    duckdb_memory_limit: str = ""
    extra: dict[str, Any] = field(default_factory=dict)

    @property
    def public_url(self) -> str:
        return (self.base_url or f"http://{self.host}:{self.port}").rstrip("/")

    @property
    def db_path(self) -> Path:
        return self.data_dir / "watchdepth.duckdb"

    @property
    def admin_socket(self) -> Path:
        return self.data_dir / "admin.sock"


def load(**flags: Any) -> Settings:
    """Defaults, overridden by ``WATCHDEPTH_*`` variables, overridden by non-None flags."""
    values: dict[str, Any] = {}
    for f in fields(Settings):
        if f.name == "extra":
            continue
        raw = os.environ.get(ENV_PREFIX + f.name.upper())
        if raw is not None:
            values[f.name] = _convert(f.name, raw)
    values.update({k: _convert(k, v) if isinstance(v, str) else v for k, v in flags.items() if v is not None})
    return replace(Settings(), **values)


#: The largest number a numeric setting takes (seconds, bytes, counts): past it, a typo.
MAX_NUMBER = 10**15


def _convert(name: str, raw: str) -> Any:
    default = getattr(Settings(), name)
    if isinstance(default, bool):
        return raw.lower() in ("1", "true", "yes")
    if isinstance(default, int | float):
        try:
            number = int(raw) if isinstance(default, int) else float(raw)
        except ValueError:
            raise ValidationFailed(f"{ENV_PREFIX}{name.upper()}={raw!r} is not a number") from None
        if not 0 <= number <= MAX_NUMBER:  # NaN fails this too
            raise ValidationFailed(f"{ENV_PREFIX}{name.upper()}={raw!r} must lie between 0 and {MAX_NUMBER:,}")
        return number
    if isinstance(default, Path):
        return Path(raw)
    if isinstance(default, tuple):
        return tuple(x.strip() for x in raw.split(",") if x.strip())
    return raw
