output "repository_url" {
  description = "<region>-docker.pkg.dev/<project>/<repo>, the prefix of image names."
  value       = "${var.region}-docker.pkg.dev/${var.project_id}/${google_artifact_registry_repository.this.repository_id}"
}
