output "ids" {
  description = "Secret ids by key: rabbitmq_password, api_keys, search_api_key, relay_token."
  value       = { for k, s in google_secret_manager_secret.this : k => s.secret_id }
}

output "relay_token" {
  description = "The generated relay token, for Cloud Scheduler's X-Relay-Token header."
  value       = random_password.relay_token.result
  sensitive   = true
}
