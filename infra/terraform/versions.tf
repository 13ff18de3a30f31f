# Bounded provider versions: a new major version of any of them is a deliberate upgrade, never a surprise in CI.
terraform {
  # 1.11: write-only attributes (`secret_data_wo`) and ephemeral resources keep generated passwords out of the state.
  required_version = ">= 1.11, < 2.0"

  required_providers {
    google = {
      source  = "hashicorp/google"
      version = ">= 6.30, < 8.0"
    }
    google-beta = {
      source  = "hashicorp/google-beta"
      version = ">= 6.30, < 8.0"
    }
    kubernetes = {
      source  = "hashicorp/kubernetes"
      version = ">= 2.36, < 4.0"
    }
    helm = {
      source  = "hashicorp/helm"
      version = ">= 3.0, < 4.0"
    }
    # Custom resources (RabbitmqCluster, ScaledJob, ExternalSecret, ...) whose CRDs are installed in the same apply:
    # kubectl_manifest validates at apply time, where kubernetes_manifest would need the CRDs at plan time.
    kubectl = {
      source  = "alekc/kubectl"
      version = ">= 2.1, < 3.0"
    }
    random = {
      source  = "hashicorp/random"
      version = ">= 3.7, < 4.0"
    }
    http = {
      source  = "hashicorp/http"
      version = ">= 3.4, < 4.0"
    }
  }
}
