output "name" {
  description = "Cluster name."
  value       = google_container_cluster.this.name
}

output "cluster_id" {
  description = "Cluster id; modules that install into the cluster depend on it."
  value       = google_container_cluster.this.id
}

output "dns_endpoint" {
  description = "The control plane's DNS endpoint (IAM-authenticated)."
  value       = google_container_cluster.this.control_plane_endpoints_config[0].dns_endpoint_config[0].endpoint
}

output "workload_identity_pool" {
  description = "The cluster's Workload Identity pool (<project>.svc.id.goog)."
  value       = "${var.project_id}.svc.id.goog"
  # The pool exists only once the cluster does: IAM bindings on it must wait for the cluster.
  depends_on = [google_container_cluster.this]
}
