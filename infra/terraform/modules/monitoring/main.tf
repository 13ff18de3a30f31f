# The backlog alert. Metric source: Google Cloud Managed Prometheus (on by default in Autopilot) scrapes each RabbitMQ
# node's rabbitmq_prometheus plugin (port 15692, container port "prometheus"). The aggregated /metrics endpoint sums
# all queues, so the per-queue endpoint /metrics/detailed is scraped for the queue_coarse_metrics family of our vhost:
# rabbitmq_detailed_queue_messages_ready{vhost, queue}. The alert policy queries it in PromQL.

locals {
  ready_metric = "rabbitmq_detailed_queue_messages_ready"
  # max: each quorum queue is reported by its leader's node; max also holds if replicas ever report it too.
  backlog_query = "max(${local.ready_metric}{namespace=\"${var.namespace}\",vhost=\"${var.vhost}\",queue=\"${var.work_queue}\"}) > ${var.threshold}"
}

resource "kubectl_manifest" "rabbitmq_pod_monitoring" {
  yaml_body = yamlencode(local.manifests["rabbitmq_pod_monitoring"])
}

resource "google_monitoring_alert_policy" "backlog" {
  project      = var.project_id
  display_name = "LeadEngine ${var.environment}: ${var.work_queue} backlog over ${var.threshold}"
  combiner     = "OR"
  severity     = "WARNING"

  conditions {
    display_name = "${var.work_queue} ready messages > ${var.threshold} for 5 minutes"
    condition_prometheus_query_language {
      query               = local.backlog_query
      duration            = "300s"
      evaluation_interval = "60s"
    }
  }

  notification_channels = var.notification_channels

  alert_strategy {
    auto_close = "1800s"
  }

  documentation {
    mime_type = "text/markdown"
    content   = <<-DOC
      More than ${var.threshold} jobs are waiting in `${var.work_queue}` (vhost `${var.vhost}`).
      Runners scale up to `runner_max_jobs`; if they are all busy, raise it (docs/deploy.md, "How to scale").
      If runner pods are failing, see `kubectl -n leadengine get jobs,pods` and the runner's logs.
    DOC
  }
}
