"""Reading a JSON request body strictly, in the order of contract §3: size (413, chunked bodies too), media type
(415), then strict UTF-8 JSON (400: no BOM, no NaN/Infinity, no duplicate keys, no lone surrogates, depth <= 32)."""

from __future__ import annotations

import codecs
import json
from typing import Any

from flask import Request
from werkzeug.http import parse_options_header

# The function's own modules beside this file (functions-framework puts its directory on sys.path).
# isort: split
from http_errors import MalformedJson, PayloadTooLarge, UnsupportedMediaType

MAX_BODY_BYTES = 100 * 1024
MAX_DEPTH = 32
_READ_CHUNK = 16 * 1024


def read_limited(request: Request, limit: int = MAX_BODY_BYTES) -> bytes:
    """The body, or PayloadTooLarge as soon as it is known to exceed the limit. A declared Content-Length is
    trusted for the early refusal; a chunked body (no Content-Length) is read at most limit+1 bytes."""
    declared = request.content_length
    if declared is not None and declared > limit:
        raise PayloadTooLarge()
    # request.stream is bounded by Content-Length when there is one; for a chunked body the server (gunicorn,
    # werkzeug) marks the stream terminated, so reading it ends at the last chunk.
    stream = request.stream
    parts: list[bytes] = []
    size = 0
    while size <= limit:
        chunk = stream.read(min(_READ_CHUNK, limit + 1 - size))
        if not chunk:
            break
        parts.append(chunk)
        size += len(chunk)
    if size > limit:
        raise PayloadTooLarge()
    return b"".join(parts)


def require_json_media_type(request: Request) -> None:
    """`application/json`, case-insensitive, with at most the parameter charset=utf-8."""
    mimetype, options = parse_options_header(request.headers.get("Content-Type", ""))
    params = {name.lower(): value for name, value in options.items()}
    charset = params.pop("charset", "utf-8")
    if mimetype.lower() != "application/json" or charset.lower() != "utf-8" or params:
        raise UnsupportedMediaType()


class _Rejected(ValueError):
    """A JSON construct that the standard library would accept but the contract does not."""


def _no_duplicate_keys(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    result: dict[str, Any] = {}
    for key, value in pairs:
        if key in result:
            raise _Rejected(f"duplicate key {key[:50]!r}")
        result[key] = value
    return result


def _no_constants(name: str) -> Any:
    raise _Rejected(f"{name} is not JSON")


def parse_strict(body: bytes) -> Any:
    """The parsed document, or MalformedJson saying why."""
    if body.startswith(codecs.BOM_UTF8):
        raise MalformedJson("the body starts with a byte order mark")
    try:
        text = body.decode("utf-8")  # strict: invalid sequences and encoded surrogates are errors
    except UnicodeDecodeError as e:
        raise MalformedJson(f"the body is not valid UTF-8 (byte {e.start})") from None
    try:
        document = json.loads(text, object_pairs_hook=_no_duplicate_keys, parse_constant=_no_constants)
    except _Rejected as e:
        raise MalformedJson(f"the body is not strict JSON: {e}") from None
    except json.JSONDecodeError as e:
        raise MalformedJson(f"the body is not JSON: {e.msg} at line {e.lineno} column {e.colno}") from None
    except (ValueError, RecursionError):
        # ValueError: an integer beyond Python's digit limit; RecursionError: nesting far beyond MAX_DEPTH.
        raise MalformedJson("the body is not JSON this API can read") from None
    _check_depth_and_text(document)
    return document


def _check_depth_and_text(document: Any) -> None:
    """Nesting at most MAX_DEPTH, and every string (keys too) encodable as UTF-8: JSON's \\ud800 escapes can
    smuggle lone surrogates past the decoder, and Firestore would refuse them later."""
    stack: list[tuple[Any, int]] = [(document, 0)]
    while stack:
        value, depth = stack.pop()
        if isinstance(value, dict | list):
            depth += 1
            if depth > MAX_DEPTH:
                raise MalformedJson(f"the body nests deeper than {MAX_DEPTH} levels")
            items = value.items() if isinstance(value, dict) else enumerate(value)
            for key, item in items:
                if isinstance(key, str):
                    _check_text(key)
                stack.append((item, depth))
        elif isinstance(value, str):
            _check_text(value)


def _check_text(text: str) -> None:
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        raise MalformedJson("the body contains a lone surrogate escape (not UTF-8 text)") from None
