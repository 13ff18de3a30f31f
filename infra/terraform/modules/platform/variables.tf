variable "project_id" {
  type        = string
  description = "Project whose Secret Manager the ClusterSecretStore reads."
  validation {
    condition     = length(var.project_id) > 0
    error_message = "project_id must not be empty."
  }
}

variable "cluster_id" {
  type        = string
  description = "Id of the cluster the add-ons go into (orders them after its creation)."
  validation {
    condition     = length(var.cluster_id) > 0
    error_message = "cluster_id must not be empty."
  }
}

variable "versions" {
  type = object({
    rabbitmq_cluster_operator  = string
    rabbitmq_topology_operator = string
    cert_manager               = string
    keda                       = string
    external_secrets           = string
  })
  description = "Pinned add-on versions."
  validation {
    condition     = alltrue([for v in values(var.versions) : can(regex("^v?[0-9]+\\.[0-9]+\\.[0-9]+$", v))])
    error_message = "versions must be exact x.y.z versions."
  }
}

variable "external_secrets_gsa_email" {
  type        = string
  description = "Email of the Google service account External Secrets acts as."
  validation {
    condition     = endswith(var.external_secrets_gsa_email, ".iam.gserviceaccount.com")
    error_message = "external_secrets_gsa_email must be a service account email."
  }
}

variable "external_secrets_gsa_name" {
  type        = string
  description = "Full name (projects/P/serviceAccounts/E) of that service account."
  validation {
    condition     = startswith(var.external_secrets_gsa_name, "projects/")
    error_message = "external_secrets_gsa_name must be projects/P/serviceAccounts/E."
  }
}

variable "workload_identity_pool" {
  type        = string
  description = "The cluster's Workload Identity pool (<project>.svc.id.goog)."
  validation {
    condition     = endswith(var.workload_identity_pool, ".svc.id.goog")
    error_message = "workload_identity_pool must end in .svc.id.goog."
  }
}
