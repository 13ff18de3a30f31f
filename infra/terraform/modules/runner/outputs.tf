output "namespace" {
  description = "Namespace of the runner's ScaledJob."
  value       = local.namespace
}
