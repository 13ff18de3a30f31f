variable "project_id" {
  type        = string
  description = "Project of the network."
  validation {
    condition     = length(var.project_id) > 0
    error_message = "project_id must not be empty."
  }
}

variable "region" {
  type        = string
  description = "Region of the subnet, router, connector and address."
  validation {
    condition     = can(regex("^[a-z]+-[a-z]+[0-9]+$", var.region))
    error_message = "region must look like europe-west1."
  }
}

variable "name" {
  type        = string
  description = "Name (prefix) of the network resources."
  validation {
    condition     = can(regex("^[a-z][a-z0-9-]{1,40}$", var.name))
    error_message = "name must be lowercase letters, digits and hyphens."
  }
}

variable "subnet_cidr" {
  type        = string
  description = "Primary range of the subnet."
  validation {
    condition     = can(cidrhost(var.subnet_cidr, 0))
    error_message = "subnet_cidr must be a CIDR block."
  }
}

variable "pods_cidr" {
  type        = string
  description = "Secondary range for pods."
  validation {
    condition     = can(cidrhost(var.pods_cidr, 0))
    error_message = "pods_cidr must be a CIDR block."
  }
}

variable "services_cidr" {
  type        = string
  description = "Secondary range for services."
  validation {
    condition     = can(cidrhost(var.services_cidr, 0))
    error_message = "services_cidr must be a CIDR block."
  }
}

variable "connector_cidr" {
  type        = string
  description = "/28 of the Serverless VPC Access connector."
  validation {
    condition     = endswith(var.connector_cidr, "/28")
    error_message = "connector_cidr must be a /28."
  }
}

variable "service_ready" {
  type        = list(string)
  description = "Enabled APIs (from the project_services module), to order creation after them."
  validation {
    condition     = length(var.service_ready) > 0
    error_message = "service_ready must list the enabled APIs."
  }
}
