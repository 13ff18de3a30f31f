"""The Kubernetes objects and Helm values the Terraform renders, computed by Terraform itself (tests/infra/render.py)
for each environment, checked against the pinned operators' CRD schemas and charts' defaults
(../shared/infra-schemas/); the pinned versions are the ones those schemas were taken at; and the behaviour the objects
promise: password rotation reaches the broker and every client, runner pods are not evicted mid-job, and the broker's
delivery limit is set on purpose, by policy, without touching the queue arguments the code declares."""

from __future__ import annotations

import re
from typing import Any

import pytest

from leadengine import topology
from leadengine.settings import Settings
from tests.infra import render
from tests.infra.schemas import chart_defaults, schema_versions, unknown_values, validation_errors
from tests.infra.terraform_config import MODULES, TERRAFORM, environments, module, tfvars

ENVS = ["dev", "prod"]
APPLIED = re.compile(r'^\$\{yamlencode\(local\.(manifests|helm_values)\["([a-z_]+)"\]\)\}$')
# kubectl_manifest resources that apply upstream release manifests as they are (rabbitmq module): not ours to render.
UPSTREAM = {("rabbitmq", "cluster_operator"), ("rabbitmq", "topology_operator")}
# Root module block => the chart key in local.helm_values => the chart's name in infra-schemas/helm-values.
CHARTS = {"cert_manager": "cert-manager", "keda": "keda", "external_secrets": "external-secrets"}


def _call_name(path: Any) -> str:
    for name, call in module().modules.items():
        if (TERRAFORM / call["source"]).resolve() == path.resolve():
            return name
    raise LookupError(path)


@pytest.fixture(scope="module", params=ENVS)
def rendered(request: pytest.FixtureRequest) -> dict[str, dict[str, Any]]:
    """Module name => {"manifests": {...}, "helm_values": {...}} for one environment."""
    assert request.param in environments()
    return {_call_name(p): render.render_module(_call_name(p), request.param) for p in render.manifest_modules()}


def test_every_object_and_helm_value_the_terraform_applies_is_rendered_from_manifests_tf() -> None:
    mods = render.manifest_modules()
    assert {p.name for p in mods} == {"platform", "rabbitmq", "runner", "monitoring"}
    for path in mods:
        mod = module(path)
        applied: dict[str, set[str]] = {"manifests": set(), "helm_values": set()}
        for name, spec in mod.resources.get("kubectl_manifest", {}).items():
            if (path.name, name) in UPSTREAM:
                assert spec["yaml_body"] == "${each.value}", f"{path.name}: {name}"
                continue
            m = APPLIED.match(spec["yaml_body"])
            assert m and m.group(1) == "manifests", (
                f"{path.name}: kubectl_manifest.{name} must apply yamlencode(local.manifests[...]) from manifests.tf, "
                f"so tests/infra can check it; it applies {spec['yaml_body'][:80]!r}"
            )
            applied["manifests"].add(m.group(2))
        for name, spec in mod.resources.get("helm_release", {}).items():
            values = spec.get("values") or []
            m = APPLIED.match(values[0]) if len(values) == 1 else None
            assert m and m.group(1) == "helm_values", (
                f"{path.name}: helm_release.{name} must take its values from local.helm_values in manifests.tf"
            )
            applied["helm_values"].add(m.group(2))
            assert spec.get("set") is None and spec.get("set_sensitive") is None, f"{path.name}: {name} uses set"
        result = render.render_module(_call_name(path), "dev")
        for kind, names in applied.items():
            assert names <= set(result.get(kind, {})), f"{path.name}: applies {names - set(result.get(kind, {}))}"
            assert set(result.get(kind, {})) <= names, (
                f"{path.name}: renders but never applies {set(result.get(kind, {})) - names}"
            )


def test_every_rendered_object_validates_against_the_pinned_crd_schema(rendered: dict[str, dict[str, Any]]) -> None:
    checked = 0
    problems = []
    for mod, result in rendered.items():
        for name, manifest in result.get("manifests", {}).items():
            problems += [f"{mod}.{name} ({manifest.get('kind')}): {e}" for e in validation_errors(manifest)]
            checked += 1
    assert not problems, "\n".join(problems)
    kinds = {m["kind"] for r in rendered.values() for m in r.get("manifests", {}).values()}
    assert {"ScaledJob", "TriggerAuthentication", "RabbitmqCluster", "Vhost", "User", "Permission", "Policy",
            "ExternalSecret", "ClusterSecretStore", "PodMonitoring"} <= kinds  # fmt: skip
    assert checked >= 15


def test_the_schema_check_catches_a_misspelt_field() -> None:
    # Guards the check itself: CRD schemas leave additionalProperties implicit, the API server does not.
    job = render.render_module("runner", "dev")["manifests"]["scaled_job"]
    job["spec"]["jobTargetRef"]["template"]["spec"]["containers"][0]["envFrm"] = []
    job["spec"]["maxReplicaCount"] = "3"
    errors = " ".join(validation_errors(job))
    assert "envFrm" in errors and "maxReplicaCount" in errors
    assert validation_errors({"apiVersion": "example.com/v1", "kind": "Widget", "metadata": {"name": "w"}})


def test_every_helm_value_exists_in_the_pinned_chart_defaults(rendered: dict[str, dict[str, Any]]) -> None:
    values = rendered["platform"]["helm_values"]
    versions = module().variables["operator_versions"]["default"]
    assert set(values) == set(CHARTS)
    for key, chart in CHARTS.items():
        problems = unknown_values(values[key], chart_defaults(chart, versions[key]))
        assert not problems, f"{chart} {versions[key]}: " + "; ".join(problems)
    assert unknown_values({"crds": {"enabeld": True}}, chart_defaults("cert-manager", versions["cert_manager"]))


def test_pinned_versions_are_those_the_schemas_were_taken_at() -> None:
    taken_at = schema_versions()
    expected = {
        "rabbitmq_cluster_operator": taken_at["rabbitmq/cluster-operator"],
        "rabbitmq_topology_operator": taken_at["rabbitmq/messaging-topology-operator"],
        "keda": taken_at["chart:keda"],
        "external_secrets": taken_at["chart:external-secrets"],
        "cert_manager": taken_at["chart:cert-manager"],
    }
    # The KEDA and External Secrets CRDs come from the operators' tags; their charts ship the same release.
    assert taken_at["kedacore/keda"].lstrip("v") == expected["keda"].lstrip("v")
    assert taken_at["external-secrets/external-secrets"].lstrip("v") == expected["external_secrets"].lstrip("v")
    pinned = dict(module().variables["operator_versions"]["default"])
    assert pinned == expected, (
        "a pinned operator or chart version differs from ../shared/infra-schemas (update the schemas with it): "
        f"{ {k: (pinned.get(k), v) for k, v in expected.items() if pinned.get(k) != v} }"
    )
    for env in environments():
        assert "operator_versions" not in tfvars(env), f"{env}.tfvars overrides the pinned versions"


# --- Rotating the broker password -----------------------------------------------------------------------------


def test_a_password_rotation_recreates_the_broker_user_from_the_new_secret_version() -> None:
    before = render.render_module("rabbitmq", "dev", password_version=1, password_secret_version="1")["manifests"]
    after = render.render_module("rabbitmq", "dev", password_version=2, password_secret_version="7")["manifests"]
    for manifests, secret_version in ((before, "1"), (after, "7")):
        credentials, user = manifests["user_credentials"], manifests["user"]
        # The User imports the Secret that External Secrets fills with exactly the pinned version.
        assert user["spec"]["importCredentialsSecret"]["name"] == credentials["spec"]["target"]["name"]
        assert credentials["spec"]["data"][0]["remoteRef"]["version"] == secret_version
        assert set(credentials["spec"]["target"]["template"]["data"]) == {"username", "password"}
    # A rotation names a new Secret, so the User (imported only at creation) must be a new one.
    assert before["user_credentials"]["metadata"]["name"] != after["user_credentials"]["metadata"]["name"]
    assert before["user"] != after["user"] and before["user"]["metadata"]["name"] == after["user"]["metadata"]["name"]
    assert before["permission"] == after["permission"]

    resources = module(MODULES / "rabbitmq").resources["kubectl_manifest"]
    assert resources["user"].get("force_new") is True, "the operator imports a password only when the User is created"
    assert resources["user_credentials"].get("force_new") is True
    assert resources["user"].get("wait_for"), "clients must get the new password only once the broker has it"
    (lifecycle,) = resources["permission"]["lifecycle"]
    assert lifecycle["replace_triggered_by"] == ["${kubectl_manifest.user}"], "a deleted user loses its permissions"


def test_every_reader_of_the_broker_password_is_pinned_to_the_version_the_user_was_made_from() -> None:
    root = module()
    version_ref = "${module.secrets.rabbitmq_password_version}"
    assert root.modules["secrets"]["rabbitmq_password_version"] == "${var.rabbitmq_password_version}"
    assert root.modules["rabbitmq"]["password_version"] == "${var.rabbitmq_password_version}"
    assert root.modules["rabbitmq"]["password_secret_version"] == version_ref
    assert root.modules["function"]["secret_versions"] == {"RABBITMQ_PASSWORD": version_ref}
    assert root.modules["runner"]["secret_versions"] == {"RABBITMQ_PASSWORD": version_ref}
    assert "rabbitmq_password_version" in root.variables and root.variables["rabbitmq_password_version"]["default"] == 1
    secrets = module(MODULES / "secrets")
    version = secrets.resources["google_secret_manager_secret_version"]["rabbitmq_password"]
    assert version["secret_data_wo_version"] == "${var.rabbitmq_password_version}"
    assert version["lifecycle"][0]["create_before_destroy"] is True
    assert (
        "google_secret_manager_secret_version.rabbitmq_password.version"
        in secrets.outputs["rabbitmq_password_version"]["value"]
    )
    # The function reads that version (a new revision on rotation); the runner's and KEDA's Secrets sync it.
    function = module(MODULES / "function").resources["google_cloudfunctions2_function"]["this"]
    (dynamic,) = function["service_config"][0]["dynamic"]
    assert "var.secret_versions" in dynamic["secret_environment_variables"]["content"][0]["version"]
    runner = render.render_module("runner", "dev", secret_versions={"RABBITMQ_PASSWORD": "7"})["manifests"]
    by_key = {d["secretKey"]: d["remoteRef"] for d in runner["secrets"]["spec"]["data"]}
    assert by_key["RABBITMQ_PASSWORD"]["version"] == "7" and "version" not in by_key["SEARCH_API_KEY"]
    assert runner["amqp_secret"]["spec"]["data"][0]["remoteRef"]["version"] == "7"
    # The function and the runners wait for the user and its permissions (module outputs that depend on them).
    outputs = module(MODULES / "rabbitmq").outputs
    for output in ("service_host", "internal_lb_address"):
        assert "${kubectl_manifest.permission}" in outputs[output]["depends_on"], output


# --- Runner pods and long jobs --------------------------------------------------------------------------------


@pytest.mark.parametrize("env", ENVS)
def test_runner_pods_are_not_evicted_mid_job_and_their_grace_covers_the_longest_job(env: str) -> None:
    job = render.render_module("runner", env)["manifests"]["scaled_job"]
    template = job["spec"]["jobTargetRef"]["template"]
    assert template["metadata"]["annotations"]["cluster-autoscaler.kubernetes.io/safe-to-evict"] == "false"
    assert job["spec"]["rollout"]["strategy"] == "gradual", "a deploy must not delete the running runner Jobs"
    env_vars = {e["name"]: e["value"] for e in template["spec"]["containers"][0]["env"]}
    job_timeout = float(env_vars["JOB_TIMEOUT_S"])
    shutdown_grace = float(env_vars["RUNNER_SHUTDOWN_GRACE_S"])
    # The longest job the docs promise is JOB_TIMEOUT_S (README, docs/runner.md: 600 s by default).
    assert job_timeout == Settings.model_fields["job_timeout_s"].default == 600
    assert shutdown_grace >= job_timeout, "SIGTERM would hand back a job that could still have finished"
    grace_period = template["spec"]["terminationGracePeriodSeconds"]
    assert grace_period >= shutdown_grace + 15, "no time left for the hand-back write (3 x FIRESTORE_TIMEOUT_S)"
    assert grace_period <= 3600, "GKE grants a drained pod at most one hour"


def test_the_root_refuses_a_shutdown_grace_shorter_than_the_longest_job() -> None:
    values = render.root_inputs("dev")
    render.check_root_inputs(values)
    with pytest.raises(render.TerraformError, match=r"(?s)Invalid value for variable.*runner_shutdown_grace_s"):
        render.check_root_inputs({**values, "runner_shutdown_grace_s": 25})


# --- The delivery limit (RabbitMQ 4.x quorum queues) ----------------------------------------------------------


@pytest.mark.parametrize("env", ENVS)
def test_the_delivery_limit_is_set_by_policy_above_the_runners_own_attempt_cap(env: str) -> None:
    manifests = render.render_module("rabbitmq", env)["manifests"]
    policies = [m for m in manifests.values() if m["kind"] == "Policy"]

    def policy_for(queue: str) -> dict[str, Any]:
        matching = [p for p in policies if re.search(p["spec"]["pattern"], queue)]
        assert len(matching) == 1, f"{queue} matches {len(matching)} policies (RabbitMQ applies only one)"
        return matching[0]["spec"]

    delays = [int(d) for d in Settings.model_fields["job_retry_delays_s"].default]
    work = policy_for(topology.SCRAPE_JOBS)
    for delay in delays:
        assert policy_for(topology.retry_queue_name(delay)) == work
    limit = work["definition"]["delivery-limit"]
    attempts = render.root_inputs(env)["job_max_attempts"]
    assert isinstance(limit, int) and limit > attempts + 2, (limit, attempts)
    assert (
        work["definition"]["dead-letter-strategy"] == "at-least-once"
        and work["definition"]["overflow"] == "reject-publish"
    )
    # failed_jobs has no dead-letter target: over a limit, a dead letter would be dropped.
    dead = policy_for(topology.FAILED_JOBS)
    assert dead["definition"]["delivery-limit"] >= 100_000
    for spec in (work, dead):
        assert spec["vhost"] == render.resolve_root_value("${local.rabbitmq.vhost}", env)
        assert spec["applyTo"] == "queues"
        # Policies, not arguments: nothing here overrides the dead-letter arguments contract §4 has the code declare.
        assert not {"dead-letter-exchange", "dead-letter-routing-key"} & set(spec["definition"])
    assert not any(k.startswith("x-delivery") for k in topology.SCRAPE_JOBS_ARGUMENTS)


def test_the_root_refuses_a_delivery_limit_at_or_below_the_attempt_cap() -> None:
    values = render.root_inputs("dev")
    with pytest.raises(render.TerraformError, match=r"(?s)Invalid value for variable.*rabbitmq_delivery_limit"):
        render.check_root_inputs({**values, "rabbitmq_delivery_limit": values["job_max_attempts"]})


# --- Inputs only the operator knows ---------------------------------------------------------------------------


@pytest.mark.parametrize("env", ENVS)
def test_each_environment_passes_the_root_variable_validations(env: str) -> None:
    render.check_root_inputs(render.root_inputs(env))


@pytest.mark.parametrize(
    ("name", "placeholder"),
    [
        ("function_invokers", ["serviceAccount:api-gateway@leadengine-prod.iam.gserviceaccount.com"]),
        ("function_invokers", ["serviceAccount:<gateway>@example.iam.gserviceaccount.com"]),
        ("alert_notification_channels", ["projects/leadengine-prod/notificationChannels/oncall"]),
        ("alert_notification_channels", ["projects/PROJECT/notificationChannels/CHANNEL"]),
    ],
)
def test_placeholders_for_inputs_only_the_operator_knows_are_refused(name: str, placeholder: list[str]) -> None:
    values = render.root_inputs("prod")
    with pytest.raises(render.TerraformError, match=rf"(?s)Invalid value for variable.*{name}"):
        render.check_root_inputs({**values, name: placeholder})


def test_inputs_only_the_operator_knows_are_required_and_absent_from_the_committed_prod_tfvars() -> None:
    variables = module().variables
    for name in ("function_invokers", "alert_notification_channels"):
        assert "default" not in variables[name], f"{name} must be a required input"
        assert name not in tfvars("prod"), f"prod.tfvars must not carry a made-up {name}"
        assert name in tfvars("dev"), f"dev.tfvars decides {name} explicitly"
