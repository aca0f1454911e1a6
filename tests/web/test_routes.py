"""The dashboard's HTTP side without a browser: sign-in, cookie, shell, static files."""

from __future__ import annotations

import asyncio
import re
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import httpx
import pytest
from starlette.applications import Starlette

from watchdepth.web import routes as web

TOKEN = "right-token"
STATIC = Path(web.__file__).parent / "static"


class Client:
    """A synchronous face on httpx's ASGI transport (no server, no redirects followed)."""

    def __init__(self, base_url: str = "http://testserver") -> None:
        self.app = Starlette(routes=web.routes(lambda token: token == TOKEN))
        self.base_url = base_url
        self.cookies: dict[str, str] = {}

    def request(self, method: str, path: str, **kwargs: Any) -> httpx.Response:
        async def go() -> httpx.Response:
            transport = httpx.ASGITransport(app=self.app)
            async with httpx.AsyncClient(transport=transport, base_url=self.base_url, cookies=self.cookies) as c:
                return await c.request(method, path, **kwargs)

        # In a worker thread: the browser tests' Playwright keeps an event loop in this one.
        with ThreadPoolExecutor(max_workers=1) as pool:
            return pool.submit(asyncio.run, go()).result()

    def get(self, path: str) -> httpx.Response:
        return self.request("GET", path)

    def post(self, path: str, data: dict[str, str] | None = None) -> httpx.Response:
        return self.request("POST", path, data=data)


@pytest.fixture
def client() -> Client:
    return Client()


def test_root_without_cookie_is_the_sign_in_page(client: Client) -> None:
    r = client.get("/")
    assert r.status_code == 200
    assert '<label for="token">API token</label>' in r.text
    assert 'action="/login"' in r.text
    assert r.headers["cache-control"] == "no-store"
    assert "script-src 'self'" in r.headers["content-security-policy"]


def test_wrong_token_is_401_with_a_message(client: Client) -> None:
    r = client.post("/login", data={"token": "nope"})
    assert r.status_code == 401
    assert 'role="alert"' in r.text and "not valid" in r.text
    assert 'aria-invalid="true"' in r.text
    assert "set-cookie" not in r.headers


def test_login_sets_an_httponly_strict_cookie_and_redirects(client: Client) -> None:
    r = client.post("/login", data={"token": f"  {TOKEN} "})
    assert r.status_code == 303
    assert r.headers["location"] == "/"
    cookie = r.headers["set-cookie"]
    assert cookie.startswith(f"wd_token={TOKEN};")
    assert "HttpOnly" in cookie
    assert "SameSite=strict" in cookie or "SameSite=Strict" in cookie
    assert "Path=/" in cookie
    assert "Secure" not in cookie  # plain http here; https adds it


def test_login_over_https_sets_a_secure_cookie() -> None:
    https = Client(base_url="https://dash.example")
    assert "Secure" in https.post("/login", data={"token": TOKEN}).headers["set-cookie"]


def test_signed_in_root_is_the_app_shell(client: Client) -> None:
    client.cookies["wd_token"] = TOKEN
    r = client.get("/")
    assert r.status_code == 200
    assert 'id="main"' in r.text and 'type="module"' in r.text
    assert "IP Geolocation by DB-IP" in r.text and 'href="https://db-ip.com"' in r.text


def test_a_revoked_token_cookie_gets_the_sign_in_page(client: Client) -> None:
    client.cookies["wd_token"] = "revoked"
    assert "API token" in client.get("/").text


def test_logout_clears_the_cookie(client: Client) -> None:
    r = client.post("/logout")
    assert r.status_code == 303
    cookie = r.headers["set-cookie"]
    assert cookie.startswith("wd_token=") and ("Max-Age=0" in cookie or "expires=" in cookie.lower())


def test_every_shell_asset_is_local_and_served_with_long_cache(client: Client) -> None:
    client.cookies["wd_token"] = TOKEN
    shell = client.get("/").text
    refs = re.findall(r'(?:src|href)="([^"#]+)"', shell)
    assert refs, "the shell references its assets"
    for ref in refs:
        if ref.startswith("https://db-ip.com"):
            continue
        assert ref.startswith("/static/"), f"{ref} is not served by the dashboard (offline use)"
        r = client.get(ref)
        assert r.status_code == 200, ref
        assert "immutable" in r.headers["cache-control"]
    assert client.get(next(r for r in refs if r.endswith(".js"))).headers["content-type"].startswith("text/javascript")


def test_unversioned_static_paths_work_with_a_short_cache(client: Client) -> None:
    r = client.get("/static/vendor/uPlot.iife.min.js")
    assert r.status_code == 200
    assert r.headers["cache-control"] == "public, max-age=300"


@pytest.mark.parametrize("path", ["/static/..%2froutes.py", "/static/%2e%2e/routes.py", "/static/nope.js"])
def test_static_does_not_leave_its_folder(client: Client, path: str) -> None:
    assert client.get(path).status_code == 404


def test_vendored_files_and_licences_are_in_the_package() -> None:
    vendor = STATIC / "vendor"
    for name in ["uPlot.iife.min.js", "uPlot.min.css", "uPlot.LICENSE", "countries-110m.json", "world-atlas.LICENSE"]:
        assert (vendor / name).stat().st_size > 0, name


def test_modules_import_nothing_from_the_network() -> None:
    for path in (STATIC / "js").rglob("*.js"):
        for spec in re.findall(r'^import .* from "([^"]+)";', path.read_text(), flags=re.M):
            assert spec.startswith("./") or spec.startswith("../"), f"{path.name} imports {spec}"
