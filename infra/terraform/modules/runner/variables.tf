variable "project_id" {
  type        = string
  description = "Project (the runner's GOOGLE_CLOUD_PROJECT)."
  validation {
    condition     = length(var.project_id) > 0
    error_message = "project_id must not be empty."
  }
}

variable "image" {
  type        = string
  description = "Full runner image reference (<repository>/runner:<git sha>)."
  validation {
    condition     = can(regex("^[a-z0-9.-]+-docker\\.pkg\\.dev/.+/runner:[A-Za-z0-9_.-]+$", var.image))
    error_message = "image must be an Artifact Registry image reference ending in runner:<tag>."
  }
}

variable "gsa_email" {
  type        = string
  description = "Email of the runner's Google service account."
  validation {
    condition     = endswith(var.gsa_email, ".iam.gserviceaccount.com")
    error_message = "gsa_email must be a service account email."
  }
}

variable "gsa_name" {
  type        = string
  description = "Full name of the runner's Google service account."
  validation {
    condition     = startswith(var.gsa_name, "projects/")
    error_message = "gsa_name must be projects/P/serviceAccounts/E."
  }
}

variable "workload_identity_pool" {
  type        = string
  description = "The cluster's Workload Identity pool."
  validation {
    condition     = endswith(var.workload_identity_pool, ".svc.id.goog")
    error_message = "workload_identity_pool must end in .svc.id.goog."
  }
}

variable "cluster_store" {
  type        = string
  description = "ClusterSecretStore backed by Secret Manager."
  validation {
    condition     = length(var.cluster_store) > 0
    error_message = "cluster_store must not be empty."
  }
}

variable "keda_ready" {
  type        = string
  description = "KEDA's release name once installed."
  validation {
    condition     = length(var.keda_ready) > 0
    error_message = "keda_ready must not be empty."
  }
}

variable "work_queue" {
  type        = string
  description = "Queue whose ready-message count scales the runners (leadengine.topology.SCRAPE_JOBS)."
  validation {
    condition     = can(regex("^[A-Za-z0-9_.-]+$", var.work_queue))
    error_message = "work_queue must be a queue name."
  }
}

variable "max_jobs" {
  type        = number
  description = "maxReplicaCount of the ScaledJob."
  validation {
    condition     = var.max_jobs >= 1 && var.max_jobs <= 1000
    error_message = "max_jobs must be from 1 to 1000."
  }
}

variable "exit_when_idle_s" {
  type        = number
  description = "The runner's --exit-when-idle seconds."
  validation {
    condition     = var.exit_when_idle_s >= 1
    error_message = "exit_when_idle_s must be at least 1."
  }
}

variable "resources" {
  type = object({
    cpu    = string
    memory = string
  })
  description = "Requests (= limits) of a runner pod."
  validation {
    condition     = length(var.resources.cpu) > 0 && length(var.resources.memory) > 0
    error_message = "resources must set cpu and memory."
  }
}

variable "settings" {
  type = object({
    rabbitmq_host           = string
    rabbitmq_port           = number
    rabbitmq_user           = string
    rabbitmq_vhost          = string
    search_provider         = string
    search_engine_id        = string
    job_max_attempts        = number
    job_timeout_s           = number
    runner_shutdown_grace_s = number
    log_level               = string
  })
  description = "Plain settings of contract §2 passed as environment variables."
  validation {
    # SIGTERM must never cut a job that could still finish in time: the grace covers the longest job. GKE grants up to
    # one hour of grace to pods drained for a node upgrade; the pod's grace period is this plus 30 s.
    condition     = var.settings.runner_shutdown_grace_s >= var.settings.job_timeout_s && var.settings.runner_shutdown_grace_s <= 3570
    error_message = "runner_shutdown_grace_s must be at least job_timeout_s, and at most 3570 s (GKE's one-hour drain grace, less 30 s)."
  }
}

variable "secret_versions" {
  type        = map(string)
  description = "Environment variable name => pinned Secret Manager version id (the others follow the latest version)."
  default     = {}
  validation {
    condition     = alltrue([for k, v in var.secret_versions : length(v) > 0])
    error_message = "secret_versions values must be version ids."
  }
}

variable "secret_env" {
  type        = map(string)
  description = "Environment variable name => Secret Manager secret id (must include RABBITMQ_PASSWORD)."
  validation {
    condition     = contains(keys(var.secret_env), "RABBITMQ_PASSWORD") && alltrue([for k in keys(var.secret_env) : can(regex("^[A-Z][A-Z0-9_]*$", k))])
    error_message = "secret_env keys must be upper-case environment variable names, RABBITMQ_PASSWORD among them."
  }
}
