output "function_url" {
  description = "HTTPS URL of the enqueue function (the API's base URL)."
  value       = module.function.uri
}

output "image_repository" {
  description = "Artifact Registry repository the runner image is pushed to (<region>-docker.pkg.dev/<project>/<repo>)."
  value       = module.registry.repository_url
}

output "cluster_name" {
  description = "Name of the GKE Autopilot cluster that runs RabbitMQ, KEDA and the runners."
  value       = module.gke.name
}

output "broker_internal_address" {
  description = "Internal IP of the RabbitMQ load balancer (reached by the function through the VPC connector)."
  value       = module.rabbitmq.internal_lb_address
}

output "secret_ids" {
  description = "Secret Manager secret ids; add versions of api_keys and search_api_key with gcloud (docs/deploy.md)."
  value       = module.secrets.ids
}

output "deployer_service_account" {
  description = "Service account that CI impersonates through Workload Identity Federation."
  value       = module.iam.emails.deployer
}

output "workload_identity_provider" {
  description = "Full name of the GitHub OIDC provider, for google-github-actions/auth's workload_identity_provider."
  value       = module.iam.workload_identity_provider
}
