# Inputs of the root module. Every input has a type, a description and a validation (STYLE.md habit 10).

variable "project_id" {
  type        = string
  description = "The GCP project everything is created in."
  validation {
    condition     = can(regex("^[a-z][a-z0-9-]{4,28}[a-z0-9]$", var.project_id))
    error_message = "project_id must be a GCP project id: 6-30 lowercase letters, digits or hyphens."
  }
}

variable "region" {
  type        = string
  description = "Region of the function, the cluster, the network and the registry."
  validation {
    condition     = can(regex("^[a-z]+-[a-z]+[0-9]+$", var.region))
    error_message = "region must look like europe-west1 or us-central1."
  }
}

variable "environment" {
  type        = string
  description = "Environment name; also the suffix of resource names and a label."
  validation {
    condition     = contains(["dev", "staging", "prod"], var.environment)
    error_message = "environment must be dev, staging or prod."
  }
}

variable "labels" {
  type        = map(string)
  description = "Extra labels on every labelled resource."
  default     = {}
  validation {
    condition     = alltrue([for k, v in var.labels : can(regex("^[a-z][a-z0-9_-]{0,62}$", k)) && can(regex("^[a-z0-9_-]{0,63}$", v))])
    error_message = "labels keys and values must be lowercase GCP label syntax (keys start with a letter, at most 63 characters)."
  }
}

variable "firestore_location" {
  type        = string
  description = "Firestore location: a multi-region (nam5, eur3) or a region. Cannot be changed after creation."
  validation {
    condition     = can(regex("^[a-z0-9-]+$", var.firestore_location))
    error_message = "firestore_location must be a Firestore location id such as eur3, nam5 or europe-west1."
  }
}

variable "deletion_protection" {
  type        = bool
  description = "Protect the cluster and the Firestore database from `terraform destroy` (true in prod)."
  default     = true
  validation {
    condition     = var.deletion_protection != null
    error_message = "deletion_protection must be true or false."
  }
}

# --- Network ---------------------------------------------------------------------------------------------------

variable "subnet_cidr" {
  type        = string
  description = "Primary range of the subnet (cluster nodes and the broker's internal load balancer)."
  default     = "10.10.0.0/20"
  validation {
    condition     = can(cidrhost(var.subnet_cidr, 0))
    error_message = "subnet_cidr must be an IPv4 CIDR block."
  }
}

variable "pods_cidr" {
  type        = string
  description = "Secondary range for GKE pods."
  default     = "10.20.0.0/14"
  validation {
    condition     = can(cidrhost(var.pods_cidr, 0))
    error_message = "pods_cidr must be an IPv4 CIDR block."
  }
}

variable "services_cidr" {
  type        = string
  description = "Secondary range for GKE services."
  default     = "10.24.0.0/20"
  validation {
    condition     = can(cidrhost(var.services_cidr, 0))
    error_message = "services_cidr must be an IPv4 CIDR block."
  }
}

variable "connector_cidr" {
  type        = string
  description = "A /28 for the Serverless VPC Access connector that carries the function's traffic to the broker."
  default     = "10.30.0.0/28"
  validation {
    condition     = can(cidrhost(var.connector_cidr, 0)) && endswith(var.connector_cidr, "/28")
    error_message = "connector_cidr must be an IPv4 /28 block."
  }
}

variable "master_authorized_cidrs" {
  type = list(object({
    cidr = string
    name = string
  }))
  description = "Networks allowed on the control plane's IP endpoint. CI uses the IAM-authenticated DNS endpoint instead, so this can stay empty."
  default     = []
  validation {
    condition     = alltrue([for n in var.master_authorized_cidrs : can(cidrhost(n.cidr, 0)) && n.cidr != "0.0.0.0/0"])
    error_message = "master_authorized_cidrs entries must be IPv4 CIDR blocks, and not 0.0.0.0/0."
  }
}

# --- The enqueue function --------------------------------------------------------------------------------------

variable "function_source_zip" {
  type        = string
  description = "Path of the function's source zip built by `make package` (main.py, the leadengine package, requirements.txt)."
  default     = "../../build/function.zip"
  validation {
    condition     = endswith(var.function_source_zip, ".zip")
    error_message = "function_source_zip must be the path of a .zip file."
  }
}

variable "function_invokers" {
  type        = list(string)
  description = "Required: IAM members allowed to invoke the function (roles/run.invoker), members that exist. [] means private; [\"allUsers\"] makes the API public (the API keys still apply)."
  validation {
    condition     = alltrue([for m in var.function_invokers : can(regex("^(allUsers|allAuthenticatedUsers|(user|serviceAccount|group|domain|principal|principalSet):.+)$", m))])
    error_message = "function_invokers entries must be IAM members such as serviceAccount:gw@p.iam.gserviceaccount.com or allUsers."
  }
  validation {
    # Names that only stand in for a real member: an invoker nobody created fails the apply, or worse, a name someone
    # else can create later is granted access.
    condition     = alltrue([for m in var.function_invokers : !can(regex("(?i)(example|placeholder|changeme|change-me|replace|todo|xxx|<|>|api-gateway@)", m))])
    error_message = "function_invokers holds a placeholder: give the real members (docs/deploy.md, \"Inputs only you know\")."
  }
}

variable "function_min_instances" {
  type        = number
  description = "Instances kept warm (0 scales to zero; 1 avoids cold starts on the API)."
  default     = 0
  validation {
    condition     = var.function_min_instances >= 0 && var.function_min_instances <= 100 && floor(var.function_min_instances) == var.function_min_instances
    error_message = "function_min_instances must be a whole number from 0 to 100."
  }
}

variable "function_max_instances" {
  type        = number
  description = "Upper bound on function instances (also bounds the connections to the broker and Firestore)."
  default     = 20
  validation {
    condition     = var.function_max_instances >= 1 && var.function_max_instances <= 1000 && floor(var.function_max_instances) == var.function_max_instances
    error_message = "function_max_instances must be a whole number from 1 to 1000."
  }
}

variable "function_memory" {
  type        = string
  description = "Memory of one function instance."
  default     = "512M"
  validation {
    condition     = can(regex("^[0-9]+(M|Mi|G|Gi)$", var.function_memory))
    error_message = "function_memory must look like 256M, 512M or 1Gi."
  }
}

variable "outbox_grace_s" {
  type        = number
  description = "OUTBOX_GRACE_S: a pending job younger than this is left to the request that is publishing it."
  default     = 10
  validation {
    condition     = var.outbox_grace_s >= 0 && var.outbox_grace_s <= 3600
    error_message = "outbox_grace_s must be between 0 and 3600 seconds."
  }
}

variable "firestore_timeout_s" {
  type        = number
  description = "FIRESTORE_TIMEOUT_S: per-call Firestore deadline, so an outage becomes a quick 503."
  default     = 5
  validation {
    condition     = var.firestore_timeout_s > 0 && var.firestore_timeout_s <= 60
    error_message = "firestore_timeout_s must be more than 0 and at most 60 seconds."
  }
}

variable "relay_schedule" {
  type        = string
  description = "Cron schedule of the Cloud Scheduler job that calls the function's outbox relay route."
  default     = "* * * * *"
  validation {
    condition     = length(split(" ", trimspace(var.relay_schedule))) == 5
    error_message = "relay_schedule must be a five-field cron expression, e.g. \"* * * * *\"."
  }
}

variable "log_level" {
  type        = string
  description = "LOG_LEVEL of the function and the runner."
  default     = "info"
  validation {
    condition     = contains(["debug", "info", "warning", "error"], var.log_level)
    error_message = "log_level must be debug, info, warning or error."
  }
}

# --- The runner ------------------------------------------------------------------------------------------------

variable "runner_image_tag" {
  type        = string
  description = "Tag of the runner image in Artifact Registry (make deploy passes the git sha it built and pushed)."
  validation {
    condition     = can(regex("^[A-Za-z0-9_][A-Za-z0-9_.-]{0,127}$", var.runner_image_tag))
    error_message = "runner_image_tag must be a Docker tag: letters, digits, _ . -, at most 128 characters."
  }
}

variable "runner_max_jobs" {
  type        = number
  description = "KEDA ScaledJob maxReplicaCount: at most this many runner pods at once (min is 0)."
  default     = 10
  validation {
    condition     = var.runner_max_jobs >= 1 && var.runner_max_jobs <= 1000 && floor(var.runner_max_jobs) == var.runner_max_jobs
    error_message = "runner_max_jobs must be a whole number from 1 to 1000."
  }
}

variable "runner_exit_when_idle_s" {
  type        = number
  description = "The runner's --exit-when-idle: seconds of empty queue after which a runner pod exits 0."
  default     = 30
  validation {
    condition     = var.runner_exit_when_idle_s >= 1 && var.runner_exit_when_idle_s <= 3600
    error_message = "runner_exit_when_idle_s must be between 1 and 3600 seconds."
  }
}

variable "job_timeout_s" {
  type        = number
  description = "JOB_TIMEOUT_S: the longest one attempt of a job may run (the code's default is 600; at most 1700, under the broker's consumer_timeout)."
  default     = 600
  validation {
    condition     = var.job_timeout_s >= 1 && var.job_timeout_s <= 1700
    error_message = "job_timeout_s must be between 1 and 1700 seconds (RabbitMQ's consumer_timeout is 1800 s)."
  }
}

variable "runner_shutdown_grace_s" {
  type        = number
  description = "RUNNER_SHUTDOWN_GRACE_S: time a runner gets on SIGTERM to finish its job before handing it back; at least job_timeout_s, so a drain never cuts a job that could finish. The pod's grace period is this plus 30 s."
  default     = 600
  validation {
    condition     = var.runner_shutdown_grace_s >= var.job_timeout_s && var.runner_shutdown_grace_s <= 3570
    error_message = "runner_shutdown_grace_s must be at least job_timeout_s and at most 3570 s (GKE grants at most one hour to a drained pod; the pod's grace period adds 30 s)."
  }
}

variable "runner_resources" {
  type = object({
    cpu    = string
    memory = string
  })
  description = "CPU and memory requested by one runner pod (Autopilot bills requests)."
  default     = { cpu = "500m", memory = "1Gi" }
  validation {
    condition     = can(regex("^[0-9]+(m|\\.[0-9]+)?$", var.runner_resources.cpu)) && can(regex("^[0-9]+(Mi|Gi)$", var.runner_resources.memory))
    error_message = "runner_resources must be Kubernetes quantities, e.g. { cpu = \"500m\", memory = \"1Gi\" }."
  }
}

variable "job_max_attempts" {
  type        = number
  description = "JOB_MAX_ATTEMPTS: deliveries of one job before it is failed and dead-lettered."
  default     = 3
  validation {
    condition     = var.job_max_attempts >= 1 && var.job_max_attempts <= 100 && floor(var.job_max_attempts) == var.job_max_attempts
    error_message = "job_max_attempts must be a whole number from 1 to 100."
  }
}

variable "search_provider" {
  type        = string
  description = "SEARCH_PROVIDER of the runner; its key goes into the Secret Manager secret SEARCH_API_KEY."
  default     = "serper"
  validation {
    condition     = contains(["serper", "brave", "serpapi", "google_cse"], var.search_provider)
    error_message = "search_provider must be serper, brave, serpapi or google_cse."
  }
}

variable "search_engine_id" {
  type        = string
  description = "SEARCH_ENGINE_ID (Google's cx), needed only with search_provider = google_cse."
  default     = ""
  validation {
    condition     = var.search_provider != "google_cse" || length(var.search_engine_id) > 0
    error_message = "search_engine_id is required when search_provider is google_cse."
  }
}

# --- RabbitMQ --------------------------------------------------------------------------------------------------

variable "rabbitmq_replicas" {
  type        = number
  description = "Nodes of the RabbitmqCluster. 3 tolerates the loss of one node with quorum queues; 1 only for throwaway environments."
  default     = 3
  validation {
    condition     = contains([1, 3, 5], var.rabbitmq_replicas)
    error_message = "rabbitmq_replicas must be 1, 3 or 5 (quorum queues need an odd number of members)."
  }
}

variable "rabbitmq_image" {
  type        = string
  description = "RabbitMQ image. 4.x applies the vhost's default queue type to declarations without x-queue-type."
  default     = "rabbitmq:4.1.4-management"
  validation {
    condition     = can(regex("^([a-z0-9.-]+/)*rabbitmq:4\\.[0-9]+(\\.[0-9]+)?(-management)?$", var.rabbitmq_image))
    error_message = "rabbitmq_image must be a RabbitMQ 4.x image, e.g. rabbitmq:4.1.4-management."
  }
}

variable "rabbitmq_delivery_limit" {
  type        = number
  description = "Quorum queue delivery-limit of scrape_jobs and its retry queues, set by policy (RabbitMQ 4.x's implicit default is 20). A backstop above job_max_attempts: docs/deploy.md, \"Delivery limit\"."
  default     = 20
  validation {
    condition     = var.rabbitmq_delivery_limit > var.job_max_attempts + 2 && var.rabbitmq_delivery_limit <= 1000 && floor(var.rabbitmq_delivery_limit) == var.rabbitmq_delivery_limit
    error_message = "rabbitmq_delivery_limit must be a whole number above job_max_attempts + 2 (room for hand-backs that are not attempts), at most 1000."
  }
}

variable "rabbitmq_password_version" {
  type        = number
  description = "Rotation counter of the generated RabbitMQ password: bump it and `make deploy` to rotate (docs/deploy.md, \"Rotating the broker password\")."
  default     = 1
  validation {
    condition     = var.rabbitmq_password_version >= 1 && floor(var.rabbitmq_password_version) == var.rabbitmq_password_version
    error_message = "rabbitmq_password_version must be a whole number >= 1."
  }
}

variable "rabbitmq_resources" {
  type = object({
    cpu     = string
    memory  = string
    storage = string
  })
  description = "Per-node CPU, memory and persistent disk of the broker."
  default     = { cpu = "1", memory = "2Gi", storage = "20Gi" }
  validation {
    condition = (
      can(regex("^[0-9]+(m|\\.[0-9]+)?$", var.rabbitmq_resources.cpu)) &&
      can(regex("^[0-9]+(Mi|Gi)$", var.rabbitmq_resources.memory)) &&
      can(regex("^[0-9]+Gi$", var.rabbitmq_resources.storage))
    )
    error_message = "rabbitmq_resources must be Kubernetes quantities, e.g. { cpu = \"1\", memory = \"2Gi\", storage = \"20Gi\" }."
  }
}

variable "operator_versions" {
  type = object({
    rabbitmq_cluster_operator  = string
    rabbitmq_topology_operator = string
    cert_manager               = string
    keda                       = string
    external_secrets           = string
  })
  description = "Pinned releases of the cluster add-ons (GitHub release tags of the RabbitMQ operators, Helm chart versions of the rest)."
  default = {
    rabbitmq_cluster_operator  = "v2.16.0"
    rabbitmq_topology_operator = "v1.17.2"
    cert_manager               = "v1.18.2"
    keda                       = "2.17.2"
    external_secrets           = "0.19.2"
  }
  validation {
    condition = alltrue([
      for v in values(var.operator_versions) : can(regex("^v?[0-9]+\\.[0-9]+\\.[0-9]+$", v))
    ])
    error_message = "operator_versions must be exact versions (x.y.z, optionally with a leading v), never ranges."
  }
}

# --- Monitoring ------------------------------------------------------------------------------------------------

variable "backlog_alert_threshold" {
  type        = number
  description = "Alert when scrape_jobs holds more than this many ready messages (the seed's threshold is 1000)."
  default     = 1000
  validation {
    condition     = var.backlog_alert_threshold >= 1
    error_message = "backlog_alert_threshold must be at least 1."
  }
}

variable "alert_notification_channels" {
  type        = list(string)
  description = "Required: Cloud Monitoring notification channel ids (projects/P/notificationChannels/N, N the channel's number) for the alerts; [] sends them nowhere."
  validation {
    # Channel ids are numbers (gcloud beta monitoring channels list): a name such as .../oncall is a placeholder.
    condition     = alltrue([for c in var.alert_notification_channels : can(regex("^projects/[a-z][a-z0-9-]{4,28}[a-z0-9]/notificationChannels/[0-9]+$", c))])
    error_message = "alert_notification_channels entries must be real channel ids, projects/P/notificationChannels/<number>."
  }
}

# --- CI --------------------------------------------------------------------------------------------------------

variable "github_repository" {
  type        = string
  description = "owner/name of the GitHub repository whose main-branch workflow may deploy (Workload Identity Federation)."
  validation {
    condition     = can(regex("^[A-Za-z0-9_.-]+/[A-Za-z0-9_.-]+$", var.github_repository))
    error_message = "github_repository must be owner/name."
  }
}
