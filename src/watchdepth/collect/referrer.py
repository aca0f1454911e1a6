"""Page dimensions (docs/metrics.md §6): a page URL → ``(domain, page)``.

Input: the event's ``url`` or the HTTP ``Referer``. Output: ``domain`` = the host in
lower case without port, trailing dot or one leading ``www.``; ``page`` = domain + path,
the path kept exactly as sent (case, percent-escapes, trailing slash) with an empty path
read as ``/``, query and fragment dropped. Only ``http``/``https`` URLs with a plausible
host count; anything else gives ``(None, None)`` and never raises. It does not resolve
hosts, decode IDNs or group sites.
"""

from __future__ import annotations

import functools
import re
from typing import Final
from urllib.parse import urlsplit

MAX_URL_CHARS: Final = 2048
_SCHEMES: Final = frozenset({"http", "https"})
_BAD_HOST: Final = re.compile(r"[\x00-\x20\x7f/\\@<>\"'`{}|^%]")


@functools.lru_cache(maxsize=4096)  # pure; the same pages recur request after request
def page_dims(url: str | None) -> tuple[str | None, str | None]:
    """``(domain, page)`` of a page URL, or ``(None, None)`` for a missing or garbage URL."""
    if not url or len(url) > MAX_URL_CHARS:
        return None, None
    try:
        parts = urlsplit(url.strip())
        host = parts.hostname
    except ValueError:  # e.g. an unbalanced "[" in the host
        return None, None
    if parts.scheme.lower() not in _SCHEMES or not host:
        return None, None
    domain = host.removeprefix("www.").rstrip(".")
    if not domain or len(domain) > 253 or _BAD_HOST.search(domain):
        return None, None
    return domain, domain + (parts.path or "/")
