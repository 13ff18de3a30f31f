# Development: small, cheap, deletable. `make deploy ENV=dev` (TF_STATE_BUCKET set) applies this.
project_id          = "leadengine-dev"
region              = "europe-west1"
environment         = "dev"
firestore_location  = "eur3"
github_repository   = "leadengine/leadengine"
deletion_protection = false

function_invokers      = ["allUsers"] # dev API is public; the API keys still decide every call
function_min_instances = 0
function_max_instances = 5

runner_max_jobs         = 3
runner_exit_when_idle_s = 30
search_provider         = "serper"

rabbitmq_replicas  = 3
rabbitmq_resources = { cpu = "500m", memory = "1Gi", storage = "10Gi" }

backlog_alert_threshold     = 1000
alert_notification_channels = []
log_level                   = "debug"
