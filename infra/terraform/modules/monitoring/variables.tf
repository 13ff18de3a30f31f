variable "project_id" {
  type        = string
  description = "Project of the alert policy."
  validation {
    condition     = length(var.project_id) > 0
    error_message = "project_id must not be empty."
  }
}

variable "environment" {
  type        = string
  description = "Environment name shown in the alert."
  validation {
    condition     = length(var.environment) > 0
    error_message = "environment must not be empty."
  }
}

variable "namespace" {
  type        = string
  description = "Namespace of the RabbitmqCluster."
  validation {
    condition     = length(var.namespace) > 0
    error_message = "namespace must not be empty."
  }
}

variable "cluster_name" {
  type        = string
  description = "Name of the RabbitmqCluster (its pods' app.kubernetes.io/name)."
  validation {
    condition     = length(var.cluster_name) > 0
    error_message = "cluster_name must not be empty."
  }
}

variable "vhost" {
  type        = string
  description = "The application's vhost."
  validation {
    condition     = length(var.vhost) > 0
    error_message = "vhost must not be empty."
  }
}

variable "work_queue" {
  type        = string
  description = "The queue whose backlog is watched (leadengine.topology.SCRAPE_JOBS)."
  validation {
    condition     = length(var.work_queue) > 0
    error_message = "work_queue must not be empty."
  }
}

variable "threshold" {
  type        = number
  description = "Ready messages above which the alert fires."
  validation {
    condition     = var.threshold >= 1
    error_message = "threshold must be at least 1."
  }
}

variable "notification_channels" {
  type        = list(string)
  description = "Notification channel ids."
  validation {
    condition     = alltrue([for c in var.notification_channels : startswith(c, "projects/")])
    error_message = "notification_channels must be projects/P/notificationChannels/N ids."
  }
}
