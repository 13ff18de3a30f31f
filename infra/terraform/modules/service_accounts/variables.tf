variable "project_id" {
  type        = string
  description = "Project of the service accounts."
  validation {
    condition     = length(var.project_id) > 0
    error_message = "project_id must not be empty."
  }
}

variable "name" {
  type        = string
  description = "Name prefix (leadengine-<env>); shortened to fit the 30-character account id."
  validation {
    condition     = can(regex("^[a-z][a-z0-9-]{1,40}$", var.name))
    error_message = "name must be lowercase letters, digits and hyphens."
  }
}

variable "github_repository" {
  type        = string
  description = "owner/name allowed to impersonate the deployer."
  validation {
    condition     = can(regex("^[A-Za-z0-9_.-]+/[A-Za-z0-9_.-]+$", var.github_repository))
    error_message = "github_repository must be owner/name."
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
