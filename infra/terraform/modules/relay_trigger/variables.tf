variable "project_id" {
  type        = string
  description = "Project of the scheduler job."
  validation {
    condition     = length(var.project_id) > 0
    error_message = "project_id must not be empty."
  }
}

variable "region" {
  type        = string
  description = "Region of the scheduler job."
  validation {
    condition     = can(regex("^[a-z]+-[a-z]+[0-9]+$", var.region))
    error_message = "region must look like europe-west1."
  }
}

variable "name" {
  type        = string
  description = "Scheduler job name."
  validation {
    condition     = can(regex("^[a-zA-Z0-9_-]{1,500}$", var.name))
    error_message = "name must be letters, digits, hyphens or underscores."
  }
}

variable "schedule" {
  type        = string
  description = "Five-field cron schedule."
  validation {
    condition     = length(split(" ", trimspace(var.schedule))) == 5
    error_message = "schedule must be a five-field cron expression."
  }
}

variable "function_uri" {
  type        = string
  description = "Base HTTPS URL of the function (also the OIDC audience)."
  validation {
    condition     = startswith(var.function_uri, "https://")
    error_message = "function_uri must be an https URL."
  }
}

variable "service_account" {
  type        = string
  description = "Email of the scheduler's service account (an invoker of the function)."
  validation {
    condition     = endswith(var.service_account, ".iam.gserviceaccount.com")
    error_message = "service_account must be a service account email."
  }
}

variable "relay_token" {
  type        = string
  description = "RELAY_TOKEN, sent as X-Relay-Token."
  sensitive   = true
  validation {
    condition     = length(var.relay_token) >= 32
    error_message = "relay_token must be at least 32 characters."
  }
}
