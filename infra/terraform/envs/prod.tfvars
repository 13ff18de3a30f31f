# Production: protected from destroy, warm function, more runners, alerts routed to the on-call channel.
project_id          = "leadengine-prod"
region              = "europe-west1"
environment         = "prod"
firestore_location  = "eur3"
github_repository   = "leadengine/leadengine"
deletion_protection = true

# Callers authenticate to Cloud Run (X-Serverless-Authorization) AND with an API key (Authorization).
function_invokers      = ["serviceAccount:api-gateway@leadengine-prod.iam.gserviceaccount.com"]
function_min_instances = 1
function_max_instances = 50

runner_max_jobs         = 30
runner_exit_when_idle_s = 60
runner_resources        = { cpu = "1", memory = "2Gi" }
search_provider         = "serper"

rabbitmq_replicas  = 3
rabbitmq_resources = { cpu = "2", memory = "4Gi", storage = "50Gi" }

backlog_alert_threshold     = 1000
alert_notification_channels = ["projects/leadengine-prod/notificationChannels/oncall"]
log_level                   = "info"
