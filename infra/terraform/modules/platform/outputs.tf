output "cluster_secret_store" {
  description = "Name of the ClusterSecretStore backed by Secret Manager."
  value       = "gcp-secret-manager"
  depends_on  = [kubectl_manifest.cluster_secret_store]
}

output "keda_ready" {
  description = "KEDA's release name, once installed (ScaledJobs wait for its CRDs)."
  value       = helm_release.keda.name
}

output "cert_manager_ready" {
  description = "cert-manager's release name, once installed (the topology operator's webhooks need it)."
  value       = helm_release.cert_manager.name
}
