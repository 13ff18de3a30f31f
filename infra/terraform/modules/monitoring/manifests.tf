# The Kubernetes objects of this module, as values (main.tf applies them; tests/infra renders this file alone with the
# variables and validates each against its CRD schema). Keep it to variables and locals.

locals {
  manifests = {
    rabbitmq_pod_monitoring = {
      apiVersion = "monitoring.googleapis.com/v1"
      kind       = "PodMonitoring"
      metadata   = { name = "rabbitmq-queues", namespace = var.namespace }
      spec = {
        selector = { matchLabels = { "app.kubernetes.io/name" = var.cluster_name } }
        endpoints = [{
          port     = "prometheus"
          path     = "/metrics/detailed"
          params   = { family = ["queue_coarse_metrics"], vhost = [var.vhost] }
          interval = "30s"
        }]
      }
    }
  }
}
