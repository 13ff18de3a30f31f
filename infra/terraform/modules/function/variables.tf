variable "project_id" {
  type        = string
  description = "Project of the function (also its GOOGLE_CLOUD_PROJECT)."
  validation {
    condition     = length(var.project_id) > 0
    error_message = "project_id must not be empty."
  }
}

variable "region" {
  type        = string
  description = "Region of the function and its source bucket."
  validation {
    condition     = can(regex("^[a-z]+-[a-z]+[0-9]+$", var.region))
    error_message = "region must look like europe-west1."
  }
}

variable "name" {
  type        = string
  description = "Function name."
  validation {
    condition     = can(regex("^[a-z][a-z0-9-]{1,48}$", var.name))
    error_message = "name must be lowercase letters, digits and hyphens, at most 49 characters."
  }
}

variable "labels" {
  type        = map(string)
  description = "Labels of the function and its bucket."
  validation {
    condition     = alltrue([for k, v in var.labels : length(k) > 0])
    error_message = "labels keys must not be empty."
  }
}

variable "source_zip" {
  type        = string
  description = "Path of build/function.zip."
  validation {
    condition     = endswith(var.source_zip, ".zip")
    error_message = "source_zip must be a .zip path."
  }
}

variable "service_account" {
  type        = string
  description = "Runtime service account email."
  validation {
    condition     = endswith(var.service_account, ".iam.gserviceaccount.com")
    error_message = "service_account must be a service account email."
  }
}

variable "build_service_account" {
  type        = string
  description = "Service account id (projects/P/serviceAccounts/E) Cloud Build uses to build the function."
  validation {
    condition     = startswith(var.build_service_account, "projects/")
    error_message = "build_service_account must be projects/P/serviceAccounts/E."
  }
}

variable "vpc_connector" {
  type        = string
  description = "Serverless VPC Access connector id."
  validation {
    condition     = length(var.vpc_connector) > 0
    error_message = "vpc_connector must not be empty."
  }
}

variable "min_instances" {
  type        = number
  description = "Minimum instances."
  validation {
    condition     = var.min_instances >= 0
    error_message = "min_instances must be >= 0."
  }
}

variable "max_instances" {
  type        = number
  description = "Maximum instances."
  validation {
    condition     = var.max_instances >= 1
    error_message = "max_instances must be >= 1."
  }
}

variable "memory" {
  type        = string
  description = "Memory per instance."
  validation {
    condition     = can(regex("^[0-9]+(M|Mi|G|Gi)$", var.memory))
    error_message = "memory must look like 512M."
  }
}

variable "invokers" {
  type        = list(string)
  description = "IAM members given roles/run.invoker."
  validation {
    condition     = alltrue([for m in var.invokers : length(m) > 0])
    error_message = "invokers entries must not be empty."
  }
}

variable "settings" {
  type = object({
    rabbitmq_host       = string
    rabbitmq_port       = number
    rabbitmq_user       = string
    rabbitmq_vhost      = string
    outbox_grace_s      = number
    job_max_attempts    = number
    firestore_timeout_s = number
    log_level           = string
  })
  description = "Plain settings of contract §2 passed as environment variables."
  validation {
    condition     = var.settings.rabbitmq_port >= 1 && var.settings.rabbitmq_port <= 65535 && length(var.settings.rabbitmq_host) > 0
    error_message = "settings must name a broker host and a TCP port."
  }
}

variable "secret_env" {
  type        = map(string)
  description = "Environment variable name => Secret Manager secret id, read at instance start."
  validation {
    condition     = alltrue([for k in keys(var.secret_env) : can(regex("^[A-Z][A-Z0-9_]*$", k))])
    error_message = "secret_env keys must be upper-case environment variable names."
  }
}

variable "secret_versions" {
  type        = map(string)
  description = "Environment variable name => pinned Secret Manager version id; the others read \"latest\" at instance start."
  default     = {}
  validation {
    condition     = alltrue([for k, v in var.secret_versions : length(v) > 0])
    error_message = "secret_versions values must be version ids."
  }
}
