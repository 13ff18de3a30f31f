# The Kubernetes objects of this module, as values: main.tf applies each with yamlencode(local.manifests[...]), and
# tests/infra renders this file alone (with the variables) to validate every object against the CRD schemas of the
# pinned operators. Keep it to variables and locals: no resource or data references here.

locals {
  service_host = "${var.cluster_name}.${var.namespace}.svc.cluster.local"
  cluster_ref  = { name = var.cluster_name }

  # Versioned by the password's rotation counter: a rotation makes a new Secret (External Secrets fills it with the
  # pinned Secret Manager version) and recreates the User from it. The topology operator imports a User's password
  # only when the User is created, so recreating it is what puts a new password into the broker.
  credentials_secret = "${var.user}-credentials-v${var.password_version}"

  # 30 minutes: above the runner's longest job (JOB_TIMEOUT_S, at most 1700 s), so a slow job is never cut off.
  consumer_timeout_ms = 1800000

  # A dead letter is only ever read back by people; see dead_letter_policy below.
  dead_letter_delivery_limit = 1000000

  manifests = {
    namespace = {
      apiVersion = "v1"
      kind       = "Namespace"
      metadata   = { name = var.namespace }
    }

    cluster = {
      apiVersion = "rabbitmq.com/v1beta1"
      kind       = "RabbitmqCluster"
      metadata   = { name = var.cluster_name, namespace = var.namespace }
      spec = {
        replicas = var.replicas
        image    = var.image
        resources = {
          requests = { cpu = var.resources.cpu, memory = var.resources.memory }
          limits   = { cpu = var.resources.cpu, memory = var.resources.memory }
        }
        persistence = { storageClassName = "premium-rwo", storage = var.resources.storage }
        rabbitmq = {
          # rabbitmq_prometheus (port 15692) is enabled by the operator; Managed Prometheus scrapes it (monitoring module).
          additionalConfig = <<-CONF
            default_queue_type = quorum
            consumer_timeout = ${local.consumer_timeout_ms}
            cluster_partition_handling = pause_minority
          CONF
        }
        service = {
          type = "LoadBalancer"
          annotations = {
            "networking.gke.io/load-balancer-type"                         = "Internal"
            "networking.gke.io/internal-load-balancer-subnet"              = var.internal_lb_subnetwork_name
            "networking.gke.io/internal-load-balancer-allow-global-access" = "false"
          }
        }
        override = {
          service = {
            spec = {
              loadBalancerIP           = var.internal_lb_address
              loadBalancerSourceRanges = var.allowed_source_ranges
            }
          }
        }
        affinity = {
          podAntiAffinity = {
            # One node per zone where possible, so a zone outage leaves a quorum (preferred: 5 nodes > 3 zones).
            preferredDuringSchedulingIgnoredDuringExecution = [{
              weight = 100
              podAffinityTerm = {
                labelSelector = { matchLabels = { "app.kubernetes.io/name" = var.cluster_name } }
                topologyKey   = "topology.kubernetes.io/zone"
              }
            }]
          }
        }
      }
    }

    # The application user's credentials: the generated password, at the pinned Secret Manager version.
    user_credentials = {
      apiVersion = "external-secrets.io/v1"
      kind       = "ExternalSecret"
      metadata   = { name = local.credentials_secret, namespace = var.namespace }
      spec = {
        refreshInterval = "1h"
        secretStoreRef  = { kind = "ClusterSecretStore", name = var.cluster_store }
        target = {
          name = local.credentials_secret
          template = {
            data = { username = var.user, password = "{{ .password }}" }
          }
        }
        data = [{
          secretKey = "password"
          remoteRef = { key = var.password_secret_id, version = var.password_secret_version }
        }]
      }
    }

    vhost = {
      apiVersion = "rabbitmq.com/v1beta1"
      kind       = "Vhost"
      metadata   = { name = var.vhost, namespace = var.namespace }
      spec = {
        name                     = var.vhost
        defaultQueueType         = "quorum"
        rabbitmqClusterReference = local.cluster_ref
      }
    }

    user = {
      apiVersion = "rabbitmq.com/v1beta1"
      kind       = "User"
      metadata = {
        name        = var.user
        namespace   = var.namespace
        annotations = { "leadengine.io/password-version" = tostring(var.password_version) }
      }
      spec = {
        tags                     = []
        importCredentialsSecret  = { name = local.credentials_secret }
        rabbitmqClusterReference = local.cluster_ref
      }
    }

    permission = {
      apiVersion = "rabbitmq.com/v1beta1"
      kind       = "Permission"
      metadata   = { name = "${var.user}-${var.vhost}", namespace = var.namespace }
      spec = {
        vhost                    = var.vhost
        userReference            = { name = var.user }
        permissions              = { configure = ".*", write = ".*", read = ".*" }
        rabbitmqClusterReference = local.cluster_ref
      }
    }

    # The work queue and its retry queues. Policies, not queue arguments, so the code's declarations stay exactly
    # contract §4's (a different argument would make RabbitMQ refuse the seed clients' declarations).
    #  - dead-letter-strategy at-least-once (it needs overflow reject-publish): quorum queues dead-letter at most
    #    once by default, and a job waiting for its retry delay, or on its way to failed_jobs, must survive a
    #    leader change.
    #  - delivery-limit: RabbitMQ 4.x dead-letters a quorum queue message after 20 deliveries unless told otherwise.
    #    Set here, on purpose (docs/deploy.md, "Delivery limit").
    work_queue_policy = {
      apiVersion = "rabbitmq.com/v1beta1"
      kind       = "Policy"
      metadata   = { name = "work-queues", namespace = var.namespace }
      spec = {
        name    = "work-queues"
        vhost   = var.vhost
        pattern = "^${var.work_queue}(\\.retry\\..*)?$"
        applyTo = "queues"
        definition = {
          "dead-letter-strategy" = "at-least-once"
          "overflow"             = "reject-publish"
          "delivery-limit"       = var.delivery_limit
        }
        rabbitmqClusterReference = local.cluster_ref
      }
    }

    # failed_jobs has no dead-letter target: a message over the delivery limit would be dropped. Its messages are
    # read back (listed, replayed) by `python -m runner.deadletters`, which returns them with nack, and on 4.1 every
    # return counts as a delivery: the default 20 would drop a dead letter after 20 listings.
    dead_letter_policy = {
      apiVersion = "rabbitmq.com/v1beta1"
      kind       = "Policy"
      metadata   = { name = "dead-letters", namespace = var.namespace }
      spec = {
        name                     = "dead-letters"
        vhost                    = var.vhost
        pattern                  = "^${var.dead_letter_queue}$"
        applyTo                  = "queues"
        definition               = { "delivery-limit" = local.dead_letter_delivery_limit }
        rabbitmqClusterReference = local.cluster_ref
      }
    }
  }
}
