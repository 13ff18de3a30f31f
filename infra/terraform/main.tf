# LeadEngine on GCP: the enqueue function (Cloud Functions gen2) publishes to a three-node RabbitMQ on GKE Autopilot,
# runners scale from zero with KEDA on the length of scrape_jobs, jobs and leads live in Firestore.

locals {
  prefix = "leadengine-${var.environment}"
  labels = merge(var.labels, { app = "leadengine", environment = var.environment })

  # The queue KEDA watches: leadengine.topology.SCRAPE_JOBS, and its dead-letter queue leadengine.topology.FAILED_JOBS
  # (tests/infra checks they agree).
  work_queue        = "scrape_jobs"
  dead_letter_queue = "failed_jobs"

  rabbitmq = {
    namespace = "rabbitmq"
    cluster   = "leadengine"
    vhost     = "leadengine"
    user      = "leadengine"
    port      = 5672
  }
}

module "services" {
  source     = "./modules/project_services"
  project_id = var.project_id
}

module "network" {
  source         = "./modules/network"
  project_id     = var.project_id
  region         = var.region
  name           = local.prefix
  subnet_cidr    = var.subnet_cidr
  pods_cidr      = var.pods_cidr
  services_cidr  = var.services_cidr
  connector_cidr = var.connector_cidr
  service_ready  = module.services.ready
}

module "iam" {
  source            = "./modules/service_accounts"
  project_id        = var.project_id
  name              = local.prefix
  github_repository = var.github_repository
  service_ready     = module.services.ready
}

module "secrets" {
  source                    = "./modules/secrets"
  project_id                = var.project_id
  name                      = local.prefix
  labels                    = local.labels
  service_ready             = module.services.ready
  rabbitmq_password_version = var.rabbitmq_password_version
  # Who reads which secret at run time; nobody else does (Secret Manager IAM is per secret).
  accessors = {
    rabbitmq_password   = [module.iam.members.function, module.iam.members.external_secrets]
    api_keys            = [module.iam.members.function]
    relay_token         = [module.iam.members.function]
    search_api_key      = [module.iam.members.external_secrets]
    webhook_signing_key = [module.iam.members.function] # the relay route delivers the webhooks on GCP
  }
}

module "firestore" {
  source              = "./modules/firestore"
  project_id          = var.project_id
  location            = var.firestore_location
  deletion_protection = var.deletion_protection
  service_ready       = module.services.ready
}

module "registry" {
  source        = "./modules/artifact_registry"
  project_id    = var.project_id
  region        = var.region
  name          = local.prefix
  labels        = local.labels
  readers       = [module.iam.members.nodes]
  writers       = [module.iam.members.deployer]
  service_ready = module.services.ready
}

module "gke" {
  source                  = "./modules/gke"
  project_id              = var.project_id
  region                  = var.region
  name                    = local.prefix
  labels                  = local.labels
  network                 = module.network.network_id
  subnetwork              = module.network.subnetwork_id
  pods_range_name         = module.network.pods_range_name
  services_range_name     = module.network.services_range_name
  master_authorized_cidrs = var.master_authorized_cidrs
  node_service_account    = module.iam.granted_emails.nodes # after its roles: nodes log, pull and report from the start
  deletion_protection     = var.deletion_protection
}

module "platform" {
  source                     = "./modules/platform"
  project_id                 = var.project_id
  cluster_id                 = module.gke.cluster_id
  versions                   = var.operator_versions
  external_secrets_gsa_email = module.iam.emails.external_secrets
  external_secrets_gsa_name  = module.iam.names.external_secrets
  workload_identity_pool     = module.gke.workload_identity_pool
}

module "rabbitmq" {
  source                      = "./modules/rabbitmq"
  versions                    = var.operator_versions
  cert_manager_ready          = module.platform.cert_manager_ready
  cluster_store               = module.platform.cluster_secret_store
  namespace                   = local.rabbitmq.namespace
  cluster_name                = local.rabbitmq.cluster
  vhost                       = local.rabbitmq.vhost
  user                        = local.rabbitmq.user
  port                        = local.rabbitmq.port
  replicas                    = var.rabbitmq_replicas
  image                       = var.rabbitmq_image
  resources                   = var.rabbitmq_resources
  work_queue                  = local.work_queue
  dead_letter_queue           = local.dead_letter_queue
  delivery_limit              = var.rabbitmq_delivery_limit
  password_secret_id          = module.secrets.ids.rabbitmq_password
  password_version            = var.rabbitmq_password_version
  password_secret_version     = module.secrets.rabbitmq_password_version
  internal_lb_address         = module.network.broker_address
  internal_lb_subnetwork_name = module.network.subnetwork_name
  allowed_source_ranges       = [var.connector_cidr]
}

module "function" {
  source                = "./modules/function"
  project_id            = var.project_id
  region                = var.region
  name                  = "${local.prefix}-enqueue"
  labels                = local.labels
  source_zip            = var.function_source_zip
  service_account       = module.iam.emails.function
  build_service_account = module.iam.granted_ids.build # the build runs as it: its roles must be in place first
  vpc_connector         = module.network.connector_id
  min_instances         = var.function_min_instances
  max_instances         = var.function_max_instances
  memory                = var.function_memory
  invokers              = concat(var.function_invokers, [module.iam.members.scheduler])
  settings = {
    rabbitmq_host       = module.rabbitmq.internal_lb_address
    rabbitmq_port       = local.rabbitmq.port
    rabbitmq_user       = local.rabbitmq.user
    rabbitmq_vhost      = local.rabbitmq.vhost
    outbox_grace_s      = var.outbox_grace_s
    job_max_attempts    = var.job_max_attempts
    firestore_timeout_s = var.firestore_timeout_s
    log_level           = var.log_level
  }
  # Environment variable => Secret Manager secret, read by Cloud Run at instance start: the "latest" version, but the
  # broker password at the version the broker's user was made from (a rotation rolls out a new revision with it).
  secret_env = {
    RABBITMQ_PASSWORD   = module.secrets.ids.rabbitmq_password
    API_KEYS            = module.secrets.ids.api_keys
    RELAY_TOKEN         = module.secrets.ids.relay_token
    WEBHOOK_SIGNING_KEY = module.secrets.ids.webhook_signing_key
  }
  secret_versions = { RABBITMQ_PASSWORD = module.secrets.rabbitmq_password_version }
  depends_on      = [module.firestore, module.secrets]
}

module "relay_trigger" {
  source          = "./modules/relay_trigger"
  project_id      = var.project_id
  region          = var.region
  name            = "${local.prefix}-outbox-relay"
  schedule        = var.relay_schedule
  function_uri    = module.function.uri
  service_account = module.iam.emails.scheduler
  relay_token     = module.secrets.relay_token
}

module "runner" {
  source                 = "./modules/runner"
  project_id             = var.project_id
  image                  = "${module.registry.repository_url}/runner:${var.runner_image_tag}"
  gsa_email              = module.iam.emails.runner
  gsa_name               = module.iam.names.runner
  workload_identity_pool = module.gke.workload_identity_pool
  cluster_store          = module.platform.cluster_secret_store
  keda_ready             = module.platform.keda_ready
  work_queue             = local.work_queue
  max_jobs               = var.runner_max_jobs
  exit_when_idle_s       = var.runner_exit_when_idle_s
  resources              = var.runner_resources
  settings = {
    rabbitmq_host           = module.rabbitmq.service_host
    rabbitmq_port           = local.rabbitmq.port
    rabbitmq_user           = local.rabbitmq.user
    rabbitmq_vhost          = local.rabbitmq.vhost
    search_provider         = var.search_provider
    search_engine_id        = var.search_engine_id
    job_max_attempts        = var.job_max_attempts
    job_timeout_s           = var.job_timeout_s
    runner_shutdown_grace_s = var.runner_shutdown_grace_s
    log_level               = var.log_level
  }
  # Environment variable => Secret Manager secret, synced into a Kubernetes Secret by External Secrets (the password
  # pinned to the broker user's version, as for the function).
  secret_env = {
    RABBITMQ_PASSWORD = module.secrets.ids.rabbitmq_password
    SEARCH_API_KEY    = module.secrets.ids.search_api_key
  }
  secret_versions = { RABBITMQ_PASSWORD = module.secrets.rabbitmq_password_version }
  depends_on      = [module.rabbitmq]
}

module "monitoring" {
  source                = "./modules/monitoring"
  project_id            = var.project_id
  environment           = var.environment
  namespace             = local.rabbitmq.namespace
  cluster_name          = local.rabbitmq.cluster
  vhost                 = local.rabbitmq.vhost
  work_queue            = local.work_queue
  threshold             = var.backlog_alert_threshold
  notification_channels = var.alert_notification_channels
  depends_on            = [module.rabbitmq]
}
