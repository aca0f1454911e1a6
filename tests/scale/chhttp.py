"""A test fixture speaking ClickHouse's HTTP interface over one chDB session.

Input: what ``clickhouse-connect``'s HTTP client sends: ``GET /ping``; ``POST /`` with
the query in the body or in ``?query=`` (URL params: ``database``, ``param_<name>`` for
``{name:Type}`` bindings, settings such as ``session_id`` that we accept and ignore);
an insert (``INSERT INTO t (cols) FORMAT Native`` in ``?query=``) with its data in the
body, compressed as the client chose (lz4 frame, zstd, gzip).
Output: the query's result in the format it names (the client appends ``FORMAT Native``),
``X-ClickHouse-Format``/``-Timezone``/``-Query-Id``/``-Summary`` headers, and errors as
ClickHouse gives them: HTTP 500 with ``X-ClickHouse-Exception-Code`` and the message.

Every request runs on the one chDB session, one at a time (a lock): several collector
processes share it as they would share a ClickHouse server. An insert's data goes
through a file in ``spool`` (``INSERT ... SELECT * FROM file(..., Native)``), which
chDB reads at native speed. It is a test fixture: no auth, no TLS, no streaming.

Run alone: ``python tests/scale/chhttp.py --path DIR --port N`` (prints ``ready <port>``).
"""

from __future__ import annotations

import argparse
import gzip
import itertools
import json
import os
import re
import sys
import tempfile
import threading
import time
import uuid
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

from chdb import session as chs

_INSERT = re.compile(r"^\s*INSERT\s+INTO\s+(.+?)\s+FORMAT\s+(\w+)\s*$", re.I | re.S)
_FORMAT = re.compile(r"\bFORMAT\s+(\w+)\s*;?\s*$", re.I)
TRACE = bool(os.environ.get("CHHTTP_TRACE"))  # print each statement's time to stderr
_CODE = re.compile(r"Code:\s*(\d+)")
#: URL parameters that are transport settings, not query settings.
_TRANSPORT = {
    "query",
    "database",
    "query_id",
    "session_id",
    "session_timeout",
    "session_check",
    "compress",
    "decompress",
    "default_format",
    "user",
    "password",
    "wait_end_of_query",
    "buffer_size",
    "enable_http_compression",
    "send_progress_in_http_headers",
    "http_headers_progress_interval_ms",
    "role",
    "quota_key",
}


def _decompress(body: bytes, encoding: str | None) -> bytes:
    if not encoding or encoding == "identity":
        return body
    if encoding == "lz4":
        import lz4.frame

        out = []
        while body:  # one frame per block the client sent
            d = lz4.frame.LZ4FrameDecompressor()
            out.append(d.decompress(body))
            body = d.unused_data
        return b"".join(out)
    if encoding == "zstd":
        import zstandard

        return bytes(zstandard.ZstdDecompressor().decompressobj().decompress(body))
    if encoding == "gzip":
        return gzip.decompress(body)
    raise ValueError(f"unsupported Content-Encoding {encoding}")


class ChHttp:
    """One chDB session behind a threading HTTP server on 127.0.0.1."""

    def __init__(self, path: str | Path, port: int = 0) -> None:
        self.path = Path(path)
        self.path.mkdir(parents=True, exist_ok=True)
        self.spool = Path(
            tempfile.mkdtemp(prefix="chhttp-spool-", dir="/dev/shm" if os.path.isdir("/dev/shm") else None)
        )
        self.session = chs.Session(str(self.path))
        self.lock = threading.Lock()
        self.requests = itertools.count()
        self.inserted_rows = 0
        fixture = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"
            disable_nagle_algorithm = True  # headers and body are two writes: no 40 ms delayed-ACK stall

            def log_message(self, format: str, *args: Any) -> None:  # noqa: A002 - quiet
                pass

            def do_GET(self) -> None:  # noqa: N802
                url = urlsplit(self.path)
                if url.path in ("/ping", "/") and "query" not in parse_qs(url.query):
                    self._send(200, b"Ok.\n", {"Content-Type": "text/plain"})
                    return
                self._handle(b"")

            def do_POST(self) -> None:  # noqa: N802
                if self.headers.get("transfer-encoding", "").lower() == "chunked":
                    body = self._chunked()
                else:
                    length = int(self.headers.get("content-length") or 0)
                    body = self.rfile.read(length) if length else b""
                try:
                    body = _decompress(body, self.headers.get("content-encoding"))
                except Exception as exc:  # noqa: BLE001
                    self._send(
                        400, f"Code: 432. DB::Exception: {exc}\n".encode(), {"X-ClickHouse-Exception-Code": "432"}
                    )
                    return
                self._handle(body)

            def _chunked(self) -> bytes:
                parts = []
                while True:
                    size = int(self.rfile.readline().split(b";")[0].strip(), 16)
                    if size == 0:
                        while self.rfile.readline() not in (b"\r\n", b"\n", b""):
                            pass
                        return b"".join(parts)
                    parts.append(self.rfile.read(size))
                    self.rfile.readline()

            def _handle(self, body: bytes) -> None:
                params = {k: v[-1] for k, v in parse_qs(urlsplit(self.path).query, keep_blank_values=True).items()}
                ctype = self.headers.get("content-type", "")
                if ctype.startswith("multipart/form-data"):
                    params.update(_form_fields(ctype, body))
                    body = b""
                try:
                    started = time.perf_counter()
                    out, fmt = fixture.execute(params, body)
                    if TRACE:
                        print(
                            f"{(time.perf_counter() - started) * 1000:7.1f} ms {len(body):8d} B "
                            f"{(params.get('query') or body[:120].decode(errors='replace'))[:120]!r}",
                            file=sys.stderr,
                        )
                except Exception as exc:  # noqa: BLE001 - answered as ClickHouse does
                    msg = str(exc)
                    m = _CODE.search(msg)
                    code = m.group(1) if m else "1001"
                    text = msg if msg.startswith("Code:") else f"Code: {code}. DB::Exception: {msg}"
                    self._send(
                        500, (text + "\n").encode(), {"X-ClickHouse-Exception-Code": code, "Content-Type": "text/plain"}
                    )
                    return
                headers = {
                    "X-ClickHouse-Query-Id": params.get("query_id") or str(uuid.uuid4()),
                    "X-ClickHouse-Timezone": "UTC",
                    "X-ClickHouse-Summary": json.dumps({"read_rows": "0"}),
                    "Content-Type": "application/octet-stream",
                }
                if fmt:
                    headers["X-ClickHouse-Format"] = fmt
                self._send(200, out, headers)

            def _send(self, status: int, data: bytes, headers: dict[str, str]) -> None:
                self.send_response(status)
                for k, v in headers.items():
                    self.send_header(k, v)
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

        self.server = ThreadingHTTPServer(("127.0.0.1", port), Handler)
        self.server.daemon_threads = True
        self.port = self.server.server_address[1]
        self._thread: threading.Thread | None = None

    @property
    def dsn_host(self) -> str:
        return f"127.0.0.1:{self.port}"

    def execute(self, params: dict[str, str], body: bytes) -> tuple[bytes, str | None]:
        """Run one request's statement; return the result bytes and their format."""
        query = params.get("query")
        data = b""
        if query is None:  # the statement leads the body; an insert's data follows its first line
            head, _, rest = body.partition(b"\n")
            if head.lstrip()[:6].upper() == b"INSERT" and _INSERT.match(head.decode()):
                query, data = head.decode(), rest
            else:
                query = body.decode()
        elif body:
            if _INSERT.match(query):
                data = body
            else:
                query = query + "\n" + body.decode()
        binds = {k[len("param_") :]: v for k, v in params.items() if k.startswith("param_")}
        settings = {k: v for k, v in params.items() if k not in _TRANSPORT and not k.startswith("param_")}
        db = params.get("database")
        with self.lock:
            next(self.requests)
            if db:
                self.session.query(f"USE {db}")
            ins = _INSERT.match(query)
            if ins is not None:
                return self._insert(ins.group(1), ins.group(2), data, settings), None
            m = _FORMAT.search(query)
            fmt = m.group(1) if m else params.get("default_format") or "TabSeparated"
            sql = query[: m.start()] if m else query
            if settings:
                sql += " SETTINGS " + ", ".join(f"{k} = {_literal(v)}" for k, v in settings.items())
            res = self.session.query(sql, fmt, params=binds or None)
            return res.bytes() or b"", fmt

    def _insert(self, target: str, fmt: str, data: bytes, settings: dict[str, str]) -> bytes:
        if not data:
            return b""
        spool = self.spool / f"{uuid.uuid4().hex}.{fmt.lower()}"
        spool.write_bytes(data)
        try:
            self.session.query(f"INSERT INTO {target} SELECT * FROM file('{spool}', {fmt})")
        finally:
            spool.unlink(missing_ok=True)
        return b""

    # -- running --------------------------------------------------------------------------

    def start(self) -> ChHttp:
        self._thread = threading.Thread(target=self.server.serve_forever, name="chhttp", daemon=True)
        self._thread.start()
        return self

    def stop(self) -> None:
        self.server.shutdown()
        self.server.server_close()
        with self.lock:
            self.session.close()
        for f in self.spool.iterdir():
            f.unlink()
        self.spool.rmdir()


_SETTING_VALUE = re.compile(r"^-?\d+(\.\d+)?$")


def _literal(v: str) -> str:
    return v if _SETTING_VALUE.match(v) else "'" + v.replace("\\", "\\\\").replace("'", "\\'") + "'"


def _form_fields(ctype: str, body: bytes) -> dict[str, str]:
    """The text fields of a multipart/form-data body (query parameters sent as a form)."""
    from email.parser import BytesParser
    from email.policy import HTTP

    msg = BytesParser(policy=HTTP).parsebytes(b"Content-Type: " + ctype.encode() + b"\r\n\r\n" + body)
    out = {}
    for part in msg.iter_parts():
        name = part.get_param("name", header="content-disposition")
        if name:
            out[str(name)] = part.get_payload(decode=True).decode()
    return out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--path", required=True)
    ap.add_argument("--port", type=int, default=0)
    args = ap.parse_args()
    fx = ChHttp(args.path, args.port)
    print(f"ready {fx.port}", flush=True)
    try:
        fx.server.serve_forever()
    except KeyboardInterrupt:
        pass


if __name__ == "__main__":
    main()
