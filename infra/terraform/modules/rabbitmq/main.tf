# RabbitMQ as a distributed engine we do not write: the RabbitMQ Cluster Operator runs a RabbitmqCluster (three nodes
# by default), the Messaging Topology Operator owns the vhost, the user, its permissions and a policy. The vhost's
# default queue type is quorum, so the application's declarations (exactly the seed's, no x-queue-type) create
# replicated quorum queues on RabbitMQ 4.x, which fills the vhost default into such declarations.

locals {
  service_host = "${var.cluster_name}.${var.namespace}.svc.cluster.local"
  cluster_ref  = { name = var.cluster_name }
}

# The operators' release manifests, at pinned versions, straight from their GitHub releases.
data "http" "cluster_operator" {
  url = "https://github.com/rabbitmq/cluster-operator/releases/download/${var.versions.rabbitmq_cluster_operator}/cluster-operator.yml"
}

data "http" "topology_operator" {
  url = "https://github.com/rabbitmq/messaging-topology-operator/releases/download/${var.versions.rabbitmq_topology_operator}/messaging-topology-operator-with-certmanager.yaml"
}

data "kubectl_file_documents" "cluster_operator" {
  content = data.http.cluster_operator.response_body
}

data "kubectl_file_documents" "topology_operator" {
  content = data.http.topology_operator.response_body
}

resource "kubectl_manifest" "cluster_operator" {
  for_each          = data.kubectl_file_documents.cluster_operator.manifests
  yaml_body         = each.value
  server_side_apply = true
}

resource "kubectl_manifest" "topology_operator" {
  for_each          = data.kubectl_file_documents.topology_operator.manifests
  yaml_body         = each.value
  server_side_apply = true
  depends_on        = [kubectl_manifest.cluster_operator, terraform_data.cert_manager]
}

resource "terraform_data" "cert_manager" {
  input = var.cert_manager_ready
}

resource "kubectl_manifest" "namespace" {
  yaml_body = yamlencode({
    apiVersion = "v1"
    kind       = "Namespace"
    metadata   = { name = var.namespace }
  })
}

resource "kubectl_manifest" "cluster" {
  yaml_body = yamlencode({
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
          consumer_timeout = 1800000
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
  })
  depends_on = [kubectl_manifest.cluster_operator, kubectl_manifest.namespace]
}

# The application user's credentials: the generated password from Secret Manager, synced by External Secrets.
resource "kubectl_manifest" "user_credentials" {
  yaml_body = yamlencode({
    apiVersion = "external-secrets.io/v1"
    kind       = "ExternalSecret"
    metadata   = { name = "${var.user}-credentials", namespace = var.namespace }
    spec = {
      refreshInterval = "1h"
      secretStoreRef  = { kind = "ClusterSecretStore", name = var.cluster_store }
      target = {
        name = "${var.user}-credentials"
        template = {
          data = { username = var.user, password = "{{ .password }}" }
        }
      }
      data = [{ secretKey = "password", remoteRef = { key = var.password_secret_id } }]
    }
  })
  depends_on = [kubectl_manifest.namespace]
}

resource "kubectl_manifest" "vhost" {
  yaml_body = yamlencode({
    apiVersion = "rabbitmq.com/v1beta1"
    kind       = "Vhost"
    metadata   = { name = var.vhost, namespace = var.namespace }
    spec = {
      name                     = var.vhost
      defaultQueueType         = "quorum"
      rabbitmqClusterReference = local.cluster_ref
    }
  })
  depends_on = [kubectl_manifest.topology_operator, kubectl_manifest.cluster]
}

resource "kubectl_manifest" "user" {
  yaml_body = yamlencode({
    apiVersion = "rabbitmq.com/v1beta1"
    kind       = "User"
    metadata   = { name = var.user, namespace = var.namespace }
    spec = {
      tags                     = []
      importCredentialsSecret  = { name = "${var.user}-credentials" }
      rabbitmqClusterReference = local.cluster_ref
    }
  })
  depends_on = [kubectl_manifest.topology_operator, kubectl_manifest.cluster, kubectl_manifest.user_credentials]
}

resource "kubectl_manifest" "permission" {
  yaml_body = yamlencode({
    apiVersion = "rabbitmq.com/v1beta1"
    kind       = "Permission"
    metadata   = { name = "${var.user}-${var.vhost}", namespace = var.namespace }
    spec = {
      vhost                    = var.vhost
      userReference            = { name = var.user }
      permissions              = { configure = ".*", write = ".*", read = ".*" }
      rabbitmqClusterReference = local.cluster_ref
    }
  })
  depends_on = [kubectl_manifest.vhost, kubectl_manifest.user]
}

# Quorum queues dead-letter at most once by default; at-least-once (which needs reject-publish overflow) makes a job
# waiting in a retry queue, or on its way to failed_jobs, survive a leader change. Policies, not arguments, so the
# declarations stay exactly the seed's.
resource "kubectl_manifest" "dead_letter_policy" {
  yaml_body = yamlencode({
    apiVersion = "rabbitmq.com/v1beta1"
    kind       = "Policy"
    metadata   = { name = "work-queues-at-least-once", namespace = var.namespace }
    spec = {
      name    = "work-queues-at-least-once"
      vhost   = var.vhost
      pattern = "^${var.work_queue}(\\.retry\\..*)?$"
      applyTo = "queues"
      definition = {
        "dead-letter-strategy" = "at-least-once"
        "overflow"             = "reject-publish"
      }
      rabbitmqClusterReference = local.cluster_ref
    }
  })
  depends_on = [kubectl_manifest.vhost]
}
