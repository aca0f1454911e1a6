"""Request bodies: read with a size limit, and JSON decoded with every failure a clear 4xx.

Input: a Starlette request. Output: its body as bytes (``read_body``) or as one decoded
JSON object (``json_object``), or the ``InvalidInput`` that fits: 413413 past the size
limit, 400101 for bytes that are not JSON (bad syntax, invalid UTF-8, a lone surrogate,
nesting deeper than msgspec's recursion guard allows, about 1,000 levels: it raises
``RecursionError``, which would otherwise be a 500), 400102 when the top level is not an
object. It does not validate fields (each route's schema does), nor decode the tracker's
events (``collect.wire`` does, for speed, with the same mapping of failures).
"""

from __future__ import annotations

from typing import Any, Final

import msgspec
from starlette.requests import Request

from watchdepth.errors import BadJSON, InvalidParam, TooLarge, WrongType

#: The largest JSON body a catalog or export route reads; theirs are a few hundred bytes.
MAX_JSON_BODY: Final = 64 * 1024


async def read_body(request: Request, limit: int) -> bytes:
    """The body, refusing (413) as soon as it passes ``limit`` bytes."""
    declared = request.headers.get("content-length")
    if declared is not None and declared.isdigit() and int(declared) > limit:
        raise TooLarge(f"body too large: at most {limit} bytes")
    chunks, size = [], 0
    async for chunk in request.stream():
        size += len(chunk)
        if size > limit:
            raise TooLarge(f"body too large: at most {limit} bytes")
        chunks.append(chunk)
    return b"".join(chunks)


def decode_json(body: bytes) -> Any:
    """Any JSON value; 400101 when ``body`` is not JSON or nests too deep."""
    try:
        return msgspec.json.decode(body)
    except msgspec.DecodeError as exc:
        raise BadJSON("body is not valid JSON", detail=str(exc)) from None
    except RecursionError:
        raise BadJSON("body is not valid JSON", detail="nested too deep") from None


async def json_object(request: Request, limit: int = MAX_JSON_BODY) -> dict[str, Any]:
    """The body as a JSON object (413413, 400101, or 400102 when it is another JSON value)."""
    value = decode_json(await read_body(request, limit))
    if not isinstance(value, dict):
        problem = InvalidParam("body", "wrong_type", "expected a JSON object")
        raise WrongType("body must be a JSON object", invalid_params=[problem])
    return value
