# The Kubernetes objects of this module, as values: main.tf applies each with yamlencode(local.manifests[...]), and
# tests/infra renders this file alone (with the variables) to validate every object against the CRD schemas of the
# pinned KEDA, External Secrets and Managed Prometheus. Keep it to variables and locals: no resource references here.
#
# The runner as a KEDA ScaledJob: while scrape_jobs has ready messages KEDA starts runner pods (Kubernetes Jobs), up to
# max_jobs; each consumes with prefetch 1 until the queue has been empty for exit_when_idle_s, then exits 0.
#
# Why a ScaledJob and not a ScaledObject: over AMQP, KEDA sees only *ready* messages; a job being scraped is unacked
# and invisible. A ScaledObject would scale a Deployment down while its pods are mid-job (SIGTERM, requeue, redo).
# A ScaledJob never kills a running pod to scale down: each pod ends by itself (--exit-when-idle). The "accurate"
# strategy does not subtract running jobs from the queue length, right for a count that already excludes them.

locals {
  namespace    = "leadengine"
  ksa          = "runner"
  secret_name  = "runner-secrets"
  amqp_secret  = "runner-amqp"
  metrics_port = 9100 # leadengine.settings.Settings.runner_metrics_port's default (tests/infra checks it)

  # On SIGTERM a runner lets the job in hand run for RUNNER_SHUTDOWN_GRACE_S (at least JOB_TIMEOUT_S, the longest a
  # job may run: variables.tf), then hands it back; the pod gets 30 s more for that last bounded Firestore write
  # (3 x FIRESTORE_TIMEOUT_S) and the exit, before the kubelet's SIGKILL.
  grace_period_s = var.settings.runner_shutdown_grace_s + 30

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
    JOB_TIMEOUT_S           = tostring(var.settings.job_timeout_s)
    RUNNER_SHUTDOWN_GRACE_S = tostring(var.settings.runner_shutdown_grace_s)
    RUNNER_METRICS_ADDR     = "0.0.0.0" # Managed Prometheus scrapes the pod IP; the default 127.0.0.1 would hide /metrics
    LOG_LEVEL               = var.settings.log_level
  }

  manifests = {
    namespace = {
      apiVersion = "v1"
      kind       = "Namespace"
      metadata   = { name = local.namespace }
    }

    service_account = {
      apiVersion = "v1"
      kind       = "ServiceAccount"
      metadata = {
        name        = local.ksa
        namespace   = local.namespace
        annotations = { "iam.gke.io/gcp-service-account" = var.gsa_email }
      }
    }

    # The runner's secrets (RABBITMQ_PASSWORD, SEARCH_API_KEY), copied from Secret Manager into a Kubernetes Secret
    # whose keys are the environment variable names, so the pod takes them with envFrom. A pinned version (the broker
    # password's) changes the spec, which makes External Secrets sync at once.
    secrets = {
      apiVersion = "external-secrets.io/v1"
      kind       = "ExternalSecret"
      metadata   = { name = local.secret_name, namespace = local.namespace }
      spec = {
        refreshInterval = "1h"
        secretStoreRef  = { kind = "ClusterSecretStore", name = var.cluster_store }
        target          = { name = local.secret_name }
        data = [for env_name, secret_id in var.secret_env : {
          secretKey = env_name
          remoteRef = merge({ key = secret_id }, contains(keys(var.secret_versions), env_name) ? { version = var.secret_versions[env_name] } : {})
        }]
      }
    }

    # KEDA's own connection to the broker: an amqp:// URL assembled from the same password, at the same version.
    amqp_secret = {
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
        data = [{
          secretKey = "password"
          remoteRef = merge(
            { key = var.secret_env["RABBITMQ_PASSWORD"] },
            contains(keys(var.secret_versions), "RABBITMQ_PASSWORD") ? { version = var.secret_versions["RABBITMQ_PASSWORD"] } : {},
          )
        }]
      }
    }

    trigger_auth = {
      apiVersion = "keda.sh/v1alpha1"
      kind       = "TriggerAuthentication"
      metadata   = { name = "rabbitmq-amqp", namespace = local.namespace }
      spec = {
        secretTargetRef = [{ parameter = "host", name = local.amqp_secret, key = "host" }]
      }
    }

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
        # A deploy updates the ScaledJob (a new image tag). KEDA's default rollout deletes the running Jobs then, which
        # would SIGTERM every runner mid-job; "gradual" lets them finish and starts new Jobs from the new spec.
        rollout = { strategy = "gradual" }
        jobTargetRef = {
          parallelism  = 1
          completions  = 1
          backoffLimit = 0 # a crashed runner's unacked job goes back to the queue; KEDA starts a fresh pod for it
          template = {
            metadata = {
              labels = { app = "leadengine-runner" }
              # Autopilot moves pods to consolidate nodes; a runner mid-job must not be evicted for that (GKE honours
              # this for up to 7 days, far above JOB_TIMEOUT_S). Node upgrades still drain, with the grace period below.
              annotations = { "cluster-autoscaler.kubernetes.io/safe-to-evict" = "false" }
            }
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
                env     = [for name in sort(keys(local.env)) : { name = name, value = local.env[name] }]
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

    # Managed Prometheus scrapes the runners' /metrics (prometheus_client on RUNNER_METRICS_PORT).
    pod_monitoring = {
      apiVersion = "monitoring.googleapis.com/v1"
      kind       = "PodMonitoring"
      metadata   = { name = "runner", namespace = local.namespace }
      spec = {
        selector  = { matchLabels = { app = "leadengine-runner" } }
        endpoints = [{ port = "metrics", path = "/metrics", interval = "15s" }]
      }
    }
  }
}
