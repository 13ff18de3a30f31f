variable "project_id" {
  type        = string
  description = "Project of the secrets."
  validation {
    condition     = length(var.project_id) > 0
    error_message = "project_id must not be empty."
  }
}

variable "name" {
  type        = string
  description = "Prefix of the secret ids (leadengine-<env>)."
  validation {
    condition     = can(regex("^[a-z][a-z0-9-]{1,40}$", var.name))
    error_message = "name must be lowercase letters, digits and hyphens."
  }
}

variable "labels" {
  type        = map(string)
  description = "Labels of the secrets."
  validation {
    condition     = alltrue([for k, v in var.labels : length(k) > 0])
    error_message = "labels keys must not be empty."
  }
}

variable "accessors" {
  type        = map(list(string))
  description = "Secret key (rabbitmq_password, api_keys, search_api_key, relay_token, webhook_signing_key) => IAM members given secretAccessor on it."
  validation {
    condition     = alltrue([for k in keys(var.accessors) : contains(["rabbitmq_password", "api_keys", "search_api_key", "relay_token", "webhook_signing_key"], k)])
    error_message = "accessors keys must be secrets of this module."
  }
}

variable "rabbitmq_password_version" {
  type        = number
  description = "Bump to rotate the generated RabbitMQ password (write-only attributes change only when this does)."
  validation {
    condition     = var.rabbitmq_password_version >= 1 && floor(var.rabbitmq_password_version) == var.rabbitmq_password_version
    error_message = "rabbitmq_password_version must be a whole number >= 1."
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
