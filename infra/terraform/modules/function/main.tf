# The enqueue function: Cloud Functions gen2 (a Cloud Run service underneath), HTTP, built from the zip that
# `make package` writes. Not public unless var.invokers says so; its broker traffic goes through the VPC connector.

locals {
  # Settings of contract §2 the function reads (tests/infra checks this list against leadengine/settings.py).
  env = {
    RABBITMQ_HOST        = var.settings.rabbitmq_host
    RABBITMQ_PORT        = tostring(var.settings.rabbitmq_port)
    RABBITMQ_USER        = var.settings.rabbitmq_user
    RABBITMQ_VHOST       = var.settings.rabbitmq_vhost
    GOOGLE_CLOUD_PROJECT = var.project_id
    OUTBOX_GRACE_S       = tostring(var.settings.outbox_grace_s)
    JOB_MAX_ATTEMPTS     = tostring(var.settings.job_max_attempts) # the relay route's stall recovery caps republishes at it
    FIRESTORE_TIMEOUT_S  = tostring(var.settings.firestore_timeout_s)
    LOG_LEVEL            = var.settings.log_level
  }
  entry_point = "enqueue" # functions/enqueue/main.py: def enqueue(request)
  runtime     = "python311"
}

resource "google_storage_bucket" "sources" {
  #checkov:skip=CKV_GCP_62:Access logs of a bucket that only the deployer and Cloud Build touch add nothing over Cloud Audit Logs.
  project                     = var.project_id
  name                        = "${var.project_id}-${var.name}-src"
  location                    = var.region
  labels                      = var.labels
  uniform_bucket_level_access = true
  public_access_prevention    = "enforced"
  force_destroy               = true

  versioning {
    enabled = true
  }

  lifecycle_rule {
    condition {
      age = 30
    }
    action {
      type = "Delete"
    }
  }
}

# The object name carries the zip's hash: a new build is a new object, which is what makes Cloud Functions rebuild.
resource "google_storage_bucket_object" "source" {
  name   = "enqueue-${filemd5(var.source_zip)}.zip"
  bucket = google_storage_bucket.sources.name
  source = var.source_zip
}

resource "google_cloudfunctions2_function" "this" {
  #checkov:skip=CKV_GCP_124:The API serves clients outside GCP, so ingress is ALLOW_ALL; invoker IAM and API keys guard every call.
  project     = var.project_id
  name        = var.name
  location    = var.region
  description = "LeadEngine enqueue API (contract §3) and outbox relay route"
  labels      = var.labels

  build_config {
    runtime         = local.runtime
    entry_point     = local.entry_point
    service_account = var.build_service_account
    source {
      storage_source {
        bucket = google_storage_bucket.sources.name
        object = google_storage_bucket_object.source.name
      }
    }
  }

  service_config {
    min_instance_count               = var.min_instances
    max_instance_count               = var.max_instances
    available_memory                 = var.memory
    timeout_seconds                  = 60
    max_instance_request_concurrency = 1
    service_account_email            = var.service_account
    ingress_settings                 = "ALLOW_ALL" # the API is for clients outside GCP; IAM (invokers) and API keys guard it
    all_traffic_on_latest_revision   = true
    vpc_connector                    = var.vpc_connector
    vpc_connector_egress_settings    = "PRIVATE_RANGES_ONLY"
    environment_variables            = local.env

    dynamic "secret_environment_variables" {
      for_each = var.secret_env
      content {
        key        = secret_environment_variables.key
        project_id = var.project_id
        secret     = secret_environment_variables.value
        version    = lookup(var.secret_versions, secret_environment_variables.key, "latest")
      }
    }
  }
}

# Invocation rights live on the underlying Cloud Run service. Callers that are not public send their Google ID token
# in X-Serverless-Authorization, leaving Authorization for the API key.
resource "google_cloud_run_v2_service_iam_member" "invokers" {
  for_each = toset(var.invokers)
  project  = var.project_id
  location = var.region
  name     = google_cloudfunctions2_function.this.service_config[0].service
  role     = "roles/run.invoker"
  member   = each.value
}
