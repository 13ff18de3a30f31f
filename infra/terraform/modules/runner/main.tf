# The runner as a KEDA ScaledJob: while scrape_jobs has ready messages KEDA starts runner pods (Kubernetes Jobs), up to
# max_jobs; each consumes with prefetch 1 until the queue has been empty for exit_when_idle_s, then exits 0.
#
# Why a ScaledJob and not a ScaledObject: over AMQP, KEDA sees only *ready* messages; a job being scraped is unacked
# and invisible. A ScaledObject would scale a Deployment down while its pods are mid-job (SIGTERM, requeue, redo).
# A ScaledJob never kills a running pod to scale down: each pod ends by itself (--exit-when-idle). The "accurate"
# strategy does not subtract running jobs from the queue length, right for a count that already excludes them.

locals {
  namespace      = "leadengine"
  ksa            = "runner"
  secret_name    = "runner-secrets"
  amqp_secret    = "runner-amqp"
  metrics_port   = 9100 # leadengine.settings.Settings.runner_metrics_port's default (tests/infra checks it)
  grace_period_s = var.settings.runner_shutdown_grace_s + 5

  # Settings of contract §2 the runner reads (tests/infra checks this list against leadengine/settings.py).
  env = {
    RABBITMQ_HOST           = var.settings.rabbitmq_host
    RABBITMQ_PORT           = tostring(var.settings.rabbitmq_port)
    RABBITMQ_USER           = var.settings.rabbitmq_user
    RABBITMQ_VHOST          = var.settings.rabbitmq_vhost
    GOOGLE_CLOUD_PROJECT    = var.project_id
    SEARCH_PROVIDER         = var.settings.search_provider
    SEARCH_ENGINE_ID        = var.settings.search_engine_id
    JOB_MAX_ATTEMPTS        = tostring(var.settings.job_max_attempts)
    RUNNER_SHUTDOWN_GRACE_S = tostring(var.settings.runner_shutdown_grace_s)
    RUNNER_METRICS_ADDR     = "0.0.0.0" # Managed Prometheus scrapes the pod IP; the default 127.0.0.1 would hide /metrics
    LOG_LEVEL               = var.settings.log_level
  }
}

resource "terraform_data" "keda" {
  input = var.keda_ready
}

resource "kubectl_manifest" "namespace" {
  yaml_body = yamlencode({
    apiVersion = "v1"
    kind       = "Namespace"
    metadata   = { name = local.namespace }
  })
}

resource "kubectl_manifest" "service_account" {
  yaml_body = yamlencode({
    apiVersion = "v1"
    kind       = "ServiceAccount"
    metadata = {
      name        = local.ksa
      namespace   = local.namespace
      annotations = { "iam.gke.io/gcp-service-account" = var.gsa_email }
    }
  })
  depends_on = [kubectl_manifest.namespace]
}

# Workload Identity: the pods' Kubernetes account acts as the runner's Google account (Firestore only).
resource "google_service_account_iam_member" "workload_identity" {
  service_account_id = var.gsa_name
  role               = "roles/iam.workloadIdentityUser"
  member             = "serviceAccount:${var.workload_identity_pool}[${local.namespace}/${local.ksa}]"
}

# The runner's secrets (RABBITMQ_PASSWORD, SEARCH_API_KEY), copied from Secret Manager into a Kubernetes Secret whose
# keys are the environment variable names, so the pod takes them with envFrom.
resource "kubectl_manifest" "secrets" {
  yaml_body = yamlencode({
    apiVersion = "external-secrets.io/v1"
    kind       = "ExternalSecret"
    metadata   = { name = local.secret_name, namespace = local.namespace }
    spec = {
      refreshInterval = "1h"
      secretStoreRef  = { kind = "ClusterSecretStore", name = var.cluster_store }
      target          = { name = local.secret_name }
      data = [for env_name, secret_id in var.secret_env : {
        secretKey = env_name
        remoteRef = { key = secret_id }
      }]
    }
  })
  depends_on = [kubectl_manifest.namespace]
}

# KEDA's own connection to the broker: an amqp:// URL assembled from the same password.
resource "kubectl_manifest" "amqp_secret" {
  yaml_body = yamlencode({
    apiVersion = "external-secrets.io/v1"
    kind       = "ExternalSecret"
    metadata   = { name = local.amqp_secret, namespace = local.namespace }
    spec = {
      refreshInterval = "1h"
      secretStoreRef  = { kind = "ClusterSecretStore", name = var.cluster_store }
      target = {
        name = local.amqp_secret
        template = {
          data = {
            host = "amqp://${var.settings.rabbitmq_user}:{{ .password }}@${var.settings.rabbitmq_host}:${var.settings.rabbitmq_port}/${var.settings.rabbitmq_vhost}"
          }
        }
      }
      data = [{ secretKey = "password", remoteRef = { key = var.secret_env["RABBITMQ_PASSWORD"] } }]
    }
  })
  depends_on = [kubectl_manifest.namespace]
}

resource "kubectl_manifest" "trigger_auth" {
  yaml_body = yamlencode({
    apiVersion = "keda.sh/v1alpha1"
    kind       = "TriggerAuthentication"
    metadata   = { name = "rabbitmq-amqp", namespace = local.namespace }
    spec = {
      secretTargetRef = [{ parameter = "host", name = local.amqp_secret, key = "host" }]
    }
  })
  depends_on = [terraform_data.keda, kubectl_manifest.namespace]
}

# The ScaledJob, kept as a value so tests/infra can read it (queue, port, args) without a Terraform binary.
locals {
  scaled_job = {
    apiVersion = "keda.sh/v1alpha1"
    kind       = "ScaledJob"
    metadata   = { name = "runner", namespace = local.namespace }
    spec = {
      pollingInterval            = 10
      minReplicaCount            = 0
      maxReplicaCount            = var.max_jobs
      successfulJobsHistoryLimit = 5
      failedJobsHistoryLimit     = 10
      scalingStrategy            = { strategy = "accurate" }
      jobTargetRef = {
        parallelism  = 1
        completions  = 1
        backoffLimit = 0 # a crashed runner's unacked job goes back to the queue; KEDA starts a fresh pod for it
        template = {
          metadata = { labels = { app = "leadengine-runner" } }
          spec = {
            serviceAccountName            = local.ksa
            restartPolicy                 = "Never"
            terminationGracePeriodSeconds = local.grace_period_s
            securityContext = {
              # A numeric uid, so the kubelet can enforce runAsNonRoot whatever user name the image declares.
              runAsNonRoot   = true
              runAsUser      = 10001
              runAsGroup     = 10001
              seccompProfile = { type = "RuntimeDefault" }
            }
            containers = [{
              name    = "runner"
              image   = var.image
              command = ["python", "-m", "runner"]
              args    = ["--exit-when-idle", tostring(var.exit_when_idle_s)]
              env     = [for name, value in local.env : { name = name, value = value }]
              envFrom = [{ secretRef = { name = local.secret_name } }]
              ports   = [{ name = "metrics", containerPort = local.metrics_port }]
              resources = {
                requests = { cpu = var.resources.cpu, memory = var.resources.memory }
                limits   = { cpu = var.resources.cpu, memory = var.resources.memory }
              }
              securityContext = {
                allowPrivilegeEscalation = false
                capabilities             = { drop = ["ALL"] }
              }
            }]
          }
        }
      }
      triggers = [{
        type = "rabbitmq"
        metadata = {
          protocol  = "amqp"
          queueName = var.work_queue
          mode      = "QueueLength"
          value     = "1" # one runner per ready job: each runner works one job at a time (prefetch 1)
        }
        authenticationRef = { name = "rabbitmq-amqp" }
      }]
    }
  }
}

resource "kubectl_manifest" "scaled_job" {
  yaml_body = yamlencode(local.scaled_job)
  depends_on = [
    kubectl_manifest.trigger_auth,
    kubectl_manifest.secrets,
    kubectl_manifest.service_account,
    google_service_account_iam_member.workload_identity,
  ]
}

# Managed Prometheus scrapes the runners' /metrics (prometheus_client on RUNNER_METRICS_PORT).
resource "kubectl_manifest" "pod_monitoring" {
  yaml_body = yamlencode({
    apiVersion = "monitoring.googleapis.com/v1"
    kind       = "PodMonitoring"
    metadata   = { name = "runner", namespace = local.namespace }
    spec = {
      selector  = { matchLabels = { app = "leadengine-runner" } }
      endpoints = [{ port = "metrics", path = "/metrics", interval = "15s" }]
    }
  })
  depends_on = [kubectl_manifest.namespace]
}
