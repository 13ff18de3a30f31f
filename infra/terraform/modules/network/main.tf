# A private network: GKE Autopilot with private nodes, Cloud NAT for the runners' outbound scraping, a Serverless VPC
# Access connector for the function, and a reserved internal IP for the broker's internal load balancer.

resource "google_compute_network" "this" {
  project                 = var.project_id
  name                    = var.name
  auto_create_subnetworks = false
  depends_on              = [terraform_data.services]
}

# Carries the API-enablement dependency into this module without a module-level depends_on (which would defer reads).
resource "terraform_data" "services" {
  input = var.service_ready
}

# Explicit, logged deny of all other ingress (GKE and the VPC connector add their own narrower allow rules above it).
resource "google_compute_firewall" "deny_ingress" {
  project   = var.project_id
  name      = "${var.name}-deny-ingress"
  network   = google_compute_network.this.id
  direction = "INGRESS"
  priority  = 65534

  deny {
    protocol = "all"
  }
  source_ranges = ["0.0.0.0/0"]

  log_config {
    metadata = "INCLUDE_ALL_METADATA"
  }
}

resource "google_compute_subnetwork" "this" {
  project                  = var.project_id
  name                     = var.name
  region                   = var.region
  network                  = google_compute_network.this.id
  ip_cidr_range            = var.subnet_cidr
  private_ip_google_access = true

  secondary_ip_range {
    range_name    = "pods"
    ip_cidr_range = var.pods_cidr
  }
  secondary_ip_range {
    range_name    = "services"
    ip_cidr_range = var.services_cidr
  }

  log_config {
    aggregation_interval = "INTERVAL_10_MIN"
    flow_sampling        = 0.5
    metadata             = "INCLUDE_ALL_METADATA"
  }
}

resource "google_compute_router" "this" {
  project = var.project_id
  name    = var.name
  region  = var.region
  network = google_compute_network.this.id
}

# Runners fetch company websites and search APIs on the internet; private nodes need NAT for that.
resource "google_compute_router_nat" "this" {
  project                            = var.project_id
  name                               = var.name
  region                             = var.region
  router                             = google_compute_router.this.name
  nat_ip_allocate_option             = "AUTO_ONLY"
  source_subnetwork_ip_ranges_to_nat = "ALL_SUBNETWORKS_ALL_IP_RANGES"

  log_config {
    enable = true
    filter = "ERRORS_ONLY"
  }
}

# The function reaches the broker's internal load balancer through this connector (private ranges only).
resource "google_vpc_access_connector" "this" {
  project       = var.project_id
  name          = substr(replace(var.name, "leadengine", "le"), 0, 25)
  region        = var.region
  network       = google_compute_network.this.name
  ip_cidr_range = var.connector_cidr
  machine_type  = "e2-micro"
  min_instances = 2
  max_instances = 3
}

# A stable internal IP for RabbitMQ's internal load balancer, so the function's RABBITMQ_HOST is known at plan time.
resource "google_compute_address" "broker" {
  project      = var.project_id
  name         = "${var.name}-rabbitmq"
  region       = var.region
  subnetwork   = google_compute_subnetwork.this.id
  address_type = "INTERNAL"
}
