provider "google" {
  project = var.project_id
  region  = var.region
}

provider "google-beta" {
  project = var.project_id
  region  = var.region
}

# The Kubernetes-side providers talk to the cluster this same configuration creates, through the control plane's
# DNS endpoint (IAM-authenticated, reachable from CI without opening the IP endpoint to the internet).
data "google_client_config" "current" {}

locals {
  cluster_host = "https://${module.gke.dns_endpoint}"
}

provider "kubernetes" {
  host  = local.cluster_host
  token = data.google_client_config.current.access_token
}

provider "helm" {
  kubernetes = {
    host  = local.cluster_host
    token = data.google_client_config.current.access_token
  }
}

provider "kubectl" {
  host             = local.cluster_host
  token            = data.google_client_config.current.access_token
  load_config_file = false
}
