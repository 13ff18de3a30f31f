# One service account per workload, each with only the roles it uses, plus the deployer that CI impersonates through
# Workload Identity Federation (no service account keys anywhere).

locals {
  accounts = {
    function         = "Enqueue function: Firestore, its three secrets"
    runner           = "Runner pods (Workload Identity): Firestore"
    scheduler        = "Cloud Scheduler: invokes the function's outbox relay route with an OIDC token"
    external_secrets = "External Secrets operator: reads the runner's and the broker's secrets"
    nodes            = "GKE Autopilot nodes: logs, metrics, image pulls"
    build            = "Cloud Build for the function's source"
    deployer         = "CI deployer (GitHub Actions through Workload Identity Federation)"
  }

  project_roles = {
    function = ["roles/datastore.user"]
    runner   = ["roles/datastore.user"]
    nodes = [
      "roles/logging.logWriter",
      "roles/monitoring.metricWriter",
      "roles/monitoring.viewer",
      "roles/stackdriver.resourceMetadata.writer",
      "roles/autoscaling.metricsWriter",
    ]
    build = [
      "roles/logging.logWriter",
      "roles/artifactregistry.writer",
      "roles/storage.objectViewer",
    ]
    # Everything `terraform apply` manages, and no more: no owner/editor. It manages IAM of the project, so it is
    # the one identity that must be guarded (only the main branch of one repository can impersonate it).
    deployer = [
      "roles/artifactregistry.admin",
      "roles/cloudfunctions.admin",
      "roles/run.admin",
      "roles/container.admin",
      "roles/compute.networkAdmin",
      "roles/compute.securityAdmin", # firewall rules are not part of networkAdmin
      "roles/vpcaccess.admin",
      "roles/secretmanager.admin",
      "roles/datastore.owner",
      "roles/cloudscheduler.admin",
      "roles/monitoring.editor",
      "roles/iam.serviceAccountAdmin",
      "roles/iam.workloadIdentityPoolAdmin",
      "roles/resourcemanager.projectIamAdmin",
      "roles/serviceusage.serviceUsageAdmin",
      "roles/storage.admin",
    ]
  }

  bindings = flatten([
    for account, roles in local.project_roles : [for role in roles : { account = account, role = role }]
  ])

  # Runtime accounts the deployer attaches to resources (actAs on each account, never project-wide).
  attached = ["function", "runner", "scheduler", "external_secrets", "nodes", "build"]
}

resource "terraform_data" "services" {
  input = var.service_ready
}

resource "google_service_account" "this" {
  for_each     = local.accounts
  project      = var.project_id
  account_id   = substr("${replace(var.name, "leadengine", "le")}-${replace(each.key, "_", "-")}", 0, 30)
  display_name = "LeadEngine ${each.key}"
  description  = each.value
  depends_on   = [terraform_data.services]
}

resource "google_project_iam_member" "this" {
  for_each = { for b in local.bindings : "${b.account}/${b.role}" => b }
  project  = var.project_id
  role     = each.value.role
  member   = google_service_account.this[each.value.account].member
}

# IAM grants are eventually consistent (Google documents up to a few minutes, usually under one). Whatever runs as one of
# these accounts right after the first apply (the cluster's nodes, the function's Cloud Build) waits for this, through
# the granted_* outputs, instead of failing on a role it does not have yet.
resource "time_sleep" "grants_propagate" {
  create_duration = "90s"
  triggers = {
    bindings = join(",", sort(keys(google_project_iam_member.this)))
  }
}

resource "google_service_account_iam_member" "deployer_acts_as" {
  for_each           = toset(local.attached)
  service_account_id = google_service_account.this[each.value].name
  role               = "roles/iam.serviceAccountUser"
  member             = google_service_account.this["deployer"].member
}

# GitHub Actions OIDC: only the main branch of var.github_repository may exchange its token.
resource "google_iam_workload_identity_pool" "github" {
  project                   = var.project_id
  workload_identity_pool_id = substr("${var.name}-github", 0, 32)
  display_name              = "GitHub Actions"
  depends_on                = [terraform_data.services]
}

resource "google_iam_workload_identity_pool_provider" "github" {
  #checkov:skip=CKV_GCP_125:False positive: the condition pins sub to repo:<owner/name>:ref:refs/heads/main, but checkov cannot resolve the module variable in it.
  project                            = var.project_id
  workload_identity_pool_id          = google_iam_workload_identity_pool.github.workload_identity_pool_id
  workload_identity_pool_provider_id = "github"
  display_name                       = "GitHub OIDC"
  attribute_mapping = {
    "google.subject"       = "assertion.sub"
    "attribute.repository" = "assertion.repository"
    "attribute.ref"        = "assertion.ref"
  }
  # The subject of a push to main, and nothing else (no pull requests, no other branches, no forks).
  attribute_condition = "assertion.sub == 'repo:${var.github_repository}:ref:refs/heads/main'"
  oidc {
    issuer_uri = "https://token.actions.githubusercontent.com"
  }
}

resource "google_service_account_iam_member" "deployer_wif" {
  service_account_id = google_service_account.this["deployer"].name
  role               = "roles/iam.workloadIdentityUser"
  member             = "principalSet://iam.googleapis.com/${google_iam_workload_identity_pool.github.name}/attribute.repository/${var.github_repository}"
}
