"""The infrastructure agrees with the code: the queue KEDA watches, the settings each component reads, the secrets,
the metrics endpoint, the function's entry point and relay route, the runner's arguments and image, the registry."""

from __future__ import annotations

import ast
import re
import subprocess
import sys
from pathlib import Path

from dockerfile_parse import DockerfileParser
from pydantic import SecretStr

from leadengine import topology
from leadengine.settings import Settings
from tests.infra import render
from tests.infra.terraform_config import ROOT, call_of, child, environments, module, resolve, tfvars

FIELDS = set(Settings.model_fields)
SECRET_FIELDS = {
    name for name, f in Settings.model_fields.items() if SecretStr in getattr(f.annotation, "__args__", (f.annotation,))
}

# Settings a component reads but that GCP leaves at the code's default, each with the reason. Any setting the code
# reads that is neither provided by infra/terraform nor listed here fails the test: a new setting needs a decision.
DELIBERATELY_DEFAULTED: dict[str, dict[str, str]] = {
    "function": {
        "rabbitmq_heartbeat_s": "60 s suits a request-scoped publisher connection",
        "publish_timeout_s": "5 s bounds a publish inside a request; a job missed then is the relay's",
        "firestore_emulator_host": "unset on GCP: the client talks to the real Firestore",
        "relay_interval_s": "only the local relay loop sleeps on it; on GCP Cloud Scheduler's cron is the interval",
        "user_max_running_jobs": "the code's 4 (§8): the function, relay and runners must agree, so one value in code",
        "user_max_active_jobs": "the code's 500 (§8): the same quota for every user of the deployment",
        "runner_id": "the function never claims a job; the name is read by the core's job model, which it shares",
        "scrape_allow_private_networks": "must stay false on GCP: the webhook target guard must refuse the VPC and metadata",
        "scrape_dns_timeout_s": "code default: the DNS time limit of the webhook target guard",
        "webhook_retry_delays_s": "code default: the delivery schedule is part of the webhook contract, not of an environment",
        "job_retry_delays_s": "the relay republishes into the same retry queues, whose names carry the delay",
        "job_stall_s": "code default: the relay route's stall window, the same as the local relay's",
    },
    "runner": {
        "rabbitmq_heartbeat_s": "60 s; long jobs run off the connection thread, so heartbeats keep flowing",
        "publish_timeout_s": "5 s bounds a delayed-retry publish; a failed one hands the message back",
        "firestore_emulator_host": "unset on GCP: the client talks to the real Firestore",
        "firestore_timeout_s": "the 5 s default per Firestore call fits a batch worker, which retries transient errors",
        "outbox_grace_s": "the relay is the function's route on GCP; the runner never relays",
        "relay_interval_s": "the relay is the function's route on GCP; the runner never relays",
        "search_api_url": "unset: each provider's public endpoint (the variable exists for proxies, tests and the demo)",
        "search_timeout_s": "20 s per search call is the provider-latency default",
        "user_max_running_jobs": "the code's 4 (§8): the function, relay and runners must agree, so one value in code",
        "user_max_active_jobs": "the code's 500 (§8); the runner reads it only through the shared settings model",
        "search_rate_limit_wait_s": "code default: how long a search call waits out a provider's short rate limit",
        "scrape_dns_timeout_s": "code default; a scraping-tuning knob, not an environment difference",
        "scrape_max_retry_after_s": "code default; a scraping-tuning knob, not an environment difference",
        "scrape_allow_private_networks": "must stay false on GCP: runners must never fetch the VPC or the metadata server",
        "scrape_user_agent": "the code's bot user agent is the one robots.txt rules are written against",
        "scrape_max_sites": "the code's politeness default; scale with more runners, not more sites per runner",
        "scrape_connect_timeout_s": "code default; a scraping-tuning knob, not an environment difference",
        "scrape_read_timeout_s": "code default; a scraping-tuning knob, not an environment difference",
        "scrape_site_timeout_s": "code default; a scraping-tuning knob, not an environment difference",
        "scrape_max_page_bytes": "code default; a scraping-tuning knob, not an environment difference",
        "scrape_politeness_delay_s": "code default; a scraping-tuning knob, not an environment difference",
        "job_retry_delays_s": "10,60,300 s: the retry queues' names carry the delay, so they are the same everywhere",
        "runner_lease_s": "code default lease; runners hold one job at a time",
        "runner_stuck_grace_s": "code default; a stuck runner exits and KEDA starts a fresh pod",
        "runner_handler": "the real scrape handler; other handlers exist for tests",
        "runner_id": "unset: hostname-pid, and the hostname is the pod's name",
        "runner_metrics_port": "9100, the container port the ScaledJob declares and Managed Prometheus scrapes",
        "webhook_signing_key": "webhooks go out from the function's relay route on GCP; runners load the sender's module (through the outbox) but never start it",
        "webhook_retry_delays_s": "webhooks go out from the function's relay route on GCP, never from a runner",
        "job_stall_s": "stalled jobs are republished by the function's relay route on GCP, never by a runner",
    },
}


def _reads(paths: list[Path]) -> set[str]:
    """Settings fields read as attributes anywhere in these files (`settings.rabbitmq_host`, `s.log_level`, ...)."""
    names: set[str] = set()
    for path in paths:
        for node in ast.walk(ast.parse(path.read_text(), str(path))):
            if isinstance(node, ast.Attribute) and node.attr in FIELDS:
                names.add(node.attr)
    return names


def _core_imported_by(files: list[Path]) -> list[Path]:
    """The core package's modules these files import, directly or through other core modules: a setting read only by
    code a component never loads (the webhook sender, for the runner) is not one that component reads."""
    core = ROOT / "leadengine"
    found: set[Path] = set()
    queue = list(files)
    while queue:
        tree = ast.parse(queue.pop().read_text())
        for node in ast.walk(tree):
            names: list[str] = []
            if isinstance(node, ast.ImportFrom) and node.module and node.module.split(".")[0] == "leadengine":
                parts = node.module.split(".")
                names = [parts[1]] if len(parts) > 1 else [a.name for a in node.names]
            elif isinstance(node, ast.Import):
                names = [a.name.split(".")[1] for a in node.names if a.name.startswith("leadengine.")]
            for name in names:
                path = core / f"{name}.py"
                if path.is_file() and path not in found:
                    found.add(path)
                    queue.append(path)
    return sorted(found)


def reads_of(component: str) -> set[str]:
    own = {
        "function": sorted((ROOT / "functions" / "enqueue").glob("*.py")),
        "runner": sorted((ROOT / "runner").rglob("*.py")),
    }
    files = own[component] + _core_imported_by(own[component])
    assert own[component], f"no sources for the {component}"
    return _reads(files)


def provided_to(component: str) -> tuple[set[str], set[str]]:
    """(plain env names, secret env names) that infra/terraform gives the component."""
    mod = child({"function": "function", "runner": "runner"}[component])
    return set(mod.locals["env"]), set(call_of(mod)["secret_env"])


def test_the_settings_scan_finds_what_each_component_obviously_reads() -> None:
    # Guards the scan itself: if it found nothing, the next test would pass vacuously.
    assert {"rabbitmq_host", "api_keys", "relay_token"} <= reads_of("function")
    assert {"rabbitmq_host", "search_provider", "job_max_attempts"} <= reads_of("runner")


def test_every_setting_each_component_reads_is_provided_or_deliberately_defaulted() -> None:
    for component in ("function", "runner"):
        plain, secret = provided_to(component)
        provided = {name.lower() for name in plain | secret}
        defaulted = set(DELIBERATELY_DEFAULTED[component])
        missing = reads_of(component) - provided - defaulted
        assert not missing, (
            f"the {component} reads {sorted(n.upper() for n in missing)}: provide them in infra/terraform or list them here with a reason"
        )
        assert not provided & defaulted, f"{component}: both provided and listed as defaulted: {provided & defaulted}"
        assert defaulted <= FIELDS, f"{component}: stale entries {defaulted - FIELDS}"
        for name, reason in DELIBERATELY_DEFAULTED[component].items():
            assert len(reason) > 20, f"{component}: {name} needs a real reason"


def test_every_environment_variable_infra_sets_is_a_setting() -> None:
    for component in ("function", "runner"):
        plain, secret = provided_to(component)
        unknown = {n for n in plain | secret if n.lower() not in FIELDS}
        assert not unknown, f"infra sets {unknown} on the {component}, which Settings does not read (typo?)"
        assert all(n == n.upper() for n in plain | secret)


def test_secrets_reach_components_only_from_secret_manager() -> None:
    assert {"rabbitmq_password", "relay_token", "search_api_key"} <= SECRET_FIELDS  # the scan of SecretStr works
    secret_like = SECRET_FIELDS | {"api_keys"}
    for component in ("function", "runner"):
        plain, secret = provided_to(component)
        assert not {n.lower() for n in plain} & secret_like, f"a secret is a plain env var of the {component}"
        needed = reads_of(component) & secret_like - set(DELIBERATELY_DEFAULTED[component])
        assert needed <= {n.lower() for n in secret}, f"the {component} reads secrets {needed} it is not given"


def test_every_secret_referenced_exists_in_the_secrets_module() -> None:
    secrets = child("secrets")
    declared = set(
        resolve(secrets.locals["secrets"], secrets)
        .removeprefix("${toset(")
        .removesuffix(")}")
        .replace('"', "")
        .strip("[]")
        .replace(" ", "")
        .split(",")
    )
    assert declared == {"rabbitmq_password", "api_keys", "search_api_key", "relay_token", "webhook_signing_key"}
    root = module()
    referenced = set(re.findall(r"module\.secrets\.ids\.([a-z_]+)", root.text))
    assert referenced and referenced <= declared, referenced - declared
    assert set(root.modules["secrets"]["accessors"]) <= declared
    # Whoever gets a secret env var can read that secret at run time.
    accessors = root.modules["secrets"]["accessors"]
    for env_name, ref in root.modules["function"]["secret_env"].items():
        key = ref.split(".")[-1].rstrip("}")
        assert "${module.iam.members.function}" in accessors[key], f"the function cannot read {key} ({env_name})"
    for env_name, ref in root.modules["runner"]["secret_env"].items():
        key = ref.split(".")[-1].rstrip("}")
        assert "${module.iam.members.external_secrets}" in accessors[key], (
            f"External Secrets cannot read {key} ({env_name})"
        )


def test_keda_scales_the_runner_on_the_topology_work_queue_over_amqp() -> None:
    runner = child("runner")
    spec = runner.locals["manifests"]["scaled_job"]["spec"]
    assert runner.locals["manifests"]["scaled_job"]["kind"] == "ScaledJob"
    (trigger,) = spec["triggers"]
    assert trigger["type"] == "rabbitmq"
    assert resolve(trigger["metadata"]["queueName"], runner) == topology.SCRAPE_JOBS
    assert trigger["metadata"]["protocol"] == "amqp" and trigger["metadata"]["mode"] == "QueueLength"
    assert spec["minReplicaCount"] == 0
    assert spec["maxReplicaCount"] == "${var.max_jobs}" and call_of(runner)["max_jobs"] == "${var.runner_max_jobs}"
    assert all(tfvars(env)["runner_max_jobs"] >= 1 for env in environments())  # set per environment
    # Over AMQP only ready messages count; "accurate" does not subtract running jobs from that count a second time.
    assert spec["scalingStrategy"]["strategy"] == "accurate"
    # The alert and the broker policies watch the same queues.
    assert resolve(call_of(child("monitoring"))["work_queue"], module()) == topology.SCRAPE_JOBS
    assert resolve(call_of(child("rabbitmq"))["work_queue"], module()) == topology.SCRAPE_JOBS
    assert resolve(call_of(child("rabbitmq"))["dead_letter_queue"], module()) == topology.FAILED_JOBS


def test_the_runner_container_runs_the_runner_module_with_exit_when_idle() -> None:
    runner = child("runner")
    (container,) = runner.locals["manifests"]["scaled_job"]["spec"]["jobTargetRef"]["template"]["spec"]["containers"]
    assert container["command"] == ["python", "-m", "runner"]
    assert container["args"][0] == "--exit-when-idle"
    help_text = subprocess.run(
        [sys.executable, "-m", "runner", "--help"], cwd=ROOT, capture_output=True, text=True, timeout=60
    )
    assert help_text.returncode == 0 and "--exit-when-idle" in help_text.stdout, help_text.stderr
    assert "local.env" in container["env"] and container["envFrom"][0]["secretRef"]["name"] == "${local.secret_name}"


def test_the_metrics_port_and_address_match_the_runner_settings() -> None:
    runner = child("runner")
    (container,) = runner.locals["manifests"]["scaled_job"]["spec"]["jobTargetRef"]["template"]["spec"]["containers"]
    (port,) = container["ports"]
    assert resolve(port["containerPort"], runner) == Settings.model_fields["runner_metrics_port"].default
    assert "RUNNER_METRICS_PORT" not in runner.locals["env"]  # so the default above is what runs
    assert runner.locals["env"]["RUNNER_METRICS_ADDR"] not in {"127.0.0.1", "localhost"}  # scraped from the pod IP
    (endpoint,) = render.render_module("runner", "dev")["manifests"]["pod_monitoring"]["spec"]["endpoints"]
    assert endpoint["port"] == port["name"] and endpoint["path"] == "/metrics"


def test_the_function_entry_point_and_runtime_match_the_code() -> None:
    function = child("function")
    target = function.locals["entry_point"]
    tree = ast.parse((ROOT / "functions" / "enqueue" / "main.py").read_text())
    top_level = {node.name for node in tree.body if isinstance(node, ast.FunctionDef)}
    assert target in top_level, f"functions/enqueue/main.py defines no top-level {target}()"
    assert function.locals["runtime"] == f"python{sys.version_info.major}{sys.version_info.minor}"


def test_the_relay_trigger_calls_the_function_relay_route_with_its_header() -> None:
    source = (ROOT / "functions" / "enqueue" / "main.py").read_text()
    trigger = child("relay_trigger")
    assert trigger.locals["relay_path"] in source
    job = trigger.resource("google_cloud_scheduler_job", "relay")
    (http_target,) = job["http_target"]
    assert http_target["http_method"] == "POST"
    assert "X-Relay-Token" in http_target["headers"] and "X-Relay-Token" in source
    assert http_target["oidc_token"], "Cloud Scheduler must authenticate with an OIDC token"


def test_the_function_and_the_runner_share_one_broker_user_and_vhost() -> None:
    root = module()
    fn, rn = root.modules["function"]["settings"], root.modules["runner"]["settings"]
    for key in ("rabbitmq_user", "rabbitmq_vhost", "rabbitmq_port", "job_max_attempts"):
        assert resolve(fn[key], root) == resolve(rn[key], root), key
    rabbitmq = root.modules["rabbitmq"]
    assert resolve(rabbitmq["vhost"], root) == resolve(fn["rabbitmq_vhost"], root)
    assert resolve(rabbitmq["user"], root) == resolve(fn["rabbitmq_user"], root)


def test_the_vhost_defaults_to_quorum_queues_on_rabbitmq_4() -> None:
    vhost = render.render_module("rabbitmq", "dev")["manifests"]["vhost"]
    assert vhost["spec"]["defaultQueueType"] == "quorum"
    assert re.match(r"^rabbitmq:4\.", module().variables["rabbitmq_image"]["default"])
    assert resolve(module().variables["rabbitmq_replicas"]["default"], module()) == 3


def test_job_timeouts_fit_under_the_broker_consumer_timeout() -> None:
    cluster = render.render_module("rabbitmq", "dev")["manifests"]["cluster"]
    match = re.search(r"^consumer_timeout = (\d+)$", cluster["spec"]["rabbitmq"]["additionalConfig"], re.M)
    assert match, "the RabbitmqCluster sets no consumer_timeout"
    consumer_timeout_s = int(match.group(1)) / 1000
    job_timeout = Settings.model_fields["job_timeout_s"]
    ceiling = next(m.le for m in job_timeout.metadata if getattr(m, "le", None) is not None)
    # A job that may run up to JOB_TIMEOUT_S must be acked before the broker closes the channel for a slow consumer.
    assert job_timeout.default < ceiling < consumer_timeout_s
    assert module().variables["job_timeout_s"]["default"] == job_timeout.default  # what the runner is given on GCP
    assert "job_timeout_s <= 1700" in module().variables["job_timeout_s"]["validation"][0]["condition"]
    assert ceiling == 1700


def test_the_image_repository_build_image_pushes_to_is_the_one_terraform_creates() -> None:
    sys.path.insert(0, str(ROOT))
    from deploy.build_image import repository_for

    root = module()
    assert root.modules["registry"]["name"] == "${local.prefix}"
    assert root.locals["prefix"] == "leadengine-${var.environment}"
    for env in environments():
        values = tfvars(env)
        expected = f"{values['region']}-docker.pkg.dev/{values['project_id']}/leadengine-{values['environment']}"
        assert repository_for(env) == expected


def test_the_function_requirements_are_pinned_as_in_the_repository() -> None:
    def pins(path: Path) -> set[str]:
        return {line.strip() for line in path.read_text().splitlines() if line.strip() and not line.startswith("#")}

    function_pins = pins(ROOT / "functions" / "enqueue" / "requirements.txt")
    assert function_pins <= pins(ROOT / "requirements.txt"), function_pins - pins(ROOT / "requirements.txt")
    assert any(p.startswith("functions-framework==") for p in function_pins)


def test_the_runner_dockerfile_runs_the_runner_module() -> None:
    parser = DockerfileParser(str(ROOT / "runner" / "Dockerfile"))
    assert parser.structure, "runner/Dockerfile is missing or empty"
    commands = " ".join(i["value"] for i in parser.structure if i["instruction"] in {"CMD", "ENTRYPOINT"})
    assert "runner" in commands, f"runner/Dockerfile does not run the runner: {commands!r}"
    runner = child("runner")
    pod = runner.locals["manifests"]["scaled_job"]["spec"]["jobTargetRef"]["template"]["spec"]
    exposed = " ".join(i["value"] for i in parser.structure if i["instruction"] == "EXPOSE")
    assert str(resolve(pod["containers"][0]["ports"][0]["containerPort"], runner)) in exposed.split()
    # The pod's numeric uid is the image's user, so files the image owns stay readable under runAsNonRoot.
    users = [i["value"] for i in parser.structure if i["instruction"] == "USER"]
    assert users and users[-1].split(":")[0] == str(pod["securityContext"]["runAsUser"])
