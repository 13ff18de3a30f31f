# Bounded provider versions: a new major version of any of them is a deliberate upgrade, never a surprise in CI.
#
# Every module declares the providers it uses in its own versions.tf, with the same source addresses as here: a
# child module does not inherit the root's source addresses, and an undeclared `kubectl_*` resource would make
# Terraform look for hashicorp/kubectl, which does not exist. tests/infra checks this with `terraform providers`.
#
# Lock file policy: .terraform.lock.hcl is committed once it exists. The first `make deploy` (a project Owner, see
# docs/deploy.md) writes it with the versions picked inside these bounds; commit it, and `make tf-lock` adds the
# hashes of the other platforms. From then on `make tf-init` runs with -lockfile=readonly, so CI installs exactly the
# reviewed providers; an upgrade is `make tf-lock TF_UPGRADE=1` in a pull request.
terraform {
  # 1.11: write-only attributes (`secret_data_wo`) and ephemeral resources keep generated passwords out of the state.
  required_version = ">= 1.11, < 2.0"

  required_providers {
    google = {
      source  = "hashicorp/google"
      version = ">= 6.30, < 8.0"
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
    # time_sleep: IAM grants are eventually consistent; the cluster and the function build wait for them.
    time = {
      source  = "hashicorp/time"
      version = ">= 0.12, < 1.0"
    }
  }
}
