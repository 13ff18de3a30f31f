provider "google" {
  project = var.project_id
  region  = var.region
}

# The in-cluster providers (Helm releases, kubectl manifests) talk to the cluster this same configuration creates,
# through the control plane's DNS endpoint (IAM-authenticated, reachable from CI without opening the IP endpoint to
# the internet). `make deploy` creates the cluster in a first, targeted apply, so these have an endpoint to plan with.
data "google_client_config" "current" {}

locals {
  cluster_host = "https://${module.gke.dns_endpoint}"
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
  # One apply creates namespaces, CRDs (the operators' release manifests) and the objects that use them; the API
  # server needs a moment for each new CRD and namespace. Retry an apply that raced them instead of failing the run.
  apply_retry_count = 15
}
