"""Tokens as an operator sees them: ``watchdepth token create|list|revoke`` with and without a
running server, and what revocation ends (the API, the dashboard's cookie, a live stream)."""

from __future__ import annotations

import threading
from pathlib import Path

import httpx

from tests.conftest import Server, cli


def _ids(out: str) -> dict[str, str]:
    """name -> id from ``token list``'s table."""
    rows = [line.split() for line in out.strip().splitlines()[1:]]
    return {row[1]: row[0] for row in rows}


def test_token_create_refuses_an_unknown_project_with_exit_2(tmp_path: Path) -> None:
    r = cli("token", "create", "--project", "nonexistent", data=tmp_path, check=False)
    assert r.returncode == 2 and "no project with id 'nonexistent'" in r.stderr and "Traceback" not in r.stderr
    assert "nonexistent" not in cli("token", "list", data=tmp_path).stdout  # nothing was created


def test_list_and_revoke_on_the_data_dir_when_no_server_runs(tmp_path: Path) -> None:
    secret = cli("token", "create", "--name", "ci", "--read-only", data=tmp_path).stdout.strip().splitlines()[-1]
    out = cli("token", "list", data=tmp_path).stdout
    assert out.splitlines()[0].split() == ["ID", "NAME", "PROJECTS", "READ-ONLY", "CREATED"]
    assert "ci" in out and "(all)" in out and "yes" in out and secret not in out
    token_id = _ids(out)["ci"]
    assert "revoked" in cli("token", "revoke", token_id, data=tmp_path).stdout
    assert "ci" not in _ids(cli("token", "list", data=tmp_path).stdout)
    again = cli("token", "revoke", token_id, data=tmp_path, check=False)
    assert again.returncode == 2 and "no token with id" in again.stderr


def test_revoking_through_the_running_server_ends_api_dashboard_and_stream(server: Server) -> None:
    server.ok("POST", "/v1/projects", json={"id": "p1", "name": "One"})
    r = cli("token", "create", "--project", "nope", data=server.data, check=False)  # through the admin socket
    assert r.returncode == 2 and "no project with id 'nope'" in r.stderr
    secret = cli("token", "create", "--name", "viewer", "--project", "p1", data=server.data).stdout.splitlines()[-1]
    listed = cli("token", "list", data=server.data).stdout
    assert "viewer" in listed and "p1" in listed and secret not in listed
    bearer = {"authorization": f"Bearer {secret}"}
    assert httpx.get(server.url + "/v1/projects", headers=bearer).status_code == 200
    cookie = {"wd_token": secret}
    assert 'id="token"' not in httpx.get(server.url + "/", cookies=cookie).text  # signed in: the app shell

    opened, ended = threading.Event(), threading.Event()

    def watch() -> None:
        with httpx.stream("GET", server.url + "/v1/analytics/realtime/stream", headers=bearer, timeout=30) as s:
            assert s.status_code == 200
            for line in s.iter_lines():
                if line.startswith("data:"):
                    opened.set()
        ended.set()

    threading.Thread(target=watch, daemon=True).start()
    assert opened.wait(10) and not ended.is_set()

    cli("token", "revoke", _ids(listed)["viewer"], data=server.data)
    r = httpx.get(server.url + "/v1/projects", headers=bearer)
    assert (r.status_code, r.json()["error"]["code"]) == (401, 100102)
    r = httpx.get(server.url + "/v1/projects", cookies=cookie)  # the dashboard's calls
    assert (r.status_code, r.json()["error"]["code"]) == (401, 100102)
    page = httpx.get(server.url + "/", cookies=cookie)
    assert 'id="token"' in page.text  # the sign-in page, and the cookie is cleared
    assert 'wd_token=""' in page.headers["set-cookie"] and "Max-Age=0" in page.headers["set-cookie"]
    assert ended.wait(10), "the live stream went on after its token was revoked"
