"""uvicorn's internals are used on the tested version only; any other gets the ordinary paths."""

from __future__ import annotations

import re
import tomllib
from pathlib import Path

import msgspec
import pytest

from tests.api.inproc import read_response, request, running
from tests.conftest import DESKTOP_UA
from watchdepth.api import collect_fast, connections

ROOT = Path(__file__).parents[2]


@pytest.mark.parametrize(
    ("version", "usable"),
    [("0.55.0", True), ("0.55.12", True), ("0.56.0", False), ("0.54.3", False), ("1.0.0", False), ("0.55.0rc1", True)],
)
def test_internals_only_on_the_tested_versions(version: str, usable: bool) -> None:
    assert connections.internals_usable(version) is usable


def test_pyproject_pins_uvicorn_below_the_first_untested_version() -> None:
    deps = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["dependencies"]
    spec = next(d for d in deps if d.startswith("uvicorn"))
    upper = re.search(r"<\s*(\d+)\.(\d+)", spec)
    assert upper is not None, spec
    assert (int(upper[1]), int(upper[2]) - 1) == max(connections.UVICORN_TESTED)


def test_on_another_uvicorn_the_fast_path_answers_the_ordinary_way(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """As on an untested uvicorn: no write through its request cycle, the same 202s, keep-alive."""
    monkeypatch.setattr(collect_fast, "WHOLE_WRITES", False)
    whole: list[int] = []
    monkeypatch.setattr(collect_fast, "_write_whole", lambda *a: whole.append(1))
    with running(tmp_path) as srv, srv.connect() as sock:
        for i in range(3):
            events = [{"type": "load", "video_id": "v1", "session_id": f"s{i}", "load_id": f"l{i}", "seq": 0}]
            sock.sendall(
                request(
                    "POST",
                    "/collect",
                    body=msgspec.json.encode(events),
                    headers={"user-agent": DESKTOP_UA, "x-request-id": f"r{i}"},
                )
            )
            status, headers, body = read_response(sock)
            assert (status, headers["x-request-id"]) == (202, f"r{i}")
            assert msgspec.json.decode(body) == {"accepted": 1, "duplicates": 0}
    assert whole == []


def test_on_the_tested_uvicorn_the_fast_path_writes_once(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """The control of the test above: the same requests do go through ``_write_whole`` here."""
    assert collect_fast.WHOLE_WRITES
    whole: list[int] = []
    real = collect_fast._write_whole
    monkeypatch.setattr(collect_fast, "_write_whole", lambda *a: (whole.append(1), real(*a)))
    with running(tmp_path) as srv, srv.connect() as sock:
        events = [{"type": "load", "video_id": "v1", "session_id": "s", "load_id": "l", "seq": 0}]
        sock.sendall(request("POST", "/collect", body=msgspec.json.encode(events), headers={"user-agent": DESKTOP_UA}))
        assert read_response(sock)[0] == 202
    assert whole == [1]
