"""The client side of a running server's admin socket (``api.admin`` is the server side).

Input: ``Settings`` (the data dir's ``admin.sock``) and the server's answers. Output: an
``httpx.Client`` on the socket, or None when no server holds the data dir (the caller
then opens the data dir itself); ``raise_for`` turns a refusal into the ``InvalidInput``
it names. It sends no command by itself: ``cli`` and ``export.command`` do.
"""

from __future__ import annotations

import httpx
import msgspec

from watchdepth.config import Settings
from watchdepth.errors import InvalidInput, InvalidParam, WatchdepthError


def connect(settings: Settings) -> httpx.Client | None:
    """A client on a running server's admin socket, or None when no server holds the data dir."""
    sock = settings.admin_socket
    if not sock.exists():
        return None
    client = httpx.Client(transport=httpx.HTTPTransport(uds=str(sock)), base_url="http://watchdepth", timeout=60)
    try:
        client.get("/admin/ping", timeout=2).raise_for_status()
    except httpx.HTTPError:
        client.close()
        return None
    return client


def raise_for(r: httpx.Response) -> None:
    """Nothing for a success; the server's error (with its invalid params) as ``InvalidInput`` otherwise."""
    if r.status_code < 400:
        return
    try:
        err = msgspec.json.decode(r.content)["error"]
    except (msgspec.DecodeError, KeyError, TypeError):
        raise WatchdepthError(f"the server answered {r.status_code}") from None
    exc = InvalidInput(err.get("message", "refused"))
    exc.invalid_params = [
        InvalidParam(p["name"], p["reason"], p["message"], p.get("index")) for p in err.get("invalid_params", [])
    ]
    raise exc
