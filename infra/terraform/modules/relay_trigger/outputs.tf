output "job_name" {
  description = "Name of the Cloud Scheduler job."
  value       = google_cloud_scheduler_job.relay.name
}
