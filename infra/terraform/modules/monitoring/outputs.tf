output "backlog_alert_policy" {
  description = "Name of the backlog alert policy."
  value       = google_monitoring_alert_policy.backlog.name
}
