output "ids" {
  description = "Secret ids by key: rabbitmq_password, api_keys, search_api_key, relay_token, webhook_signing_key."
  value       = { for k, s in google_secret_manager_secret.this : k => s.secret_id }
}

output "relay_token" {
  description = "The generated relay token, for Cloud Scheduler's X-Relay-Token header."
  value       = random_password.relay_token.result
  sensitive   = true
}

output "rabbitmq_password_version" {
  description = "Secret Manager version id of the current RabbitMQ password (readers pin it, so a rotation reaches them)."
  value       = google_secret_manager_secret_version.rabbitmq_password.version
}
