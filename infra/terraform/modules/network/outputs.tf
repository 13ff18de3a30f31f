output "network_id" {
  description = "Self link of the VPC."
  value       = google_compute_network.this.id
}

output "subnetwork_id" {
  description = "Self link of the subnet."
  value       = google_compute_subnetwork.this.id
}

output "subnetwork_name" {
  description = "Name of the subnet (for the internal load balancer annotation)."
  value       = google_compute_subnetwork.this.name
}

output "pods_range_name" {
  description = "Secondary range name for pods."
  value       = "pods"
}

output "services_range_name" {
  description = "Secondary range name for services."
  value       = "services"
}

output "connector_id" {
  description = "Serverless VPC Access connector id."
  value       = google_vpc_access_connector.this.id
}

output "broker_address" {
  description = "Reserved internal IP of the broker's load balancer."
  value       = google_compute_address.broker.address
}
