# Production: protected from destroy, warm function, more runners, alerts routed to your on-call channel.
project_id          = "leadengine-prod"
region              = "europe-west1"
environment         = "prod"
firestore_location  = "eur3"
github_repository   = "leadengine/leadengine"
deletion_protection = true

# function_invokers and alert_notification_channels are required and deliberately not in this file: they name things
# that only exist in your organisation (the callers' accounts, the on-call channel's number). Put them in
# envs/prod.local.tfvars (git-ignored; `make` passes it when it exists) or TF_VAR_function_invokers and
# TF_VAR_alert_notification_channels; the variables' validations reject placeholders. docs/deploy.md says more.
# Callers authenticate to Cloud Run (X-Serverless-Authorization) AND with an API key (Authorization).
function_min_instances = 1
function_max_instances = 50

runner_max_jobs         = 30
runner_exit_when_idle_s = 60
runner_resources        = { cpu = "1", memory = "2Gi" }
search_provider         = "serper"

rabbitmq_replicas  = 3
rabbitmq_resources = { cpu = "2", memory = "4Gi", storage = "50Gi" }

backlog_alert_threshold = 1000
log_level               = "info"
