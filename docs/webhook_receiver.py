"""A LeadEngine webhook receiver in the standard library only: it verifies each delivery's signature and prints the
job it announces. The example of docs/webhooks.md; tests/webhooks/test_receiver_example.py runs it.

    WEBHOOK_SECRET=<GET /api/v1/webhook-secret> python3 docs/webhook_receiver.py [PORT]
"""

from __future__ import annotations

import hashlib
import hmac
import http.server
import json
import os
import sys
import time

TOLERANCE_S = 300  # refuse a delivery signed longer ago than this: a replayed old request


def verify(secret: str, signature_header: str, body: bytes, now: float | None = None) -> bool:
    """True when `LeadEngine-Signature` (t=<unix>,v1=<hex>) signs this exact raw body with the secret, recently."""
    try:
        fields = dict(part.split("=", 1) for part in signature_header.split(","))
        t = int(fields["t"])
    except (KeyError, ValueError):
        return False
    expected = hmac.new(secret.encode(), f"{t}.".encode() + body, hashlib.sha256).hexdigest()
    if not hmac.compare_digest(expected, fields.get("v1", "")):  # constant time: no timing hints to a forger
        return False
    return abs((time.time() if now is None else now) - t) <= TOLERANCE_S


class Receiver(http.server.BaseHTTPRequestHandler):
    secret = os.environ.get("WEBHOOK_SECRET", "")
    seen: set[str] = set()  # delivery ids already handled: deliveries come at least once, maybe twice

    def do_POST(self) -> None:
        body = self.rfile.read(int(self.headers.get("Content-Length", "0")))  # the raw bytes, before any parsing
        if not verify(self.secret, self.headers.get("LeadEngine-Signature", ""), body):
            self.send_response(400)
            self.end_headers()
            return
        event = json.loads(body)
        if event["delivery_id"] not in self.seen:
            self.seen.add(event["delivery_id"])
            job = event["job"]
            print(f"{event['event']}: job {job['job_id']} {job['status']}, {job['lead_count']} leads", flush=True)
        self.send_response(204)  # answer fast; do slow work after (more than 10 s is a failed attempt)
        self.end_headers()


if __name__ == "__main__":
    port = int(sys.argv[1]) if len(sys.argv) > 1 else 9000
    http.server.ThreadingHTTPServer(("127.0.0.1", port), Receiver).serve_forever()
