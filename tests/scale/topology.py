"""Helpers of the scale-out tests: nodes, the example nginx config on loopback, a retrying sender.

Input: a ``ChHttp`` fixture's port (the shared "ClickHouse"), ports, temp dirs.
Output: ``Node`` (one ``watchdepth serve --role ...`` process), ``Nginx`` (Debian's
``/usr/sbin/nginx`` as the current user with a temp prefix, running the shipped
``deploy/nginx/watchdepth.conf`` with loopback addresses swapped in), ``Topology``
(nginx, an API node and N collectors), and ``send`` (POSTs a batch the way the
tracker does: ``/collect?s=<session>``, retried on 5xx and connection errors).
It asserts nothing about metrics; the tests do.
"""

from __future__ import annotations

import grp
import os
import pwd
import re
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import httpx
import msgspec

from tests.conftest import DESKTOP_UA, free_port

NGINX = "/usr/sbin/nginx"
CONF = Path(__file__).resolve().parents[2] / "deploy" / "nginx" / "watchdepth.conf"


def wait_http(
    url: str, proc: subprocess.Popen[bytes] | None = None, log: Path | None = None, timeout: float = 60
) -> None:
    deadline = time.time() + timeout
    while time.time() < deadline:
        if proc is not None and proc.poll() is not None:
            raise AssertionError(f"{url}: process exited: {log.read_text()[-3000:] if log else ''}")
        try:
            if httpx.get(url, timeout=1, trust_env=False).status_code == 200:
                return
        except httpx.HTTPError:
            pass
        time.sleep(0.1)
    raise AssertionError(f"{url} did not come up")


class Node:
    """One ``watchdepth serve`` process with its own data dir (admin socket) and a role."""

    def __init__(
        self, data: Path, role: str, store: str, *, collectors: list[str] | None = None, port: int | None = None
    ) -> None:
        self.data = data
        data.mkdir(parents=True, exist_ok=True)
        self.role = role
        self.store = store
        self.port = port or free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.collectors = collectors or []
        self.proc: subprocess.Popen[bytes] | None = None
        self.log = data / "server.log"

    def start(self) -> Node:
        cmd = [
            sys.executable,
            "-m",
            "watchdepth.cli",
            "serve",
            "--data",
            str(self.data),
            "--port",
            str(self.port),
            "--role",
            self.role,
            "--store",
            self.store,
            "--trusted-proxies",
            "127.0.0.1",
        ]
        if self.collectors:
            cmd += ["--collectors", ",".join(self.collectors)]
        with open(self.log, "ab") as log:
            self.proc = subprocess.Popen(cmd, stdout=log, stderr=log)
        wait_http(self.url + "/healthz", self.proc, self.log)
        return self

    def stop(self, sig: int = signal.SIGTERM) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.send_signal(sig)
            self.proc.wait(timeout=30)
        self.proc = None

    def metric(self, name: str) -> float:
        text = httpx.get(self.url + "/metrics", trust_env=False).text
        m = re.search(rf"^{re.escape(name)} (\S+)$", text, re.M)
        assert m, f"{name} not in /metrics"
        return float(m.group(1))


class Nginx:
    """Debian's nginx with the shipped config, our loopback upstreams and port."""

    def __init__(self, prefix: Path, collectors: list[int], api: list[int]) -> None:
        self.prefix = prefix
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        for d in ("tmp", "logs"):
            (prefix / d).mkdir(parents=True, exist_ok=True)
        (prefix / "watchdepth.conf").write_text(render(CONF.read_text(), collectors, api, self.port))
        user = pwd.getpwuid(os.geteuid()).pw_name
        group = grp.getgrgid(os.getegid()).gr_name
        temp = "".join(
            f"{k}_temp_path {prefix}/tmp/{k};\n" for k in ("client_body", "proxy", "fastcgi", "uwsgi", "scgi")
        )
        (prefix / "nginx.conf").write_text(
            (f"user {user} {group};\n" if os.geteuid() == 0 else "")
            + f"daemon off;\nworker_processes 1;\npid {prefix}/nginx.pid;\nerror_log {prefix}/logs/error.log warn;\n"
            "events { worker_connections 1024; }\n"
            f"http {{\naccess_log off;\n{temp}include {prefix}/watchdepth.conf;\n}}\n"
        )
        self.proc: subprocess.Popen[bytes] | None = None

    def start(self) -> Nginx:
        conf = str(self.prefix / "nginx.conf")
        check = subprocess.run([NGINX, "-t", "-p", str(self.prefix), "-c", conf], capture_output=True, text=True)
        assert check.returncode == 0, check.stderr
        self.proc = subprocess.Popen(
            [NGINX, "-p", str(self.prefix), "-c", conf], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
        )
        deadline = time.time() + 20
        while True:  # listening (the upstreams may not be up yet)
            try:
                socket.create_connection(("127.0.0.1", self.port), timeout=1).close()
                return self
            except OSError:
                if self.proc.poll() is not None or time.time() > deadline:
                    raise AssertionError(
                        f"nginx did not start: {(self.prefix / 'logs/error.log').read_text()}"
                    ) from None
                time.sleep(0.05)

    def stop(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGQUIT)
            try:
                self.proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        self.proc = None


def render(conf: str, collectors: list[int], api: list[int], listen: int) -> str:
    """The shipped config with loopback servers in each upstream and our listen port."""

    def upstream(name: str, ports: list[int]) -> None:
        nonlocal conf
        m = re.search(rf"upstream {name} \{{\n(.*?)\n\}}", conf, re.S)
        assert m, name
        out, done = [], False
        for ln in m.group(1).split("\n"):
            srv = re.match(r"(\s*)server \S+?((?: [^;]*)?);", ln)
            if srv is None:
                out.append(ln)
            elif not done:  # the first server line's options, for each of ours
                out += [f"{srv.group(1)}server 127.0.0.1:{p}{srv.group(2)};" for p in ports]
                done = True
        conf = conf[: m.start(1)] + "\n".join(out) + conf[m.end(1) :]

    upstream("watchdepth_collectors", collectors)
    upstream("watchdepth_api", api)
    assert conf.count("    listen 80;") == 1
    return conf.replace("    listen 80;", f"    listen 127.0.0.1:{listen};")


class Topology:
    """nginx -> N collectors + 1 API node, all on one shared ClickHouse (the chhttp fixture)."""

    def __init__(self, root: Path, store: str, n_collectors: int = 2) -> None:
        self.store = store
        ports = [free_port() for _ in range(n_collectors)]
        self.collectors = [Node(root / f"collector{i}", "collector", store, port=p) for i, p in enumerate(ports)]
        self.api = Node(root / "api", "api", store, collectors=[c.url for c in self.collectors])
        self.nginx = Nginx(root / "nginx", ports, [self.api.port])
        self.url = self.nginx.url
        self.token = ""
        self.client = httpx.Client(base_url=self.url, timeout=30, trust_env=False)

    def start_api(self) -> None:
        self.api.start()
        self.nginx.start()
        # The token goes straight into the shared store (the CLI's admin call times out at
        # 5 s on a loaded machine); the API node picks it up on its next refresh (2 s).
        from watchdepth.catalog.tokens import Tokens
        from watchdepth.store.clickhouse import ClickHouseStore

        store = ClickHouseStore.from_dsn(self.store)
        try:
            self.token, _ = Tokens(store).create("tests")
        finally:
            store.close()
        self.client.headers["Authorization"] = f"Bearer {self.token}"
        deadline = time.time() + 30
        while self.client.get("/v1/projects").status_code == 401:
            assert time.time() < deadline, "the API node did not pick the token up"
            time.sleep(0.2)

    def start_collectors(self) -> None:
        for c in self.collectors:
            c.start()

    def stop(self) -> None:
        self.nginx.stop()
        for n in [*self.collectors, self.api]:
            n.stop()
        self.client.close()

    def ok(self, method: str, path: str, **kw: Any) -> Any:
        r = self.client.request(method, path, **kw)
        assert r.status_code < 300, (r.status_code, r.text)
        return r.json() if r.content else None


def send(
    base_url: str,
    events: list[dict[str, Any]],
    *,
    ip: str = "81.2.69.142",
    timeout: float = 60,
    client: httpx.Client | None = None,
) -> dict[str, int]:
    """POST one session's batch as the tracker does, retrying 5xx and refused connections until 202."""
    sid = events[0]["session_id"]
    assert all(e["session_id"] == sid for e in events)
    body = msgspec.json.encode(events)
    headers = {"content-type": "text/plain", "user-agent": DESKTOP_UA, "x-forwarded-for": ip}
    deadline = time.time() + timeout
    delay = 0.05
    c = client or httpx.Client(trust_env=False, timeout=10)
    try:
        while True:
            try:
                r = c.post(f"{base_url}/collect", params={"s": sid}, content=body, headers=headers)
                if r.status_code == 202:
                    return r.json()  # type: ignore[no-any-return]
                assert r.status_code >= 500, (r.status_code, r.text)
            except httpx.TransportError:
                pass
            if time.time() > deadline:
                raise AssertionError(f"session {sid}: not accepted within {timeout} s")
            time.sleep(delay)
            delay = min(delay * 2, 0.5)
    finally:
        if client is None:
            c.close()
