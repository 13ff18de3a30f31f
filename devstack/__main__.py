"""`make run`: the whole pipeline on this machine. Starts the Firestore emulator, the enqueue function, the outbox
relay (with its webhook delivery worker), two runners and (without SEARCH_API_KEY) the bundled demo search provider
and company sites; submits the seed's example job, shows its progress, its webhook and its leads, then serves until
Ctrl+C, which stops everything it started."""

from __future__ import annotations

import argparse
import hashlib
import hmac
import http.server
import json
import os
import queue
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import threading
import time
from pathlib import Path
from typing import Any, TextIO

import httpx

ROOT = Path(__file__).resolve().parents[1]
BIN = Path(sys.executable).parent
LOG_DIR = ROOT / ".run"
# The seed's example: a user asking for "SaaS companies in Sydney, B2B, enterprise".
EXAMPLE_JOB = {
    "industry": "SaaS",
    "geography": "Sydney, Australia",
    "keywords": ["B2B", "enterprise"],
    "source_types": ["google", "linkedin"],
    "max_leads": 20,
}


def say(message: str) -> None:
    print(f"[make run] {message}", flush=True)


def port_open(host: str, port: int) -> bool:
    with socket.socket() as s:
        s.settimeout(0.5)
        return s.connect_ex((host, port)) == 0


def wait_port(host: str, port: int, what: str, timeout: float = 30.0) -> None:
    deadline = time.monotonic() + timeout
    while not port_open(host, port):
        if time.monotonic() > deadline:
            raise SystemExit(f"[make run] {what} did not start listening on {host}:{port} within {timeout:.0f}s")
        time.sleep(0.1)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class Stack:
    """The processes `make run` started, each in its own process group, stopped together."""

    def __init__(self) -> None:
        self.children: list[tuple[str, subprocess.Popen[bytes], Path]] = []
        self.restartable: dict[str, tuple[list[str], dict[str, str]]] = {}
        self.started_broker = False
        LOG_DIR.mkdir(exist_ok=True)
        for old in LOG_DIR.glob("*.log"):
            old.unlink()

    def start(
        self, name: str, args: list[str], env: dict[str, str], *, restart: bool = False
    ) -> subprocess.Popen[bytes]:
        log_path = LOG_DIR / f"{name}.log"
        with open(log_path, "ab") as log:
            popen = subprocess.Popen(
                args, cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True
            )
        self.children.append((name, popen, log_path))
        if restart:
            self.restartable[name] = (args, env)
        return popen

    def check_alive(self) -> None:
        for index, (name, popen, log_path) in enumerate(self.children):
            if popen.poll() is None:
                continue
            if name in self.restartable:
                # A runner exits on purpose when a handler is stuck (exit 3): restart it, as Kubernetes would.
                say(f"{name} exited with code {popen.returncode}; restarting it (log: {log_path})")
                del self.children[index]
                args, env = self.restartable[name]
                self.start(name, args, env, restart=True)
                return
            tail = log_path.read_text(errors="replace").strip().splitlines()[-5:]
            raise SystemExit(
                f"[make run] {name} exited with code {popen.returncode}; last lines of {log_path}:\n" + "\n".join(tail)
            )

    def stop(self) -> None:
        for _, popen, _ in reversed(self.children):
            if popen.poll() is None:
                os.killpg(popen.pid, signal.SIGTERM)
        deadline = time.monotonic() + 30
        for _, popen, _ in reversed(self.children):
            try:
                popen.wait(timeout=max(0.1, deadline - time.monotonic()))
            except subprocess.TimeoutExpired:
                os.killpg(popen.pid, signal.SIGKILL)
                popen.wait()
        if self.started_broker:
            subprocess.run(["rabbitmqctl", "-q", "stop"], check=False, capture_output=True, timeout=60)


def ensure_broker(stack: Stack, env: dict[str, str]) -> None:
    host, port = env["RABBITMQ_HOST"], int(env["RABBITMQ_PORT"])
    if port_open(host, port):
        return
    if host not in {"localhost", "127.0.0.1", "::1"} or shutil.which("rabbitmq-server") is None:
        raise SystemExit(f"[make run] RabbitMQ is not reachable on {host}:{port} (RABBITMQ_HOST/RABBITMQ_PORT)")
    say("RabbitMQ is stopped: starting the local rabbitmq-server")
    subprocess.run(["rabbitmq-server", "-detached"], check=True)
    stack.started_broker = True
    wait_port("127.0.0.1", port, "RabbitMQ", timeout=90)
    subprocess.run(["rabbitmqctl", "-q", "await_startup"], check=True, timeout=90)


def local_signing_key() -> str:
    """The local WEBHOOK_SIGNING_KEY, made once and kept in .run/, so that users' webhook secrets stay the same
    from one `make run` to the next (as Secret Manager keeps the key on GCP)."""
    path = LOG_DIR / "webhook-signing-key"
    if path.exists():
        return path.read_text().strip()
    LOG_DIR.mkdir(exist_ok=True)
    key = secrets.token_hex(32)
    path.touch(mode=0o600)
    path.write_text(key)
    return key


class WebhookInbox:
    """A receiver on loopback for the example job's webhook: it checks each delivery as docs/webhooks.md tells a
    receiver to (the signature with the user's secret, in constant time, and the age of `t`)."""

    def __init__(self) -> None:
        self.deliveries: queue.Queue[tuple[dict[str, str], bytes]] = queue.Queue()
        inbox = self

        class Handler(http.server.BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers.get("Content-Length", "0")))
                inbox.deliveries.put((dict(self.headers.items()), body))
                self.send_response(204)
                self.end_headers()

            def log_message(self, *args: object) -> None:
                pass

        self.server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        threading.Thread(target=self.server.serve_forever, name="webhook-inbox", daemon=True).start()
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/webhooks/leadengine"

    def show(self, secret: str, timeout: float) -> None:
        """Wait for one delivery and say what arrived and whether it verifies."""
        try:
            headers, body = self.deliveries.get(timeout=timeout)
        except queue.Empty:
            say(f"no webhook delivery within {timeout:.0f}s (the relay's log: {LOG_DIR}/relay.log)")
            return
        fields = dict(part.split("=", 1) for part in headers.get("LeadEngine-Signature", "").split(",") if "=" in part)
        expected = hmac.new(secret.encode(), f"{fields.get('t', '')}.".encode() + body, hashlib.sha256).hexdigest()
        fresh = fields.get("t", "").isdigit() and abs(time.time() - int(fields["t"])) < 300
        verified = hmac.compare_digest(expected, fields.get("v1", "")) and fresh
        event = json.loads(body)
        say(f"webhook {headers.get('LeadEngine-Event')} received at {self.url}: job {event['job']['job_id']} "
            f"{event['job']['status']}, delivery {event['delivery_id']}, signature "
            f"{'verified' if verified else 'NOT verified'}")  # fmt: skip


def build_env(args: argparse.Namespace) -> tuple[dict[str, str], str]:
    """The stack's environment: `make run`'s defaults, overridden by anything set in the caller's environment."""
    env = dict(os.environ)
    env.setdefault("RABBITMQ_HOST", "127.0.0.1")
    env.setdefault("RABBITMQ_PORT", "5672")
    env.setdefault("FIRESTORE_EMULATOR_HOST", "127.0.0.1:8681")
    env.setdefault("GOOGLE_CLOUD_PROJECT", "leadengine-local")
    env.setdefault("LOG_LEVEL", "info")
    if env.get("API_KEYS"):
        api_key = next(iter(json.loads(env["API_KEYS"])))
    else:
        api_key = "le_local_" + secrets.token_urlsafe(18)
        env["API_KEYS"] = json.dumps({api_key: "local-user"})
    env.setdefault("RELAY_TOKEN", secrets.token_urlsafe(24))
    if not env.get("WEBHOOK_SIGNING_KEY"):
        env["WEBHOOK_SIGNING_KEY"] = local_signing_key()
    # Short retry steps locally, so a transient failure in the demo is visible within a minute.
    env.setdefault("JOB_RETRY_DELAYS_S", "5,15,30")
    return env, api_key


def start_demo(stack: Stack, env: dict[str, str]) -> None:
    search_port = free_port()
    stack.start("demo", [str(BIN / "python"), "-m", "devstack.demo", "--search-port", str(search_port)], env)
    wait_port("127.0.0.1", search_port, "the demo search provider")
    # The demo speaks serper's format; a provider set in the environment still wins, as every setting does.
    env.setdefault("SEARCH_PROVIDER", "serper")
    env["SEARCH_API_URL"] = f"http://127.0.0.1:{search_port}/search"
    env["SEARCH_API_KEY"] = "demo-key"
    # The demo's company sites live on loopback; real runs keep the private-network guard on.
    env.setdefault("SCRAPE_ALLOW_PRIVATE_NETWORKS", "true")


PHASES = {"queued": "waiting for a runner", "searching": "searching", "reading_sites": "reading sites",
          "finished": "finished"}  # fmt: skip


def progress_text(job: dict[str, Any]) -> str:
    """The job's progress as GET /api/v1/jobs/<id> shows it, in a line: status, phase, sites read, leads found."""
    progress = job["progress"]
    done, total = progress["sites_done"], progress["sites_total"]
    width = 20
    filled = width * done // total if total else 0
    retry = f" (attempt {job['attempts']})" if job["attempts"] > 1 else ""
    return (
        f"{job['status']}{retry}: {PHASES.get(progress['phase'], progress['phase'])} "
        f"[{'#' * filled}{'.' * (width - filled)}] {done}/{total} sites read, {progress['leads_found']} leads found"
    )


class ProgressLine:
    """One line that updates in place on a terminal (a new line per change when the output is a file or a pipe)."""

    def __init__(self, stream: TextIO = sys.stdout) -> None:
        self.stream = stream
        self.tty = stream.isatty()
        self.shown = ""

    def update(self, text: str) -> None:
        if text == self.shown:
            return
        self.shown = text
        # \r and "erase to the end of the line" redraw it in place.
        self.stream.write(f"\r\033[K[make run] {text}" if self.tty else f"[make run] {text}\n")
        self.stream.flush()

    def end(self) -> None:
        if self.tty and self.shown:
            self.stream.write("\n")
            self.stream.flush()
        self.shown = ""


def show_leads(client: httpx.Client, job_id: str) -> int:
    count, token = 0, None
    while True:
        params: dict[str, Any] = {"limit": 50, **({"page_token": token} if token else {})}
        page = client.get(f"/api/v1/jobs/{job_id}/leads", params=params).json()
        for lead in page["leads"]:
            count += 1
            print(f"  {count:>2}. {lead['company_name']}  ({lead['domain'] or 'LinkedIn only'})")
            for label, value in (("website", lead["website"]), ("emails", ", ".join(lead["emails"])),
                                 ("phones", ", ".join(lead["phones"])), ("linkedin", lead["linkedin_url"]),
                                 ("sources", ", ".join(lead["sources"]))):  # fmt: skip
                if value:
                    print(f"      {label:<8} {value}")
        token = page["next_page_token"]
        if token is None:
            return count


def submit_and_follow(
    stack: Stack, base_url: str, api_key: str, timeout: float, inbox: WebhookInbox | None = None
) -> None:
    headers = {"Authorization": f"Bearer {api_key}", "Idempotency-Key": f"make-run-{int(time.time())}"}
    with httpx.Client(base_url=base_url, headers=headers, timeout=10) as client:
        example = {**EXAMPLE_JOB, "webhook_url": inbox.url} if inbox is not None else EXAMPLE_JOB
        say(f"submitting the example job: {json.dumps(example)}")
        response = client.post("/api/v1/jobs/scrape", json=example)
        if response.status_code != 202:
            raise SystemExit(f"[make run] the function answered {response.status_code}: {response.text}")
        job_id = response.json()["job_id"]
        say(f"job {job_id} accepted (202); following it")
        deadline = time.monotonic() + timeout
        line = ProgressLine()  # from the API, as a user would follow a job (not from the runners' logs)
        while True:
            stack.check_alive()
            job = client.get(f"/api/v1/jobs/{job_id}").json()
            line.update(progress_text(job))
            if job["status"] in {"succeeded", "failed", "cancelled"}:
                break
            if time.monotonic() > deadline:
                line.end()
                say(f"the job is still {job['status']} after {timeout:.0f}s; it keeps running in the background")
                return
            time.sleep(0.5)
        line.end()
        say(f"status={job['status']} attempts={job['attempts']} leads={job['lead_count']}")
        if job["error"]:
            say(f"error: {job['error']['code']}: {job['error']['message']}")
        if inbox is not None:
            # The relay's delivery worker sends it within RELAY_INTERVAL_S of the final status.
            inbox.show(client.get("/api/v1/webhook-secret").json()["secret"], timeout=30)
        say(f"leads of job {job_id}:")
        total = show_leads(client, job_id)
        say(f"{total} leads on screen")
        auth = f"-H 'Authorization: Bearer {api_key}'"
        say(f"your jobs:        curl {auth} '{base_url}/api/v1/jobs?limit=20'")
        say(f"export the leads: curl {auth} -OJ '{base_url}/api/v1/jobs/{job_id}/leads/export?format=csv'")


def _interrupt(*_: object) -> None:
    raise KeyboardInterrupt


def main() -> None:
    parser = argparse.ArgumentParser(prog="make run", description=__doc__)
    parser.add_argument("--port", type=int, default=int(os.environ.get("ENQUEUE_PORT", "8080")))
    parser.add_argument("--no-demo-job", action="store_true", help="start the stack without submitting the example")
    parser.add_argument("--follow-timeout", type=float, default=120.0)
    args = parser.parse_args()
    env, api_key = build_env(args)
    stack = Stack()
    signal.signal(signal.SIGTERM, _interrupt)  # stop as cleanly on SIGTERM as on Ctrl+C
    try:
        ensure_broker(stack, env)
        emu_host, emu_port = env["FIRESTORE_EMULATOR_HOST"].rsplit(":", 1)
        if port_open(emu_host, int(emu_port)):
            raise SystemExit(f"[make run] {env['FIRESTORE_EMULATOR_HOST']} is taken (FIRESTORE_EMULATOR_HOST): "
                             "is another `make run` or `make emulator` running?")  # fmt: skip
        if port_open("127.0.0.1", args.port):
            raise SystemExit(f"[make run] port {args.port} is taken: is another `make run` running? (ENQUEUE_PORT)")
        stack.start("emulator", ["node", "emulator/server.js", env["FIRESTORE_EMULATOR_HOST"]], env)
        wait_port(emu_host, int(emu_port), "the Firestore emulator")
        if not env.get("SEARCH_API_KEY") and not env.get("SEARCH_API_URL"):
            start_demo(stack, env)
            say("no SEARCH_API_KEY: using the bundled demo search provider and company sites")
        stack.start("function", [str(BIN / "functions-framework"), "--source", "functions/enqueue/main.py",
                                 "--target", "enqueue", "--host", "127.0.0.1", "--port", str(args.port)], env)  # fmt: skip
        stack.start("relay", [str(BIN / "python"), "-m", "leadengine.outbox"], env)
        # Two runners cannot share one metrics port: consecutive ports from RUNNER_METRICS_PORT when it is set,
        # else free ones, so a second stack (or a test) on this machine never collides.
        base_metrics = int(env["RUNNER_METRICS_PORT"]) if env.get("RUNNER_METRICS_PORT") else None
        metrics_urls = []
        for n in (1, 2):
            metrics_port = base_metrics + n - 1 if base_metrics else free_port()
            metrics_urls.append(f"http://127.0.0.1:{metrics_port}/metrics")
            stack.start(
                f"runner-{n}",
                [str(BIN / "python"), "-m", "runner"],
                {**env, "RUNNER_METRICS_PORT": str(metrics_port)},
                restart=True,
            )
        wait_port("127.0.0.1", args.port, "the enqueue function")
        time.sleep(0.5)
        stack.check_alive()
        base_url = f"http://127.0.0.1:{args.port}"
        say(f"enqueue function on {base_url}; logs in {LOG_DIR}/")
        say(f"API key: {api_key}")
        say(f"runner metrics: {', '.join(metrics_urls)}")
        if not args.no_demo_job:
            # The example job notifies a local inbox where an http:// loopback receiver is allowed (the demo).
            local_hooks = env.get("SCRAPE_ALLOW_PRIVATE_NETWORKS", "").lower() in {"true", "1", "yes", "on"}
            inbox = WebhookInbox() if local_hooks else None
            submit_and_follow(stack, base_url, api_key, args.follow_timeout, inbox)
        say("serving; press Ctrl+C to stop everything")
        while True:
            stack.check_alive()
            time.sleep(1)
    except KeyboardInterrupt:
        say("stopping")
    finally:
        stack.stop()
        say("stopped every process it started")


if __name__ == "__main__":
    main()
