variable "project_id" {
  type        = string
  description = "Project of the database."
  validation {
    condition     = length(var.project_id) > 0
    error_message = "project_id must not be empty."
  }
}

variable "location" {
  type        = string
  description = "Firestore location id (nam5, eur3 or a region)."
  validation {
    condition     = can(regex("^[a-z0-9-]+$", var.location))
    error_message = "location must be a Firestore location id."
  }
}

variable "deletion_protection" {
  type        = bool
  description = "Refuse to delete the database."
  validation {
    condition     = var.deletion_protection != null
    error_message = "deletion_protection must be true or false."
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
