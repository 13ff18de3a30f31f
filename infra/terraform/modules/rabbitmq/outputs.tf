output "service_host" {
  description = "In-cluster DNS name of the broker (the runners' RABBITMQ_HOST), once the user and its permissions exist."
  value       = local.service_host
  depends_on  = [kubectl_manifest.permission]
}

output "internal_lb_address" {
  description = "Internal IP of the broker's load balancer (the function's RABBITMQ_HOST), once the user and its permissions exist."
  value       = var.internal_lb_address
  depends_on  = [kubectl_manifest.cluster, kubectl_manifest.permission]
}
