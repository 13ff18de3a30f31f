"""API-key authentication (contract §3): `Authorization: Bearer <api key>`, the key looked up in API_KEYS."""

from __future__ import annotations

import hashlib
import hmac

import flask

# The function's own modules beside this file (functions-framework puts its directory on sys.path).
# isort: split
from http_errors import Unauthorized


class ApiKeys:
    """The configured keys, compared by their SHA-256 digests, all of them every time, in constant time: neither
    the timing nor the length of a guess tells anything about a real key. No keys: every call is 401."""

    def __init__(self, keys: dict[str, str]) -> None:
        self._digests = [(hashlib.sha256(key.encode()).digest(), user_id) for key, user_id in keys.items()]

    def authenticate(self, request: flask.Request) -> str:
        """The user of the request's API key, or Unauthorized (no key, malformed header, unknown key)."""
        header = request.headers.get("Authorization")
        if header is None:
            raise Unauthorized()
        scheme, _, token = header.strip().partition(" ")
        token = token.strip()
        if scheme.lower() != "bearer" or not token:
            raise Unauthorized("the Authorization header must be: Bearer <api key>")
        # Headers arrive as latin-1 text; encoding back gives the client's exact bytes.
        digest = hashlib.sha256(token.encode("latin-1")).digest()
        user_id = None
        for key_digest, key_user in self._digests:
            if hmac.compare_digest(digest, key_digest):
                user_id = key_user
        if user_id is None:
            raise Unauthorized("unknown API key")
        return user_id
