output "emails" {
  description = "Service account emails by role (function, runner, scheduler, external_secrets, nodes, build, deployer)."
  value       = { for k, sa in google_service_account.this : k => sa.email }
}

output "members" {
  description = "IAM members (serviceAccount:<email>) by role."
  value       = { for k, sa in google_service_account.this : k => sa.member }
}

output "names" {
  description = "Fully qualified service account names (projects/P/serviceAccounts/E) by role."
  value       = { for k, sa in google_service_account.this : k => sa.name }
}

output "ids" {
  description = "Service account ids usable as build_config.service_account (projects/P/serviceAccounts/E)."
  value       = { for k, sa in google_service_account.this : k => sa.id }
}

output "workload_identity_provider" {
  description = "Full name of the GitHub OIDC provider."
  value       = google_iam_workload_identity_pool_provider.github.name
}

output "granted_emails" {
  description = "Service account emails, available once each account's project roles are granted and have propagated."
  value       = { for k, sa in google_service_account.this : k => sa.email }
  depends_on  = [time_sleep.grants_propagate]
}

output "granted_ids" {
  description = "Service account ids (projects/P/serviceAccounts/E), available once the project roles have propagated."
  value       = { for k, sa in google_service_account.this : k => sa.id }
  depends_on  = [time_sleep.grants_propagate]
}
