variable "versions" {
  type = object({
    rabbitmq_cluster_operator  = string
    rabbitmq_topology_operator = string
    cert_manager               = string
    keda                       = string
    external_secrets           = string
  })
  description = "Pinned add-on versions (the two RabbitMQ operators are used here)."
  validation {
    condition     = startswith(var.versions.rabbitmq_cluster_operator, "v2.") && startswith(var.versions.rabbitmq_topology_operator, "v1.")
    error_message = "The cluster operator must be v2.x and the topology operator v1.x (Vhost.defaultQueueType)."
  }
}

variable "cert_manager_ready" {
  type        = string
  description = "cert-manager's release name once installed; the topology operator's webhook certificates need it."
  validation {
    condition     = length(var.cert_manager_ready) > 0
    error_message = "cert_manager_ready must not be empty."
  }
}

variable "cluster_store" {
  type        = string
  description = "ClusterSecretStore backed by Secret Manager."
  validation {
    condition     = length(var.cluster_store) > 0
    error_message = "cluster_store must not be empty."
  }
}

variable "namespace" {
  type        = string
  description = "Namespace of the RabbitmqCluster and its topology objects (the topology operator requires the same one)."
  validation {
    condition     = can(regex("^[a-z0-9-]{1,63}$", var.namespace))
    error_message = "namespace must be a Kubernetes name."
  }
}

variable "cluster_name" {
  type        = string
  description = "Name of the RabbitmqCluster (also its Service's name)."
  validation {
    condition     = can(regex("^[a-z0-9-]{1,40}$", var.cluster_name))
    error_message = "cluster_name must be a Kubernetes name."
  }
}

variable "vhost" {
  type        = string
  description = "The application's vhost (RABBITMQ_VHOST)."
  validation {
    condition     = length(var.vhost) > 0
    error_message = "vhost must not be empty."
  }
}

variable "user" {
  type        = string
  description = "The application's RabbitMQ user (RABBITMQ_USER)."
  validation {
    condition     = can(regex("^[a-z0-9-]{1,40}$", var.user))
    error_message = "user must be lowercase letters, digits and hyphens."
  }
}

variable "port" {
  type        = number
  description = "AMQP port (RABBITMQ_PORT)."
  validation {
    condition     = var.port >= 1 && var.port <= 65535
    error_message = "port must be a TCP port."
  }
}

variable "replicas" {
  type        = number
  description = "Broker nodes."
  validation {
    condition     = contains([1, 3, 5], var.replicas)
    error_message = "replicas must be 1, 3 or 5."
  }
}

variable "image" {
  type        = string
  description = "RabbitMQ 4.x image."
  validation {
    condition     = can(regex("rabbitmq:4\\.", var.image))
    error_message = "image must be RabbitMQ 4.x."
  }
}

variable "resources" {
  type = object({
    cpu     = string
    memory  = string
    storage = string
  })
  description = "Per-node CPU, memory and disk."
  validation {
    condition     = length(var.resources.cpu) > 0 && length(var.resources.memory) > 0 && length(var.resources.storage) > 0
    error_message = "resources must set cpu, memory and storage."
  }
}

variable "work_queue" {
  type        = string
  description = "The work queue (leadengine.topology.SCRAPE_JOBS) the dead-letter policy applies to, with its retry queues."
  validation {
    condition     = can(regex("^[A-Za-z0-9_.-]+$", var.work_queue))
    error_message = "work_queue must be a queue name."
  }
}

variable "password_secret_id" {
  type        = string
  description = "Secret Manager secret holding the application user's password."
  validation {
    condition     = length(var.password_secret_id) > 0
    error_message = "password_secret_id must not be empty."
  }
}

variable "internal_lb_address" {
  type        = string
  description = "Reserved internal IP of the broker's internal load balancer."
  validation {
    condition     = can(cidrhost("${var.internal_lb_address}/32", 0))
    error_message = "internal_lb_address must be an IPv4 address."
  }
}

variable "internal_lb_subnetwork_name" {
  type        = string
  description = "Subnet of the internal load balancer."
  validation {
    condition     = length(var.internal_lb_subnetwork_name) > 0
    error_message = "internal_lb_subnetwork_name must not be empty."
  }
}

variable "allowed_source_ranges" {
  type        = list(string)
  description = "Ranges allowed through the internal load balancer (the function's VPC connector); pods use the ClusterIP path."
  validation {
    condition     = length(var.allowed_source_ranges) > 0 && alltrue([for r in var.allowed_source_ranges : can(cidrhost(r, 0))])
    error_message = "allowed_source_ranges must be CIDR blocks."
  }
}

variable "dead_letter_queue" {
  type        = string
  description = "The dead-letter queue (leadengine.topology.FAILED_JOBS), read back by people: exempt from the delivery limit."
  validation {
    condition     = can(regex("^[A-Za-z0-9_.-]+$", var.dead_letter_queue))
    error_message = "dead_letter_queue must be a queue name."
  }
}

variable "delivery_limit" {
  type        = number
  description = "Quorum queue delivery-limit of the work queue and its retry queues (RabbitMQ 4.x defaults to 20)."
  validation {
    condition     = var.delivery_limit >= 1 && floor(var.delivery_limit) == var.delivery_limit
    error_message = "delivery_limit must be a whole number >= 1."
  }
}

variable "password_version" {
  type        = number
  description = "The RabbitMQ password's rotation counter: a new value recreates the credentials Secret and the User."
  validation {
    condition     = var.password_version >= 1 && floor(var.password_version) == var.password_version
    error_message = "password_version must be a whole number >= 1."
  }
}

variable "password_secret_version" {
  type        = string
  description = "Secret Manager version id of the password, so the credentials Secret holds exactly that version."
  validation {
    condition     = length(var.password_secret_version) > 0
    error_message = "password_secret_version must not be empty."
  }
}
