# The outbox relay on GCP: Cloud Scheduler POSTs to the function's relay route with a Google OIDC token (Cloud Run
# checks it: the scheduler's account is an invoker) and the X-Relay-Token header (the function checks it). Each call is
# one relay pass, so a job accepted while RabbitMQ was down is published within a minute of the broker's return, and
# one webhook delivery pass (leadengine/webhooks.py): the job.finished notifications due then go out, each attempt
# bounded by 10 s, so every webhook attempt on GCP is sent within a minute of falling due.

locals {
  relay_path = "/internal/outbox/relay"
}

resource "google_cloud_scheduler_job" "relay" {
  project          = var.project_id
  region           = var.region
  name             = var.name
  description      = "LeadEngine outbox relay: publish accepted jobs whose message was never confirmed; send due webhooks"
  schedule         = var.schedule
  time_zone        = "Etc/UTC"
  attempt_deadline = "60s"

  retry_config {
    retry_count = 0 # the next tick is the retry
  }

  http_target {
    http_method = "POST"
    uri         = "${var.function_uri}${local.relay_path}"
    headers = {
      "Content-Type"  = "application/json"
      "X-Relay-Token" = var.relay_token
    }
    body = base64encode("{}")

    oidc_token {
      service_account_email = var.service_account
      audience              = var.function_uri
    }
  }
}
