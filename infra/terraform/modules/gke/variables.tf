variable "project_id" {
  type        = string
  description = "Project of the cluster."
  validation {
    condition     = length(var.project_id) > 0
    error_message = "project_id must not be empty."
  }
}

variable "region" {
  type        = string
  description = "Region of the (regional) Autopilot cluster."
  validation {
    condition     = can(regex("^[a-z]+-[a-z]+[0-9]+$", var.region))
    error_message = "region must look like europe-west1."
  }
}

variable "name" {
  type        = string
  description = "Cluster name."
  validation {
    condition     = can(regex("^[a-z][a-z0-9-]{1,39}$", var.name))
    error_message = "name must be at most 40 lowercase letters, digits and hyphens."
  }
}

variable "labels" {
  type        = map(string)
  description = "Cluster resource labels."
  validation {
    condition     = alltrue([for k, v in var.labels : length(k) > 0])
    error_message = "labels keys must not be empty."
  }
}

variable "network" {
  type        = string
  description = "VPC self link."
  validation {
    condition     = length(var.network) > 0
    error_message = "network must not be empty."
  }
}

variable "subnetwork" {
  type        = string
  description = "Subnet self link."
  validation {
    condition     = length(var.subnetwork) > 0
    error_message = "subnetwork must not be empty."
  }
}

variable "pods_range_name" {
  type        = string
  description = "Secondary range name for pods."
  validation {
    condition     = length(var.pods_range_name) > 0
    error_message = "pods_range_name must not be empty."
  }
}

variable "services_range_name" {
  type        = string
  description = "Secondary range name for services."
  validation {
    condition     = length(var.services_range_name) > 0
    error_message = "services_range_name must not be empty."
  }
}

variable "master_authorized_cidrs" {
  type = list(object({
    cidr = string
    name = string
  }))
  description = "Networks allowed on the control plane's IP endpoint."
  validation {
    condition     = alltrue([for n in var.master_authorized_cidrs : n.cidr != "0.0.0.0/0"])
    error_message = "0.0.0.0/0 is not an authorized network."
  }
}

variable "node_service_account" {
  type        = string
  description = "Email of the nodes' service account (least privilege instead of the Compute default account)."
  validation {
    condition     = endswith(var.node_service_account, ".iam.gserviceaccount.com")
    error_message = "node_service_account must be a service account email."
  }
}

variable "deletion_protection" {
  type        = bool
  description = "Refuse to delete the cluster."
  validation {
    condition     = var.deletion_protection != null
    error_message = "deletion_protection must be true or false."
  }
}
