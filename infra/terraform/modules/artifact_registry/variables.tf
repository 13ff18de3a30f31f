variable "project_id" {
  type        = string
  description = "Project of the repository."
  validation {
    condition     = length(var.project_id) > 0
    error_message = "project_id must not be empty."
  }
}

variable "region" {
  type        = string
  description = "Location of the repository."
  validation {
    condition     = can(regex("^[a-z]+-[a-z]+[0-9]+$", var.region))
    error_message = "region must look like europe-west1."
  }
}

variable "name" {
  type        = string
  description = "Repository id; deploy/build_image.py derives the same name (leadengine-<env>)."
  validation {
    condition     = can(regex("^[a-z][a-z0-9-]{1,62}$", var.name))
    error_message = "name must be lowercase letters, digits and hyphens."
  }
}

variable "labels" {
  type        = map(string)
  description = "Labels of the repository."
  validation {
    condition     = alltrue([for k, v in var.labels : length(k) > 0])
    error_message = "labels keys must not be empty."
  }
}

variable "readers" {
  type        = list(string)
  description = "IAM members that pull images (the GKE nodes)."
  validation {
    condition     = alltrue([for m in var.readers : startswith(m, "serviceAccount:")])
    error_message = "readers must be serviceAccount: members."
  }
}

variable "writers" {
  type        = list(string)
  description = "IAM members that push images (the deployer)."
  validation {
    condition     = alltrue([for m in var.writers : startswith(m, "serviceAccount:")])
    error_message = "writers must be serviceAccount: members."
  }
}

variable "keep_images" {
  type        = number
  description = "How many recent image versions survive the cleanup policy (rollback depth)."
  default     = 20
  validation {
    condition     = var.keep_images >= 1
    error_message = "keep_images must be at least 1."
  }
}

variable "service_ready" {
  type        = list(string)
  description = "Enabled APIs, to order creation after them."
  validation {
    condition     = length(var.service_ready) > 0
    error_message = "service_ready must list the enabled APIs."
  }
}
