output "ready" {
  description = "The enabled services; depend on this before creating resources of those APIs."
  value       = [for s in google_project_service.this : s.service]
}
