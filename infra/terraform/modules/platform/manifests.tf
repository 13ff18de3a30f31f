# The values this module gives the Helm charts and the Kubernetes objects it applies, as values: main.tf uses them, and
# tests/infra renders this file alone (with the variables) to check every Helm value against the pinned chart's
# defaults and every object against its CRD schema. Keep it to variables and locals: no resource references here.

locals {
  eso_namespace = "external-secrets"
  eso_ksa       = "external-secrets"

  helm_values = {
    cert_manager = {
      crds = { enabled = true }
      # Autopilot forbids writes to kube-system, cert-manager's default leader-election namespace.
      global = { leaderElection = { namespace = "cert-manager" } }
    }
    keda = {}
    external_secrets = {
      installCRDs = true
      serviceAccount = {
        name        = local.eso_ksa
        annotations = { "iam.gke.io/gcp-service-account" = var.external_secrets_gsa_email }
      }
    }
  }

  manifests = {
    cluster_secret_store = {
      apiVersion = "external-secrets.io/v1"
      kind       = "ClusterSecretStore"
      metadata   = { name = "gcp-secret-manager" }
      spec = {
        provider = {
          gcpsm = { projectID = var.project_id } # no auth block: the controller's own Workload Identity
        }
      }
    }
  }
}
